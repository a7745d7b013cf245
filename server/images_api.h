// GetImages' route, and the console's thumbnails of tapped streams: thin adapters over
// playback::ImagesService and the frame tap's thumbnail sink.
#pragma once

#include <memory>

#include "frametap/thumbnails.h"
#include "playback/images.h"
#include "server/api_context.h"
#include "server/router.h"

namespace streamarc::server {

// POST /getImages. The handler runs on the worker pool (archive reads, decoding); at most
// options.max_concurrent calls decode at once, the others get ClientLimitExceeded.
void RegisterImagesApi(Router& http, const ApiContext& ctx,
                       const playback::ImagesOptions& options = {});

// GET /thumbnail?StreamName=NAME: the latest key frame of a tapped stream as image/jpeg, with
// x-amz-producer-timestamp / x-amz-server-timestamp (epoch seconds) and
// x-amz-fragment-number headers. ResourceNotFound when the stream is not tapped or has no
// key frame yet. `thumbnails` outlives the routes.
void RegisterThumbnailApi(Router& http, std::shared_ptr<const frametap::ThumbnailSink> thumbnails);

}  // namespace streamarc::server
