// The stream page: the live view, the timeline of the recording (seek, thumbnails, event
// marks), the time of the frame on screen, and clip export.
import * as api from './api.js';
import * as fmt from './format.js';
import { Player } from './player.js';
import { Timeline } from './timeline.js';

const kThumbDebounceMs = 150;
const kThumbCacheSize = 200;

// ?name=STREAM[&span=SECONDS]: the stream, and how much of its recent past the timeline
// shows at first (default an hour).
const params = new URLSearchParams(location.search);
const stream = params.get('name') || '';
const $ = (id) => document.getElementById(id);
document.title = `streamarc — ${stream}`;
$('title').textContent = stream;

function showError(text) {
  $('error').textContent = text || '';
  $('error').hidden = !text;
}

const player = new Player($('video'), stream, {
  onError: showError,
  onMode: (mode) => {
    $('mode').textContent = mode === 'live' ? '● LIVE' : 'Replay';
    $('mode').className = `mode ${mode}`;
    $('live').disabled = mode === 'live';
    document.body.dataset.mode = mode;
  },
});

// Spans at the resolution drawn; a server without the spans API says so in the note.
async function fetchSpans(start, end, minGap) {
  try {
    return await api.listRecordingSpans(stream, start, end, minGap);
  } catch (e) {
    if (e.type === 'UnknownOperationException' || e.status === 404) {
      throw new Error('no index spans API (listRecordingSpans) on this server: the timeline ' +
                      'cannot show what is recorded');
    }
    throw e;
  }
}

// Thumbnails: one GetImages per hovered moment, after the pointer rests, cached by the
// time one pixel covers (so a still pointer never asks twice).
const thumbs = new Map();
let thumbTimer = null;
function hover(t, x, events) {
  clearTimeout(thumbTimer);
  const box = $('thumb');
  if (t === null || t === undefined) {
    box.hidden = true;
    return;
  }
  const label = box.querySelector('span');
  label.textContent = fmt.dateTime(t) + (events && events.length ?
      ' — ' + [...new Set(events.map((e) => e.Label))].join(', ') : '');
  box.style.left = `${Math.max(0, Math.min(x - 82, timeline.width - 166))}px`;
  const resolution = Math.max(1, (timeline.view.end - timeline.view.start) / timeline.width);
  const key = Math.round(t / resolution) * resolution;
  const show = (src) => {
    const img = box.querySelector('img');
    img.hidden = !src;
    if (src) img.src = src;
    box.hidden = false;
  };
  if (thumbs.has(key)) {
    show(thumbs.get(key));
    return;
  }
  show(null);
  thumbTimer = setTimeout(async () => {
    let src = null;
    try {
      src = await api.getImage(stream, key);
    } catch {
      // No image for a moment without video (a gap) is normal: the time alone is shown.
    }
    if (thumbs.size >= kThumbCacheSize) thumbs.delete(thumbs.keys().next().value);
    thumbs.set(key, src);
    if (!box.hidden && label.textContent.startsWith(fmt.dateTime(t))) show(src);
  }, kThumbDebounceMs);
}

let selection = null;
function select(sel) {
  selection = sel && sel.end - sel.start >= 1 ? sel : null;
  $('download').disabled = !selection;
  $('selection').textContent = selection
    ? `Clip ${fmt.dateTime(selection.start)} → ${fmt.dateTime(selection.end)} ` +
      `(${fmt.duration(selection.end - selection.start)})`
    : 'No clip selected: shift-drag on the timeline, or Select then drag.';
}

const timeline = new Timeline($('timeline'), {
  initialSpan: Number(params.get('span')) || 3600,
  fetchSpans,
  fetchEvents: (start, end) => api.listEvents(stream, start, end),
  onSeek: (t) => {
    if (t > Date.now() / 1000 - 1) {
      player.live();
    } else {
      showError(null);
      player.replay(t);
    }
  },
  onHover: hover,
  onSelect: select,
  onView: (view) => {
    $('range').textContent = `${fmt.duration(view.end - view.start)} · ${fmt.dateTime(view.start)}`;
  },
  onNote: (text) => {
    $('timeline-note').textContent = text || '';
    $('timeline-note').hidden = !text;
  },
});
window.streamarcConsole = { timeline, player };

$('zoom-in').addEventListener('click', () => timeline.zoom(1 / 3, timeline.playhead ?? undefined));
$('zoom-out').addEventListener('click', () => timeline.zoom(3, timeline.playhead ?? undefined));
$('select').addEventListener('click', () => {
  timeline.selectMode = !timeline.selectMode;
  $('select').classList.toggle('on', timeline.selectMode);
});
$('live').addEventListener('click', () => {
  showError(null);
  player.live();
});

$('download').addEventListener('click', async () => {
  if (!selection) return;
  const progress = $('progress');
  const text = $('progress-text');
  $('download').disabled = true;
  progress.hidden = false;
  progress.removeAttribute('value');
  text.textContent = 'Asking for the clip…';
  const clipError = $('clip-error');
  clipError.hidden = true;
  try {
    const blob = await api.getClip(stream, selection.start, selection.end, (received, total) => {
      if (total) {
        progress.max = total;
        progress.value = received;
      }
      text.textContent = `${fmt.bytes(received)}${total ? ' of ' + fmt.bytes(total) : ''} received`;
    });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `${stream}-${fmt.dateTime(selection.start).replace(/[ :]/g, '-')}.mp4`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
    text.textContent = `Downloaded ${fmt.bytes(blob.size)}`;
  } catch (e) {
    // Next to the button: GetClip's limits (24 hours, 200 fragments, 100 MB) as KVS words them.
    text.textContent = '';
    clipError.textContent = e.message;
    clipError.hidden = false;
  } finally {
    progress.hidden = true;
    $('download').disabled = !selection;
  }
});

// The time of the frame on screen, and the playhead on the timeline.
function frame() {
  const t = player.frameTime();
  $('clock').textContent = t ? fmt.dateTime(t, true) : '—';
  $('clock').dataset.time = t ? String(t) : '';
  timeline.setPlayhead(t);
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);

// The player starts once the timeline is drawn (or after a second at most): parsing
// hls.js (600 KB) would otherwise hold up the timeline's first drawing.
const kPlayerStartLimitMs = 1000;
if (!stream) {
  showError('No stream named: open a stream from the streams page.');
} else {
  Promise.race([timeline.firstDraw, new Promise((r) => setTimeout(r, kPlayerStartLimitMs))])
      .then(() => { if (!player.mode) player.live(); });
}
