// A test camera pushing in real time: ffmpeg's testsrc2 with the frame number burned into
// the top rows as a bar code (16 bits, bit i a white or black 16x16 square at x = 20 i + 2,
// y = 4), encoded as H.264 and streamed into PutMedia with RELATIVE timecodes from a known
// producer start time. A frame grabbed from any player reads back as `start + n / fps`:
// the producer timestamp of the frame on screen, with no OCR.
'use strict';

const { spawn } = require('node:child_process');
const http = require('node:http');

const kBits = 16;

function barFilters(width) {
  const filters = [`drawbox=x=0:y=0:w=${width}:h=24:color=black:t=fill`];
  for (let i = 0; i < kBits; i++) {
    filters.push(`drawbox=x=${20 * i + 2}:y=4:w=16:h=16:color=white:t=fill:` +
                 `enable='mod(floor(n/${2 ** i}),2)'`);
  }
  return filters.join(',');
}

// Starts pushing `stream` (which must exist) on `base`. Resolves once ffmpeg runs; `stop()`
// ends the input, waits for the ACKs and resolves with their text. `headers(url, headers)`
// returns more headers for the request (a signature), given its URL and its own headers.
function startLiveProducer(base, stream, { width = 320, height = 240, fps = 25,
                                          headers = () => ({}) } = {}) {
  const start = Date.now() / 1000;
  const ffmpeg = spawn('ffmpeg', [
    '-v', 'error', '-nostdin', '-re', '-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=${fps}`,
    '-vf', barFilters(width), '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency',
    '-g', String(2 * fps), '-keyint_min', String(2 * fps), '-pix_fmt', 'yuv420p',
    '-f', 'matroska', 'pipe:1',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let ffmpegLog = '';
  ffmpeg.stderr.on('data', (c) => { ffmpegLog += c; });
  const own = {
    'x-amzn-stream-name': stream,
    'x-amzn-fragment-timecode-type': 'RELATIVE',
    'x-amzn-producer-start-timestamp': start.toFixed(3),
  };
  const url = `${base}/putMedia`;
  const req = http.request(url, {
    method: 'POST',
    headers: { ...own, ...headers(url, own), 'transfer-encoding': 'chunked' },
  });
  const acks = new Promise((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve(text));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  ffmpeg.stdout.pipe(req);
  const exited = new Promise((resolve) => ffmpeg.on('exit', resolve));
  return {
    start,
    fps,
    // The producer timestamp of frame number `n`.
    frameTime: (n) => start + n / fps,
    log: () => ffmpegLog,
    stop: async () => {
      ffmpeg.kill('SIGINT');  // ffmpeg ends the file; the request body ends with it
      await exited;
      return acks;
    },
  };
}

// Page-side: reads the bar code from `video`'s current frame. Pass to page.evaluate.
// Returns { n, frameTime, currentTime } with frameTime the page's shown time (or null).
function readFrameInPage(selector) {
  const video = document.querySelector(selector);
  const canvas = document.createElement('canvas');
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(video, 0, 0);
  let n = 0;
  const scale = video.videoWidth / 320;
  for (let i = 0; i < 16; i++) {
    const px = ctx.getImageData(Math.round((20 * i + 10) * scale), Math.round(12 * scale), 1, 1).data;
    if ((px[0] + px[1] + px[2]) / 3 > 128) n |= 1 << i;
  }
  const c = window.streamarcConsole;
  return { n, frameTime: c ? c.player.frameTime() : null, currentTime: video.currentTime };
}

module.exports = { startLiveProducer, readFrameInPage };
