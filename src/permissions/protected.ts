/**
 * Protected paths: what no task may be granted to read or write, whatever its flow's ceiling
 * and the policy allow. The state dir holds the run records, the result cache, the audit log
 * and the verified copies of remote plugins; lock files pin the code the orchestrator runs; the
 * secrets and policy files decide who gets what. A task that could write there could forge
 * the audit log, poison other flows' cache or rewrite run records; one that could read there
 * could read other runs' results.
 *
 * The host (the CLI's composition root, `serve`, or a library caller) says which paths it
 * protects; the {@linkcode Authorizer} refuses a `read` or `write` value that covers one of
 * them (`true`, a parent directory, the path itself, or anything inside a protected
 * directory), judged both as written and by where symbolic links lead. `run` and `ffi` grants
 * are not refused here: a subprocess or native code has all of the orchestrator's rights in
 * any case, which `describe` marks "unsandboxed".
 *
 * @module
 */

import { dirname, join, resolve } from "node:path";
import type { PermissionName, PermissionSet } from "../core/permissions.ts";
import { auditLogPath } from "./audit.ts";
import type { Denial } from "./grant.ts";
import { linkTarget, pathCovers } from "./values.ts";

/** A path no task may read or write, and what it is, for messages. */
export interface ProtectedPath {
  /** The absolute path. */
  path: string;
  /** What it is: `the state dir`, `the audit log`, … */
  what: string;
}

/** The permissions whose grants may not cover a protected path. */
const GUARDED: readonly PermissionName[] = ["read", "write"];

/**
 * The protected paths of a state dir: the dir itself (run records, the result cache), the
 * audit log and the plugin cache inside it.
 *
 * @example
 * ```ts
 * import { stateDirPaths } from "./protected.ts";
 * const paths = stateDirPaths("/srv/flows/.orchestra");
 * console.assert(paths.map((p) => p.what).join() === "the audit log,the plugin cache,the state dir");
 * ```
 */
export function stateDirPaths(stateDir: string): ProtectedPath[] {
  const dir = resolve(stateDir);
  return [
    { path: auditLogPath(dir), what: "the audit log" },
    { path: join(dir, "plugins"), what: "the plugin cache" },
    { path: dir, what: "the state dir" },
  ];
}

/**
 * The Deno configuration the orchestrator itself runs under, if it runs from source: the
 * `deno.json` (or `deno.jsonc`) found from `cwd` upwards and the `deno.lock` beside it. A task
 * that rewrote them would change the code the next `orchestra` run imports.
 *
 * @example
 * ```ts
 * import { denoConfigPaths } from "./protected.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/deno.json`, "{}");
 * const paths = await denoConfigPaths(dir);
 * console.assert(paths.some((p) => p.path === `${dir}/deno.lock`));
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function denoConfigPaths(cwd: string): Promise<ProtectedPath[]> {
  for (let d = resolve(cwd);; d = dirname(d)) {
    for (const name of ["deno.json", "deno.jsonc"]) {
      try {
        if ((await Deno.stat(join(d, name))).isFile) {
          return [
            { path: join(d, name), what: "the orchestrator's Deno configuration" },
            { path: join(d, "deno.lock"), what: "the orchestrator's deno.lock" },
          ];
        }
      } catch {
        // not there, or not readable: look further up
      }
    }
    if (dirname(d) === d) return [];
  }
}

/** What {@linkcode hostPaths} protects besides the state dir. */
export interface HostPathsOptions {
  /** The state dir. */
  stateDir: string;
  /** The flow file's directory: its `orchestra.lock` pins the flow's remote plugins. */
  flowDir?: string;
  /** The secrets file (dotenv), if one is used: it holds every secret in clear. */
  secretsFile?: string;
  /** The policy file, if one is used. */
  policyFile?: string;
  /**
   * Where the orchestrator's own Deno configuration is looked for (see
   * {@linkcode denoConfigPaths}); leave out for a compiled binary, which reads none.
   */
  denoCwd?: string;
}

/**
 * Every path a host protects: the state dir with the audit log and the plugin cache, the
 * flow's `orchestra.lock`, the secrets and policy files, and the orchestrator's own
 * `deno.json` and `deno.lock`.
 *
 * @example
 * ```ts
 * import { hostPaths } from "./protected.ts";
 * const paths = await hostPaths({ stateDir: "/srv/.orchestra", flowDir: "/srv/flows" });
 * console.assert(paths.some((p) => p.path === "/srv/flows/orchestra.lock"));
 * ```
 */
