/**
 * The normalise step of the compiler, for one task: its needs, what it does (`run:`, `steps:`
 * or `uses:`), its env, fan-out (`foreach:` or a matrix), condition, outputs and settings,
 * each checked at its place in the file.
 *
 * @module
 */

import type { TaskSettings } from "../../core/model.ts";
import { didYouMean } from "../../core/suggest.ts";
import type { Checker, Scope } from "./checker.ts";
import { compileCommand, JOB_SHELL, shellOf } from "./command.ts";
import type { CompiledTask, OutputNames } from "./compiled.ts";
import { compileMatrix } from "./matrix_compile.ts";
import { compilePlugin, fieldPath, pluginUse } from "./plugin_task.ts";
import type { PluginUse } from "./plugins.ts";
import type { TaskSpec } from "./spec.ts";
import { compileSteps } from "./steps_compile.ts";
import { stableJson } from "./stable_json.ts";

/** What compiling a task needs besides the task. */
export interface TaskContext {
  /** The flow file's directory. */
  flowDir: string;
  /** What each task's `uses:` resolved to. */
  plugins?: ReadonlyMap<string, PluginUse>;
}

/** Compiles one task. */
export function compileTask(checker: Checker, t: TaskSpec, ctx: TaskContext): CompiledTask {
  const f = t.fields;
  const c: CompiledTask = {
    spec: t,
    needs: compileNeeds(checker, t),
    reads: new Set(),
    readsStatus: false,
    output: f.output ?? "text",
    env: [],
    outputs: [],
    options: { name: t.id },
    identity: "",
  };
  const scope: Scope = { task: t, place: "task" };
  if (f.strategy !== undefined) {
    c.matrix = compileMatrix(checker, t, scope);
    scope.matrixKeys = c.matrix?.keys;
  }
  // Names are shown everywhere: what an expression in one may read is checked.
  if (t.displayName?.includes("${{")) {
    c.title = checker.template(t.displayName, [...t.path, "name"], { ...scope, place: "name" });
  }
  const settings = compileSettings(checker, t, scope, c);
  const badParams = compileWork(checker, c, scope, ctx);
  for (const [k, v] of Object.entries(f.env ?? {})) {
    const tpl = checker.template(String(v), [...t.path, "env", k], { ...scope, place: "env" });
    if (tpl) c.env.push([k, tpl]);
  }
  compileForeach(checker, c, scope);
  if (f.if !== undefined) {
    c.condition = checker.condition(f.if, [...t.path, "if"], { ...scope, place: "if" });
  }
  compileOutputs(checker, c, scope);
  if (f["working-directory"] !== undefined) c.workdir = f["working-directory"];
  else if (t.runDefaults?.["working-directory"] !== undefined) {
    c.workdir = t.runDefaults["working-directory"];
  }
  c.options = { name: t.id, ...settings };
  if (f.description !== undefined) c.options.description = f.description;
  commandPermissions(c, settings);
  if (c.uses) pluginOptions(checker, c, settings, badParams, ctx);
  if (typeof f.cache === "object" && f.cache.key !== undefined) {
    c.cacheKey = checker.template(f.cache.key, [...t.path, "cache", "key"], scope);
  }
  c.identity = identityOf(c);
  return c;
}

function compileNeeds(checker: Checker, t: TaskSpec): string[] {
  const f = t.fields;
  const ids = checker.ids;
  const needs = f.needs === undefined ? [] : typeof f.needs === "string" ? [f.needs] : f.needs;
  const out: string[] = [];
  needs.forEach((n, i) => {
    const at = t.signals ? t.source.locate(fieldPath(t, "needs")) : t.source.locate(
      typeof f.needs === "string" ? [...t.path, "needs"] : [...t.path, "needs", i],
    );
    if (n === t.id) {
      checker.issueAt(t, at, `Task "${t.id}" needs itself`, "remove it from `needs:`");
    } else if (!checker.hasTask(n)) {
      const others = ids.filter((i) => i !== t.id);
      checker.issueAt(
        t,
        at,
        `Task "${t.id}" needs unknown task "${n}"${didYouMean(n, others)}`,
        `known tasks: ${ids.slice(0, 20).join(", ")}`,
      );
    } else if (!out.includes(n)) out.push(n);
  });
  return out;
}

