/**
 * The module graph of a flow's user code, learned by the host **before any isolate loads it**:
 * every local module (the flow isolate is granted read of exactly these files, and a task
 * worker may only be started from one of them), and every import of code from elsewhere —
 * `http:`/`https:` modules, `jsr:` packages, `npm:` packages Orchestra does not hold — with
 * where it is written and whether it is static (fetched when the module loads) or a literal
 * dynamic `import("…")` (fetched when a worker loads the module, with the orchestrator's
 * rights: Deno loads a worker's static graph as its root process).
 *
 * The imports are found by an import lexer (`es-module-lexer`, which copes with TypeScript),
 * not by Deno: no `deno` executable is needed (the compiled binary has none) and nothing is
 * fetched. Orchestra's own modules are not walked: the flow isolate's entry loads them, and
 * their imports are the orchestrator's, pinned in its own lock file.
 *
 * @module
 */

import { init, parse } from "es-module-lexer";
import { fileURLToPath } from "node:url";
import type { SourceLocation } from "../core/errors.ts";
import { readBoundedTextFile } from "../fs/read_bounded.ts";

/** An import of code from outside the machine (or outside what Orchestra holds). */
export interface RemoteImport {
  /** The specifier as written. */
  specifier: string;
  /** The host an `import` permission must name for it (`jsr.io` for `jsr:`). */
  host: string;
  /** `static`: fetched as its module loads; `dynamic`: a literal `import("…")`. */
  kind: "static" | "dynamic";
  /** The module that imports it (a URL). */
  module: string;
  /** Where the import is written. */
  location: SourceLocation;
}

/** The user code of a flow, as the host sees it before loading it. */
export interface ModuleGraph {
  /** The flow file's URL. */
  root: string;
  /** Every local user module reached, as absolute paths (the flow isolate's read grant). */
  files: string[];
  /** Every local module reached, as URLs. */
  modules: Set<string>;
  /** Imports of remote code written in user modules (never in Orchestra's own). */
  remote: RemoteImport[];
  /** `npm:` packages user code imports that Orchestra's lock file does not hold. */
  unheld: RemoteImport[];
  /** The local modules each module imports (URLs), for what a worker of a module loads. */
  edges: Map<string, string[]>;
  /** Specifiers that could not be resolved (Deno reports them when the module loads). */
  unresolved: { specifier: string; location: SourceLocation }[];
}

/** Options of {@linkcode scanModuleGraph}. */
export interface ScanOptions {
  /** Resolves a bare specifier through the import map. @default `import.meta.resolve` */
  resolveBare?: (specifier: string) => string;
  /** Whether a module is Orchestra's own. @default under this checkout's src/, plugins/, … */
  trusted?: (url: string) => boolean;
  /** `npm:` specifiers Orchestra holds (its lock file's). @default read from its deno.lock */
  heldNpm?: (specifier: string) => boolean;
}

const ROOT = new URL("../../", import.meta.url).href;
const OWN = ["src/", "plugins/", "mod.ts", "testing.ts", "postgres.ts", "main.ts"];

/** Whether `url` is one of Orchestra's own modules (this copy's). */
export function isOrchestraModule(url: string): boolean {
  if (!url.startsWith(ROOT)) return false;
  const rest = url.slice(ROOT.length);
  return OWN.some((p) => rest === p || (p.endsWith("/") && rest.startsWith(p)));
}

let lexer: Promise<void> | undefined;

function lineCol(text: string, index: number): { line: number; col: number } {
  let line = 1;
  let last = -1;
  for (let i = text.indexOf("\n"); i !== -1 && i < index; i = text.indexOf("\n", i + 1)) {
    line++;
    last = i;
  }
  return { line, col: index - last };
}

function remoteHost(url: string): string | undefined {
  if (url.startsWith("jsr:")) return "jsr.io";
  if (!/^https?:/.test(url)) return undefined;
  const u = new URL(url);
  const port = u.port || (u.protocol === "https:" ? "443" : "80");
  return `${u.hostname}:${port}`;
}

