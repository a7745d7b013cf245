// The console's pure logic in node, without a browser or a server: the timeline's mapping
// between time and pixels and its zoom limits, and the formatting people read.
import assert from 'node:assert/strict';
import test from 'node:test';

import * as fmt from '../../web/format.js';
import { kMaxSpanSeconds, kMinSpanSeconds, timeToX, xToTime, zoomView } from '../../web/timeline.js';

test('time and x map onto each other across the view', () => {
  const view = { start: 1000, end: 1600 };
  assert.equal(timeToX(view, 1200, 1000), 0);
  assert.equal(timeToX(view, 1200, 1600), 1200);
  assert.equal(timeToX(view, 1200, 1300), 600);
  assert.equal(timeToX(view, 1200, 900), -200);  // before the view: off to the left
  for (const x of [0, 1, 599.5, 1200]) assert.equal(timeToX(view, 1200, xToTime(view, 1200, x)), x);
});

test('zooming keeps the time under the pointer where it is, within the limits', () => {
  const view = { start: 0, end: 3600 };
  const at = 900;
  const out = zoomView(view, 3, at);
  assert.equal(out.end - out.start, 10800);
  assert.equal(timeToX(out, 1000, at), timeToX(view, 1000, at));
  const tight = zoomView(view, 1e-6, at);
  assert.equal(tight.end - tight.start, kMinSpanSeconds);
  assert.ok(Math.abs(timeToX(tight, 1000, at) - 250) < 1e-6);
  const wide = zoomView(view, 1e9, at);
  assert.equal(wide.end - wide.start, kMaxSpanSeconds);
});

test('sizes, rates and ages read as people write them', () => {
  assert.equal(fmt.bytes(0), '0 B');
  assert.equal(fmt.bytes(999), '999 B');
  assert.equal(fmt.bytes(1500), '1.5 KB');
  assert.equal(fmt.bytes(2.5e9), '2.5 GB');
  assert.equal(fmt.bytes(null), '—');
  assert.equal(fmt.bitrate(2_000_000), '2.00 Mbit/s');
  assert.equal(fmt.bitrate(378_400), '378 kbit/s');
  assert.equal(fmt.ago(100, 105), '5 s ago');
  assert.equal(fmt.ago(0, 600), '10 min ago');
  assert.equal(fmt.ago(0, 7200), '2 h ago');
  assert.equal(fmt.ago(110, 100), '0 s ago');  // a clock a little ahead is not "in -10 s"
  assert.equal(fmt.duration(59), '59 s');
  assert.equal(fmt.duration(30 * 86400), '30 days');
  assert.match(fmt.dateTime(0.5, true), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.500$/);
});
