/**
 * What the sandbox's own code calls, captured when a sandboxed worker starts, before any user
 * code can replace a global or a prototype's method. The sandbox modules use only these.
 *
 * @module
 */

import { AsyncLocalStorage } from "node:async_hooks";

// Loaded in the host by mistake, it would guard the host itself: refuse at once.
if (!("WorkerGlobalScope" in globalThis)) {
  throw new Error(
    "the sandbox modules belong to a sandboxed worker; sandbox_bootstrap.ts is its first module of a sandboxed worker; it must not be imported " +
      "elsewhere (import its types only)",
  );
}

// ---- what the bridge calls, captured before any user code can replace it ----

export const ReflectApply = Reflect.apply;
export const FunctionCall = Function.prototype.call;
export const FunctionBind = Function.prototype.bind;

/** `fn` as a function of its `this` first: calling it looks nothing up on any prototype. */
export function uncurryThis<A extends unknown[], R>(
  fn: (...args: A) => R,
): (self: unknown, ...args: A) => R {
  return ReflectApply(FunctionBind, FunctionCall, [fn]) as (self: unknown, ...args: A) => R;
}

export const ObjectDefineProperty = Object.defineProperty;
export const ObjectFreeze = Object.freeze;
export const ObjectHasOwn = Object.hasOwn;
export const SafeMap = Map;
export const SafeSet = Set;
export const SafeError = Error;
export const SafeString = String;
export const SafePromise = Promise;
export const SafeAbortController = AbortController;
export const SafeStructuredClone = globalThis.structuredClone;
export const SafeJSONStringify = JSON.stringify;
export const MapGet = uncurryThis(Map.prototype.get);
export const MapSet = uncurryThis(Map.prototype.set);
export const MapDelete = uncurryThis(Map.prototype.delete);
export const MapForEach = uncurryThis(Map.prototype.forEach);
export const SetAdd = uncurryThis(Set.prototype.add);
export const SetDelete = uncurryThis(Set.prototype.delete);
export const SetForEach = uncurryThis(Set.prototype.forEach);
export const AlsRun = uncurryThis(AsyncLocalStorage.prototype.run);
export const AlsGetStore = uncurryThis(AsyncLocalStorage.prototype.getStore);
export const AbortControllerAbort = uncurryThis(AbortController.prototype.abort);
export const AbortControllerSignal = uncurryThis(
  Object.getOwnPropertyDescriptor(AbortController.prototype, "signal")!.get!,
);
export const PortPostMessage = uncurryThis(MessagePort.prototype.postMessage);
export const PortClose = uncurryThis(MessagePort.prototype.close);
export const PortSetOnMessage = uncurryThis(
  Object.getOwnPropertyDescriptor(MessagePort.prototype, "onmessage")!.set!,
);
export const EventStopImmediatePropagation = uncurryThis(Event.prototype.stopImmediatePropagation);
export const EventPreventDefault = uncurryThis(Event.prototype.preventDefault);
export const EventIsTrusted = uncurryThis(
  Object.getOwnPropertyDescriptor(Event.prototype, "isTrusted")!.get!,
);
export const AddEventListener = uncurryThis(EventTarget.prototype.addEventListener);
export const realSetTimeout = globalThis.setTimeout;
export const realClearTimeout = globalThis.clearTimeout;
export const realSetInterval = globalThis.setInterval;
export const realClearInterval = globalThis.clearInterval;
export const realQueueMicrotask = globalThis.queueMicrotask;
export const SafeTextDecoder = TextDecoder;
export const SafeTextEncoder = TextEncoder;
export const SafeWritableStream = WritableStream;
export const DecoderDecode = uncurryThis(TextDecoder.prototype.decode);
export const EncoderEncode = uncurryThis(TextEncoder.prototype.encode);
