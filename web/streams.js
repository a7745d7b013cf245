// The streams page: every stream with its state, retention, live bitrate, last fragment
// time and stored bytes; create and delete. Refreshed every few seconds.
import * as api from './api.js';
import * as fmt from './format.js';

const kRefreshMs = 5000;
const kBitrateWindowSeconds = 10;
// A span query over the whole history merged into one span: its bytes and its end. The
// largest gap the server merges is the longest retention, 10 years: everything kept.
const kWholeHistoryGapSeconds = 87600 * 3600;

const tbody = document.querySelector('#streams tbody');
const errorBox = document.getElementById('error');

function showError(e) {
  errorBox.textContent = e ? (e.message || String(e)) : '';
  errorBox.hidden = !e;
}

// Bits per second over the last ~10 s of server time: sum of sizes / sum of durations.
async function liveBitrate(name, now) {
  const fragments = await api.listFragments(name, now - kBitrateWindowSeconds, now + 1);
  let bytes = 0;
  let ms = 0;
  let last = null;
  for (const f of fragments) {
    bytes += f.FragmentSizeInBytes;
    ms += f.FragmentLengthInMilliseconds;
    last = Math.max(last ?? 0, f.ProducerTimestamp);
  }
  return { rate: ms > 0 ? (bytes * 8) / (ms / 1000) : 0, last };
}

// Stored bytes and the last fragment's end from the index, in one span; null (shown as —)
// when the server has no listRecordingSpans.
async function storedSpan(name, now) {
  try {
    const spans = await api.listRecordingSpans(name, 0, now + 86400, kWholeHistoryGapSeconds, 1);
    if (!spans.length) return { bytes: 0, end: null, count: 0 };
    return { bytes: spans[0].SizeInBytes, end: spans[0].EndTimestamp, count: spans[0].FragmentCount };
  } catch (e) {
    if (e.type === 'UnknownOperationException' || e.status === 404) return null;
    throw e;
  }
}

function cell(tr, label, text, cls) {
  const td = tr.insertCell();
  td.dataset.label = label;
  if (text instanceof Node) td.append(text);
  else td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

async function row(info, now) {
  const name = info.StreamName;
  const [live, span] = await Promise.all([liveBitrate(name, now), storedSpan(name, now)]);
  const tr = document.createElement('tr');
  tr.dataset.stream = name;
  const link = document.createElement('a');
  link.href = `/web/stream.html?name=${encodeURIComponent(name)}`;
  link.textContent = name;
  cell(tr, 'Stream', link, 'name');
  cell(tr, 'Status', info.Status);
  cell(tr, 'Retention', info.DataRetentionInHours ? `${info.DataRetentionInHours} h` : 'none');
  cell(tr, 'Live bitrate', live.rate > 0 ? fmt.bitrate(live.rate) : 'idle', 'bitrate');
  const last = span && span.end !== null ? span.end : live.last;
  cell(tr, 'Last fragment', last ? fmt.ago(last) : '—', 'last').title = last ? fmt.dateTime(last) : '';
  cell(tr, 'Stored', span ? fmt.bytes(span.bytes) : '—', 'stored');
  const del = document.createElement('button');
  del.textContent = 'Delete';
  del.className = 'danger';
  del.addEventListener('click', () => remove(info));
  cell(tr, '', del, 'actions');
  return tr;
}

let refreshing = false;
async function refresh() {
  if (refreshing) return;
  refreshing = true;
  try {
    const now = Date.now() / 1000;
    const streams = await api.listStreams();
    streams.sort((a, b) => a.StreamName.localeCompare(b.StreamName));
    const rows = await Promise.all(streams.map((s) => row(s, now)));
    tbody.replaceChildren(...rows);
    document.getElementById('empty').hidden = rows.length > 0;
    showError(null);
    document.body.dataset.loaded = 'true';
  } catch (e) {
    showError(e);
  } finally {
    refreshing = false;
  }
}

async function remove(info) {
  if (!confirm(`Delete stream "${info.StreamName}" and all its recordings? This cannot be undone.`)) {
    return;
  }
  try {
    await api.deleteStream(info.StreamARN);
    await refresh();
  } catch (e) {
    showError(e);
  }
}

document.getElementById('create').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  try {
    await api.createStream(form.name.value.trim(), Number(form.hours.value));
    form.reset();
    await refresh();
  } catch (e) {
    showError(e);
  }
});

refresh();
setInterval(refresh, kRefreshMs);
