/**
 * Compiling a task's `uses:`: the plugin it resolved to, its params checked at their place in
 * `with:`, commands among them compiled like `run:` (values go in as variables), and params
 * that become code refused when they hold `${{ }}`.
 *
 * @module
 */

import { didYouMean } from "../../core/suggest.ts";
import { BUILTIN_PLUGINS } from "../../plugins/builtin.ts";
import { checkPlugin } from "../../plugins/inspect_check.ts";
import { builtinPlugin, PluginLoadError } from "../../plugins/resolve.ts";
import type { Checker, Scope } from "./checker.ts";
import { compileCommand, TASK_SHELL } from "./command.ts";
import type { CompiledTask } from "./compiled.ts";
import { type PluginUse, staticProblems } from "./plugins.ts";
import type { TaskSpec } from "./spec.ts";
import type { YamlPath } from "./source.ts";

/**
 * Where a task's keys are in the file: Chestra's form names `uses`, `with` and `needs`
 * `plugin`, `params` and `inputs`.
 */
export function fieldPath(t: TaskSpec, field: string): YamlPath {
  if (t.signals) {
    const chestra: Record<string, string> = { uses: "plugin", with: "params", needs: "inputs" };
    return [...t.path, chestra[field] ?? field];
  }
  return [...t.path, field];
}

/** What the `uses:` of a task resolved to; without a resolved map, only built-ins are known. */
export function pluginUse(
  t: TaskSpec,
  uses: string,
  plugins: ReadonlyMap<string, PluginUse> | undefined,
  flowDir: string,
): PluginUse {
  const found = plugins?.get(t.id);
  if (found) return found;
  const name = uses.split("@")[0];
  const def = BUILTIN_PLUGINS.get(name);
  if (!def) {
    const known = [...BUILTIN_PLUGINS.keys()];
    return {
      error: new PluginLoadError(
        `Unknown plugin "${name}"${didYouMean(name, known)}`,
        `available plugins: ${known.join(", ")}`,
      ),
    };
  }
  return {
    resolved: builtinPlugin(uses, def),
    check: checkPlugin(def, t.fields.with ?? {}, { dir: flowDir }),
  };
}

/**
 * Compiles the plugin side of task `c` (its `uses` resolved to `use`). Returns whether its
 * params have problems (then its permissions cannot be judged).
 */
export function compilePlugin(
  checker: Checker,
  c: CompiledTask,
  use: PluginUse,
  scope: Scope,
): boolean {
  const t = c.spec;
  const withPath = fieldPath(t, "with");
  const params = t.fields.with ?? {};
  if (use.error || !use.resolved) {
    const why = use.error?.message ?? `Unknown plugin "${t.fields.uses}"`;
    checker.issueAt(
      t,
      t.source.locate(fieldPath(t, "uses")),
      why.startsWith("Unknown plugin")
        ? `Task "${t.id}" uses u${why.slice(1)}`
        : `Task "${t.id}": ${why}`,
      // "orchestra plugins update <flow>": this flow.
      use.error?.hint?.replaceAll("<flow>", checker.spec.source.file),
    );
    checker.templatesIn(params, withPath, scope);
    return false;
  }
  c.uses = use.resolved;
  const bad = paramProblems(checker, t, use, params) > 0;
  const props = (use.resolved.manifest.params.properties ?? {}) as Record<
    string,
    Record<string, unknown> | undefined
  >;
  const plain: Record<string, unknown> = { ...params };
  for (const [key, prop] of Object.entries(props)) {
    const value = params[key];
    if (!prop) continue;
    if (typeof prop["x-orchestra-code"] === "string") {
      (c.codeParams ??= []).push(key);
      delete plain[key];
      if (typeof value === "string" && value.includes("${{")) {
        refuseCode(checker, t, [...withPath, key], value, key, prop["x-orchestra-code"] as string);
      }
    } else if (typeof value !== "string") continue;
    else if (prop["x-orchestra-quote"] === "shell") {
      const command = compileCommand(
        checker,
        value,
        [...withPath, key],
        scope,
        TASK_SHELL,
        `\`${key}\` of task "${t.id}"`,
      );
      delete plain[key];
      if (!command) continue;
      const envParam = prop["x-orchestra-env"];
      c.shellParams ??= new Map();
      c.shellParams.set(key, {
        command,
        ...(typeof envParam === "string" ? { envParam } : {}),
      });
    }
  }
  for (const [k, v] of Object.entries(plain)) checker.templatesIn(v, [...withPath, k], scope);
  c.with = params;
  return bad;
}

// `${{ }}` in a param that becomes code would make a value into source text.
function refuseCode(
  checker: Checker,
  t: TaskSpec,
  path: YamlPath,
  value: string,
  key: string,
  hint: string,
): void {
  checker.issueAt(
    t,
    t.source.locateInString(path, value.indexOf("${{")),
    `An expression in \`${key}\` of task "${t.id}" would become code`,
    hint,
  );
}

// Problems with a plugin task's params, at their place in `with:` (or `params:`).
function paramProblems(checker: Checker, t: TaskSpec, use: PluginUse, params: unknown): number {
  const withPath = fieldPath(t, "with");
  const manifest = use.resolved!.manifest;
  const props = manifest.params.properties as Record<string, unknown> | undefined;
  const problems = staticProblems(use.check?.problems ?? [], params);
  // Unknown params are typos more often than not, and a zod object drops them silently: say
  // so, unless the schema asks for more params (a loose object, a catch-all, `true`).
  const extra = manifest.params.additionalProperties;
  const open = extra === true || (typeof extra === "object" && extra !== null);
  if (props && !open && params !== null && typeof params === "object" && !Array.isArray(params)) {
    for (const k of Object.keys(params)) {
      if (Object.hasOwn(props, k)) continue;
      if (problems.some((p) => p.path.length === 1 && p.path[0] === k)) continue;
      problems.push({ path: [k], message: `unknown param "${k}"` });
    }
  }
  const known = Object.keys(props ?? {});
  for (const p of problems) {
    if (
      p.path.length && /received undefined/.test(p.message) && valueAt(params, p.path) === undefined
    ) {
      p.message = `missing required param "${p.path.at(-1)}"`;
      p.path = p.path.slice(0, -1);
    }
    const unknown = /^unknown param "(.*)"$/.exec(p.message);
    const at = unknown
      ? t.source.locateKey([...withPath, ...p.path.slice(0, -1)], String(p.path.at(-1)))
      : t.source.locate([...withPath, ...p.path]);
    const where = p.path.length ? ` at ${p.path.join(".")}` : "";
    checker.issueAt(
      t,
      at,
      `Task "${t.id}": plugin "${manifest.name}" params${where}: ${p.message}${
        unknown ? didYouMean(unknown[1], known) : ""
      }`,
      known.length
        ? `its params: ${known.join(", ")} (orchestra plugins info ${manifest.name})`
        : undefined,
    );
  }
  return problems.length;
}

function valueAt(value: unknown, path: (string | number)[]): unknown {
  let v = value;
  for (const k of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string | number, unknown>)[k];
  }
  return v;
}
