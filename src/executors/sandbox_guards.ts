/**
 * The own-process controls a sandboxed worker must not use — `Deno.kill` of the orchestrator,
 * its group or every process, `Deno.exit`, `close()`, `Deno.chdir` and their `node:process`
 * twins — and its standard output, which is the orchestrator's own: each is replaced, for good,
 * before user code loads.
 *
 * @module
 */

import {
  DecoderDecode,
  EncoderEncode,
  ObjectDefineProperty,
  realQueueMicrotask,
  ReflectApply,
  SafeJSONStringify,
  SafePromise,
  SafeString,
  SafeTextDecoder,
  SafeTextEncoder,
  SafeWritableStream,
} from "./_sandbox_primordials.ts";
import { current, refuse } from "./sandbox_scopes.ts";

// ---- guards of own-process controls ----

/** Why ending the isolate is refused. */
export const END = "tasks cannot end the orchestrator — throw an error to fail the task";
const SIGNAL = "tasks cannot signal the orchestrator's own process or process group — " +
  "throw an error to fail the task";
const CHDIR = "a task cannot change the working directory, which every task of the " +
  "orchestrator shares — use absolute paths, or the cwd option of a subprocess";

function show(v: unknown): string {
  return typeof v === "string" ? SafeJSONStringify(v) : SafeString(v);
}

/** Defines `name` on `target` for good: neither writable nor configurable. */
export function lock(target: object, name: PropertyKey, value: unknown): void {
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

/** Guards the own-process controls. */
export function installGuards(): void {
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
export function installOutput(): void {
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
      const bytes = typeof data === "string" ? EncoderEncode(new SafeTextEncoder(), data) : data;
      write(stream, bytes);
      const done = rest[rest.length - 1];
      if (typeof done === "function") realQueueMicrotask(() => (done as () => void)());
      return true;
    });
  }
}
