// KVS calls made with curl against a server under test (streamarcd or an in-process daemon),
// the way a user's scripts make them: what the end-to-end suites repeat.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace streamarc::testing {

// `curl -sS <args...>`; returns stdout and stderr together ("" and a gtest failure if curl
// could not be started).
std::string Curl(const std::vector<std::string>& args);

// A GET of `url`; `extra` goes before the URL (e.g. "-i" for the headers too).
std::string CurlGet(const std::string& url, const std::vector<std::string>& extra = {});

struct CurlReply {
  int status = 0;  // the HTTP status, 0 if there was no response
  std::string body;
};
// POSTs `body` to `url`; `extra` goes before the URL (e.g. {"-m", "20"}).
CurlReply CurlPost(const std::string& url, const std::string& body,
                   const std::vector<std::string>& extra = {});

// CreateStream of `name` through `server_url`; a gtest failure unless it answers a StreamARN.
void CurlCreateStream(const std::string& server_url, const std::string& name, int hours = 24,
                      const std::vector<std::string>& extra = {});

// A PutMedia of a file with curl.
struct PutMediaCall {
  std::string stream;
  std::string file;
  // "" for ABSOLUTE timecodes; otherwise RELATIVE ones from this producer start time, in
  // seconds ("1000.000").
  std::string start;
  bool chunked = true;             // Transfer-Encoding: chunked instead of Content-Length
  std::vector<std::string> extra;  // more curl arguments (e.g. "-i", {"--max-time", "60"})
};
// Returns the response: the ACK stream (and the head when `extra` asks for it).
std::string CurlPutMedia(const std::string& server_url, const PutMediaCall& call);

// Every ListFragments fragment of `stream` over all server time, paging by NextToken with
// pages of `page`; a gtest failure for an answer that is not 200 with JSON.
std::vector<nlohmann::json> ListAllFragments(const std::string& server_url,
                                             const std::string& stream, int page = 1000);

// The ACK events in a PutMedia response, in order; a gtest failure for one that is not JSON.
std::vector<nlohmann::json> ParseAckEvents(const std::string& response);

// How many times `needle` occurs in `text` (without overlaps).
size_t CountOf(const std::string& text, const std::string& needle);

// The URI lines of a playlist, resolved against the playlist's own URL.
std::vector<std::string> PlaylistUris(const std::string& playlist_url, const std::string& text);

}  // namespace streamarc::testing
