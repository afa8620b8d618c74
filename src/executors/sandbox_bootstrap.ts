/**
 * The first module of every sandboxed isolate (task workers, the plugin inspection worker, and
 * the flow isolate to come). Its entry imports this module before anything else, so it runs
 * before any user code, and it:
 *
 * - **captures the bridge to the host**: a private `MessagePort` the host sends in its first
 *   message, and every function the bridge calls, so user code can neither post messages the
 *   host would accept as replies nor observe the messages the host sends (they carry other
 *   tasks' arguments and secrets). Messages on the worker's global scope are swallowed.
 * - **owns the context global**: `globalThis[WORKER_CONTEXT]` is a non-configurable accessor
 *   that returns the context of the task whose code is asking (per async context), so it cannot
 *   be hooked, and a timer left by one task never sees the next task's context.
 * - **guards own-process controls**: `Deno.kill` of the own pid, pid 0 or a negative pid (a
 *   process group), `Deno.exit`, `close()`, `Deno.chdir` and their `node:process` twins fail
 *   the task that called them, with a message saying what it tried, and the host is told to
 *   replace the worker; the orchestrator survives.
 * - **attributes uncaught errors**: an uncaught error or unhandled rejection fails the task
 *   whose async work raised it (found by async context), never another; the worker that saw it
 *   is replaced before it runs another task. A task's timers are cleared when it ends.
 * - removes `Deno[Deno.internal]`, which would reach the runtime's own hooks.
 *
 * The bridge is handed out once, to the entry's own protocol module ({@linkcode takeBridge}),
 * which the entry imports right after this one, before the user's module.
 *
 * @module
 */

import { AsyncLocalStorage } from "node:async_hooks";
import {
  CONTEXT_KEY,
  REGISTRY_KEY,
  taskContextStorage,
  taskRegistry,
  WORKER_CONTEXT,
} from "../core/protocol.ts";

// Loaded in the host by mistake, it would guard the host itself: refuse at once.
if (!("WorkerGlobalScope" in globalThis)) {
  throw new Error(
    "sandbox_bootstrap.ts is the first module of a sandboxed worker; it must not be imported " +
      "elsewhere (import its types only)",
  );
}

// ---- what the bridge calls, captured before any user code can replace it ----

const ReflectApply = Reflect.apply;
const FunctionCall = Function.prototype.call;
const FunctionBind = Function.prototype.bind;

/** `fn` as a function of its `this` first: calling it looks nothing up on any prototype. */
function uncurryThis<A extends unknown[], R>(
  fn: (...args: A) => R,
): (self: unknown, ...args: A) => R {
  return ReflectApply(FunctionBind, FunctionCall, [fn]) as (self: unknown, ...args: A) => R;
}

const ObjectDefineProperty = Object.defineProperty;
const ObjectFreeze = Object.freeze;
const ObjectHasOwn = Object.hasOwn;
const SafeMap = Map;
const SafeSet = Set;
const SafeError = Error;
const SafeString = String;
const SafePromise = Promise;
const SafeAbortController = AbortController;
const SafeStructuredClone = globalThis.structuredClone;
const SafeJSONStringify = JSON.stringify;
const MapGet = uncurryThis(Map.prototype.get);
const MapSet = uncurryThis(Map.prototype.set);
const MapDelete = uncurryThis(Map.prototype.delete);
const MapForEach = uncurryThis(Map.prototype.forEach);
const SetAdd = uncurryThis(Set.prototype.add);
const SetDelete = uncurryThis(Set.prototype.delete);
const SetForEach = uncurryThis(Set.prototype.forEach);
const AlsRun = uncurryThis(AsyncLocalStorage.prototype.run);
const AlsGetStore = uncurryThis(AsyncLocalStorage.prototype.getStore);
const AbortControllerAbort = uncurryThis(AbortController.prototype.abort);
const AbortControllerSignal = uncurryThis(
  Object.getOwnPropertyDescriptor(AbortController.prototype, "signal")!.get!,
);
const PortPostMessage = uncurryThis(MessagePort.prototype.postMessage);
const PortClose = uncurryThis(MessagePort.prototype.close);
const PortSetOnMessage = uncurryThis(
  Object.getOwnPropertyDescriptor(MessagePort.prototype, "onmessage")!.set!,
);
const EventStopImmediatePropagation = uncurryThis(Event.prototype.stopImmediatePropagation);
const EventPreventDefault = uncurryThis(Event.prototype.preventDefault);
const EventIsTrusted = uncurryThis(
  Object.getOwnPropertyDescriptor(Event.prototype, "isTrusted")!.get!,
);
const AddEventListener = uncurryThis(EventTarget.prototype.addEventListener);
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;
const realSetInterval = globalThis.setInterval;
const realClearInterval = globalThis.clearInterval;
const realQueueMicrotask = globalThis.queueMicrotask;

