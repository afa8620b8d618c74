/**
 * Finding the plugins a YAML flow uses, before it is compiled: each `uses:` is resolved once,
 * and each task's static params are checked against its plugin (in a worker without
 * permissions for plugins that are not built in), which also computes the permissions the
 * plugin asks for with those params.
 *
 * @module
 */

import type { ParamsProblem } from "../../plugins/contract.ts";
import { type ParamsCheck, PluginInspector } from "../../plugins/inspect.ts";
import { checkPlugin } from "../../plugins/inspect_check.ts";
import {
  PluginLoadError,
  type PluginSearch,
  type ResolvedPlugin,
  resolvePlugin,
} from "../../plugins/resolve.ts";
import type { FlowSpec } from "./load.ts";

/** What a task's `uses:` resolved to. */
export interface PluginUse {
  /** The plugin, when it was found. */
  resolved?: ResolvedPlugin;
  /** Why it was not. */
  error?: PluginLoadError;
  /** Its static params checked, and the permissions it asks for with them. */
  check?: ParamsCheck;
}

/** Resolves every `uses:` of a flow; never throws for a plugin that cannot be found. */
export async function resolveFlowPlugins(
  spec: FlowSpec,
  search: PluginSearch,
): Promise<Map<string, PluginUse>> {
  const out = new Map<string, PluginUse>();
  const tasks = spec.tasks.filter((t) => typeof t.fields.uses === "string");
  if (tasks.length === 0) return out;
  const inspector = search.inspector ?? new PluginInspector();
  const found = new Map<string, ResolvedPlugin | PluginLoadError>();
  try {
    // One at a time: remote plugins share a lock file.
    for (const t of tasks) {
      const uses = t.fields.uses as string;
      let r = found.get(uses);
      if (r === undefined) {
        try {
          r = await resolvePlugin(uses, { ...search, inspector });
        } catch (e) {
          r = e instanceof PluginLoadError
            ? e
            : new PluginLoadError(`Plugin "${uses}" failed to load: ${String(e)}`);
        }
        found.set(uses, r);
      }
      if (r instanceof PluginLoadError) {
        out.set(t.id, { error: r });
        continue;
      }
      const params = t.fields.with ?? {};
      const env = { dir: search.flowDir };
      try {
        const check = r.definition
          ? checkPlugin(r.definition, params, env)
          : await inspector.check(r.moduleUrl, r.manifest.name, params, env);
        out.set(t.id, { resolved: r, check });
      } catch (e) {
        out.set(t.id, {
          resolved: r,
          error: e instanceof PluginLoadError ? e : new PluginLoadError(String(e)),
        });
      }
    }
  } finally {
    if (!search.inspector) inspector.close();
  }
  return out;
}

/** The paths inside a value of strings holding `${{ }}`: known only when the task runs. */
export function expressionPaths(value: unknown, path: (string | number)[] = []) {
  const out: (string | number)[][] = [];
  if (typeof value === "string") {
    if (value.includes("${{")) out.push(path);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => out.push(...expressionPaths(v, [...path, i])));
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) out.push(...expressionPaths(v, [...path, k]));
  }
  return out;
}

/** The problems that do not come from a value known only at run time. */
export function staticProblems(problems: ParamsProblem[], params: unknown): ParamsProblem[] {
  const dynamic = expressionPaths(params);
  return problems.filter((p) =>
    !dynamic.some((d) => d.length <= p.path.length && d.every((seg, i) => p.path[i] === seg))
  );
}
