// Helpers for the browser tests: the streamarcd under test, media made with ffmpeg, the KVS
// calls made from node (the page is on another origin, and API POSTs are same-origin only),
// a tiny static server for the player page, and headless Chromium.
'use strict';

const { spawn, execFile } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { promisify } = require('node:util');

const kStartDeadlineMs = 30_000;

// Resolves with the first match of `re` in the child's stderr; rejects when it exits first
// or the deadline passes.
function waitForLine(child, re, ms, what) {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => done(new Error(`${what}: no match in ${ms} ms:\n${text}`)), ms);
    const onData = (chunk) => {
      text += chunk;
      const m = text.match(re);
      if (m) done(null, m);
    };
    const onExit = (code) => done(new Error(`${what} exited (${code}) first:\n${text}`));
    function done(err, m) {
      clearTimeout(timer);
      child.stderr.off('data', onData);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(m);
    }
    child.stderr.on('data', onData);
    child.on('exit', onExit);
  });
}

// STREAMARC_URL: a running server. Otherwise STREAMARCD (or argv) names the binary, started
// here with a fresh data directory, listening on `host` (0.0.0.0: every address; `url` is
// then 127.0.0.1's) at `port` (0: a free one), with more flags in `args`.
async function startServer({ host = '127.0.0.1', port = 0, args = [] } = {}) {
  if (process.env.STREAMARC_URL) {
    return { url: process.env.STREAMARC_URL.replace(/\/$/, ''), stop: async () => 0, log: () => '' };
  }
  const bin = process.env.STREAMARCD;
  if (!bin) throw new Error('set STREAMARCD (path of streamarcd) or STREAMARC_URL');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'streamarc-browser-'));
  const child = spawn(bin, ['--host', host, '--port', String(port), '--data-dir', dir, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr.setEncoding('utf8');
  let log = '';
  child.stderr.on('data', (c) => { log += c; });
  const m = await waitForLine(child, /listening address=\S+:(\d+)/, kStartDeadlineMs,
                              'streamarcd');
  const exited = new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode ?? 128);
    else child.on('exit', (code, sig) => resolve(sig ? 128 : code));
  });
  return {
    url: `http://127.0.0.1:${m[1]}`,
    log: () => log,
    // SIGTERM and the exit code: 0 is a clean shutdown (under ASan: no leak, no error).
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const code = await exited;
      fs.rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}

// An H.264 + AAC Matroska file: `seconds` long, a key frame every 2 s (so 2 s fragments).
// The caller removes its directory (path.dirname of the result).
async function makeMedia(seconds) {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'streamarc-media-')), 'in.mkv');
  await promisify(execFile)('ffmpeg', [
    '-v', 'error', '-f', 'lavfi', '-i', `testsrc=size=320x240:rate=25:duration=${seconds}`,
    '-f', 'lavfi', '-i', `sine=frequency=440:duration=${seconds}`,
    '-c:v', 'libx264', '-g', '50', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-f', 'matroska', out,
  ]);
  return out;
}

// One HTTP request; resolves with { status, body } once the response has ended.
function request(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function postJson(base, op, json) {
  const body = Buffer.from(JSON.stringify(json));
  // With a length: node would send an unsized body chunked, which only PutMedia reads.
  const r = await request(`${base}/${op}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-length': body.length },
    body,
  });
  if (r.status !== 200) throw new Error(`${op}: ${r.status} ${r.body}`);
  return JSON.parse(r.body);
}

// PutMedia of a whole file in one go, as fast as the socket takes it: what a producer
// resending its backlog does. Server timestamps (arrival times) end up milliseconds apart on
// fragments 2 s long. Resolves with the ACK stream's text.
async function putMediaBurst(base, stream, file) {
  const r = await request(`${base}/putMedia`, {
    method: 'POST',
    headers: {
      'x-amzn-stream-name': stream,
      'x-amzn-fragment-timecode-type': 'ABSOLUTE',
      'transfer-encoding': 'chunked',
    },
    body: fs.readFileSync(file),
  });
  if (r.status !== 200) throw new Error(`putMedia: ${r.status} ${r.body}`);
  return r.body;
}

// Serves the player page and the players from node_modules (nothing from a CDN).
async function startPageServer() {
  // By path: the packages' "exports" do not name their browser bundles.
  const modules = path.join(__dirname, 'node_modules');
  const files = {
    '/player.html': [path.join(__dirname, 'player.html'), 'text/html'],
    '/dash.all.min.js': [path.join(modules, 'dashjs/dist/modern/umd/dash.all.min.js'),
                         'text/javascript'],
    '/hls.min.js': [path.join(modules, 'hls.js/dist/hls.min.js'), 'text/javascript'],
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
    url: `http://127.0.0.1:${server.address().port}/player.html`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

async function launchChromium() {
  const { chromium } = require('playwright-core');
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    // Root in a container: no sandbox. Muted autoplay without a user gesture.
    args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required', '--mute-audio'],
  });
}

module.exports = {
  launchChromium,
  makeMedia,
  postJson,
  putMediaBurst,
  request,
  startPageServer,
  startServer,
};
