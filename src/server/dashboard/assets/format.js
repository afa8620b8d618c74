// Formatting of times and durations, shared by the views (pure: tested under Deno too).

/**
 * A duration in ms as people read it: `850ms`, `4.2s`, `3m 04s`, `2h 05m`, `3d 4h`.
 *
 * @param {number} ms
 * @returns {string}
 */
export function duration(ms) {
  if (!Number.isFinite(ms) || ms < 0) return "";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours}h ${String(m % 60).padStart(2, "0")}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

/**
 * How long a run or task took (or has taken so far, while it runs), from ISO times.
 *
 * @param {string | undefined | null} startedAt
 * @param {string | undefined | null} finishedAt
 * @param {number} [now]
 * @returns {string}
 */
export function span(startedAt, finishedAt, now = Date.now()) {
  if (!startedAt) return "";
  const start = Date.parse(startedAt);
  const end = finishedAt ? Date.parse(finishedAt) : now;
  return duration(end - start);
}

/**
 * A time relative to now: `in 3h 05m`, `12s ago`.
 *
 * @param {string | number} time ISO time or ms since the epoch
 * @param {number} [now]
 * @returns {string}
 */
export function relative(time, now = Date.now()) {
  const t = typeof time === "number" ? time : Date.parse(time);
  if (!Number.isFinite(t)) return "";
  const d = t - now;
  return d >= 0 ? `in ${duration(d)}` : `${duration(-d)} ago`;
}

/**
 * An ISO time in the viewer's own time zone, to the second.
 *
 * @param {string | number | null | undefined} time
 * @returns {string}
 */
export function localTime(time) {
  if (time === null || time === undefined || time === "") return "";
  const d = new Date(time);
  if (Number.isNaN(d.getTime())) return "";
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/**
 * A JSON value as short text (for params and results in tables).
 *
 * @param {unknown} value
 * @param {number} [max]
 * @returns {string}
 */
export function shortJson(value, max = 120) {
  let text;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > max ? text.slice(0, max - 1) + "…" : text;
}

// CSI and OSC sequences of terminals (colours, titles): shown as text they are noise.
// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[@-Z\\-_]/g;

/**
 * A log line without terminal escape sequences.
 *
 * @param {string} text
 * @returns {string}
 */
export function plainText(text) {
  return String(text ?? "").replace(ANSI, "");
}
