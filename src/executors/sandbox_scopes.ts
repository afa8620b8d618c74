/**
 * Whose code runs in a sandboxed worker: each task call (and a module's top level while it
 * loads) is a scope, carried by async context, so a refusal, an uncaught error or a timer is
 * charged to the scope whose code caused it. Timers are wrapped to keep their scope and are
 * cleared when it ends.
 *
 * @module
 */

import { AsyncLocalStorage } from "node:async_hooks";
import {
  AddEventListener,
  AlsGetStore,
  EventPreventDefault,
  EventStopImmediatePropagation,
  MapGet,
  MapSet,
  realQueueMicrotask,
  realSetInterval,
  realSetTimeout,
  ReflectApply,
  SafeError,
  SafeMap,
  SafeSet,
  SafeString,
  SetAdd,
  SetDelete,
} from "./_sandbox_primordials.ts";

// ---- scopes: whose code is running ----

/** Something user code runs on behalf of: a task call, or a module's top-level code. */
export interface SandboxScope {
  /** Who, for messages: `task "load"`. */
  readonly who: string;
  /** What `context()` returns while this scope's code runs. */
  readonly context: unknown;
  /** Said after an uncaught error of this scope, e.g. how to avoid it. */
  readonly hint?: string;
  /** A module's top level while it loads: an uncaught error there means it failed to load. */
  readonly loading?: boolean;
  /** Receives what this scope's code writes to `Deno.stdout` or `Deno.stderr`. */
  output?(text: string, stream: "stdout" | "stderr"): void;
  /** Called once when this scope's code did what the sandbox refuses, or raised uncaught. */
  fail(error: Error): void;
}

/** What the sandbox knows of a scope. */
export interface ScopeState {
  scope: SandboxScope;
  ended: boolean;
  failed: boolean;
  /** Made on the first timer: most tasks start none. */
  timers: Set<number> | undefined;
}

/** The scope of the code running, by async context. */
export const als: AsyncLocalStorage<ScopeState> = new AsyncLocalStorage<ScopeState>();
/** Every scope not ended yet. */
export const states: Map<SandboxScope, ScopeState> = new SafeMap<SandboxScope, ScopeState>();
let topLevel: ScopeState | undefined;

/** Code outside every call runs as `state` (a module's top level while it loads). */
export function setTopLevel(state: ScopeState | undefined): void {
  topLevel = state;
}

/** The scope whose code runs now: by async context, else the top level. */
export function current(): ScopeState | undefined {
  return (AlsGetStore(als) as ScopeState | undefined) ?? topLevel;
}

/** A refused action or an uncaught error, already phrased for the user. */
export class SandboxError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "SandboxError";
  }
}

let onRetire: ((reason: string) => void) | undefined;

/** Told when the worker must not be given another task. */
export function setOnRetire(handler: (reason: string) => void): void {
  onRetire = handler;
}

function retire(reason: string): void {
  onRetire?.(reason);
}

/** Fails a scope (once) and retires the worker; without a live scope, only retires it. */
export function failScope(state: ScopeState | undefined, error: Error): void {
  if (state === undefined || state.ended) {
    // Whose it was cannot be told, or its task is over: nobody else is blamed, but the worker
    // is not trusted with another task.
    retire(error.message);
    return;
  }
  if (!state.failed) {
    state.failed = true;
    try {
      state.scope.fail(error);
    } catch {
      // the scope's own handler failed: the worker is retired below all the same
    }
  }
  retire(error.message);
}

// ---- timers: attributed to their task, and cleared when it ends ----

type TimerFn = (...args: unknown[]) => unknown;

function scopedTimer(
  real: typeof setTimeout,
  repeat: boolean,
): (fn: unknown, ms?: number, ...args: unknown[]) => number {
  return (fn, ms, ...args) => {
    const state = AlsGetStore(als) as ScopeState | undefined;
    if (typeof fn !== "function" || state === undefined) {
      return ReflectApply(real, globalThis, [fn, ms, ...args]) as number;
    }
    const id: number = ReflectApply(real, globalThis, [() => {
      if (!repeat && state.timers !== undefined) SetDelete(state.timers, id);
      try {
        ReflectApply(fn as TimerFn, globalThis, args);
      } catch (e) {
        failScope(state, uncaught(state, e));
      }
    }, ms]) as unknown as number;
    SetAdd(state.timers ??= new SafeSet(), id);
    return id;
  };
}

/** `setTimeout` as tasks get it: kept with their scope, cleared when it ends. */
export const scopedSetTimeout: (fn: unknown, ms?: number, ...args: unknown[]) => number =
  scopedTimer(realSetTimeout, false);

/** Replaces the timer globals with ones that keep their scope. */
export function installTimers(): void {
  const g = globalThis as unknown as Record<string, unknown>;
  g.setTimeout = scopedSetTimeout;
  g.setInterval = scopedTimer(realSetInterval as typeof setTimeout, true);
  g.queueMicrotask = (fn: unknown) => {
    const state = AlsGetStore(als) as ScopeState | undefined;
    if (typeof fn !== "function" || state === undefined) {
      return ReflectApply(realQueueMicrotask, globalThis, [fn]);
    }
    ReflectApply(realQueueMicrotask, globalThis, [() => {
      try {
        ReflectApply(fn as TimerFn, globalThis, []);
      } catch (e) {
        failScope(state, uncaught(state, e));
      }
    }]);
  };
}

// ---- uncaught errors ----

function describe(e: unknown): string {
  try {
    if (e instanceof SafeError) return `${e.name}: ${e.message}`;
    return SafeString(e);
  } catch {
    return "an error that cannot be shown";
  }
}

function uncaught(state: ScopeState | undefined, e: unknown, rejection = false): Error {
  if (e instanceof SandboxError) return e;
  const who = state?.scope.who ?? "code in this worker";
  if (state?.scope.loading) return new SandboxError(`${who} failed: ${describe(e)}`);
  const hint = state?.scope.hint;
  return new SandboxError(
    `${who} raised an uncaught ${rejection ? "rejection" : "error"}: ${describe(e)}` +
      (hint ? ` (${hint})` : ""),
  );
}

/** Charges uncaught errors and rejections to their scope, and keeps the worker alive. */
export function installErrorHandlers(): void {
  AddEventListener(globalThis, "error", (event: Event) => {
    EventPreventDefault(event);
    EventStopImmediatePropagation(event);
    // Outside every call, while modules still load, the error is the top level's (a module
    // that fails to load); later, nobody's.
    const state = current();
    failScope(state, uncaught(state, (event as ErrorEvent).error));
  });
  AddEventListener(globalThis, "unhandledrejection", (event: Event) => {
    EventPreventDefault(event);
    EventStopImmediatePropagation(event);
    const state = current();
    failScope(state, uncaught(state, (event as PromiseRejectionEvent).reason, true));
  });
}

// ---- refusals ----

/** Fails the scope running now for `what`, and throws the error. */
export function refuse(what: string, why: string): never {
  const state = current();
  const who = state?.scope.who ?? "code in this worker";
  const error = new SandboxError(`${who} called ${what}; ${why}`);
  failScope(state, error);
  throw error;
}

/** The state of a scope, made on first use. */
export function stateOf(scope: SandboxScope): ScopeState {
  let state = MapGet(states, scope) as ScopeState | undefined;
  if (state === undefined) {
    state = { scope, ended: false, failed: false, timers: undefined };
    MapSet(states, scope, state);
  }
  return state;
}
