/**
 * The host's end of a flow isolate: a Web Worker granted nothing but read of the flow's own
 * module files, started from a generated entry that imports the sandbox bootstrap, the
 * isolate runtime and the library, then loads the user's module with a *non-literal* dynamic
 * import — so that Deno checks every module of the user's graph against the isolate's grant
 * (a static import, or a literal one, would be fetched with the orchestrator's rights).
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { OrchestraError } from "../core/errors.ts";
import type { FlowGraph } from "../core/model.ts";
import { PERMISSION_NAMES } from "../core/permissions.ts";
import type { FlowSummary, HostToIsolate, IsolateToHost } from "./isolate_protocol.ts";
import { errorFrom } from "./isolate_parts.ts";

const BOOTSTRAP = new URL("../executors/sandbox_bootstrap.ts", import.meta.url).href;
const RUNTIME = new URL("./isolate_runtime.ts", import.meta.url).href;
const LIBRARY = new URL("../../mod.ts", import.meta.url).href;
/** What of Orchestra's own source the isolate may read: a flow may import any of its modules. */
const OWN_SOURCE = ["../../src", "../../plugins", "../../mod.ts", "../../testing.ts"].map((p) =>
  fileURLToPath(new URL(p, import.meta.url))
);

/** The isolate could not be started, or its module could not be loaded. */
export class IsolateError extends OrchestraError {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "IsolateError";
  }
}

function entryModule(moduleUrl: string): string {
  // The bootstrap first (it captures the bridge and guards the process), the runtime second
  // (it takes the bridge), the library third (already loaded, the user's imports of it need
  // no read); the user's module last, dynamically, under the isolate's own grant.
  const code = `import ${JSON.stringify(BOOTSTRAP)};\n` +
    `import { moduleFailed, serveFlowIsolate, setHostCwd } from ${JSON.stringify(RUNTIME)};\n` +
    `import ${JSON.stringify(LIBRARY)};\n` +
    `setHostCwd(${JSON.stringify(Deno.cwd())});\n` +
    `const url = ${JSON.stringify(moduleUrl)};\n` +
    `let mod;\ntry { mod = await import(url + ""); } catch (e) { moduleFailed(e); }\n` +
    `if (mod) serveFlowIsolate(mod);\n`;
  return `data:application/javascript;base64,${btoa(code)}`;
}

/** The isolate's permissions: read of the module files, nothing else. */
function isolatePermissions(files: readonly string[]): Deno.PermissionOptionsObject {
  const out: Record<string, boolean | string[]> = {};
  for (const name of PERMISSION_NAMES) out[name] = false;
  out.read = [...new Set([...files, ...OWN_SOURCE])];
  return out as Deno.PermissionOptionsObject;
}

type Listener = (m: IsolateToHost) => void;

/**
 * One flow isolate.
 *
 * @example
 * ```ts ignore
 * const isolate = await FlowIsolate.open(url, graph.files);
 * const flows = await isolate.describe();
 * isolate.terminate();
 * ```
 */
export class FlowIsolate {
  readonly #worker: Worker;
  readonly #port: MessagePort;
  #listener: Listener | undefined;
  #dead: string | undefined;
  #onDeath: ((why: string) => void) | undefined;

  private constructor(worker: Worker, port: MessagePort) {
    this.#worker = worker;
    this.#port = port;
  }

  /**
   * Starts an isolate for the module at `moduleUrl`, granted read of `files`; resolves once
   * the module is loaded, rejects with {@linkcode IsolateError} saying why it could not be.
   */
  static open(moduleUrl: string, files: readonly string[]): Promise<FlowIsolate> {
    const worker = new Worker(entryModule(moduleUrl), {
      type: "module",
      name: "orchestra:flow",
      deno: { permissions: isolatePermissions(files) },
    } as WorkerOptions);
    const channel = new MessageChannel();
    const isolate = new FlowIsolate(worker, channel.port1);
    worker.postMessage({ type: "connect" }, [channel.port2]);
    return new Promise((resolve, reject) => {
      isolate.#listener = (m) => {
        if (m.type === "ready") {
          isolate.#listener = undefined;
          resolve(isolate);
        } else if (m.type === "broken") {
          isolate.terminate();
          reject(new IsolateError(m.message));
        }
      };
      isolate.#onDeath = (why) => reject(new IsolateError(why));
      channel.port1.onmessage = (e: MessageEvent<IsolateToHost>) => isolate.#listener?.(e.data);
      worker.onerror = (e: ErrorEvent) => {
        e.preventDefault();
        isolate.#die(e.message);
      };
    });
  }

  #die(why: string): void {
    if (this.#dead !== undefined) return;
    this.#dead = why;
    this.terminate();
    this.#onDeath?.(why);
  }

  /** Why the isolate is gone, if it is. */
  get dead(): string | undefined {
    return this.#dead;
  }

  /** Sends a message to the isolate. */
  send(message: HostToIsolate): void {
    if (this.#dead === undefined) this.#port.postMessage(message);
  }

  /**
   * Receives every message of the isolate from now on; `onDeath` is told if it fails
   * (an error it could not contain).
   */
  listen(listener: Listener, onDeath: (why: string) => void): void {
    this.#listener = listener;
    this.#onDeath = onDeath;
  }

  #ask<T>(message: HostToIsolate, answer: (m: IsolateToHost) => T | undefined): Promise<T> {
    return new Promise((resolve, reject) => {
      this.listen((m) => {
        if (m.type === "failed") return reject(errorFrom(m.error));
        const a = answer(m);
        if (a !== undefined) resolve(a);
      }, (why) => reject(new IsolateError(why)));
      this.send(message);
    });
  }

  /** The flows the module exports, as data. */
  describe(): Promise<FlowSummary[]> {
    return this.#ask(
      { type: "describe", cwd: Deno.cwd() },
      (m) => m.type === "described" ? m.flows : undefined,
    );
  }

  /** Plans the flow exported as `exportName`: its graph, as data. */
  plan(exportName: string, params: Record<string, unknown>, baseDir: string): Promise<FlowGraph> {
    return this.#ask(
      { type: "plan", exportName, params, baseDir, cwd: Deno.cwd() },
      (m) => m.type === "planned" ? m.graph : undefined,
    );
  }

  /** Stops the isolate at once, whatever it runs. */
  terminate(): void {
    this.#dead ??= "terminated";
    this.#worker.terminate();
    this.#port.close();
  }
}
