// GetMedia / GetMediaForFragmentList output: each fragment as KVS sends it, a self-contained
// Matroska chunk (the stream header, KVS's per-fragment tags, the cluster, the trailing tags).
#pragma once
