// The timeline: recorded spans and gaps on a canvas, from a minute to months. Wheel, pinch
// and the zoom buttons zoom; a drag pans; a click seeks; shift-drag (or a drag in select
// mode) selects a clip. The spans come from the server already merged to the resolution
// drawn (MinGapSeconds = the time one pixel covers), so a month of 2 s fragments is one
// small answer. Events are drawn as marks under the spans.
import * as fmt from './format.js';

export const kMinSpanSeconds = 60;
export const kMaxSpanSeconds = 400 * 86400;
const kDragThresholdPx = 4;
const kFetchDebounceMs = 80;
const kFollowRefreshMs = 3000;
// Tick steps (seconds): the smallest giving labels at least kTickMinPx apart is drawn.
const kTickSteps = [1, 5, 10, 30, 60, 300, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600,
                    86400, 2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400, 91 * 86400];
const kTickMinPx = 90;
const kHeight = 84;
const kSpanTop = 24;
const kSpanHeight = 34;
const kEventTop = kSpanTop + kSpanHeight + 6;

// Pure mapping between time (epoch seconds) and x (CSS pixels) for a view of a width.
export function timeToX(view, width, t) {
  return ((t - view.start) / (view.end - view.start)) * width;
}
export function xToTime(view, width, x) {
  return view.start + (x / width) * (view.end - view.start);
}
// The view zoomed by `factor` (>1: out) around time `at`, within the span limits.
export function zoomView(view, factor, at) {
  const span = Math.min(kMaxSpanSeconds,
                        Math.max(kMinSpanSeconds, (view.end - view.start) * factor));
  const f = (at - view.start) / (view.end - view.start);
  return { start: at - f * span, end: at - f * span + span };
}

export class Timeline {
  // opts: fetchSpans(start, end, minGap) → [{StartTimestamp, EndTimestamp, ...}] (throws to
  // say why none); fetchEvents(start, end) → [{StartTimestamp, EndTimestamp, Label}];
  // onSeek(t); onHover(t | null, x, events); onSelect({start, end} | null); onView(view);
  // onNote(text | null): why there are no spans; initialSpan: seconds in view at first
  // (default an hour, up to now).
  constructor(canvas, opts) {
    this.canvas = canvas;
    this.opts = opts;
    const now = Date.now() / 1000;
    const span = Math.min(kMaxSpanSeconds, Math.max(kMinSpanSeconds, opts.initialSpan || 3600));
    this.view = { start: now - span, end: now + 0.02 * span };
    this.spans = [];
    this.events = [];
    this.selection = null;
    this.playhead = null;
    this.selectMode = false;
    this.generation = 0;
    this.fetchTimer = null;
    this.lastFetch = 0;
    this.drawnOnce = false;
    // Resolved once the first spans are on the canvas (or could not be fetched).
    this.firstDraw = new Promise((resolve) => { this.resolveFirstDraw = resolve; });
    this.pointers = new Map();
    this.drag = null;
    this.resize();
    new ResizeObserver(() => { this.resize(); this.draw(); }).observe(canvas);
    this.listen();
    this.opts.onView(this.view);
    this.fetchNow();
    setInterval(() => this.tick(), 1000);
  }

  get width() { return this.canvas.clientWidth || 1; }
  timeToX(t) { return timeToX(this.view, this.width, t); }
  xToTime(x) { return xToTime(this.view, this.width, x); }

  resize() {
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(this.width * dpr);
    this.canvas.height = Math.round(kHeight * dpr);
  }

  // Follows the present while the view's end is near it.
  following() {
    const now = Date.now() / 1000;
    const span = this.view.end - this.view.start;
    return this.view.end >= now - 0.02 * span && this.view.start < now;
  }

  tick() {
    if (this.following() && !this.drag) {
      const now = Date.now() / 1000;
      const span = this.view.end - this.view.start;
      this.view = { start: now + 0.02 * span - span, end: now + 0.02 * span };
      if (Date.now() - this.lastFetch > kFollowRefreshMs) this.fetchNow();
      this.opts.onView(this.view);
    }
    this.draw();
  }