// Run, steps or uses: exactly one. Returns whether a plugin's params have problems.
function compileWork(checker: Checker, c: CompiledTask, scope: Scope, ctx: TaskContext): boolean {
  const t = c.spec;
  const f = t.fields;
  const kinds = (["run", "steps", "uses"] as const).filter((k) => f[k] !== undefined);
  if (kinds.length > 1) {
    checker.issueAt(
      t,
      t.source.locateKey(t.path, kinds[1]),
      `Task "${t.id}" has both \`${kinds[0]}\` and \`${kinds[1]}\``,
      "a task runs a command, runs steps, or uses a plugin",
    );
    return false;
  }
  if (kinds.length === 0) {
    if (!t.rawKeys?.some((k) => k === "run" || k === "uses" || k === "steps")) {
      checker.issueAt(
        t,
        t.source.locate(t.path),
        `Task "${t.id}" has neither \`run\` nor \`uses\``,
        "add `run: <command>`, `steps:` or `uses: <plugin>`",
      );
    }
    if (f.with !== undefined) withoutUses(checker, t);
    return false;
  }
  if (f.with !== undefined && f.uses === undefined) withoutUses(checker, t);
  if (f.run !== undefined) {
    const shell = shellOf(checker, t, undefined, []);
    c.run = compileCommand(
      checker,
      f.run,
      [...t.path, "run"],
      scope,
      shell,
      `\`run\` of task "${t.id}"`,
    );
    return false;
  }
  if (f.steps !== undefined) {
    c.steps = compileSteps(checker, t, scope);
    return false;
  }
  return compilePlugin(checker, c, pluginUse(t, f.uses!, ctx.plugins, ctx.flowDir), scope);
}

function withoutUses(checker: Checker, t: TaskSpec): void {
  checker.issueAt(
    t,
    t.source.locateKey(t.path, "with"),
    `Task "${t.id}" has \`with\` but no \`uses\``,
    "`with` gives a plugin its params",
  );
}

function compileForeach(checker: Checker, c: CompiledTask, scope: Scope): void {
  const t = c.spec;
  const f = t.fields;
  if (f.foreach === undefined) {
    if (f.concurrency !== undefined) {
      checker.issueAt(
        t,
        t.source.locateKey(t.path, "concurrency"),
        `Task "${t.id}": \`concurrency\` applies only with \`foreach\``,
        f.strategy
          ? "a matrix's legs at once are `strategy.max-parallel`"
          : "add `foreach:`, or remove it",
      );
    }
    return;
  }
  if (f.strategy !== undefined) {
    checker.issueAt(
      t,
      t.source.locateKey(t.path, "foreach"),
      `Task "${t.id}" has both \`foreach\` and \`strategy\``,
      "fan out one way: a list with `foreach:`, or combinations with `strategy.matrix`",
    );
    return;
  }
  const listScope: Scope = { ...scope, place: "foreach" };
  if (typeof f.foreach === "string") {
    c.foreach = checker.template(f.foreach, [...t.path, "foreach"], listScope);
    return;
  }
  // Numbers, booleans, lists and mappings in the list are items as they are.
  c.foreach = f.foreach.map((item, i) =>
    typeof item === "string"
      ? checker.template(item, [...t.path, "foreach", i], listScope)
      : { literal: item }
  ).filter((x) => x !== undefined) as CompiledTask["foreach"];
}

function compileOutputs(checker: Checker, c: CompiledTask, scope: Scope): void {
  const t = c.spec;
  const outScope: Scope = { ...scope, place: "outputs" };
  if (c.steps) outScope.steps = c.steps.flatMap((s) => s.id === undefined ? [] : [s.id]);
  for (const [k, v] of Object.entries(t.fields.outputs ?? {})) {
    const tpl = checker.template(v, [...t.path, "outputs", k], outScope);
    if (tpl) c.outputs.push([k, tpl]);
  }
}

function compileSettings(
  checker: Checker,
  t: TaskSpec,
  scope: Scope,
  c: CompiledTask,
): TaskSettings {
  const f = t.fields;
  const s = toSettings(f);
  if (f.timeout !== undefined && f["timeout-minutes"] !== undefined) {
    checker.issueAt(
      t,
      t.source.locateKey(t.path, "timeout-minutes"),
      `Task "${t.id}" has both \`timeout\` and \`timeout-minutes\``,
      "give one: timeout-minutes: 5 is timeout: 5m",
    );
  }
  const coe = f["continue-on-error"];
  if (typeof coe === "string") {
    delete s.continueOnError;
    const coeScope: Scope = { ...scope, place: "continue-on-error" };
    const tpl = checker.template(coe, [...t.path, "continue-on-error"], coeScope);
    if (tpl) c.continueOnError = tpl;
  }
  return s;
}

