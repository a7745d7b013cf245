// Opening a stream's page in the console until its timeline is drawn, with a month of
// 2-second fragments in view: the page's own performance mark 'timeline-drawn' (set when the
// first listRecordingSpans answer is on the canvas), read by Playwright in headless
// Chromium, p50 over N loads. Goal (issue 13): under 300 ms.
//
// Needs build/bench/console_open_seed and build/server/streamarcd (scripts/build.sh),
// Debian's chromium, and tests/browser's node modules (npm ci --prefix tests/browser).
//
// Usage: node bench/console_open_bench.js [--runs 20] [--days 30] [--dir bench-data/console-open]
//        node bench/console_open_bench.js --url http://127.0.0.1:PORT [--days 30] [--runs 20]
//          (a server already running on a data dir console_open_seed made: nothing started)
'use strict';

const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const top = path.resolve(__dirname, '..');
const support = require(path.join(top, 'tests/browser/support.js'));

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

function percentile(values, p) {
  const v = [...values].sort((a, b) => a - b);
  return v[Math.min(v.length - 1, Math.round(p * (v.length - 1)))];
}

// A fresh seed each run (the fragments end now, so the month in view is the recorded one),
// and the daemon of this build tree on it.
async function seedAndStart(dir, days, build) {
  const t0 = Date.now();
  process.stdout.write(execFileSync(path.join(build, 'bench/console_open_seed'),
                                    ['--dir', dir, '--days', String(days)]));
  console.log(`seeded in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const server = spawn(path.join(build, 'server/streamarcd'),
                       ['--host', '127.0.0.1', '--port', '0', '--data-dir', dir],
                       { stdio: ['ignore', 'ignore', 'pipe'] });
  server.stderr.setEncoding('utf8');
  let log = '';
  const port = await new Promise((resolve, reject) => {
    server.stderr.on('data', (c) => {
      log += c;
      const m = log.match(/listening address=127\.0\.0\.1:(\d+)/);
      if (m) resolve(m[1]);
    });
    server.on('exit', (code) => reject(new Error(`streamarcd exited (${code}):\n${log}`)));
  });
  return { base: `http://127.0.0.1:${port}`, server };
}

async function main() {
  const runs = Number(arg('runs', 20));
  const days = Number(arg('days', 30));
  const dir = path.resolve(arg('dir', path.join(top, 'bench-data/console-open')));
  const build = path.resolve(arg('build', path.join(top, 'build')));

  let base = arg('url', '');
  let server = null;
  if (!base) ({ base, server } = await seedAndStart(dir, days, build));
  const url = `${base}/web/stream.html?name=cam&span=${days * 86400}`;
  const browser = await support.launchChromium();
  const times = [];
  let spans = 0;
  let note = '';
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    for (let i = 0; i <= runs; i++) {
      const page = await context.newPage();
      await page.goto(url);
      await page.waitForSelector('#timeline[data-drawn="true"]', { timeout: 30_000 });
      const r = await page.evaluate(() => ({
        ms: performance.getEntriesByName('timeline-drawn')[0].startTime,
        spans: window.streamarcConsole.timeline.spans.length,
        note: document.getElementById('timeline-note').textContent,
      }));
      if (i > 0) times.push(r.ms);  // the first load warms the browser's cache
      spans = r.spans;
      note = r.note;
      await page.close();
    }
  } finally {
    await browser.close();
    if (server) server.kill('SIGTERM');
  }
  console.log(`console_open_bench: ${days} days of 2-second fragments, ${spans} spans drawn` +
              (note ? ` (${note})` : ''));
  console.log(`navigation start to timeline drawn, ${times.length} loads: ` +
              `p50 ${percentile(times, 0.5).toFixed(0)} ms, p90 ${percentile(times, 0.9).toFixed(0)} ms, ` +
              `min ${Math.min(...times).toFixed(0)} ms, max ${Math.max(...times).toFixed(0)} ms ` +
              `(goal p50 < 300 ms)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
