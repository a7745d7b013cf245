// The video: hls.js (served by streamarcd from web/node_modules, pinned by
// web/package-lock.json) playing a LIVE session, or an ON_DEMAND one from a past moment.
import * as api from './api.js';

// An ON_DEMAND session from a past moment starts this much earlier (so that the fragment
// holding the moment is in it) and lasts this long (KVS allows 24 h).
const kReplayLeadSeconds = 10;
const kReplaySeconds = 3 * 3600;

// hls.js (about 600 KB) is loaded once, when the first session starts, so that the rest of
// the page (the timeline) does not wait for it to be parsed.
let hlsLoading = null;
function loadHls() {
  if (!hlsLoading) {
    hlsLoading = new Promise((resolve) => {
      const script = document.createElement('script');
      script.src = '/web/vendor/hls.min.js';
      script.onload = () => resolve(window.Hls || null);
      script.onerror = () => resolve(null);
      document.head.append(script);
    });
  }
  return hlsLoading;
}

export class Player {
  // `onError(text)` gets fatal errors, as text for a person; `onMode(mode)` 'live'|'replay'.
  constructor(video, stream, { onError, onMode }) {
    this.video = video;
    this.stream = stream;
    this.onError = onError;
    this.onMode = onMode;
    this.hls = null;
    this.mode = null;
    this.generation = 0;
  }

  // The wall-clock time (epoch seconds) of the frame on screen, from the playlist's
  // EXT-X-PROGRAM-DATE-TIME (hls.js's playingDate); null before playback starts.
  frameTime() {
    const d = this.hls && this.hls.playingDate;
    return d ? d.getTime() / 1000 : null;
  }

  live() {
    return this.start('live', undefined);
  }

  // Plays from `time` (epoch seconds, producer time).
  replay(time) {
    return this.start('replay', time);
  }

  async start(mode, time) {
    const generation = ++this.generation;
    if (!(await loadHls())) {
      this.onError('The player (hls.js) is not installed on the server: run ' +
                   '"npm ci --prefix web" in the streamarc checkout (scripts/install-deps.sh ' +
                   'does), then reload.');
      return;
    }
    if (!Hls.isSupported()) {
      this.onError('This browser has no Media Source Extensions: hls.js cannot play here.');
      return;
    }
    let url;
    try {
      url = mode === 'live' ? await api.hlsSessionUrl(this.stream)
                            : await api.hlsSessionUrl(this.stream, time - kReplayLeadSeconds,
                                                      time + kReplaySeconds);
    } catch (e) {
      if (generation === this.generation) this.onError(e.message);
      return;
    }
    if (generation !== this.generation) return;  // a newer request won
    this.destroy();
    this.mode = mode;
    this.sought = mode === 'replay' ? time : null;  // the moment asked for (tests read it)
    this.onMode(mode);
    // lowLatencyMode: the server serves LL-HLS parts for LIVE sessions where it can; plain
    // HLS plays the same way.
    const hls = new Hls({ lowLatencyMode: true, backBufferLength: 30 });
    this.hls = hls;
    hls.on(Hls.Events.ERROR, (_, data) => {
      if (!data.fatal) return;  // hls.js recovers from the others itself
      if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
        hls.recoverMediaError();
        return;
      }
      this.onError(`Playback stopped: ${data.type} ${data.details}` +
                   (data.response && data.response.code ? ` (HTTP ${data.response.code})` : ''));
    });
    if (mode === 'replay') {
      // Start at the moment itself: the fragment holding it begins up to a fragment earlier.
      hls.once(Hls.Events.LEVEL_LOADED, (_, data) => {
        const frags = data.details.fragments;
        let at = null;
        for (const f of frags) {
          if (f.programDateTime !== null && f.programDateTime <= time * 1000) at = f;
        }
        const target = at ? at.start + (time * 1000 - at.programDateTime) / 1000 : 0;
        this.video.currentTime = Math.max(0, target);
      });
    }
    hls.on(Hls.Events.MANIFEST_PARSED, () => {
      this.video.play().catch(() => {
        // Autoplay refused (not muted?): the controls start it.
        this.video.controls = true;
      });
    });
    hls.loadSource(url);
    hls.attachMedia(this.video);
  }

  destroy() {
    if (this.hls) this.hls.destroy();
    this.hls = null;
  }
}