/** The packages of Orchestra's lock file (`deno.lock` beside its `deno.json`), if it has one. */
async function lockedNpm(): Promise<(specifier: string) => boolean> {
  let lock: { specifiers?: Record<string, string>; npm?: Record<string, unknown> } = {};
  try {
    lock = JSON.parse(await Deno.readTextFile(new URL("deno.lock", ROOT)));
  } catch {
    // no lock file (the compiled binary): nothing is held
  }
  const specifiers = new Set(Object.keys(lock.specifiers ?? {}));
  const names = new Set(
    Object.keys(lock.npm ?? {}).map((k) => k.slice(0, k.indexOf("@", 1))),
  );
  return (spec) => {
    if (specifiers.has(spec)) return true;
    // "npm:name" without a version resolves to the version Orchestra holds, if it holds one.
    const m = /^npm:\/?(@[^/@]+\/[^/@]+|[^/@]+)(\/.*)?$/.exec(spec);
    return m !== null && names.has(m[1]);
  };
}

/** A file of an npm package Deno has installed (a bare specifier mapped to it). */
function isPackageFile(url: string): boolean {
  return /\/node_modules\/|\/npm\/registry\.npmjs\.org\//.test(url);
}

function resolveSpecifier(
  spec: string,
  parent: string,
  resolveBare: (s: string) => string,
): string | undefined {
  if (/^(\.{0,2}\/)/.test(spec)) return new URL(spec, parent).href;
  if (/^[a-z][a-z0-9+.-]*:/i.test(spec)) return spec;
  try {
    return resolveBare(spec);
  } catch {
    return undefined;
  }
}

/**
 * Walks the local module graph from `rootUrl` (a `file:` URL), reading each module once.
 *
 * @example
 * ```ts ignore
 * const graph = await scanModuleGraph(new URL("./flow.ts", import.meta.url).href);
 * console.log(graph.remote.map((r) => `${r.specifier} (${r.kind})`));
 * ```
 */
export async function scanModuleGraph(
  rootUrl: string,
  options: ScanOptions = {},
): Promise<ModuleGraph> {
  await (lexer ??= init);
  const resolveBare = options.resolveBare ?? ((s: string) => import.meta.resolve(s));
  const trusted = options.trusted ?? isOrchestraModule;
  const held = options.heldNpm ?? await lockedNpm();
  const graph: ModuleGraph = {
    root: rootUrl,
    files: [],
    modules: new Set(),
    remote: [],
    unheld: [],
    edges: new Map(),
    unresolved: [],
  };
  const queue = [rootUrl];
  while (queue.length) {
    const url = queue.pop()!;
    if (graph.modules.has(url)) continue;
    graph.modules.add(url);
    // Orchestra's own modules load from the isolate's entry; their imports are its own.
    if (trusted(url) || isPackageFile(url)) continue;
    const path = fileURLToPath(url);
    graph.files.push(path);
    let text: string;
    try {
      text = await readBoundedTextFile(path, { what: "module" });
    } catch {
      continue; // Deno says what is wrong with it when it loads
    }
    const local: string[] = [];
    graph.edges.set(url, local);
    let imports: readonly { n?: string; s: number; d: number; ss: number }[];
    try {
      [imports] = parse(text, path);
    } catch {
      continue; // a syntax error: Deno reports it with its own position
    }
    for (const i of imports) {
      if (i.n === undefined) continue; // non-literal: checked against the isolate's grant
      const at = lineCol(text, i.ss);
      const location = { file: path, line: at.line, col: at.col };
      const resolved = resolveSpecifier(i.n, url, resolveBare);
      if (resolved === undefined) {
        graph.unresolved.push({ specifier: i.n, location });
        continue;
      }
      if (resolved.startsWith("file:")) {
        local.push(resolved);
        queue.push(resolved);
        continue;
      }
      const kind = i.d === -1 ? "static" : "dynamic";
      if (resolved.startsWith("npm:")) {
        if (!held(resolved)) {
          graph.unheld.push({
            specifier: i.n,
            host: "registry.npmjs.org:443",
            kind,
            module: url,
            location,
          });
        }
        continue;
      }
      const host = remoteHost(resolved);
      if (host !== undefined) {
        graph.remote.push({ specifier: i.n, host, kind, module: url, location });
      }
    }
  }
  return graph;
}

/** The local modules a worker of `moduleUrl` loads: the module and what it imports, transitively. */
export function reachable(graph: ModuleGraph, moduleUrl: string): Set<string> {
  const out = new Set<string>();
  const queue = [moduleUrl];
  while (queue.length) {
    const url = queue.pop()!;
    if (out.has(url)) continue;
    out.add(url);
    for (const next of graph.edges.get(url) ?? []) queue.push(next);
  }
  return out;
}
