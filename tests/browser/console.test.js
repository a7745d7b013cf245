// The browser console (web/, served by streamarcd at /) in headless Chromium, against a
// camera pushing in real time with its frame number burned in as a bar code:
//  - the streams page lists the stream, live;
//  - the stream page plays it live (currentTime advances, videoWidth is the source's) and
//    the frame time it shows is the producer timestamp of the frame on screen;
//  - a click on a past moment of the timeline shows the frame of that moment;
//  - a clip selected on the timeline downloads, and ffprobe reads it;
//  - a phone-sized screen renders without horizontal scrolling;
//  - no errors in the browser console.
// Screenshots go to $CONSOLE_ARTIFACTS (ctest: the build tree's Testing/console), printed.
//
// Run: STREAMARCD=build/server/streamarcd node --test tests/browser/console.test.js
'use strict';

const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const test = require('node:test');
const { promisify } = require('node:util');

const support = require('./support');
const { startLiveProducer, readFrameInPage } = require('./live_producer');

const kWidth = 320;
const kHeight = 240;
const kWaitMs = 60_000;
const kRecordSeconds = 36;        // recorded before the past is sought and clipped
const kSeekToleranceSeconds = 1;  // the frame shown vs. the moment clicked
const kFrameTimeToleranceSeconds = 0.5;

const artifacts = process.env.CONSOLE_ARTIFACTS ||
                  fs.mkdtempSync(path.join(os.tmpdir(), 'streamarc-console-'));
fs.mkdirSync(artifacts, { recursive: true });
console.log(`console test: screenshots in ${artifacts}`);

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

