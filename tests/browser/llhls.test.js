// LL-HLS in the browser: a producer pushing in real time into the real streamarcd, hls.js
// (lowLatencyMode: true) in headless Chromium playing the LIVE session's LL playlist. It
// must see a blocking-reload playlist with parts, load parts, and play on without a fatal
// error. The latency figures are bench/hls_latency's business, not a test's.
//
// Run: STREAMARCD=build/server/streamarcd node --test tests/browser/llhls.test.js
'use strict';

const assert = require('node:assert/strict');
const test = require('node:test');

const support = require('./support');
const ll = require('./llhls_support');

test('hls.js plays the LL-HLS playlist in low-latency mode, loading parts', async (t) => {
  const server = await support.startServer();
  let browser, pages, producer;
  t.after(async () => {
    if (producer) producer.stop();
    if (browser) await browser.close();
    if (pages) await pages.close();
    assert.equal(await server.stop(), 0, 'streamarcd did not shut down cleanly:\n' + server.log());
  });
  const stream = `ll-${process.pid}`;
  await support.postJson(server.url, 'createStream', { StreamName: stream,
                                                       DataRetentionInHours: 24 });
  producer = await ll.startRealtimeProducer(server.url, stream, 60);
  const url = await ll.liveSession(server.url, stream, true);
  browser = await support.launchChromium();
  pages = await ll.startLlPageServer();
  const run = await ll.playAndSample(browser, pages.url, url, true, 15_000);
  const why = JSON.stringify({ report: run.report, console: run.console.slice(-20),
                               last: run.samples.slice(-3) });
  assert.deepEqual(run.report.errors, [], why);
  assert.ok(run.report.level && run.report.level.canBlockReload, why);
  assert.ok(Math.abs(run.report.level.partTarget - 0.333) < 1e-6, why);
  assert.ok(run.report.partsLoaded > 0, 'hls.js loaded no part: ' + why);
  assert.equal(run.samples.at(-1).lowLatencyMode, true, why);
  const times = run.samples.map((s) => s.currentTime);
  assert.ok(times.at(-1) > times.find((x) => x > 0) + 5, 'playback did not advance: ' + why);
  assert.ok(run.latencies.length > 10, 'no program date time while playing: ' + why);
});
