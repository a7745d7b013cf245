// Helpers for LL-HLS in the browser (the test and bench/hls_latency): a producer pushing in
// real time (ffmpeg -re with small clusters, piped into curl's chunked PutMedia, producer
// timestamps = capture wall-clock time), a LIVE session, and the LL player page.
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const support = require('./support');

// Starts pushing `seconds` of 25 fps H.264 (2 s GOPs, no B-frames) in real time: ffmpeg -re
// with 40 ms clusters flushed at once, piped into curl's chunked PutMedia (curl -T streams
// stdin as it comes). RELATIVE timecodes from the moment ffmpeg's first frame comes out (its
// encoder is ready by then), so each frame's producer time is when it was made. Resolves
// once the first fragment is PERSISTED; the result's stop() ends the push.
function startRealtimeProducer(base, stream, seconds) {
  const ffmpeg = spawn('ffmpeg', [
    '-v', 'error', '-nostdin', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25',
    '-t', String(seconds), '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency',
    '-g', '50', '-bf', '0', '-pix_fmt', 'yuv420p', '-cluster_time_limit', '40',
    '-flush_packets', '1', '-f', 'matroska', 'pipe:1',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let curl = null;
  ffmpeg.stderr.setEncoding('utf8');
  ffmpeg.stderr.on('data', (c) => { out += c; });
  const persisted = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no PERSISTED in 30 s:\n' + out)), 30_000);
    ffmpeg.stdout.once('data', (first) => {
      const now = Date.now();
      const start = `${Math.floor(now / 1000)}.${String(now % 1000).padStart(3, '0')}`;
      curl = spawn('curl', [
        '-sS', '-N', '-X', 'POST', '-H', `x-amzn-stream-name: ${stream}`,
        '-H', 'x-amzn-fragment-timecode-type: RELATIVE',
        '-H', `x-amzn-producer-start-timestamp: ${start}`, '-H', 'Transfer-Encoding: chunked',
        '-T', '-', `${base}/putMedia`,
      ], { stdio: ['pipe', 'pipe', 'pipe'] });
      curl.stdin.on('error', () => {});
      curl.stdin.write(first);
      ffmpeg.stdout.pipe(curl.stdin);
      curl.stdout.setEncoding('utf8');
      curl.stderr.setEncoding('utf8');
      curl.stderr.on('data', (c) => { out += c; });
      curl.stdout.on('data', (c) => {
        out += c;
        if (out.includes('PERSISTED')) {
          clearTimeout(timer);
          resolve();
        }
      });
      curl.on('exit', (code) => reject(new Error(`curl exited (${code}):\n${out}`)));
    });
    ffmpeg.on('exit', (code) => { if (!curl) reject(new Error(`ffmpeg exited (${code}):\n${out}`)); });
  });
  return persisted.then(() => ({
    output: () => out,
    stop: () => {
      ffmpeg.kill('SIGTERM');
      if (curl) curl.kill('SIGTERM');
    },
  }));
}

// A LIVE HLS session on producer time (EXT-X-PROGRAM-DATE-TIME = capture time).
async function liveSession(base, stream, lowLatency) {
  const url = (await support.postJson(base, 'getHLSStreamingSessionURL', {
    StreamName: stream,
    PlaybackMode: 'LIVE',
    DisplayFragmentTimestamp: 'ALWAYS',
    HLSFragmentSelector: { FragmentSelectorType: 'PRODUCER_TIMESTAMP' },
  })).HLSStreamingSessionURL;
  return lowLatency ? url : url + '&LowLatency=0';
}

// Serves ll_player.html and hls.js from node_modules.
async function startLlPageServer() {
  const files = {
    '/ll_player.html': [path.join(__dirname, 'll_player.html'), 'text/html'],
    '/hls.min.js': [path.join(__dirname, 'node_modules/hls.js/dist/hls.min.js'), 'text/javascript'],
  };
  const server = http.createServer((req, res) => {
    const f = files[new URL(req.url, 'http://x').pathname];
    if (!f) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': f[1] });
    fs.createReadStream(f[0]).pipe(res);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/ll_player.html`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

// Plays `url` for `ms` in a new page, sampling the glass-to-glass latency every 250 ms once
// playback has started. Resolves with { latencies (ms), report, samples }.
async function playAndSample(browser, pageUrl, url, lowLatency, ms) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const console = [];
  page.on('console', (m) => console.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => console.push(`pageerror: ${e.message}`));
  await page.goto(pageUrl);
  await page.evaluate(([u, ll]) => window.start(u, ll), [url, lowLatency]);
  const latencies = [];
  const samples = [];
  const end = Date.now() + ms;
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, 250));
    const s = await page.evaluate(() => window.sample());
    samples.push(s);
    if (s.playing !== null && !s.paused && s.currentTime > 0) latencies.push(s.now - s.playing);
  }
  const report = await page.evaluate(() => window.report);
  await context.close();
  return { latencies, report, samples, console };
}

function percentile(values, q) {
  if (!values.length) return NaN;
  const v = [...values].sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.floor(q * v.length))];
}

module.exports = { liveSession, percentile, playAndSample, startLlPageServer,
                   startRealtimeProducer };