test('the browser console lists, plays, seeks and clips a live stream', async (t) => {
  const server = await support.startServer();
  const stream = `console-${process.pid}`;
  let producer, browser;
  t.after(async () => {
    if (producer) await producer.stop();
    if (browser) await browser.close();
    assert.equal(await server.stop(), 0, 'streamarcd did not shut down cleanly:\n' + server.log());
  });
  await support.postJson(server.url, 'createStream', { StreamName: stream, DataRetentionInHours: 24 });
  producer = startLiveProducer(server.url, stream, { width: kWidth, height: kHeight });
  const recording = sleep(kRecordSeconds * 1000);

  browser = await support.launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 },
                                             acceptDownloads: true });
  const errors = [];
  // While a refusal is provoked on purpose, Chromium's own line about the 400 is expected.
  let refusing = false;
  const watch = (page) => {
    page.on('console', (m) => {
      if (m.type() !== 'error') return;
      if (refusing && /status of 400/.test(m.text())) return;
      errors.push(`${page.url()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`${page.url()}: pageerror ${e.message}`));
  };
  const shot = async (page, name) => page.screenshot({ path: path.join(artifacts, `${name}.png`),
                                                       fullPage: true });

  await t.test('the streams page lists the stream with a live bitrate', async () => {
    const page = await context.newPage();
    watch(page);
    await page.goto(`${server.url}/`);
    const row = page.locator(`tr[data-stream="${stream}"]`);
    await row.waitFor({ timeout: kWaitMs });
    await page.waitForFunction((s) => {
      const r = document.querySelector(`tr[data-stream="${s}"] td.bitrate`);
      return r && /bit\/s/.test(r.textContent);
    }, stream, { timeout: kWaitMs, polling: 250 });
    assert.match(await row.locator('td').nth(1).textContent(), /ACTIVE/);
    // Stored bytes and the last fragment's time come from the index's spans.
    await page.waitForFunction((s) => {
      const r = document.querySelector(`tr[data-stream="${s}"]`);
      return r && /^\d+(\.\d)? [KMG]?B$/.test(r.querySelector('td.stored').textContent) &&
             / ago$/.test(r.querySelector('td.last').textContent);
    }, stream, { timeout: kWaitMs, polling: 250 });
    await shot(page, 'streams');

    // Create, a refusal shown as KVS worded it, then delete (after a confirm).
    const extra = `${stream}-extra`;
    await page.fill('#create input[name=name]', extra);
    await page.fill('#create input[name=hours]', '2');
    await page.click('#create button');
    const created = page.locator(`tr[data-stream="${extra}"]`);
    await created.waitFor({ timeout: kWaitMs });
    assert.match(await created.locator('td').nth(2).textContent(), /2 h/);
    refusing = true;
    await page.fill('#create input[name=name]', extra);
    await page.click('#create button');
    await page.waitForFunction(() => !document.getElementById('error').hidden, null,
                               { timeout: kWaitMs });
    assert.match(await page.textContent('#error'), /ResourceInUseException/);
    refusing = false;
    page.once('dialog', (d) => d.accept());
    await created.locator('button.danger').click();
    await created.waitFor({ state: 'detached', timeout: kWaitMs });
    const names = (await support.postJson(server.url, 'listStreams', {})).StreamInfoList
        .map((i) => i.StreamName);
    assert.deepEqual(names.filter((n) => n.startsWith(stream)), [stream]);
    await page.close();
  });

  const page = await context.newPage();
  watch(page);
  const state = () => page.evaluate(() => ({
    mode: document.body.dataset.mode,
    error: document.getElementById('error').textContent,
    note: document.getElementById('timeline-note').textContent,
    currentTime: document.getElementById('video').currentTime,
  }));

  await t.test('the live view plays and shows the time of the frame on screen', async () => {
    await page.goto(`${server.url}/web/stream.html?name=${encodeURIComponent(stream)}`);
    await page.waitForFunction(() => document.getElementById('video').currentTime > 2, null,
                               { timeout: kWaitMs, polling: 200 })
        .catch(async (e) => assert.fail(`no live playback: ${e.message} ${JSON.stringify(await state())}`));
    const t0 = await page.evaluate(() => document.getElementById('video').currentTime);
    await page.waitForFunction((x) => document.getElementById('video').currentTime > x + 1, t0,
                               { timeout: kWaitMs, polling: 200 });
    assert.equal(await page.evaluate(() => document.getElementById('video').videoWidth), kWidth);
    assert.equal((await state()).mode, 'live');
    const f = await page.evaluate(readFrameInPage, '#video');
    assert.ok(f.frameTime, 'no frame time shown');
    assert.ok(Math.abs(producer.frameTime(f.n) - f.frameTime) < kFrameTimeToleranceSeconds,
              `the frame on screen is #${f.n} (${producer.frameTime(f.n)}) but the page says ` +
              `${f.frameTime}`);
    await shot(page, 'live');
  });

  await recording;

  await t.test('the timeline shows the recording; a click on the past plays that moment',
               async () => {
    await page.waitForFunction(() => window.streamarcConsole.timeline.spans.length > 0, null,
                               { timeout: kWaitMs, polling: 200 })
        .catch(async () => assert.fail(`no spans on the timeline: ${JSON.stringify(await state())}`));
    // Zoom in to a minute around the present: a pixel is then well under a frame's worth
    // of tolerance.
    for (let i = 0; i < 5; i++) await page.click('#zoom-in');
    const box = await page.locator('#timeline').boundingBox();
    const target = Date.now() / 1000 - 20;
    const x = await page.evaluate((tt) => window.streamarcConsole.timeline.timeToX(tt), target);
    assert.ok(x > 0 && x < box.width, `the moment is off the timeline (x ${x})`);
    // The first frame played after the seek, read as soon as it is on screen.
    const first = page.evaluate(() => new Promise((resolve) => {
      const v = document.getElementById('video');
      const check = () => {
        if (document.body.dataset.mode === 'replay' && v.readyState >= 2 && !v.seeking &&
            window.streamarcConsole.player.frameTime()) {
          v.requestVideoFrameCallback(() => resolve({
            sought: window.streamarcConsole.player.sought,
            ...window.readFrame(),
          }));
        } else {
          setTimeout(check, 20);
        }
      };
      check();
    }));
    await page.evaluate(`window.readFrame = ${readFrameInPage.toString()}.bind(null, '#video')`);
    await page.mouse.click(box.x + x, box.y + box.height / 2);
    const f = await Promise.race([first, sleep(kWaitMs).then(() => null)]);
    assert.ok(f, `no replay: ${JSON.stringify(await state())}`);
    assert.ok(Math.abs(f.sought - target) < 2, `clicked ${target}, the page sought ${f.sought}`);
    const shown = producer.frameTime(f.n);
    assert.ok(Math.abs(shown - f.sought) < kSeekToleranceSeconds,
              `sought ${f.sought}, the frame on screen is #${f.n} from ${shown}`);
    assert.ok(Math.abs(shown - f.frameTime) < kFrameTimeToleranceSeconds,
              `the frame is from ${shown}, the page says ${f.frameTime}`);
    await shot(page, 'replay');
    await page.click('#live');
    await page.waitForFunction(() => document.body.dataset.mode === 'live', null, { timeout: kWaitMs });
  });

  await t.test('an analysis event shows as a mark on the timeline', async () => {
    const at = Date.now() / 1000 - 10;
    await support.postJson(server.url, 'putEvents', {
      StreamName: stream,
      Events: [{ Label: 'motion', StartTimestamp: at, EndTimestamp: at + 2, Score: 0.9 }],
    });
    await page.waitForFunction(() => window.streamarcConsole.timeline.events
                                         .some((e) => e.Label === 'motion'),
                               null, { timeout: kWaitMs, polling: 200 });
  });

  await t.test('a hovered moment shows its thumbnail', async () => {
    const box = await page.locator('#timeline').boundingBox();
    const x = await page.evaluate((tt) => window.streamarcConsole.timeline.timeToX(tt),
                                  Date.now() / 1000 - 15);
    await page.mouse.move(box.x + x, box.y + box.height / 2);
    await page.waitForFunction(() => {
      const img = document.querySelector('#thumb img');
      return !img.hidden && img.complete && img.naturalWidth > 0;
    }, null, { timeout: kWaitMs, polling: 100 }).catch(async (e) => assert.fail(
        `no thumbnail: ${e.message} x ${x} of ${box.width} ` + JSON.stringify(await page.evaluate(() => ({
          box: document.getElementById('thumb').hidden,
          img: document.querySelector('#thumb img').hidden,
          src: document.querySelector('#thumb img').src.slice(0, 40),
          label: document.querySelector('#thumb span').textContent,
          view: window.streamarcConsole.timeline.view,
          drag: !!window.streamarcConsole.timeline.drag,
          now: Date.now() / 1000,
        })))));
    await shot(page, 'thumbnail');
    await page.mouse.move(box.x + x, box.y + box.height + 200);
  });

  await t.test('a clip selected on the timeline downloads as an MP4 ffprobe reads', async () => {
    const box = await page.locator('#timeline').boundingBox();
    const now = Date.now() / 1000;
    const [x0, x1] = await page.evaluate(([a, b]) => [a, b].map(
        (tt) => window.streamarcConsole.timeline.timeToX(tt)), [now - 28, now - 18]);
    await page.keyboard.down('Shift');
    await page.mouse.move(box.x + x0, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + (x0 + x1) / 2, box.y + box.height / 2, { steps: 4 });
    await page.mouse.move(box.x + x1, box.y + box.height / 2, { steps: 4 });
    await page.mouse.up();
    await page.keyboard.up('Shift');
    assert.equal(await page.isEnabled('#download'), true,
                 await page.textContent('#selection'));
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: kWaitMs }),
                                          page.click('#download')]);
    const file = path.join(artifacts, 'clip.mp4');
    await download.saveAs(file);
    const { stdout } = await promisify(execFile)('ffprobe', [
      '-v', 'error', '-show_entries', 'stream=codec_name,width,height:format=duration',
      '-of', 'json', file]);
    const probe = JSON.parse(stdout);
    const video = probe.streams.find((s) => s.codec_name === 'h264');
    assert.ok(video, stdout);
    assert.equal(video.width, kWidth);
    const seconds = Number(probe.format.duration);
    assert.ok(seconds >= 8 && seconds <= 16, `the clip lasts ${seconds} s`);
    assert.match(await page.textContent('#progress-text'), /Downloaded/);
    await shot(page, 'clip');
  });

  await t.test('a clip over past GetClip limits is refused, and the page says why', async () => {
    // Zoomed out to days: a selection across the whole timeline is past GetClip's 24 hours.
    for (let i = 0; i < 9; i++) await page.click('#zoom-out');
    const box = await page.locator('#timeline').boundingBox();
    refusing = true;
    await page.keyboard.down('Shift');
    await page.mouse.move(box.x + 5, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2, { steps: 4 });
    await page.mouse.move(box.x + box.width - 5, box.y + box.height / 2, { steps: 4 });
    await page.mouse.up();
    await page.keyboard.up('Shift');
    await page.click('#download');
    await page.waitForFunction(() => !document.getElementById('clip-error').hidden, null,
                               { timeout: kWaitMs });
    const text = await page.textContent('#clip-error');
    refusing = false;
    assert.match(text, /^getClip: \w+Exception: ./, text);
    await shot(page, 'clip-refused');
  });
  await page.close();

  await t.test('a phone-sized screen renders both pages without horizontal scrolling', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 },
                                             deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    try {
      for (const [name, url] of [['phone-streams', '/'],
                                 ['phone-stream', `/web/stream.html?name=${stream}`]]) {
        const p = await phone.newPage();
        watch(p);
        await p.goto(server.url + url);
        await p.waitForFunction(() => document.body.dataset.loaded === 'true' ||
                                      document.getElementById('timeline')?.dataset.drawn === 'true',
                                null, { timeout: kWaitMs });
        const overflow = await p.evaluate(() => document.documentElement.scrollWidth -
                                                document.documentElement.clientWidth);
        await p.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
        assert.ok(overflow <= 0, `${url} scrolls sideways by ${overflow} px`);
        await p.close();
      }
    } finally {
      await phone.close();
    }
  });

  const acks = await producer.stop();
  producer = null;
  assert.doesNotMatch(acks, /"ERROR"/);
  assert.deepEqual(errors, []);
});
