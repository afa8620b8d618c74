/**
 * Replay (resume): calls that completed before are restored from the journal instead of run
 * again, and each restored call must be the call the run made: the same task under its id, the
 * same arguments (compared through a hash of each argument, references as their ids, journaled
 * with `task.created`), and the same place among the body's calls. Anything else raises
 * {@linkcode NonDeterminismError} naming the call and what changed, instead of handing an old
 * result to a call that is no longer the one it belonged to.
 *
 * @module
 */

import { NonDeterminismError } from "../core/errors.ts";
import type { TaskStatus } from "../core/events.ts";
import type { RestoredTask } from "./types.ts";

/** What replay needs of a call. */
export interface ReplayedCall {
  /** The call's id. */
  readonly id: string;
  /** Its task's settings (the name). */
  readonly config: { readonly name: string };
  /** Its arguments, references not resolved yet. */
  readonly args: readonly unknown[];
  /** The map group it is an item of, if it is one. */
  readonly group: unknown;
  /** Its map state, if it is a map group (groups are never restored: their items are). */
  readonly map: unknown;
}

/**
 * Whether a call's id is the one the engine generates from its task's name (`load`, `load#2`):
 * such ids follow the order of calls, so their order is checked on replay. Explicit ids
 * (`f.call(task, args, { id })`) name a call whatever its place.
 */
export function isGeneratedId(id: string, name: string): boolean {
  if (id === name) return true;
  const n = name.length;
  if (id.length < n + 2 || id.charCodeAt(n) !== 35 || !id.startsWith(name)) return false;
  for (let i = n + 1; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

// Two 32-bit FNV-1a lanes with different offsets, each finished by murmur3's avalanche: 53 bits
// that change with every character. Not cryptographic: it compares one call with itself.
function hashText(text: string): string {
  let a = 0x811c9dc5, b = 0x01000193 ^ 0x9e3779b9;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  a = Math.imul(a ^ (a >>> 16), 0x85ebca6b);
  a = Math.imul(a ^ (a >>> 13), 0xc2b2ae35);
  a ^= a >>> 16;
  b = Math.imul(b ^ (b >>> 16), 0x85ebca6b);
  b = Math.imul(b ^ (b >>> 13), 0xc2b2ae35);
  b ^= b >>> 16;
  return ((b & 0x1fffff) * 0x100000000 + (a >>> 0)).toString(36);
}

// One canonical text per value: object keys sorted, references as `&"id"` (which no JSON value
// writes), undefined as `u`.
function canonical(v: unknown, refId: (v: object) => string | undefined): string {
  if (v === undefined) return "u";
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "u";
  const id = refId(v);
  if (id !== undefined) return "&" + JSON.stringify(id);
  if (Array.isArray(v)) {
    let out = "[";
    for (let i = 0; i < v.length; i++) out += (i ? "," : "") + canonical(v[i], refId);
    return out + "]";
  }
  const keys = Object.keys(v).sort();
  let out = "{";
  let first = true;
  for (const k of keys) {
    const x = (v as Record<string, unknown>)[k];
    if (x === undefined) continue;
    out += (first ? "" : ",") + JSON.stringify(k) + ":" + canonical(x, refId);
    first = false;
  }
  return out + "}";
}

/**
 * The hash of a call's arguments: one part per argument, separated by spaces (which no call id
 * holds). An argument that is a reference is `&` and the id of the call it refers to (its value
 * is not known yet, and the id is no secret); any other is a short hash of its canonical JSON,
 * references inside it written as their ids.
 *
 * @example
 * ```ts
 * import { argsHash } from "./replay.ts";
 * const none = () => undefined;
 * console.assert(argsHash([1, { b: 2, a: 1 }], none) === argsHash([1, { a: 1, b: 2 }], none));
 * console.assert(argsHash([1], none) !== argsHash([2], none));
 * console.assert(argsHash([], none) === "");
 * ```
 */
export function argsHash(
  args: readonly unknown[],
  refId: (v: object) => string | undefined,
): string {
  let out = "";
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    // A reference at the top level (a chain, a fan-in) costs a concatenation, not a hash.
    const id = a !== null && typeof a === "object" ? refId(a) : undefined;
    const part = id !== undefined ? "&" + id : hashText(canonical(a, refId));
    out = i === 0 ? part : out + " " + part;
  }
  return out;
}

function changedArgs(recorded: string, now: string): string {
  const was = recorded === "" ? [] : recorded.split(" ");
  const is = now === "" ? [] : now.split(" ");
  if (was.length !== is.length) {
    return `it was called with ${was.length} argument${
      was.length === 1 ? "" : "s"
    }, now ${is.length}`;
  }
  const changed: string[] = [];
  for (let i = 0; i < was.length; i++) if (was[i] !== is[i]) changed.push(`args[${i}]`);
  const list = changed.length === 1
    ? changed[0]
    : `${changed.slice(0, -1).join(", ")} and ${changed.at(-1)}`;
  return `${list} changed`;
}

/** Checks each call of a resumed run against what the run recorded. */
export class ReplayCheck {
  readonly #runId: string;
  readonly #restore: ReadonlyMap<string, RestoredTask>;
  readonly #refId: (v: object) => string | undefined;
  #calls = 0;

  /** Checks calls of run `runId` against `restore`; `refId` tells references' ids. */
  constructor(
    runId: string,
    restore: ReadonlyMap<string, RestoredTask>,
    refId: (v: object) => string | undefined,
  ) {
    this.#runId = runId;
    this.#restore = restore;
    this.#refId = refId;
  }

  /**
   * Called for every call in the order the body makes them: the restored result of `call`, or
   * undefined when it runs. Throws {@linkcode NonDeterminismError} when it is not the call the
   * run made.
   */
  check(call: ReplayedCall): RestoredTask | undefined {
    const name = call.config.name;
    const ordered = call.group === null && isGeneratedId(call.id, name);
    const place = ordered ? this.#calls++ : -1;
    if (call.map !== null) return undefined;
    const restored = this.#restore.get(call.id);
    if (restored === undefined) return undefined;
    if (restored.name !== name) {
      this.#fail(
        call.id,
        `call "${call.id}" was task "${restored.name}" when the run began, but the flow body ` +
          `now calls task "${name}" there`,
      );
    }
    if (ordered && restored.call !== undefined && restored.call !== place) {
      const there = this.#callAt(place);
      this.#fail(
        call.id,
        there === undefined
          ? `the body called "${call.id}" as its call ${place + 1}, where the run called it as ` +
            `call ${restored.call + 1}`
          : `the body called "${call.id}" where the run called "${there}"`,
      );
    }
    if (restored.argsHash !== undefined) {
      const now = argsHash(call.args, this.#refId);
      if (now !== restored.argsHash) {
        this.#fail(
          call.id,
          call.group !== null
            ? `call "${call.id}" was called with a different item than when the run began`
            : `call "${call.id}" was called with different arguments: ${
              changedArgs(restored.argsHash, now)
            }`,
        );
      }
    }
    return restored;
  }

  #callAt(place: number): string | undefined {
    for (const [id, r] of this.#restore) if (r.call === place) return id;
    return undefined;
  }

  #fail(taskId: string, change: string): never {
    throw new NonDeterminismError(this.#runId, taskId, change);
  }
}

