/**
 * Which imports of remote code a flow may make, decided by the host from the module graph it
 * read before loading anything (`module_graph.ts`), so that user code is never fetched with
 * the orchestrator's rights and the orchestrator's lock file never changes:
 *
 * - A **static** import of remote code (`import x from "https://…"`, `jsr:`, an `npm:` package
 *   Orchestra does not hold) is refused: it would be fetched as the module loads, before its
 *   flow's permissions are known; and the flow isolate may import no remote code.
 * - A **literal dynamic** import (`await import("https://…")`) is allowed where a task that
 *   runs in a worker from a module that reaches it is granted `import` of its host. A worker
 *   loads its module's whole graph as the orchestrator's process would (Deno fetches literal
 *   imports then), so at each launch the host checks that the task's grant covers every such
 *   import of its module's graph, and refuses the launch otherwise.
 * - Remote modules are only ever loaded by a process that writes no lock file: the compiled
 *   binary has none, and from source Orchestra must run with `--no-lock` (its `deno task
 *   orchestra` does). Otherwise every remote import is refused, with that fix.
 * - A flow that opts out of the sandbox is imported into the orchestrator itself: it may
 *   import no remote code at all.
 *
 * @module
 */

import type { SourceLocation, ValidationIssue } from "../core/errors.ts";
import type { FlowGraph } from "../core/model.ts";
import type { PermissionSet } from "../core/permissions.ts";
import { valueCovers } from "../permissions/values.ts";
import { type ModuleGraph, reachable, type RemoteImport } from "./module_graph.ts";

function issue(r: RemoteImport, message: string, hint: string): ValidationIssue {
  const location: SourceLocation = r.location;
  return { message, hint, location };
}

function shown(host: string): string {
  return host.replace(/:(443|80)$/, "");
}

/** Whether the `import` values of `set` allow importing from `host` (`host:port`). */
export function importCovers(set: PermissionSet | undefined, host: string): boolean {
  const v = set?.import;
  if (v === true) return true;
  if (!Array.isArray(v)) return false;
  return v.some((a) => valueCovers("import", a.toLowerCase(), host));
}

/**
 * Whether this process would write the imports of user code into a lock file: from source
 * without `--no-lock` (the compiled binary has no lock file).
 */
export function writesLockFile(): boolean {
  if (!/^deno(\.exe)?$/i.test(Deno.execPath().split(/[\\/]/).pop() ?? "")) return false;
  try {
    const args = Deno.readTextFileSync("/proc/self/cmdline").split("\0");
    return !args.includes("--no-lock");
  } catch {
    return true; // cannot tell: assume it would
  }
}

/** Static imports of remote code, and `npm:` packages Orchestra does not hold: never allowed. */
export function staticImportIssues(graph: ModuleGraph): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  for (const r of graph.unheld) {
    out.push(issue(
      r,
      `${r.specifier} is an npm package Orchestra does not hold; user code may import only ` +
        `the npm packages of Orchestra's own lock file (fetching another would use the ` +
        `orchestrator's rights and change its lock file)`,
      "import a package Orchestra holds (see its deno.json), or call the code from a task " +
        'that runs it as a process (executor: "process" in YAML)',
    ));
  }
  for (const r of graph.remote.filter((r) => r.kind === "static")) {
    out.push(issue(
      r,
      `The module imports remote code "${r.specifier}" as it loads; a flow's modules load in ` +
        `its flow isolate, which may import no remote code`,
      `import it inside the task that uses it — const m = await import("${r.specifier}") — ` +
        `and give that task permissions: { import: ["${shown(r.host)}"] }`,
    ));
  }
  return out;
}

/** Every remote import: what a flow that opts out of the sandbox may not have. */
export function unsandboxedImportIssues(graph: ModuleGraph, flow: string): ValidationIssue[] {
  return [...graph.unheld, ...graph.remote].map((r) =>
    issue(
      r,
      `Flow "${flow}" opts out of the sandbox, so the orchestrator imports its module, and ` +
        `would fetch "${r.specifier}" with its own rights`,
      "keep the flow sandboxed (remove sandbox: false / --no-sandbox) and import remote code " +
        "inside the task that needs it, granted import of its host",
    )
  );
}

/**
 * The literal dynamic imports of remote code that no task may make: one that no worker task of
 * a module reaching it is granted, and any at all when this process writes a lock file.
 */
export function dynamicImportIssues(
  modules: ModuleGraph,
  graph: FlowGraph,
  writesLock: boolean = writesLockFile(),
): ValidationIssue[] {
  const dynamic = modules.remote.filter((r) => r.kind === "dynamic");
  if (dynamic.length === 0) return [];
  const out: ValidationIssue[] = [];
  const workers = graph.nodes.filter((n) => n.config.executor === "worker" && n.module);
  const reach = new Map<string, Set<string>>();
  for (const r of dynamic) {
    const granted = workers.some((n) => {
      let set = reach.get(n.module!);
      if (set === undefined) reach.set(n.module!, set = reachable(modules, n.module!));
      return set.has(r.module) && importCovers(n.config.permissions, r.host);
    });
    if (!granted) {
      out.push(issue(
        r,
        `The module imports remote code "${r.specifier}", and no task that runs in a worker ` +
          `from it is granted import of "${shown(r.host)}"`,
        `give the task that imports it permissions: { import: ["${shown(r.host)}"] } (within ` +
          "the flow's ceiling)",
      ));
    } else if (writesLock) {
      out.push(issue(
        r,
        `The module imports remote code "${r.specifier}", and this Orchestra runs with a lock ` +
          `file it would write the import into`,
        "run Orchestra with deno run --no-lock (deno task orchestra does) or as the compiled " +
          "binary",
      ));
    }
  }
  return out;
}

/**
 * What a worker of `moduleUrl` would fetch that `grant` does not cover: every literal remote
 * import of the module's graph is fetched when the worker loads it.
 */
export function uncoveredImports(
  modules: ModuleGraph,
  moduleUrl: string,
  grant: PermissionSet | undefined,
): RemoteImport[] {
  const reached = reachable(modules, moduleUrl);
  return modules.remote.filter((r) => reached.has(r.module) && !importCovers(grant, r.host));
}