/**
 * What the entry's protocol module calls, as it was before user code ran: replacing a global
 * or a prototype's method later changes none of these.
 */
export const primordials: {
  readonly ReflectApply: typeof Reflect.apply;
  readonly ObjectHasOwn: typeof Object.hasOwn;
  readonly ObjectDefineProperty: typeof Object.defineProperty;
  readonly MapForEach: (map: unknown, fn: (value: unknown, key: unknown) => void) => void;
  readonly SafeMap: MapConstructor;
  readonly SafeString: StringConstructor;
  readonly SafeError: ErrorConstructor;
  readonly SafePromise: PromiseConstructor;
  readonly SafeAbortController: typeof AbortController;
  readonly structuredClone: typeof structuredClone;
  readonly JSONStringify: typeof JSON.stringify;
  readonly MapGet: (map: unknown, key: unknown) => unknown;
  readonly MapSet: (map: unknown, key: unknown, value: unknown) => unknown;
  readonly MapDelete: (map: unknown, key: unknown) => boolean;
  readonly abort: (controller: AbortController, reason?: unknown) => void;
  readonly signalOf: (controller: AbortController) => AbortSignal;
  readonly queueMicrotask: typeof queueMicrotask;
  /** `setTimeout` as tasks get it: attributed to the task running, cleared when it ends. */
  readonly setTimeout: (fn: () => void, ms?: number) => number;
  readonly clearTimeout: (id: number) => void;
} = ObjectFreeze({
  ReflectApply,
  ObjectHasOwn,
  ObjectDefineProperty,
  MapForEach: MapForEach as (map: unknown, fn: (value: unknown, key: unknown) => void) => void,
  SafeMap,
  SafeString,
  SafeError,
  SafePromise,
  SafeAbortController,
  structuredClone: SafeStructuredClone,
  JSONStringify: SafeJSONStringify,
  MapGet: MapGet as (map: unknown, key: unknown) => unknown,
  MapSet: MapSet as (map: unknown, key: unknown, value: unknown) => unknown,
  MapDelete: MapDelete as (map: unknown, key: unknown) => boolean,
  abort: AbortControllerAbort as (controller: AbortController, reason?: unknown) => void,
  signalOf: AbortControllerSignal as (controller: AbortController) => AbortSignal,
  queueMicrotask: realQueueMicrotask,
  setTimeout: (fn: () => void, ms?: number) => scopedSetTimeout(fn, ms),
  clearTimeout: (id: number) => realClearTimeout(id),
});

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

interface ScopeState {
  scope: SandboxScope;
  ended: boolean;
  failed: boolean;
  /** Made on the first timer: most tasks start none. */
  timers: Set<number> | undefined;
}

const als = new AsyncLocalStorage<ScopeState>();
const states = new SafeMap<SandboxScope, ScopeState>();
let topLevel: ScopeState | undefined;

