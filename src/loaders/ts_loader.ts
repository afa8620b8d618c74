/**
 * The TypeScript front end of the CLI: imports a flow file and finds the flow in it, by brand,
 * whichever copy of the library the file imported.
 *
 * @module
 */

import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { OrchestraError } from "../core/errors.ts";
import { type FlowDefinition, isFlowDefinition } from "../core/protocol.ts";
import { didYouMean } from "../core/suggest.ts";
import { checkRegularFile, FileReadError } from "../fs/read_bounded.ts";

/** A flow file could not be loaded, or holds no flow (or not the one asked for). */
export class FlowLoadError extends OrchestraError {
  /** The file concerned. */
  readonly file: string;
  /** Creates the error. */
  constructor(file: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "FlowLoadError";
    this.file = file;
  }
}

/** Options of {@linkcode loadFlowModule}. */
export interface LoadFlowOptions {
  /** The flow to pick when the module exports several (by flow name or export name). */
  flow?: string;
}

/** A flow found in a module, with the name it is exported under. */
export interface LoadedFlow {
  /** The flow. */
  flow: FlowDefinition;
  /** The export that holds it (`default` for the default export). */
  exportName: string;
  /** The file's URL. */
  url: string;
}

/** The flows a module exports, default export first. */
export function flowsOf(mod: Record<string, unknown>): { name: string; flow: FlowDefinition }[] {
  const out: { name: string; flow: FlowDefinition }[] = [];
  if (isFlowDefinition(mod.default)) out.push({ name: "default", flow: mod.default });
  for (const [name, value] of Object.entries(mod)) {
    if (name !== "default" && isFlowDefinition(value) && value !== mod.default) {
      out.push({ name, flow: value });
    }
  }
  return out;
}

/** A flow file, checked to be a regular file of at most 16 MiB: its absolute path and URL. */
export async function checkFlowFile(
  path: string,
  cwd: string,
): Promise<{ absolute: string; url: string }> {
  const absolute = resolve(cwd, path);
  // Never by concatenation: a folder named "a #b" or "données" must load too.
  const url = pathToFileURL(absolute).href;
  try {
    // A FIFO would block the import forever, a device fill the memory.
    await checkRegularFile(absolute, { what: "flow file", shown: path });
  } catch (e) {
    if (e instanceof FileReadError) throw new FlowLoadError(path, e.message, { cause: e });
    if (e instanceof Deno.errors.NotFound) {
      throw new FlowLoadError(
        path,
        `Cannot load "${path}": no such file (looked in ${cwd})`,
      );
    }
    throw new FlowLoadError(path, `Cannot load "${path}": ${(e as Error).message}`, { cause: e });
  }
  return { absolute, url };
}

/**
 * The flow to run among those a module exports (`{ name: export name, flowName }`, default
 * export first): the one named by `wanted` (flow or export name), else the default export,
 * else the only one; a {@linkcode FlowLoadError} otherwise.
 */
export function pickFlow<T extends { name: string; flowName: string }>(
  flows: readonly T[],
  path: string,
  wanted: string | undefined,
): T {
  if (flows.length === 0) {
    throw new FlowLoadError(
      path,
      `"${path}" exports no flow; export one, e.g. \`export default flow("name", (f) => …)\``,
    );
  }
  if (wanted !== undefined) {
    const found = flows.find((f) => f.flowName === wanted || f.name === wanted);
    if (!found) {
      const names = flows.map((f) => f.flowName);
      throw new FlowLoadError(
        path,
        `"${path}" has no flow "${wanted}"${didYouMean(wanted, names)}; it has: ${
          names.join(", ")
        }`,
      );
    }
    return found;
  }
  if (flows[0].name === "default" || flows.length === 1) return flows[0];
  throw new FlowLoadError(
    path,
    `"${path}" exports ${flows.length} flows (${
      flows.map((f) => f.flowName).join(", ")
    }); pick one with --flow NAME or make one the default export`,
  );
}

/**
 * Imports `path` (absolute, or relative to `cwd`) and returns its flow: the one named by
 * `options.flow`, else the default export, else the only exported flow. The module runs in
 * this isolate, with its rights: `orchestra run` loads flows in a flow isolate instead
 * (`src/host/`), and this only for a flow that opts out of it.
 *
 * @example
 * ```ts ignore
 * import { loadFlowModule } from "./ts_loader.ts";
 * const { flow } = await loadFlowModule("examples/etl.ts", Deno.cwd());
 * ```
 */
export async function loadFlowModule(
  path: string,
  cwd: string,
  options: LoadFlowOptions = {},
): Promise<LoadedFlow> {
  const { url } = await checkFlowFile(path, cwd);
  let mod: Record<string, unknown>;
  try {
    // The user's module: a dynamic import by design (our own modules are imported statically).
    mod = await import(url);
  } catch (e) {
    throw new FlowLoadError(
      path,
      `Cannot load "${path}": ${(e as Error).message ?? e}`,
      { cause: e },
    );
  }
  const flows = flowsOf(mod).map((f) => ({ ...f, flowName: f.flow.options.name }));
  const found = pickFlow(flows, path, options.flow);
  return { flow: found.flow, exportName: found.name, url };
}
