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

import {
  CONTEXT_KEY,
  REGISTRY_KEY,
  taskContextStorage,
  taskRegistry,
  WORKER_CONTEXT,
} from "../core/protocol.ts";
import {
  AbortControllerAbort,
  AbortControllerSignal,
  AddEventListener,
  AlsRun,
  EventIsTrusted,
  EventStopImmediatePropagation,
  MapDelete,
  MapForEach,
  MapGet,
  MapSet,
  ObjectDefineProperty,
  ObjectFreeze,
  ObjectHasOwn,
  PortClose,
  PortPostMessage,
  PortSetOnMessage,
  realClearInterval,
  realClearTimeout,
  realQueueMicrotask,
  ReflectApply,
  SafeAbortController,
  SafeError,
  SafeJSONStringify,
  SafeMap,
  SafePromise,
  SafeString,
  SafeStructuredClone,
  SetForEach,
} from "./_sandbox_primordials.ts";
import { installGuards, installOutput, lock } from "./sandbox_guards.ts";
import {
  als,
  current,
  installErrorHandlers,
  installTimers,
  SandboxError,
  type SandboxScope,
  scopedSetTimeout,
  type ScopeState,
  setOnRetire,
  setTopLevel,
  stateOf,
  states,
} from "./sandbox_scopes.ts";

export { SandboxError, type SandboxScope } from "./sandbox_scopes.ts";

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
    setOnRetire(handler);
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
    setTopLevel(scope === undefined ? undefined : stateOf(scope));
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
