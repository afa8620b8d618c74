/**
 * The text of a `journal` row. Format 2 (schema version 3 on) is compact: a JSON array whose
 * first element is the time of the row's first event (ms since the epoch) and whose other
 * elements are the events, each as a tuple
 *
 *     [code, time - first time, taskId, name or 0, ...the type's fields in a fixed order]
 *
 * (run events have no taskId and name). The name is 0 when it is the one the engine derives
 * from the id (`load` for `load`, `load#2` and `load[3]`), and a type's optional fields come
 * last and are left off when absent. The run id is the row's. An event that does not fit its
 * type's tuple (an unknown type, another field, a fractional time) is kept whole as an object,
 * without its runId, which is all format 1 (schema version 2) held.
 *
 * So 10,000 no-op tasks journal about 80 bytes each instead of about 350: the bytes are what
 * an append copies, fsyncs and checkpoints.
 *
 * @module
 */

import type { AppendEvent } from "./store.ts";

/** The format of the rows this code writes (the `journal.format` column). */
export const JOURNAL_FORMAT = 2;

interface Shape {
  type: string;
  /** Whether the event carries taskId and name. */
  task: boolean;
  /** Fields that must be present (and not undefined), in order. */
  fields: readonly string[];
  /** Fields that may be absent, in order, after `fields`. */
  optional: readonly string[];
}

const SHAPES: readonly Shape[] = [
  { type: "run.started", task: false, fields: ["flow", "params"], optional: [] },
  { type: "task.created", task: true, fields: ["needs", "kind"], optional: ["group"] },
  { type: "task.started", task: true, fields: ["attempt"], optional: [] },
  { type: "task.retrying", task: true, fields: ["attempt", "delayMs", "error"], optional: [] },
  { type: "task.succeeded", task: true, fields: ["attempt", "durationMs"], optional: ["result"] },
  { type: "task.cached", task: true, fields: ["key"], optional: ["result"] },
  { type: "task.failed", task: true, fields: ["attempts", "error", "durationMs"], optional: [] },
  { type: "task.skipped", task: true, fields: ["reason"], optional: [] },
  { type: "task.cancelled", task: true, fields: [], optional: [] },
  { type: "task.log", task: true, fields: ["level", "message"], optional: ["props"] },
  { type: "map.expanded", task: true, fields: ["items"], optional: [] },
  { type: "run.finished", task: false, fields: ["flow", "status"], optional: ["result", "error"] },
  // task.created of a journaled call, with its arguments' hash (the engine's replay check).
  { type: "task.created", task: true, fields: ["needs", "kind", "argsHash"], optional: ["group"] },
];

// A type's first shape is its code; a later shape of the same type is chosen by a field.
const CODES = new Map<string, number>();
SHAPES.forEach((s, i) => CODES.has(s.type) || CODES.set(s.type, i));
const CREATED = CODES.get("task.created")!;
const CREATED_HASHED = SHAPES.length - 1;

/** The name the engine gives a call with this id: the id up to its `#n` or `[i]`. */
export function derivedName(taskId: string): string {
  let end = taskId.length;
  const hash = taskId.indexOf("#");
  if (hash >= 0) end = hash;
  const bracket = taskId.indexOf("[");
  if (bracket >= 0 && bracket < end) end = bracket;
  return end === taskId.length ? taskId : taskId.slice(0, end);
}

/** The tuple of an event, or undefined when it must be kept whole. */
function tuple(e: AppendEvent, t0: number): unknown[] | undefined {
  let code = CODES.get(e.type);
  if (code === undefined) return undefined;
  const r = e as unknown as Record<string, unknown>;
  if (code === CREATED && r.argsHash !== undefined) code = CREATED_HASHED;
  const s = SHAPES[code];
  const dt = e.time - t0;
  if (!Number.isSafeInteger(e.time) || !Number.isSafeInteger(dt)) return undefined;
  const out: unknown[] = [code, dt];
  let keys = 3; // type, runId, time
  if (s.task) {
    const taskId = r.taskId;
    const name = r.name;
    if (typeof taskId !== "string" || typeof name !== "string") return undefined;
    out.push(taskId, derivedName(taskId) === name ? 0 : name);
    keys += 2;
  }
  const fields = s.fields;
  for (let i = 0; i < fields.length; i++) {
    const v = r[fields[i]];
    if (v === undefined) return undefined;
    out.push(v);
  }
  keys += fields.length;
  const optional = s.optional;
  let gap = false;
  for (let i = 0; i < optional.length; i++) {
    const v = r[optional[i]];
    if (v === undefined) gap = true;
    else if (gap) return undefined;
    else {
      out.push(v);
      keys++;
    }
  }
  // Any other field (or one set to undefined, which JSON would drop anyway) keeps it whole.
  let n = 0;
  for (const k in r) if (r[k] !== undefined) n++;
  return n === keys ? out : undefined;
}

