/**
 * Reads plugin modules without trusting them: each module is imported in a worker started
 * with no permissions at all, from the sandbox bootstrap (so its top-level code cannot signal
 * or end this process), which sends back its plugins' manifests and checks params over a
 * private port. The built-ins (our own code, already loaded) are checked in this process.
 *
 * @module
 */

import type { PermissionSet } from "../core/permissions.ts";
import type { ParamsProblem, PluginEnv, PluginManifest } from "./contract.ts";
import { PluginLoadError } from "./resolve.ts";

/** What checking params against a plugin found. */
export interface ParamsCheck {
  /** Every problem with the params (paths inside the params). */
  problems: ParamsProblem[];
  /** The permissions the plugin asks for with these params, when they could be computed. */
  permissions?: PermissionSet;
  /** Why they could not be computed. */
  permissionsError?: string;
  /** The secrets it reads with these params. */
  secrets?: string[];
}

const BOOTSTRAP = new URL("../executors/sandbox_bootstrap.ts", import.meta.url).href;
const ENTRY = new URL("./inspect_entry.ts", import.meta.url).href;

interface Loaded {
  worker: Worker;
  port: MessagePort;
  manifests: Promise<PluginManifest[]>;
  pending: Map<number, (reply: { check?: ParamsCheck; error?: string }) => void>;
}

/** How long a plugin module may take to load before it is given up on. */
const LOAD_TIMEOUT_MS = 60_000;

/**
 * Loads plugin modules in permission-less workers, one per module, kept until `close()`.
 *
 * @example
 * ```ts ignore
 * const inspector = new PluginInspector();
 * const [manifest] = await inspector.manifests("file:///flows/plugins/greet.ts");
 * const check = await inspector.check("file:///flows/plugins/greet.ts", "greet", {}, { dir: "/flows" });
 * inspector.close();
 * ```
 */
export class PluginInspector {
  readonly #loaded = new Map<string, Loaded>();
  #nextId = 1;

  /** The manifests of the plugins a module exports (default export first). */
  manifests(moduleUrl: string): Promise<PluginManifest[]> {
    return this.#load(moduleUrl).manifests;
  }

  /** Checks params against a plugin of a module and computes its permissions. */
  async check(
    moduleUrl: string,
    name: string,
    params: unknown,
    env: PluginEnv,
  ): Promise<ParamsCheck> {
    const loaded = this.#load(moduleUrl);
    await loaded.manifests;
    const id = this.#nextId++;
    const reply = await new Promise<{ check?: ParamsCheck; error?: string }>((resolve) => {
      loaded.pending.set(id, resolve);
      loaded.port.postMessage({ type: "check", id, name, params, env });
    });
    if (reply.error !== undefined || !reply.check) {
      throw new PluginLoadError(`Checking params of plugin "${name}" failed: ${reply.error}`);
    }
    return reply.check;
  }

  /** Terminates every worker. */
  close(): void {
    for (const l of this.#loaded.values()) {
      l.worker.terminate();
      l.port.close();
    }
    this.#loaded.clear();
  }

  #load(moduleUrl: string): Loaded {
    const known = this.#loaded.get(moduleUrl);
    if (known) return known;
    // Imported dynamically, so that a module that fails to load is an answer, not a crash.
    // The bootstrap first: it runs before the plugin's code, which the import below loads.
    const code = `import ${JSON.stringify(BOOTSTRAP)};\n` +
      `import { inspectionFailed, serveInspection } from ${JSON.stringify(ENTRY)};\n` +
      `let mod;\ntry { mod = await import(${JSON.stringify(moduleUrl)}); }\n` +
      `catch (e) { inspectionFailed(e); }\n` +
      `if (mod) serveInspection(mod);\n`;
    const worker = new Worker(`data:application/javascript;base64,${btoa(code)}`, {
      type: "module",
      name: `orchestra:inspect:${moduleUrl.slice(moduleUrl.lastIndexOf("/") + 1)}`,
      deno: { permissions: "none" },
    } as WorkerOptions);
    const channel = new MessageChannel();
    worker.postMessage({ type: "connect" }, [channel.port2]);
    const port = channel.port1;
    const pending = new Map<number, (reply: { check?: ParamsCheck; error?: string }) => void>();
    const manifests = new Promise<PluginManifest[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        worker.terminate();
        reject(
          new PluginLoadError(
            `Plugin module ${moduleUrl} did not load within ${LOAD_TIMEOUT_MS / 1000} s`,
            "a plugin's top-level code must not wait on anything",
          ),
        );
      }, LOAD_TIMEOUT_MS);
      port.onmessage = (e: MessageEvent) => {
        const m = e.data as { type: string; id?: number; manifests?: PluginManifest[] };
        if (m.type === "manifests") {
          clearTimeout(timer);
          resolve(m.manifests ?? []);
        } else if (m.type === "failed") {
          clearTimeout(timer);
          worker.terminate();
          port.close();
          const error = loadFailure(moduleUrl, (e.data as { message: string }).message);
          for (const done of pending.values()) done({ error: error.message });
          pending.clear();
          reject(error);
        } else if (m.type === "checked") {
          const done = pending.get(m.id!);
          pending.delete(m.id!);
          done?.(e.data);
        }
      };
      worker.onerror = (e: ErrorEvent) => {
        e.preventDefault();
        clearTimeout(timer);
        worker.terminate();
        const error = loadFailure(moduleUrl, e.message);
        for (const done of pending.values()) done({ error: error.message });
        pending.clear();
        reject(error);
      };
    });
    // Callers that never await the manifests still see the failure through check().
    manifests.catch(() => {});
    const loaded: Loaded = { worker, port, manifests, pending };
    this.#loaded.set(moduleUrl, loaded);
    return loaded;
  }
}

/** Turns a worker's load error into a message that says what to do. */
function loadFailure(moduleUrl: string, message: string): PluginLoadError {
  // The first line says it; the rest is a stack inside the inspection worker.
  const esc = String.fromCharCode(27);
  const text = message.replaceAll(new RegExp(`${esc}\\[[0-9;]*m`, "g"), "").split("\n")[0]
    .replace(/^Uncaught (\(in promise\) )?/, "").trim();
  if (/^(Requires|NotCapable)|access to/.test(text)) {
    return new PluginLoadError(
      `Plugin module ${moduleUrl} failed to load: ${text}`,
      "a plugin's top-level code runs without permissions; do the work inside run()",
    );
  }
  if (moduleUrl.startsWith("jsr:") || /jsr\.io/.test(text)) {
    return new PluginLoadError(
      `Plugin ${moduleUrl} could not be loaded from JSR: ${text}`,
      "check the name and version on jsr.io, and that this machine can reach jsr.io " +
        "(or copy the plugin into a plugins/ folder next to the flow)",
    );
  }
  if (moduleUrl.startsWith("npm:")) {
    return new PluginLoadError(
      `Plugin ${moduleUrl} could not be loaded from npm: ${text}`,
      "check the package name and version, and that this machine can reach the npm registry",
    );
  }
  return new PluginLoadError(`Plugin module ${moduleUrl} failed to load: ${text}`);
}
