// A stream uploaded in a burst (a producer resending its backlog: the whole file at full
// speed, so server timestamps milliseconds apart on 2 s fragments) played by the browser
// players users have: dash.js and hls.js in headless Chromium, on SERVER_TIMESTAMP. Before the
// timeline fix the MPD repeated one S@t for every fragment and the player reached almost
// none of them.
//
// Run: STREAMARCD=build/server/streamarcd node --test tests/browser/  (ctest does this), or
// STREAMARC_URL=http://127.0.0.1:4567 against a running server.
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const test = require('node:test');

const support = require('./support');

// 9 fragments of 2 s: within the burst PutMedia allows (KVS's 5 fragments/s, with a bucket).
const kSeconds = 18;
const kWaitMs = 90_000;           // per step; ASan builds remux slowly
const kAcceptedGapSeconds = 0.5;  // an AAC priming frame or rounding, not a lost segment

test('a burst-uploaded stream plays and seeks over DASH and HLS (SERVER_TIMESTAMP)', async (t) => {
  const server = await support.startServer();
  let browser, pages;
  t.after(async () => {
    if (browser) await browser.close();
    if (pages) await pages.close();
    assert.equal(await server.stop(), 0, 'streamarcd did not shut down cleanly:\n' + server.log());
  });

  const media = await support.makeMedia(kSeconds);
  t.after(() => fs.rmSync(path.dirname(media), { recursive: true, force: true }));
  const stream = `burst-${process.pid}`;
  await support.postJson(server.url, 'createStream', { StreamName: stream,
                                                       DataRetentionInHours: 24 });
  const before = Date.now() / 1000;
  const acks = await support.putMediaBurst(server.url, stream, media);
  assert.equal((acks.match(/PERSISTED/g) || []).length, kSeconds / 2, acks);
  assert.doesNotMatch(acks, /ERROR/);
  const range = { StartTimestamp: before - 60, EndTimestamp: Date.now() / 1000 + 60 };

  const dashUrl = (await support.postJson(server.url, 'getDASHStreamingSessionURL', {
    StreamName: stream,
    PlaybackMode: 'ON_DEMAND',
    DASHFragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: range },
  })).DASHStreamingSessionURL;
  // NEVER: no discontinuity markers to lean on, so the segments' own times must line up.
  const hlsUrl = (await support.postJson(server.url, 'getHLSStreamingSessionURL', {
    StreamName: stream,
    PlaybackMode: 'ON_DEMAND',
    DiscontinuityMode: 'NEVER',
    HLSFragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: range },
  })).HLSStreamingSessionURL;

  await t.test('the MPD timeline is unique, increasing and covers every fragment', async () => {
    const mpd = (await support.request(dashUrl)).body;
    const timeline = mpd.slice(0, mpd.indexOf('</SegmentTimeline>'));
    const s = [...timeline.matchAll(/<S t="(\d+)" d="(\d+)"/g)].map((m) => [+m[1], +m[2]]);
    assert.ok(s.length >= kSeconds / 2 - 1, mpd);
    for (let i = 1; i < s.length; i++) {
      assert.ok(s[i][0] >= s[i - 1][0] + s[i - 1][1], `S ${i} overlaps the one before:\n${mpd}`);
    }
    const span = (s.at(-1)[0] + s.at(-1)[1] - s[0][0]) / 1000;
    assert.ok(span >= kSeconds - kAcceptedGapSeconds, `the timeline spans ${span} s:\n${mpd}`);
  });

  browser = await support.launchChromium();
  pages = await support.startPageServer();

  for (const [kind, url] of [['dash', dashUrl], ['hls', hlsUrl]]) {
    await t.test(`${kind === 'dash' ? 'dash.js' : 'hls.js'} plays, seeks near the end, plays on`,
                 async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      const console = [];
      page.on('console', (m) => console.push(`${m.type()}: ${m.text()}`));
      page.on('pageerror', (e) => console.push(`pageerror: ${e.message}`));
      const why = async () => JSON.stringify(await page.evaluate(() => ({
        report: window.report,
        currentTime: document.getElementById('v').currentTime,
        duration: document.getElementById('v').duration,
        range: window.range(),
      }))) + '\n' + console.slice(-30).join('\n');
      try {
        await page.goto(pages.url);
        await page.evaluate(([k, u]) => window.start(k, u), [kind, url]);
        await page.waitForFunction(() => document.getElementById('v').currentTime > 2, null,
                                   { timeout: kWaitMs, polling: 100 })
            .catch(async (e) => assert.fail(`no playback: ${e.message}\n${await why()}`));
        // Every fragment is reachable: the presentation is as long as the upload.
        const duration = await page.evaluate(() => document.getElementById('v').duration);
        assert.ok(duration >= kSeconds - kAcceptedGapSeconds, `duration ${duration}\n${await why()}`);

        const target = duration - 6;
        await page.evaluate((x) => { document.getElementById('v').currentTime = x; }, target);
        await page.waitForFunction((x) => {
          const v = document.getElementById('v');
          return window.report.seeked > 0 && v.currentTime > x + 2 && !v.paused;
        }, target, { timeout: kWaitMs, polling: 100 })
            .catch(async (e) => assert.fail(`no playback after the seek: ${e.message}\n${await why()}`));
        const report = await page.evaluate(() => window.report);
        assert.deepEqual(report.errors, [], await why());
      } finally {
        await context.close();
      }
    });
  }
});