/** The settings of a task's (or `defaults`') fields, as the engine takes them. */
export function toSettings(f: Record<string, unknown>): TaskSettings {
  const s: TaskSettings = {};
  if (f.timeout !== undefined) s.timeout = f.timeout as TaskSettings["timeout"];
  if (typeof f["timeout-minutes"] === "number") s.timeout = f["timeout-minutes"] * 60_000;
  if (f.retries !== undefined) s.retries = f.retries as TaskSettings["retries"];
  if (f.priority !== undefined) s.priority = f.priority as number;
  if (f.executor !== undefined) s.executor = f.executor as TaskSettings["executor"];
  if (f.permissions !== undefined) s.permissions = f.permissions as TaskSettings["permissions"];
  if (typeof f["continue-on-error"] === "boolean") s.continueOnError = f["continue-on-error"];
  if (f.cache !== undefined) {
    const cache = f.cache as boolean | { ttl?: string | number };
    s.cache = typeof cache === "boolean"
      ? cache
      : cache.ttl !== undefined
      ? { ttl: cache.ttl }
      : true;
  }
  return s;
}

// A command starts a program: the task asks for `run` of its shell, which a ceiling or a
// policy must allow (and which marks it unsandboxed).
function commandPermissions(c: CompiledTask, settings: TaskSettings): void {
  const shells = [c.run?.shell, ...(c.steps ?? []).map((s) => s.run.shell)].filter((s) =>
    s !== undefined
  );
  if (shells.length === 0) return;
  const programs = new Set(["sh"]);
  for (const s of shells) {
    if (s === JOB_SHELL) programs.add("bash");
    else if (s.command !== "sh -c") programs.add(s.name.split(/\s+/)[0]);
  }
  const asked = settings.permissions?.run;
  const run = asked === true ? true : [...new Set([...programs, ...(asked || [])])];
  c.options.permissions = { ...settings.permissions, run };
}

function pluginOptions(
  checker: Checker,
  c: CompiledTask,
  settings: TaskSettings,
  badParams: boolean,
  ctx: TaskContext,
): void {
  const t = c.spec;
  const use = pluginUse(t, t.fields.uses!, ctx.plugins, ctx.flowDir);
  const plugin = c.uses!;
  if (plugin.definition !== undefined && plugin.manifest.pure) c.options.executor ??= "inline";
  else if (settings.executor !== undefined && settings.executor !== "worker") {
    checker.issueAt(
      t,
      t.source.locate([...t.path, "executor"]),
      `Task "${t.id}": plugin "${plugin.manifest.name}" runs in a worker with its ` +
        `permissions, not "${settings.executor}"`,
      "only a pure built-in plugin runs inline; remove `executor:`",
    );
  } else c.options.executor = "worker";
  if (settings.permissions !== undefined) return;
  if (use.check?.permissions) {
    if (Object.keys(use.check.permissions).length) c.options.permissions = use.check.permissions;
  } else if (use.check?.permissionsError !== undefined && !badParams) {
    checker.issueAt(
      t,
      t.source.locate(fieldPath(t, "with")),
      `Task "${t.id}": plugin "${plugin.manifest.name}" cannot say which permissions it ` +
        `needs (${use.check.permissionsError})`,
      "give the task `permissions:` (Deno's names: read, write, net, env, run, …) for " +
        "what its params will hold when it runs",
    );
  }
}

/** The outputs a task offers, before any task is compiled (others' expressions read them). */
export function outputNames(t: TaskSpec): OutputNames {
  const f = t.fields;
  const names = new Set(Object.keys(f.outputs ?? {}));
  const result: OutputNames = { names, open: f.output === "json" };
  if (typeof f.run === "string" && f.run.includes("GITHUB_OUTPUT")) {
    // `echo "name=value" >> "$GITHUB_OUTPUT"`, `echo 'body<<EOF'`: the names written.
    const written = [...f.run.matchAll(/(?:^|[\s"'{;(])([A-Za-z_][\w-]*)(?:=|<<)/gm)];
    for (const m of written) names.add(m[1]);
    if (written.length === 0) result.open = true;
  }
  return result;
}

/**
 * What the task is, for cache keys: the command as written (before interpolation) with its env
 * and shell, or the plugin's name@version and its `with:`, or the steps.
 */
function identityOf(c: CompiledTask): string {
  const f = c.spec.fields;
  const common = { env: f.env ?? {}, workdir: c.workdir ?? null, output: c.output };
  if (c.run) return stableJson({ run: c.run.text, shell: c.run.shell.name, ...common });
  if (c.steps) {
    const steps = c.steps.map((s) => ({
      run: s.run.text,
      shell: s.run.shell.name,
      env: f.steps?.[s.index]?.env ?? {},
    }));
    return stableJson({ steps, outputs: f.outputs ?? {}, ...common });
  }
  if (c.uses) {
    const m = c.uses.manifest;
    return stableJson({ uses: `${m.name}@${m.version}`, with: f.with ?? {}, env: f.env ?? {} });
  }
  return stableJson({ task: c.spec.id });
}