export async function hostPaths(options: HostPathsOptions): Promise<ProtectedPath[]> {
  const out = stateDirPaths(options.stateDir);
  if (options.flowDir !== undefined) {
    out.push({
      path: join(resolve(options.flowDir), "orchestra.lock"),
      what: "the plugin lock file",
    });
  }
  if (options.secretsFile !== undefined) {
    out.push({ path: resolve(options.secretsFile), what: "the secrets file" });
  }
  if (options.policyFile !== undefined) {
    out.push({ path: resolve(options.policyFile), what: "the policy file" });
  }
  if (options.denoCwd !== undefined) out.push(...await denoConfigPaths(options.denoCwd));
  return out;
}

/** A protected path in the forms it is compared in: as given, and where links lead. */
interface Guarded extends ProtectedPath {
  forms: string[];
}

/**
 * Decides which requested `read`/`write` values touch a protected path.
 *
 * @example
 * ```ts
 * import { ProtectedPaths } from "./protected.ts";
 * const guard = new ProtectedPaths([{ path: "/srv/.orchestra", what: "the state dir" }]);
 * const { denied, rest } = guard.check({ write: ["/srv", "/srv/out"], net: true });
 * console.assert(denied.length === 1 && denied[0].value === "/srv" && denied[0].by === "protected");
 * console.assert(JSON.stringify(rest) === '{"write":["/srv/out"],"net":true}');
 * ```
 */
export class ProtectedPaths {
  readonly #paths: Guarded[];

  /** Resolves each path once, and where it leads through symbolic links. */
  constructor(paths: readonly ProtectedPath[]) {
    this.#paths = paths.map((p) => {
      const path = resolve(p.path);
      const target = linkTarget(path);
      return { path, what: p.what, forms: target ? [path, target] : [path] };
    });
  }

  /** The paths guarded, as given (resolved). */
  get paths(): readonly ProtectedPath[] {
    return this.#paths.map(({ path, what }) => ({ path, what }));
  }

  #hits(value: string): Guarded[] {
    return this.#paths.filter((p) =>
      p.forms.some((f) => pathCovers(value, f) || pathCovers(f, value))
    );
  }

  /**
   * Splits a normalised request: the values that touch a protected path, each as a denial
   * naming the path, and the rest of the request.
   */
  check(request: PermissionSet): { denied: Denial[]; rest: PermissionSet } {
    if (this.#paths.length === 0) return { denied: [], rest: request };
    const denied: Denial[] = [];
    const rest: Record<string, true | string[]> = { ...request } as Record<string, never>;
    for (const name of GUARDED) {
      const v = request[name];
      if (v === undefined || v === false) continue;
      if (v === true) {
        denied.push({ name, value: true, by: "protected", reason: this.#reason(name, true)! });
        delete rest[name];
        continue;
      }
      // A link's target joins the request beside it (normalizePermissions): one denial, for
      // the path as written, says both.
      const targets = new Set<string>();
      const kept: string[] = [];
      for (const value of v) {
        const reason = this.#reason(name, value);
        if (reason === undefined) {
          kept.push(value);
          continue;
        }
        const target = linkTarget(value);
        if (target) targets.add(target);
        denied.push({ name, value, by: "protected", reason });
      }
      const shown = denied.filter((d) => !(d.name === name && targets.has(d.value as string)));
      denied.splice(0, denied.length, ...shown);
      if (kept.length) rest[name] = kept;
      else delete rest[name];
    }
    return { denied, rest };
  }

  /** Why `value` is refused, or `undefined` if it touches nothing protected. */
  #reason(name: PermissionName, value: string | true): string | undefined {
    const tail = `, which no task may ${name}, whatever the ceiling and the policy allow`;
    if (value === true) {
      return `${name} (all) covers ${list(outermost(this.#paths))}${tail}`;
    }
    for (const form of [value, linkTarget(value)]) {
      if (form === undefined) continue;
      const hits = this.#hits(form);
      if (hits.length === 0) continue;
      const via = form === value ? "it" : `it leads to ${form}, which`;
      const same = hits.filter((p) => p.forms.includes(form));
      const covered = hits.filter((p) => p.forms.some((f) => pathCovers(form, f)));
      let how: string;
      if (same.length) how = `${via} is ${list(same.slice(0, 1))}`;
      else if (covered.length) how = `${via} covers ${list(outermost(covered))}`;
      else {
        // Inside: the innermost protected directory around it says the most.
        const around = hits.slice().sort((a, b) => b.path.length - a.path.length)[0];
        how = `${via} is inside ${list([around])}`;
      }
      return how + tail;
    }
    return undefined;
  }
}

function list(paths: readonly ProtectedPath[]): string {
  return paths.map((p) => `${p.what} ${p.path}`).join(" and ");
}

/** The paths not inside another of them: the state dir rather than the audit log in it. */
function outermost<P extends ProtectedPath>(paths: readonly P[]): P[] {
  return paths.filter((p) => !paths.some((q) => q !== p && pathCovers(q.path, p.path)));
}
