// Formatting for people: sizes, rates and times (local time zone).

export function bytes(n) {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${n >= 100 || i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}

export function bitrate(bitsPerSecond) {
  if (bitsPerSecond === null || bitsPerSecond === undefined) return '—';
  if (bitsPerSecond >= 1e6) return `${(bitsPerSecond / 1e6).toFixed(2)} Mbit/s`;
  return `${Math.round(bitsPerSecond / 1e3)} kbit/s`;
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

// "2026-12-02 10:43:07" (local), with milliseconds when `ms`.
export function dateTime(seconds, ms = false) {
  if (seconds === null || seconds === undefined) return '—';
  const d = new Date(seconds * 1000);
  const s = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
            `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return ms ? `${s}.${pad(d.getMilliseconds(), 3)}` : s;
}

// "5 s ago", "3 min ago", "2 h ago", else the date.
export function ago(seconds, now = Date.now() / 1000) {
  if (seconds === null || seconds === undefined) return '—';
  const d = Math.max(0, now - seconds);
  if (d < 90) return `${Math.round(d)} s ago`;
  if (d < 5400) return `${Math.round(d / 60)} min ago`;
  if (d < 172800) return `${Math.round(d / 3600)} h ago`;
  return dateTime(seconds);
}

export function duration(seconds) {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} days`;
}