/** The row text (format 2) of one run's events `from` .. `to`. */
export function journalText(events: readonly AppendEvent[], from = 0, to = events.length): string {
  const t0 = to > from && Number.isSafeInteger(events[from].time) ? events[from].time : 0;
  const entries: unknown[] = new Array(to - from + 1);
  entries[0] = t0;
  for (let i = from; i < to; i++) {
    const e = events[i];
    let entry: unknown = tuple(e, t0);
    if (entry === undefined) {
      const whole: Record<string, unknown> = {};
      const r = e as unknown as Record<string, unknown>;
      for (const k in r) if (k !== "runId") whole[k] = r[k];
      entry = whole;
    }
    entries[i - from + 1] = entry;
  }
  return JSON.stringify(entries);
}

/** The events of a row's text in either format, with their runId (results included). */
export function journalEvents(runId: string, text: string, format: number): AppendEvent[] {
  const events: AppendEvent[] = [];
  eachJournalEvent(runId, text, format, (e) => void events.push(e));
  return events;
}

/** Per shape, an event object that `eachJournalEvent` fills again for each tuple. */
const SCRATCH: Record<string, unknown>[] = SHAPES.map((s) => {
  const e: Record<string, unknown> = { type: s.type, runId: "", time: 0 };
  if (s.task) e.taskId = e.name = "";
  for (const f of [...s.fields, ...s.optional]) e[f] = undefined;
  return e;
});

/**
 * Calls `fn` with each event of a row's text in either format (with its runId, results
 * included) and its index in the row. With `reuse`, an event kept as a tuple comes in an
 * object that is filled again for the next tuple of its type (absent fields are undefined):
 * `fn` may keep the values it holds, but not the object. That spares a long read an object
 * per event.
 */
export function eachJournalEvent(
  runId: string,
  text: string,
  format: number,
  fn: (e: AppendEvent, index: number) => void,
  reuse = false,
): void {
  const parsed = JSON.parse(text) as unknown[];
  if (format === 1) {
    for (let i = 0; i < parsed.length; i++) {
      (parsed[i] as AppendEvent).runId = runId;
      fn(parsed[i] as AppendEvent, i);
    }
    return;
  }
  const t0 = parsed[0] as number;
  for (let i = 1; i < parsed.length; i++) {
    const entry = parsed[i];
    if (!Array.isArray(entry)) {
      const e = entry as AppendEvent;
      e.runId = runId;
      fn(e, i - 1);
      continue;
    }
    const code = entry[0] as number;
    const s = SHAPES[code];
    const time = t0 + (entry[1] as number);
    let e: Record<string, unknown>;
    if (reuse) {
      e = SCRATCH[code];
      e.runId = runId;
      e.time = time;
    } else e = { type: s.type, runId, time };
    let j = 2;
    if (s.task) {
      const taskId = entry[2] as string;
      e.taskId = taskId;
      e.name = entry[3] === 0 ? derivedName(taskId) : entry[3];
      j = 4;
    }
    const fields = s.fields;
    for (let k = 0; k < fields.length; k++) e[fields[k]] = entry[j++];
    const optional = s.optional;
    for (let k = 0; k < optional.length; k++) {
      if (j < entry.length) e[optional[k]] = entry[j++];
      else if (reuse) e[optional[k]] = undefined;
      else break;
    }
    fn(e as unknown as AppendEvent, i - 1);
  }
}