function current(): ScopeState | undefined {
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

function retire(reason: string): void {
  onRetire?.(reason);
}

function failScope(state: ScopeState | undefined, error: Error): void {
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

// ---- guards of own-process controls ----

function refuse(what: string, why: string): never {
  const state = current();
  const who = state?.scope.who ?? "code in this worker";
  const error = new SandboxError(`${who} called ${what}; ${why}`);
  failScope(state, error);
  throw error;
}

const END = "tasks cannot end the orchestrator — throw an error to fail the task";
const SIGNAL = "tasks cannot signal the orchestrator's own process or process group — " +
  "throw an error to fail the task";
const CHDIR = "a task cannot change the working directory, which every task of the " +
  "orchestrator shares — use absolute paths, or the cwd option of a subprocess";

function show(v: unknown): string {
  return typeof v === "string" ? SafeJSONStringify(v) : SafeString(v);
}

function lock(target: object, name: PropertyKey, value: unknown): void {
  ObjectDefineProperty(target, name, {
    value,
    writable: false,
    enumerable: true,
    configurable: false,
  });
}

const realKill = Deno.kill;
const ownPid = Deno.pid;

function guardedKill(pid: unknown, signal: unknown = "SIGTERM"): void {
  const n = Number(pid);
  // 0 is the own process group, -1 every process, -N a group that may hold the orchestrator.
  if (!(n > 0) || n === ownPid) refuse(`Deno.kill(${show(pid)}, ${show(signal)})`, SIGNAL);
  ReflectApply(realKill, Deno, [pid, signal]);
}

function installGuards(): void {
  lock(Deno, "kill", guardedKill);
  lock(Deno, "exit", (code?: number) => refuse(`Deno.exit(${code ?? ""})`, END));
  lock(Deno, "chdir", (dir: unknown) => refuse(`Deno.chdir(${show(dir)})`, CHDIR));
  const closeGuard = () => refuse("close()", END);
  lock(globalThis, "close", closeGuard);
  // Accessing `process` creates Node's process object; it must be guarded before user code
  // can import it (`node:process` is the same object, and does not go through Deno.kill).
  const proc = (globalThis as unknown as { process?: Record<string, unknown> }).process;
  if (proc) {
    const realProcessKill = proc.kill as (pid: number, signal?: string | number) => boolean;
    lock(proc, "kill", (pid: unknown, signal: unknown = "SIGTERM") => {
      const n = Number(pid);
      if (!(n > 0) || n === ownPid) {
        refuse(`process.kill(${show(pid)}, ${show(signal)})`, SIGNAL);
      }
      return ReflectApply(realProcessKill, proc, [pid, signal]);
    });
    lock(proc, "exit", (code?: number) => refuse(`process.exit(${code ?? ""})`, END));
    lock(proc, "reallyExit", (code?: number) => refuse(`process.reallyExit(${code ?? ""})`, END));
    lock(proc, "abort", () => refuse("process.abort()", END));
    lock(proc, "chdir", (dir: unknown) => refuse(`process.chdir(${show(dir)})`, CHDIR));
  }
  // The runtime's own hooks (promise hooks, async context, raw resources) are not for tasks.
  const internal = (Deno as unknown as { internal: symbol }).internal;
  delete (Deno as unknown as Record<symbol, unknown>)[internal];
}

// ---- standard output: the task's log, never the orchestrator's own stdout ----

const SafeTextDecoder = TextDecoder;
const SafeWritableStream = WritableStream;
const DecoderDecode = uncurryThis(TextDecoder.prototype.decode);

function write(stream: "stdout" | "stderr", data: unknown): number {
  if (!(data instanceof Uint8Array)) throw new TypeError("write() takes a Uint8Array");
  const text = DecoderDecode(new SafeTextDecoder(), data) as string;
  const state = current();
  // Outside every task (a module's top level), output has nowhere to go.
  if (state !== undefined && !state.ended) state.scope.output?.(text, stream);
  return data.byteLength;
}

/**
 * `Deno.stdout` and `Deno.stderr` of a worker are the orchestrator's own: a task writing to
 * them would corrupt `--json` and print around masking. They go to the task's log instead.
 */
function installOutput(): void {
  for (const stream of ["stdout", "stderr"] as const) {
    const target = (Deno as unknown as Record<string, object>)[stream];
    lock(target, "writeSync", (data: unknown) => write(stream, data));
    lock(target, "write", (data: unknown) => SafePromise.resolve(write(stream, data)));
    lock(target, "close", () => refuse(`Deno.${stream}.close()`, END));
    const writable = new SafeWritableStream<Uint8Array>({
      write: (chunk) => void write(stream, chunk),
    });
    lock(target, "writable", writable);
  }
  const proc = (globalThis as unknown as { process?: Record<string, unknown> }).process;
  for (const stream of ["stdout", "stderr"] as const) {
    const target = proc?.[stream] as Record<string, unknown> | undefined;
    if (!target) continue;
    lock(target, "write", (data: unknown, ...rest: unknown[]) => {
      const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
      write(stream, bytes);
      const done = rest[rest.length - 1];
      if (typeof done === "function") realQueueMicrotask(() => (done as () => void)());
      return true;
    });
  }
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

const scopedSetTimeout = scopedTimer(realSetTimeout, false);

function installTimers(): void {
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

function installErrorHandlers(): void {
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

// ---- the private port to the host ----

let port: MessagePort | undefined;
// Messages sent before the port arrived, as a list of plain objects: an array's index setters
// could be hooked on Array.prototype, an object literal's own fields cannot.
interface Queued {
  message: unknown;
  next: Queued | undefined;
}
let queuedHead: Queued | undefined;
let queuedTail: Queued | undefined;
let receiver: ((data: unknown) => void) | undefined;

function installPort(): void {
  AddEventListener(globalThis, "message", (event: Event) => {
    // Nothing on the global scope is for user code: the host speaks only on the private port.
    EventStopImmediatePropagation(event);
    if (port !== undefined || !EventIsTrusted(event)) return;
    const ports = (event as MessageEvent).ports;
    if (ports.length !== 1) return;
    port = ports[0];
    PortSetOnMessage(port, (e: MessageEvent) => receiver?.(e.data));
    for (let q = queuedHead; q !== undefined; q = q.next) PortPostMessage(port, q.message);
    queuedHead = queuedTail = undefined;
  });
  AddEventListener(globalThis, "messageerror", (event: Event) => {
    EventStopImmediatePropagation(event);
  });
}

/**
 * Defines the context global as an accessor of the bootstrap's (never hookable), and fixes
 * the task registry and the context storage every copy of the library shares, so that no
 * module can put its own in their place.
 */
function installContext(): void {
  lock(globalThis, REGISTRY_KEY, taskRegistry());
  lock(globalThis, CONTEXT_KEY, taskContextStorage());
  ObjectDefineProperty(globalThis, WORKER_CONTEXT, {
    get: () => {
      const state = current();
      return state === undefined || state.ended ? undefined : state.scope.context;
    },
    set: () => {
      throw new TypeError("the task context cannot be replaced");
    },
    enumerable: false,
    configurable: false,
  });
}

/** The bootstrap's bridge to the host, for the entry's protocol module. */
export interface SandboxBridge {
  /** Sends a message to the host over the private port (queued until it is connected). */
  send(message: unknown): void;
  /** Receives what the host sends on the private port. */
  receive(handler: (data: unknown) => void): void;
  /** Told when the worker must not be given another task (after a refusal or an error). */
  onRetire(handler: (reason: string) => void): void;
  /** Runs `fn` as `scope`'s code: its context, timers and errors are the scope's. */
  run<A extends unknown[], R>(scope: SandboxScope, fn: (...args: A) => R, ...args: A): R;
  /** Ends a scope: its timers are cleared and its context is gone. */
  end(scope: SandboxScope): void;
  /** Code outside every call (a module's top level) runs as this scope until it is ended. */
  setTopLevel(scope: SandboxScope | undefined): void;
  /** The scope whose code is running now, if any (and not ended). */
  current(): SandboxScope | undefined;
  /** Closes the private port. */
  close(): void;
}

function stateOf(scope: SandboxScope): ScopeState {
  let state = MapGet(states, scope) as ScopeState | undefined;
  if (state === undefined) {
    state = { scope, ended: false, failed: false, timers: undefined };
    MapSet(states, scope, state);
  }
  return state;
}

const bridge: SandboxBridge = ObjectFreeze({
  send(message: unknown): void {
    if (port !== undefined) {
      PortPostMessage(port, message);
      return;
    }
    const q: Queued = { message, next: undefined };
    if (queuedTail === undefined) queuedHead = q;
    else queuedTail.next = q;
    queuedTail = q;
  },
  receive(handler: (data: unknown) => void): void {
    receiver = handler;
  },
  onRetire(handler: (reason: string) => void): void {
    onRetire = handler;
  },
  run<A extends unknown[], R>(scope: SandboxScope, fn: (...args: A) => R, ...args: A): R {
    return AlsRun(als, stateOf(scope), fn, ...args) as R;
  },
  end(scope: SandboxScope): void {
    const state = MapGet(states, scope) as ScopeState | undefined;
    if (state === undefined) return;
    state.ended = true;
    if (state.timers !== undefined) {
      SetForEach(state.timers, (id: number) => {
        realClearTimeout(id);
        realClearInterval(id);
      });
    }
    MapDelete(states, scope);
  },
  setTopLevel(scope: SandboxScope | undefined): void {
    topLevel = scope === undefined ? undefined : stateOf(scope);
  },
  current(): SandboxScope | undefined {
    const state = current();
    return state === undefined || state.ended ? undefined : state.scope;
  },
  close(): void {
    if (port !== undefined) PortClose(port);
  },
});

let taken = false;

/**
 * The bridge, once: the entry's protocol module takes it at its top level, before the user's
 * module loads; any later caller (user code importing this module) gets an error.
 */
export function takeBridge(): SandboxBridge {
  if (taken) throw new SandboxError("the sandbox bridge was taken already");
  taken = true;
  return bridge;
}

installPort();
installContext();
installErrorHandlers();
installTimers();
installGuards();
installOutput();
