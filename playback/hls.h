// HLS and DASH sessions: tokens, playlists and manifests (pure logic over archive queries).
#pragma once
