// Glass-to-glass latency of live HLS in Chromium: LL-HLS against plain HLS (the reference).
//
// A producer pushes 25 fps H.264 with 2 s GOPs in real time into a real streamarcd, its
// producer timestamps the capture wall-clock time (RELATIVE timecodes from the moment ffmpeg
// starts, -re pacing, 40 ms clusters so frames leave as they are made). Headless Chromium
// plays the LIVE session (PRODUCER_TIMESTAMP, DisplayFragmentTimestamp=ALWAYS) with hls.js:
// once with lowLatencyMode on the LL playlist, once with lowLatencyMode off on the same
// session with LowLatency=0 (plain HLS). Every 250 ms while it plays, latency = Date.now()
// minus hls.js's playingDate (the program date time of the frame on screen). Same machine,
// same clock, same run.
//
// Goals (issue 13): LL-HLS p50 < 1.5 s; plain HLS p50 < 3 fragment durations (6 s).
//
// Usage: STREAMARCD=build/server/streamarcd node bench/hls_latency/hls_latency.js [--seconds S]
//        [--verbose] (prints hls.js's warnings: stalls, nudges)
// (needs tests/browser/node_modules: npm ci --prefix tests/browser)
'use strict';

const support = require('../../tests/browser/support');
const ll = require('../../tests/browser/llhls_support');

async function main() {
  const arg = process.argv.indexOf('--seconds');
  const seconds = arg > 0 ? Number(process.argv[arg + 1]) : 30;
  const server = await support.startServer();
  const stream = `latency-${process.pid}`;
  await support.postJson(server.url, 'createStream', { StreamName: stream,
                                                       DataRetentionInHours: 1 });
  const producer = await ll.startRealtimeProducer(server.url, stream, 2 * seconds + 30);
  const browser = await support.launchChromium();
  const pages = await ll.startLlPageServer();
  const results = {};
  try {
    for (const [name, lowLatency] of [['LL-HLS', true], ['plain HLS', false]]) {
      const url = await ll.liveSession(server.url, stream, lowLatency);
      const run = await ll.playAndSample(browser, pages.url, url, lowLatency, seconds * 1000);
      // The first seconds are the player finding the live edge: leave them out.
      const steady = run.latencies.slice(Math.floor(run.latencies.length / 4));
      results[name] = { p50: ll.percentile(steady, 0.5), p95: ll.percentile(steady, 0.95),
                        n: steady.length, parts: run.report.partsLoaded,
                        errors: run.report.errors,
                        // hls.js's own target at the end (PART-HOLD-BACK, or three target
                        // durations, plus 1 s per stall it saw) and its non-fatal errors.
                        target: run.samples.at(-1).targetLatency,
                        warnings: [...new Set(run.report.warnings)],
                        // From a part's (or segment's) last frame made to it loaded in the page.
                        loaded: ll.percentile(run.report.loadedAfter, 0.5) };
      if (process.argv.includes('--verbose')) {
        console.log(`${name}: hls.js said\n  ${run.report.log.slice(0, 40).join('\n  ')}`);
      }
    }
  } finally {
    producer.stop();
    await browser.close();
    await pages.close();
    await server.stop();
  }
  const l = results['LL-HLS'], p = results['plain HLS'];
  console.log(`hls_latency: glass-to-glass in Chromium (hls.js), ${seconds} s each, 2 s fragments`);
  for (const [name, r] of Object.entries(results)) {
    console.log(`  ${name.padEnd(9)}: p50 ${(r.p50 / 1000).toFixed(2)} s, p95 ${(r.p95 / 1000).toFixed(2)} s` +
                ` (${r.n} samples, ${r.parts} parts loaded, each in the page p50 ${Math.round(r.loaded)} ms` +
                ` after its last frame, hls.js target ${r.target} s` +
                `${r.warnings.length ? ', warnings: ' + r.warnings.join('; ') : ''}` +
                `${r.errors.length ? ', errors: ' + r.errors.join('; ') : ''})`);
  }
  console.log(`  ratio LL/plain at p50: ${(l.p50 / p.p50).toFixed(2)}`);
  console.log(`  goals: LL p50 < 1.5 s: ${l.p50 < 1500 ? 'met' : 'not met'}; ` +
              `plain p50 < 6 s: ${p.p50 < 6000 ? 'met' : 'not met'}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