  setView(view) {
    this.view = view;
    this.opts.onView(view);
    this.draw();
    clearTimeout(this.fetchTimer);
    this.fetchTimer = setTimeout(() => this.fetchNow(), kFetchDebounceMs);
  }

  // Zooms around `at`; a view that follows the present keeps following it.
  zoom(factor, at = (this.view.start + this.view.end) / 2) {
    const view = zoomView(this.view, factor, at);
    if (this.following()) {
      const span = view.end - view.start;
      const now = Date.now() / 1000;
      view.end = now + 0.02 * span;
      view.start = view.end - span;
    }
    this.setView(view);
  }

  // The spans and events of the view and one view width either side (a pan shows them at
  // once), at one pixel's resolution. Answers to older requests are dropped.
  async fetchNow() {
    const generation = ++this.generation;
    this.lastFetch = Date.now();
    const span = this.view.end - this.view.start;
    const start = Math.max(0, this.view.start - span);
    const end = this.view.end + span;
    const minGap = span / this.width;
    // Each on its own: events still show when spans cannot, and the other way round.
    const [spans, events] = await Promise.allSettled([
      this.opts.fetchSpans(start, end, minGap),
      this.opts.fetchEvents(start, end),
    ]);
    if (generation !== this.generation) return;
    this.spans = spans.status === 'fulfilled' ? spans.value : [];
    this.events = events.status === 'fulfilled' ? events.value : this.events;
    const failed = [spans, events].find((r) => r.status === 'rejected');
    this.opts.onNote(failed ? (failed.reason.message || String(failed.reason)) : null);
    this.draw();
    if (!this.drawnOnce) {
      this.drawnOnce = true;
      performance.mark('timeline-drawn');
      this.canvas.dataset.drawn = 'true';
      this.resolveFirstDraw();
    }
  }

  setPlayhead(t) {
    this.playhead = t;
  }

  setSelection(sel) {
    this.selection = sel;
    this.opts.onSelect(sel);
    this.draw();
  }

  localX(ev) {
    return ev.clientX - this.canvas.getBoundingClientRect().left;
  }

  eventsNear(x) {
    return this.events.filter((e) => {
      const x0 = this.timeToX(e.StartTimestamp);
      const x1 = Math.max(x0, this.timeToX(e.EndTimestamp));
      return x >= x0 - 5 && x <= x1 + 5;
    });
  }

  listen() {
    const c = this.canvas;
    c.addEventListener('wheel', (ev) => {
      ev.preventDefault();
      const delta = ev.deltaMode === 1 ? ev.deltaY * 16 : ev.deltaY;
      this.zoom(Math.exp(delta * 0.002), this.xToTime(this.localX(ev)));
    }, { passive: false });
    c.addEventListener('pointerdown', (ev) => {
      c.setPointerCapture(ev.pointerId);
      this.pointers.set(ev.pointerId, this.localX(ev));
      if (this.pointers.size === 2) {
        const [a, b] = [...this.pointers.values()];
        this.drag = { pinch: true, distance: Math.abs(a - b) || 1, view: this.view,
                      at: this.xToTime((a + b) / 2), moved: true };
        return;
      }
      const x = this.localX(ev);
      this.drag = { x, view: this.view, moved: false, select: ev.shiftKey || this.selectMode,
                    t0: this.xToTime(x) };
      this.opts.onHover(null);
    });
    c.addEventListener('pointermove', (ev) => {
      const x = this.localX(ev);
      if (!this.drag) {
        this.opts.onHover(this.xToTime(x), x, this.eventsNear(x));
        return;
      }
      this.pointers.set(ev.pointerId, x);
      const d = this.drag;
      if (d.pinch) {
        if (this.pointers.size < 2) return;
        const [a, b] = [...this.pointers.values()];
        const factor = d.distance / (Math.abs(a - b) || 1);
        this.setView(zoomView(d.view, factor, d.at));
        return;
      }
      if (Math.abs(x - d.x) > kDragThresholdPx) d.moved = true;
      if (!d.moved) return;
      if (d.select) {
        const t = this.xToTime(x);
        this.selection = { start: Math.min(d.t0, t), end: Math.max(d.t0, t) };
        this.draw();
      } else {
        const dt = ((x - d.x) / this.width) * (d.view.end - d.view.start);
        this.setView({ start: d.view.start - dt, end: d.view.end - dt });
      }
    });
    const end = (ev) => {
      this.pointers.delete(ev.pointerId);
      const d = this.drag;
      if (!d || (d.pinch && this.pointers.size > 0)) return;
      this.drag = null;
      if (d.pinch) return;
      if (!d.moved) {
        if (!d.select) this.opts.onSeek(this.xToTime(this.localX(ev)));
      } else if (d.select && this.selection) {
        this.setSelection(this.selection);
      }
    };
    c.addEventListener('pointerup', end);
    c.addEventListener('pointercancel', (ev) => { this.drag = null; this.pointers.delete(ev.pointerId); });
    c.addEventListener('pointerleave', () => { if (!this.drag) this.opts.onHover(null); });
  }