/** What {@linkcode restoredCalls} reads of a recorded task (a store's task row). */
export interface RecordedCall {
  /** The call's id. */
  taskId: string;
  /** The task's name. */
  name: string;
  /** `map` for a map group. */
  kind: "task" | "map";
  /** Where it stands. */
  status: TaskStatus;
  /** Its result. */
  result?: unknown;
  /** Attempts made. */
  attempts: number;
  /** The map group it is an item of. */
  group?: string;
  /** The hash of its arguments, when the run recorded one. */
  argsHash?: string;
}

/**
 * The calls of a recorded run to restore when it resumes: those that succeeded (or came from
 * the cache), except map groups and the calls in `reset`, each with its place among the body's
 * calls and its arguments' hash, so replay can check them. `calls` must be in the order they
 * were first recorded (a store's `getTasks` order).
 *
 * @example
 * ```ts
 * import { restoredCalls } from "./replay.ts";
 * const restore = restoredCalls([
 *   { taskId: "a", name: "a", kind: "task", status: "succeeded", result: 1, attempts: 1 },
 *   { taskId: "b", name: "b", kind: "task", status: "failed", attempts: 2 },
 *   { taskId: "c", name: "c", kind: "task", status: "succeeded", result: 3, attempts: 1 },
 * ]);
 * console.assert(restore.get("c")?.call === 2 && !restore.has("b"));
 * ```
 */
export function restoredCalls(
  calls: Iterable<RecordedCall>,
  reset?: ReadonlySet<string>,
): Map<string, RestoredTask> {
  const restore = new Map<string, RestoredTask>();
  let place = 0;
  for (const t of calls) {
    const ordered = t.group === undefined && isGeneratedId(t.taskId, t.name);
    const at = ordered ? place++ : -1;
    if (t.kind === "map" || reset?.has(t.taskId)) continue;
    if (t.status !== "succeeded" && t.status !== "cached") continue;
    const r: RestoredTask = { name: t.name, value: t.result ?? null, attempts: t.attempts };
    if (ordered) r.call = at;
    if (t.argsHash !== undefined) r.argsHash = t.argsHash;
    restore.set(t.taskId, r);
  }
  return restore;
}