  draw() {
    const ctx = this.canvas.getContext('2d');
    const dpr = window.devicePixelRatio || 1;
    const w = this.width;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, kHeight);
    const css = getComputedStyle(document.documentElement);
    const color = (name) => css.getPropertyValue(name).trim();

    // Ticks and their labels.
    const span = this.view.end - this.view.start;
    const step = kTickSteps.find((s) => (s / span) * w >= kTickMinPx) || kTickSteps.at(-1);
    const tz = -new Date(this.view.start * 1000).getTimezoneOffset() * 60;
    ctx.fillStyle = color('--dim');
    ctx.strokeStyle = color('--line');
    ctx.font = '11px system-ui, sans-serif';
    ctx.textBaseline = 'top';
    let t = Math.floor((this.view.start + tz) / step) * step - tz;
    for (; t <= this.view.end; t += step) {
      const x = Math.round(this.timeToX(t)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(x, 16);
      ctx.lineTo(x, kHeight);
      ctx.stroke();
      const label = fmt.dateTime(t);
      const text = step >= 86400 ? label.slice(5, 10) : step < 60 ? label.slice(11) : label.slice(11, 16);
      ctx.fillText(text, x + 3, 3);
    }

    // Recorded spans; the gaps stay empty.
    ctx.fillStyle = color('--rec');
    for (const s of this.spans) {
      const x0 = this.timeToX(s.StartTimestamp);
      const x1 = this.timeToX(s.EndTimestamp);
      if (x1 < 0 || x0 > w) continue;
      ctx.fillRect(x0, kSpanTop, Math.max(1, x1 - x0), kSpanHeight);
    }

    // Events: a mark per event, as long as the event.
    ctx.fillStyle = color('--event');
    for (const e of this.events) {
      const x0 = this.timeToX(e.StartTimestamp);
      const x1 = this.timeToX(e.EndTimestamp);
      if (x1 < -3 || x0 > w + 3) continue;
      ctx.fillRect(x0 - 1, kEventTop, Math.max(3, x1 - x0 + 2), 8);
    }

    if (this.selection) {
      const x0 = this.timeToX(this.selection.start);
      const x1 = this.timeToX(this.selection.end);
      ctx.fillStyle = color('--sel');
      ctx.fillRect(x0, 16, x1 - x0, kHeight - 16);
      ctx.strokeStyle = color('--accent');
      ctx.strokeRect(x0 + 0.5, 16.5, Math.max(1, x1 - x0 - 1), kHeight - 17);
    }

    // Now, and the frame on screen.
    const now = this.timeToX(Date.now() / 1000);
    ctx.fillStyle = color('--dim');
    ctx.fillRect(now, 16, 1, kHeight - 16);
    if (this.playhead !== null) {
      ctx.fillStyle = color('--danger');
      ctx.fillRect(this.timeToX(this.playhead) - 1, 12, 2, kHeight - 12);
    }
  }
}
