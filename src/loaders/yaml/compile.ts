/**
 * Turns a checked YAML flow into the flow graph (for validation, `describe`, `graph`,
 * `--dry-run`) and into a runnable flow: the same engine and the same run record as a
 * TypeScript flow. Every `${{ }}` is parsed and its references checked before anything runs.
 *
 * @module
 */

import { scheduleIssues } from "../../core/schedule.ts";
import { formatLocation, type SourceLocation, type ValidationIssue } from "../../core/errors.ts";
import { findCycles } from "../../core/graph.ts";
import {
  type FlowGraph,
  normalizeTaskOptions,
  type TaskNode,
  type TaskOptions,
  type TaskSettings,
} from "../../core/model.ts";
import {
  type CallOptions,
  type ConditionInfo,
  FLOW_BRAND,
  type FlowDefinition,
  PROTOCOL_VERSION,
  TASK_BRAND,
  type TaskCondition,
  type TaskDefinition,
} from "../../core/protocol.ts";
import { didYouMean } from "../../core/suggest.ts";
import { validateFlowGraph } from "../../core/validate.ts";
import type { FlowHandle } from "../../engine/run.ts";
import type { FlowOptions, TaskContext } from "../../engine/types.ts";
import { BASE_ENV_NAMES, logOutputLines, parseOutput, runShell } from "../../executors/process.ts";
import { BUILTIN_PLUGINS } from "../../plugins/builtin.ts";
import { invokePlugin, type PluginEnv } from "../../plugins/contract.ts";
import { builtinPlugin, PluginLoadError, type ResolvedPlugin } from "../../plugins/resolve.ts";
import { checkPlugin } from "../../plugins/inspect_check.ts";
import { type PluginUse, staticProblems } from "./plugins.ts";
import {
  calledFunctions,
  evaluate,
  type Expr,
  ExpressionSyntaxError,
  isTruthy,
  parseExpression,
  parseTemplate,
  renderTemplate,
  shellQuote,
  type Template,
  toText,
} from "./expressions/mod.ts";
import type { Place } from "./expressions/contexts.ts";
import {
  checkAgainstFlow,
  type FlowFacts,
  type Site,
  textIssues,
} from "./expressions/flow_checks.ts";
import { constantCondition } from "./expressions/lint.ts";
import { unsafeInterpolations } from "./shell_context.ts";
import type { FlowSpec, TaskSpec } from "./load.ts";
import type { YamlPath } from "./source.ts";

/** A YAML flow ready to validate, describe and run. */
export interface CompiledFlow {
  /** The runnable flow (same contract as a TypeScript flow). */
  def: FlowDefinition;
  /** The static graph, with every problem found in `issues`. */
  graph: FlowGraph;
}

/** Where compiled tasks run commands and find files. */
export interface CompileOptions {
  /** The directory of the flow file: commands run there unless `working-directory` says. */
  flowDir: string;
  /** Reads a host environment variable (for `secrets.X` and the base environment). */
  env?: (name: string) => string | undefined;
  /**
   * What each task's `uses:` resolved to, by task id (see `resolveFlowPlugins`). Without it,
   * only built-in plugins are known.
   */
  plugins?: ReadonlyMap<string, PluginUse>;
}

type Values = Record<string, unknown>;

interface Compiled {
  spec: TaskSpec;
  needs: string[];
  /** Tasks whose results its expressions read (all upstream). */
  reads: Set<string>;
  /** Whether its expressions (other than `if:`) read `tasks.X.status`. */
  readsStatus: boolean;
  run?: Template;
  uses?: ResolvedPlugin;
  /** The plugin's params that are shell commands: their values are shell-quoted. */
  shellParams?: string[];
  with?: unknown;
  env: [string, Template][];
  /** An expression, or a literal list whose strings may hold `${{ }}`. */
  foreach?: Template | (Template | { literal: unknown })[];
  condition?: { expr: Expr; text: string; always: boolean } | boolean;
  outputs: [string, Template][];
  /** The params its expressions read: a task receives only these (encrypted ones stay so). */
  params?: string[];
  cacheKey?: Template;
  workdir?: string;
  options: TaskOptions;
}

function fieldPath(t: TaskSpec, field: string): YamlPath {
  if (t.signals) {
    const chestra: Record<string, string> = { uses: "plugin", with: "params", needs: "inputs" };
    return [...t.path, chestra[field] ?? field];
  }
  return [...t.path, field];
}

/** Compiles a checked spec. Problems are returned in `graph.issues`; nothing throws. */
export function compileFlow(spec: FlowSpec, options: CompileOptions): CompiledFlow {
  const issues: ValidationIssue[] = [...spec.issues];
  const hostEnv = options.env ?? ((n: string) => Deno.env.get(n));
  const ids = spec.tasks.map((t) => t.id);
  const idSet = new Set(ids);
  const flowEnvNames = Object.keys(spec.fields.env ?? {});
  const byId = new Map<string, Compiled>();
  const compiled: Compiled[] = [];
  const flowLoc = spec.source.at(0);

  const issueAt = (
    t: TaskSpec | undefined,
    location: SourceLocation,
    message: string,
    hint?: string,
    severity?: "error" | "warning",
  ) => {
    const i: ValidationIssue = { message, location };
    if (t) i.taskId = t.id;
    if (hint) i.hint = hint;
    if (severity === "warning") i.severity = severity;
    issues.push(i);
  };

  // What expressions may read: the flow's declarations, and where each expression is written.
  const facts: FlowFacts = {
    ...(spec.fields.params ? { params: spec.fields.params } : {}),
    env: flowEnvNames,
    tasks: spec.tasks.map((t) => ({ id: t.id, outputs: Object.keys(t.fields.outputs ?? {}) })),
  };
  const siteOf = (t: TaskSpec | undefined, place: Place): Site =>
    t
      ? {
        place,
        task: {
          id: t.id,
          env: Object.keys(t.fields.env ?? {}),
          shape: { foreach: t.fields.foreach !== undefined },
        },
      }
      : { place };

  // Flow-level env values may use params and secrets.
  const pendingReads: { t: TaskSpec; id: string; at: SourceLocation; status: boolean }[] = [];
  // The secrets each task's expressions read: what it declares.
  const secretRefs = new Map<string, Set<string>>();
  // The params each task's expressions read ("" for the flow's env and outputs: everyone).
  const paramRefs = new Map<string, Set<string>>();
  const flowEnv: [string, Template][] = [];
  for (const [k, v] of Object.entries(spec.fields.env ?? {})) {
    const tpl = template(String(v), ["env", k], undefined, "flow-env");
    if (tpl) flowEnv.push([k, tpl]);
  }
  // Names are shown everywhere: what an expression in one may read is checked.
  if (spec.fields.name?.includes("${{")) template(spec.fields.name, ["name"], undefined, "name");

  function template(
    text: string,
    path: YamlPath,
    t: TaskSpec | undefined,
    place: Place,
    source = t?.source ?? spec.source,
  ): Template | undefined {
    let tpl: Template;
    try {
      tpl = parseTemplate(text);
    } catch (e) {
      if (!(e instanceof ExpressionSyntaxError)) throw e;
      issueAt(t, source.locateInString(path, e.offset), `Expression error: ${e.reason}`, e.hint);
      return undefined;
    }
    for (const part of tpl.parts) {
      if (typeof part === "string") continue;
      checkExpr(part.expr, path, t, place, source);
    }
    for (const p of textIssues(tpl, facts, siteOf(t, place))) {
      issueAt(t, source.locateInString(path, p.start), p.message, p.hint, p.severity);
    }
    return tpl;
  }

  function checkExpr(
    expr: Expr,
    path: YamlPath,
    t: TaskSpec | undefined,
    place: Place,
    source = t?.source ?? spec.source,
    shift = 0,
  ): void {
    const found = checkAgainstFlow(expr, siteOf(t, place), facts);
    const at = (offset: number) => source.locateInString(path, offset + shift);
    for (const p of found.issues) issueAt(t, at(p.start), p.message, p.hint, p.severity);
    if (found.params.length) {
      const key = t?.id ?? "";
      let names = paramRefs.get(key);
      if (!names) paramRefs.set(key, names = new Set());
      for (const name of found.params) names.add(name);
    }
    if (t && found.secrets.length) {
      let names = secretRefs.get(t.id);
      if (!names) secretRefs.set(t.id, names = new Set());
      for (const name of found.secrets) names.add(name);
    }
    for (const read of found.tasks) {
      if (t) pendingReads.push({ t, id: read.id, at: at(read.start), status: read.status });
    }
  }

  // A plugin's params may hold `${{ }}` at any depth: checked here, rendered when it runs.
  function templatesIn(value: unknown, path: YamlPath, t: TaskSpec): unknown {
    if (typeof value === "string" && value.includes("${{")) {
      template(value, path, t, "task");
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => templatesIn(v, [...path, i], t));
    } else if (value !== null && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) templatesIn(v, [...path, k], t);
    }
    return value;
  }

  // Problems with a plugin task's params, at their place in `with:` (or `params:`).
  function pluginIssues(t: TaskSpec, use: PluginUse, params: unknown): number {
    const withPath = fieldPath(t, "with");
    const manifest = use.resolved!.manifest;
    const props = manifest.params.properties as Record<string, unknown> | undefined;
    const problems = staticProblems(use.check?.problems ?? [], params);
    // Unknown params are typos more often than not, and a zod object drops them silently: say
    // so, unless the schema asks for more params (a loose object, a catch-all, `true`).
    const extra = manifest.params.additionalProperties;
    const open = extra === true || (typeof extra === "object" && extra !== null);
    if (
      props && !open && params !== null && typeof params === "object" && !Array.isArray(params)
    ) {
      for (const k of Object.keys(params)) {
        if (Object.hasOwn(props, k)) continue;
        if (problems.some((p) => p.path.length === 1 && p.path[0] === k)) continue;
        problems.push({ path: [k], message: `unknown param "${k}"` });
      }
    }
    for (const p of problems) {
      if (
        p.path.length && /received undefined/.test(p.message) &&
        valueAt(params, p.path) === undefined
      ) {
        p.message = `missing required param "${p.path.at(-1)}"`;
        p.path = p.path.slice(0, -1);
      }
      const known = Object.keys(props ?? {});
      const unknown = /^unknown param "(.*)"$/.exec(p.message);
      const at = unknown
        ? t.source.locateKey([...withPath, ...p.path.slice(0, -1)], String(p.path.at(-1)))
        : t.source.locate([...withPath, ...p.path]);
      const where = p.path.length ? ` at ${p.path.join(".")}` : "";
      issueAt(
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

  for (const t of spec.tasks) {
    const f = t.fields;
    const c: Compiled = {
      spec: t,
      needs: [],
      reads: new Set(),
      readsStatus: false,
      env: [],
      outputs: [],
      options: { name: t.id },
    };
    if (typeof f.name === "string" && f.name.includes("${{")) {
      template(f.name, [...t.path, "name"], t, "name");
    }
    // needs
    const needs = f.needs === undefined ? [] : typeof f.needs === "string" ? [f.needs] : f.needs;
    needs.forEach((n, i) => {
      const at = t.signals ? t.source.locate(fieldPath(t, "needs")) : t.source.locate(
        typeof f.needs === "string" ? [...t.path, "needs"] : [...t.path, "needs", i],
      );
      if (n === t.id) issueAt(t, at, `Task "${t.id}" needs itself`, "remove it from `needs:`");
      else if (!idSet.has(n)) {
        issueAt(
          t,
          at,
          `Task "${t.id}" needs unknown task "${n}"${didYouMean(n, ids.filter((i) => i !== t.id))}`,
          `known tasks: ${ids.slice(0, 20).join(", ")}`,
        );
      } else if (!c.needs.includes(n)) c.needs.push(n);
    });
    // what it does
    if (f.run !== undefined && f.uses !== undefined) {
      issueAt(
        t,
        t.source.locateKey(t.path, "uses"),
        `Task "${t.id}" has both \`run\` and \`uses\``,
        "a task either runs a command or uses a plugin",
      );
    } else if (
      f.run === undefined && f.uses === undefined &&
      !t.rawKeys?.some((k) => k === "run" || k === "uses")
    ) {
      issueAt(
        t,
        t.source.locate(t.path),
        `Task "${t.id}" has neither \`run\` nor \`uses\``,
        "add `run: <command>` or `uses: <plugin>`",
      );
    }
    if (f.run !== undefined) {
      c.run = template(f.run, [...t.path, "run"], t, "task");
      for (const spot of unsafeInterpolations(f.run)) {
        issueAt(
          t,
          t.source.locateInString([...t.path, "run"], spot.offset),
          `An expression inside ${spot.within} in \`run\` of task "${t.id}" cannot be quoted safely`,
          "put the ${{ … }} outside the quotes (values are shell-quoted for you), or pass it " +
            'through `env:` and use "$NAME"',
        );
      }
    }
    let badParams = false;
    const use = f.uses === undefined
      ? undefined
      : options.plugins?.get(t.id) ?? builtinUse(f.uses, f.with, options.flowDir);
    if (use) {
      const usesAt = t.source.locate(fieldPath(t, "uses"));
      if (use.error || !use.resolved) {
        const why = use.error?.message ?? `Unknown plugin "${f.uses}"`;
        issueAt(
          t,
          usesAt,
          why.startsWith("Unknown plugin")
            ? `Task "${t.id}" uses u${why.slice(1)}`
            : `Task "${t.id}": ${why}`,
          // "orchestra plugins update <flow>": this flow.
          use.error?.hint?.replaceAll("<flow>", spec.source.file),
        );
      } else {
        c.uses = use.resolved;
        badParams = pluginIssues(t, use, f.with ?? {}) > 0;
        c.shellParams = shellQuoted(use.resolved.manifest.params);
        for (const k of c.shellParams) {
          const v = (f.with as Record<string, unknown> | undefined)?.[k];
          if (typeof v !== "string") continue;
          for (const spot of unsafeInterpolations(v)) {
            issueAt(
              t,
              t.source.locateInString([...fieldPath(t, "with"), k], spot.offset),
              `An expression inside ${spot.within} in \`${k}\` of task "${t.id}" cannot be ` +
                `quoted safely`,
              "put the ${{ … }} outside the quotes (values are shell-quoted for you)",
            );
          }
        }
      }
      c.with = templatesIn(f.with ?? {}, fieldPath(t, "with"), t);
    } else if (f.with !== undefined) {
      issueAt(
        t,
        t.source.locateKey(t.path, "with"),
        `Task "${t.id}" has \`with\` but no \`uses\``,
        "`with` gives a plugin its params",
      );
    }
    for (const [k, v] of Object.entries(f.env ?? {})) {
      const tpl = template(String(v), [...t.path, "env", k], t, "env");
      if (tpl) c.env.push([k, tpl]);
    }
    if (f.foreach !== undefined) {
      if (typeof f.foreach === "string") {
        c.foreach = template(f.foreach, [...t.path, "foreach"], t, "foreach");
      } else {
        // Numbers, booleans, lists and mappings in the list are items as they are.
        c.foreach = f.foreach.map((item, i) =>
          typeof item === "string"
            ? template(item, [...t.path, "foreach", i], t, "foreach")
            : { literal: item }
        ).filter((x): x is Template | { literal: unknown } => !!x);
      }
    } else if (f.concurrency !== undefined) {
      issueAt(
        t,
        t.source.locateKey(t.path, "concurrency"),
        `Task "${t.id}": \`concurrency\` applies only with \`foreach\``,
      );
    }
    if (f.if !== undefined) {
      if (typeof f.if === "boolean") c.condition = f.if;
      else {
        const text = f.if.trim();
        // Offsets in `text` are offsets in the value after its leading whitespace.
        const shift = f.if.length - f.if.trimStart().length;
        const path = [...t.path, "if"];
        let expr: Expr | undefined;
        try {
          if (text.includes("${{")) {
            const tpl = parseTemplate(text);
            if (!tpl.whole) {
              // GitHub reads it as text, and a text that is not empty is true.
              const one = tpl.parts.map((p) => typeof p === "string" ? p : p.source.trim()).join(
                "",
              );
              issueAt(
                t,
                t.source.locateInString(path, shift),
                `\`if\` of task "${t.id}" is always true: ${JSON.stringify(text)} is text ` +
                  "with expressions in it, not one expression, and a non-empty text is true",
                `write one expression: \`if: \${{ ${one} }}\` (or without \${{ }})`,
              );
            } else expr = (tpl.parts[0] as { expr: Expr }).expr;
          } else expr = parseExpression(text);
        } catch (e) {
          if (!(e instanceof ExpressionSyntaxError)) throw e;
          issueAt(
            t,
            t.source.locateInString(path, e.offset + shift),
            `Expression error in \`if\`: ${e.reason}`,
            e.hint,
          );
        }
        if (expr) {
          checkExpr(expr, path, t, "if", t.source, shift);
          const fixed = constantCondition(expr);
          if (fixed) {
            const at = t.source.locateInString(path, fixed.start + shift);
            const message = fixed.message.replace(/^The condition/, `\`if\` of task "${t.id}"`);
            issueAt(t, at, message, fixed.hint, "warning");
          }
          // Called, not merely mentioned (in a string, say): only then may it run after a failure.
          const always = calledFunctions(expr).some((fn) =>
            ["failure", "always", "cancelled"].includes(fn.name.toLowerCase())
          );
          const bare = text.replace(/^\$\{\{\s*/, "").replace(/\s*\}\}$/, "");
          c.condition = { expr, text: JSON.stringify(bare), always };
        }
      }
    }
    for (const [k, v] of Object.entries(f.outputs ?? {})) {
      const tpl = template(v, [...t.path, "outputs", k], t, "outputs");
      if (tpl) c.outputs.push([k, tpl]);
    }
    if (f["working-directory"] !== undefined) c.workdir = f["working-directory"];
    // settings
    const settings = toSettings(f);
    c.options = { name: t.id, ...settings };
    if (f.run !== undefined) {
      // A shell task starts a program: it asks for `run` of `sh`, which a ceiling or a policy
      // must allow (and which marks it unsandboxed).
      const asked = settings.permissions?.run;
      const run = asked === true ? true : [...new Set(["sh", ...(asked || [])])];
      c.options.permissions = { ...settings.permissions, run };
    }
    if (c.uses && use) {
      const inline = c.uses.definition !== undefined && c.uses.manifest.pure;
      if (inline) c.options.executor ??= "inline";
      else if (settings.executor !== undefined && settings.executor !== "worker") {
        issueAt(
          t,
          t.source.locate([...t.path, "executor"]),
          `Task "${t.id}": plugin "${c.uses.manifest.name}" runs in a worker with its ` +
            `permissions, not "${settings.executor}"`,
          "only a pure built-in plugin runs inline; remove `executor:`",
        );
      } else c.options.executor = "worker";
      if (settings.permissions === undefined) {
        if (use.check?.permissions) {
          if (Object.keys(use.check.permissions).length) {
            c.options.permissions = use.check.permissions;
          }
        } else if (use.check?.permissionsError !== undefined && !badParams) {
          issueAt(
            t,
            t.source.locate(fieldPath(t, "with")),
            `Task "${t.id}": plugin "${c.uses.manifest.name}" cannot say which permissions it ` +
              `needs (${use.check.permissionsError})`,
            "give the task `permissions:` (Deno's names: read, write, net, env, run, …) for " +
              "what its params will hold when it runs",
          );
        }
      }
    }
    if (f.description !== undefined) c.options.description = f.description;
    if (typeof f.cache === "object" && f.cache.key !== undefined) {
      c.cacheKey = template(f.cache.key, [...t.path, "cache", "key"], t, "task");
    }
    compiled.push(c);
    byId.set(t.id, c);
  }

  // Upstream: a task may only read tasks it (transitively) needs.
  const upstream = new Map<string, Set<string>>();
  const visiting = new Set<string>();
  const closure = (id: string): Set<string> => {
    const known = upstream.get(id);
    if (known) return known;
    if (visiting.has(id)) return new Set(); // a cycle: reported below
    visiting.add(id);
    const out = new Set<string>();
    for (const n of byId.get(id)?.needs ?? []) {
      out.add(n);
      for (const x of closure(n)) out.add(x);
    }
    visiting.delete(id);
    upstream.set(id, out);
    return out;
  };
  for (const r of pendingReads) {
    if (!idSet.has(r.id)) continue;
    if (!closure(r.t.id).has(r.id)) {
      issueAt(
        r.t,
        r.at,
        `Task "${r.t.id}" reads tasks.${r.id} but does not need "${r.id}"`,
        `add "${r.id}" to its \`needs:\` so it runs after "${r.id}"`,
      );
    } else {
      byId.get(r.t.id)!.reads.add(r.id);
      if (r.status) byId.get(r.t.id)!.readsStatus = true;
    }
  }

  // The graph, for validation, describe, graph and --dry-run.
  const shared = paramRefs.get("") ?? new Set<string>();
  for (const c of compiled) {
    // Secrets its expressions read, and those its plugin reads (named in its params).
    const names = new Set([
      ...secretRefs.get(c.spec.id) ?? [],
      ...(c.uses ? options.plugins?.get(c.spec.id)?.check?.secrets ?? [] : []),
    ]);
    if (names.size) c.options.secrets = [...names];
    c.params = [...new Set([...(paramRefs.get(c.spec.id) ?? []), ...shared])];
  }
  const defaults = spec.fields.defaults ? toSettings(spec.fields.defaults) : undefined;
  const defaultProblems = new Set<string>();
  const nodes: TaskNode[] = compiled.map((c) => {
    const { config, problems } = normalizeTaskOptions(c.options, defaults);
    for (const p of problems) {
      // "timeout: …", "retries.delay: …": point at the value the problem is about.
      const m = /^(timeout|retries|priority|cache|executor|permissions)(?:\.(\w+))?\b/.exec(p);
      const field = m ? (m[2] ? [m[1], m[2]] : [m[1]]) : [];
      const inTask = m && c.spec.fields[m[1] as keyof typeof c.spec.fields] !== undefined;
      if (inTask || !m || !spec.fields.defaults) {
        const loc = c.spec.source.locate(inTask ? [...c.spec.path, ...field] : c.spec.path);
        issueAt(c.spec, loc, `Task "${c.spec.id}": ${p}`);
      } else if (!defaultProblems.has(p)) {
        // A bad default is one problem, not one per task.
        defaultProblems.add(p);
        issueAt(undefined, spec.source.locate(["defaults", ...field]), `defaults.${p}`);
      }
    }
    if (c.run !== undefined && c.spec.fields.executor === undefined) config.executor = "process";
    const node: TaskNode = {
      id: c.spec.id,
      name: c.spec.id,
      kind: c.foreach !== undefined ? "map" : "task",
      needs: c.needs,
      config,
      location: c.spec.source.at(c.spec.source.node(c.spec.path)?.range?.[0] ?? 0),
    };
    const keyLoc = c.spec.source.locateKey(
      c.spec.path.slice(0, -1),
      String(c.spec.path[c.spec.path.length - 1]),
    );
    if (!Array.isArray(c.spec.path) || typeof c.spec.path[c.spec.path.length - 1] === "string") {
      node.location = keyLoc;
    }
    if (c.uses) {
      const m = c.uses.manifest;
      node.plugin = { name: m.name, version: m.version, source: c.uses.source };
    }
    if (c.foreach !== undefined) {
      node.map = { items: Array.isArray(c.foreach) ? c.foreach.length : "dynamic" };
      if (c.spec.fields.concurrency !== undefined) node.map.concurrency = c.spec.fields.concurrency;
    }
    return node;
  });
  const graph: FlowGraph = { name: spec.name, nodes, issues: [], location: flowLoc };
  if (spec.fields.description !== undefined) graph.description = spec.fields.description;
  if (spec.fields.params) graph.params = spec.fields.params;
  if (readsEvent(compiled) && !spec.fields.params?.event) {
    graph.params = { ...graph.params, event: EVENT_PARAM };
  }
  if (spec.fields.permissions) graph.permissions = spec.fields.permissions;
  if (spec.fields.concurrency !== undefined) graph.concurrency = spec.fields.concurrency;
  // Schedules are orchestra serve's; a cron, time zone or params it would refuse is an error
  // here.
  for (
    const [at, entries] of [[["schedule"], spec.fields.schedule], [
      ["on", "schedule"],
      spec.fields.on?.schedule,
    ]] as const
  ) {
    for (const i of scheduleIssues(spec.name, entries, spec.fields.params)) {
      issueAt(undefined, spec.source.locate([...at, ...i.path]), i.message, i.hint);
    }
  }
  // A repeated id is reported where it is repeated, pointing back at its first use.
  const firstAt = new Map<string, SourceLocation>();
  for (const t of spec.tasks) {
    const key = t.fields.id !== undefined ? "id" : "name";
    const at = typeof t.path[t.path.length - 1] === "number"
      ? t.source.locate([...t.path, key])
      : t.source.locateKey(t.path.slice(0, -1), t.id);
    const first = firstAt.get(t.id);
    if (first === undefined) firstAt.set(t.id, at);
    else {
      issueAt(
        t,
        at,
        `Duplicate task id "${t.id}" (first used at ${formatLocation(first)})`,
        "give each task a unique id",
      );
    }
  }
  graph.issues = [
    ...issues,
    ...validateFlowGraph(graph, {
      executors: ["inline", "process", "worker"],
      baseDir: options.flowDir,
    }).filter((i) => !/needs unknown task|^Duplicate task id/.test(i.message)),
  ];
  void findCycles;

  const def = buildFlow(spec, compiled, flowEnv, defaults, options, hostEnv);
  return { def, graph };
}

function valueAt(value: unknown, path: (string | number)[]): unknown {
  let v = value;
  for (const k of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string | number, unknown>)[k];
  }
  return v;
}

// Without a resolved map (a caller that compiles directly): built-ins only.
function builtinUse(uses: string, params: unknown, flowDir: string): PluginUse {
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
    check: checkPlugin(def, params ?? {}, { dir: flowDir }),
  };
}

function toSettings(f: Record<string, unknown>): TaskSettings {
  const s: TaskSettings = {};
  if (f.timeout !== undefined) s.timeout = f.timeout as TaskSettings["timeout"];
  if (f.retries !== undefined) s.retries = f.retries as TaskSettings["retries"];
  if (f.priority !== undefined) s.priority = f.priority as number;
  if (f.executor !== undefined) s.executor = f.executor as TaskSettings["executor"];
  if (f.permissions !== undefined) s.permissions = f.permissions as TaskSettings["permissions"];
  if (f["continue-on-error"] !== undefined) s.continueOnError = f["continue-on-error"] as boolean;
  if (f.cache !== undefined) {
    s.cache = typeof f.cache === "boolean"
      ? f.cache
      : (f.cache as { ttl?: string | number }).ttl !== undefined
      ? { ttl: (f.cache as { ttl: string | number }).ttl }
      : true;
  }
  return s;
}

// ---- running ----

interface Input {
  tasks: Record<string, unknown>;
  params: Record<string, unknown>;
  item?: unknown;
  index?: number;
  /** Statuses of the tasks it waited for, filled in by its condition. */
  statuses?: Record<string, string>;
}

function buildFlow(
  spec: FlowSpec,
  compiled: Compiled[],
  flowEnv: [string, Template][],
  defaults: TaskSettings | undefined,
  options: CompileOptions,
  hostEnv: (name: string) => string | undefined,
): FlowDefinition {
  const byId = new Map(compiled.map((c) => [c.spec.id, c]));
  // The flow's result is its last tasks': handlers need every task but are not results.
  const needed = new Set(compiled.flatMap((c) => c.spec.handler ? [] : c.needs));
  const order = topological(compiled);

  const outputsOf = (id: string, result: unknown, params: Values, runId: string): Values => {
    const c = byId.get(id);
    const out: Values = {};
    for (const [k, tpl] of c?.outputs ?? []) {
      out[k] = renderTemplate(tpl, { values: { result, params, run: { id: runId } } });
    }
    return out;
  };

  const secret = (name: string): string => {
    const v = hostEnv(name);
    if (v === undefined) {
      throw new Error(`secret "${name}" is not set: set the environment variable ${name}`);
    }
    return v;
  };
  const secrets = (lookup: (name: string) => string = secret): Values =>
    new Proxy({}, {
      get: (_t, name) => typeof name === "string" ? lookup(name) : undefined,
      has: () => true,
      // Expressions read properties through their descriptors: an unset secret is an error
      // there too, not an empty string.
      getOwnPropertyDescriptor: (_t, name) =>
        typeof name === "string"
          ? { value: lookup(name), enumerable: true, configurable: true }
          : undefined,
    });

  const valuesFor = (
    c: Compiled,
    input: Input,
    runId: string,
    statuses?: Record<string, string>,
    lookup?: (name: string) => string,
  ): Values => {
    const tasks: Values = {};
    for (const id of c.reads) {
      const result = input.tasks[id] ?? null;
      tasks[id] = {
        result,
        status: statuses?.[id] ?? "succeeded",
        outputs: outputsOf(id, result, input.params, runId),
      };
    }
    const base: Values = {
      params: input.params,
      tasks,
      secrets: secrets(lookup),
      run: { id: runId },
      event: input.params.event ?? {},
    };
    const env: Values = {};
    for (const [k, tpl] of flowEnv) env[k] = toText(renderTemplate(tpl, { values: base }));
    for (const [k, tpl] of c.env) env[k] = toText(renderTemplate(tpl, { values: base }));
    base.env = env;
    if (input.item !== undefined || input.index !== undefined) {
      base.item = input.item ?? null;
      base.index = input.index ?? 0;
    }
    return base;
  };

  const execute = async (c: Compiled, input: Input, ctx: TaskContext): Promise<unknown> => {
    // Secrets go through the task's context: declared, looked up where configured, masked.
    const values = valuesFor(c, input, ctx.runId, input.statuses, (n) => ctx.secret(n));
    const evalCtx = { values };
    if (c.run !== undefined) {
      const command = String(renderTemplate(c.run, evalCtx, { quote: shellQuote }) ?? "");
      ctx.log.debug(`$ ${command}`);
      const env: Record<string, string> = {};
      for (const name of BASE_ENV_NAMES) {
        const v = hostEnv(name);
        if (v !== undefined) env[name] = v;
      }
      // Host variables the task was granted (permissions: { env: [...] }) pass through too.
      const granted = c.options.permissions?.env;
      if (granted === true) {
        for (const [k, v] of Object.entries(Deno.env.toObject())) env[k] ??= v;
      } else if (Array.isArray(granted)) {
        for (const pattern of granted) {
          if (pattern.endsWith("*")) {
            const prefix = pattern.slice(0, -1);
            for (const k of Object.keys(Deno.env.toObject())) {
              const v = k.startsWith(prefix) ? hostEnv(k) : undefined;
              if (v !== undefined) env[k] = v;
            }
          } else {
            const v = hostEnv(pattern);
            if (v !== undefined) env[pattern] = v;
          }
        }
      }
      Object.assign(env, values.env as Record<string, string>);
      const out = await runShell(command, {
        cwd: c.workdir ? resolve(options.flowDir, c.workdir) : options.flowDir,
        env,
        signal: ctx.signal,
        onLine: logOutputLines(ctx.log),
        owner: { runId: ctx.runId, taskId: ctx.taskId },
      });
      return parseOutput(out);
    }
    // A pure built-in plugin (the only kind that runs here).
    const [params, inputs, env] = pluginArgs(c, input, ctx);
    return await invokePlugin(c.uses!.definition!, params, inputs, ctx, env);
  };

  // What a plugin task receives: its params rendered, its inputs and where it runs.
  const pluginArgs = (
    c: Compiled,
    input: Input,
    ctx: TaskContext,
  ): [Record<string, unknown>, Values, PluginEnv] => {
    const values = valuesFor(c, input, ctx.runId, input.statuses, (n) => ctx.secret(n));
    const params = renderDeep(c.with ?? {}, { values }, c.shellParams) as Record<string, unknown>;
    const inputs: Values = {};
    for (const id of c.needs) inputs[id] = input.tasks[id] ?? null;
    return [params, inputs, { dir: options.flowDir }];
  };

  const taskDef = (c: Compiled): TaskDefinition => {
    // Compiled tasks spawn commands from this isolate: a default of "worker" does not apply.
    const options: TaskOptions = { ...c.options, executor: c.options.executor ?? "inline" };
    if (c.cacheKey) {
      const keyTpl = c.cacheKey;
      options.cache = {
        ...(typeof options.cache === "object" ? options.cache : {}),
        key: (args) =>
          `${c.spec.id}:${
            String(
              renderTemplate(keyTpl, {
                values: { ...(args[0] as Input), ...valuesFor(c, args[0] as Input, "") },
              }),
            )
          }`,
      };
    }
    const def: TaskDefinition = {
      [TASK_BRAND]: PROTOCOL_VERSION,
      options,
      fn: ((input: Input, ctx: TaskContext) => execute(c, input, ctx)) as never,
      location: c.spec.source.locate(c.spec.path),
    };
    if (c.uses) {
      const m = c.uses.manifest;
      (def as { plugin?: unknown }).plugin = {
        name: m.name,
        version: m.version,
        source: c.uses.source,
      };
    }
    if (!c.uses || options.executor !== "worker") return def;
    // The plugin's module, imported by a worker started with the task's grant.
    return {
      ...def,
      moduleUrl: c.uses.moduleUrl,
      workerName: `plugin:${c.uses.manifest.name}`,
      prepare:
        ((args: unknown[], ctx: TaskContext) => pluginArgs(c, args[0] as Input, ctx)) as never,
    };
  };

  // A task that failed under continue-on-error counts as succeeded for success() and failure(),
  // as in GitHub Actions.
  const softFailure = (id: string, status: string) =>
    status === "failed" &&
    (byId.get(id)?.options.continueOnError ?? defaults?.continueOnError) === true;

  // Built per call: the condition reads this run's params and records the statuses of the
  // tasks waited for in the call's input, where `tasks.X.status` finds them.
  const conditionOf = (c: Compiled, input: Input, runId: string): TaskCondition | undefined => {
    const cond = c.condition;
    const record = (info: ConditionInfo) => Object.assign(input.statuses ??= {}, info.statuses);
    if (cond === undefined) {
      if (!c.readsStatus) return undefined;
      return { text: '"true"', test: (info) => (record(info), true) };
    }
    if (typeof cond === "boolean") {
      return { text: JSON.stringify(String(cond)), test: (info) => (record(info), cond) };
    }
    return {
      text: cond.text,
      evenIfUpstreamFailed: cond.always,
      test: (info) => {
        record(info);
        const statuses = Object.entries(info.statuses as Record<string, string>);
        const ok = ([id, s]: [string, string]) =>
          s === "succeeded" || s === "cached" || softFailure(id, s);
        const values = valuesFor(
          c,
          { tasks: info.values as Record<string, unknown>, params: input.params },
          runId,
          info.statuses,
        );
        return isTruthy(evaluate(cond.expr, {
          values,
          functions: {
            success: () => statuses.every(ok) && !info.cancelled,
            failure: () => statuses.some(([id, s]) => s === "failed" && !softFailure(id, s)),
            always: () => true,
            cancelled: () => info.cancelled,
          },
        }));
      },
    };
  };

  const defs = new Map(compiled.map((c) => [c.spec.id, taskDef(c)]));

  const flowOptions: FlowOptions = { name: spec.name };
  if (spec.fields.description !== undefined) flowOptions.description = spec.fields.description;
  if (spec.fields.params) flowOptions.params = spec.fields.params;
  if (readsEvent(compiled) && !spec.fields.params?.event) {
    flowOptions.params = { ...flowOptions.params, event: EVENT_PARAM };
  }
  if (spec.fields.permissions) flowOptions.permissions = spec.fields.permissions;
  if (spec.fields.concurrency !== undefined) flowOptions.concurrency = spec.fields.concurrency;
  if (defaults) flowOptions.defaults = defaults;
  const schedule = [...spec.fields.schedule ?? [], ...spec.fields.on?.schedule ?? []];
  if (schedule.length) flowOptions.schedule = schedule;

  const body = (f: FlowHandle, params: Record<string, unknown>) => {
    const refs = new Map<string, PromiseLike<unknown>>();
    for (const c of order) {
      const deps: Record<string, unknown> = {};
      for (const id of new Set([...c.needs, ...c.reads])) deps[id] = refs.get(id);
      const own: Record<string, unknown> = {};
      for (const name of c.params ?? Object.keys(params)) {
        if (Object.hasOwn(params, name)) own[name] = params[name];
      }
      const input: Input = { tasks: deps, params: own };
      const call: CallOptions = { id: c.spec.id };
      const condition = conditionOf(c, input, f.runId);
      if (condition) call.condition = condition;
      const def = defs.get(c.spec.id)!;
      if (c.foreach !== undefined) {
        const foreach = c.foreach;
        refs.set(
          c.spec.id,
          f.map(input, def as never, {
            ...call,
            ...(c.spec.fields.concurrency ? { concurrency: c.spec.fields.concurrency } : {}),
            select: (value) => {
              const v = value as Input;
              const values = valuesFor(c, v, f.runId);
              const list = Array.isArray(foreach)
                ? foreach.map((tpl) =>
                  "literal" in tpl ? tpl.literal : renderTemplate(tpl, { values })
                )
                : renderTemplate(foreach, { values });
              if (!Array.isArray(list)) {
                throw new TypeError(
                  `foreach of task "${c.spec.id}" must give a list, got ${
                    list === null ? "null" : typeof list
                  } ${JSON.stringify(list)?.slice(0, 80)}`,
                );
              }
              return list.map((item, index) => ({ ...v, item, index }));
            },
          }),
        );
      } else {
        refs.set(c.spec.id, f.call(def as never, [input], call));
      }
    }
    const result: Record<string, unknown> = {};
    for (const c of compiled) {
      if (!needed.has(c.spec.id) && !c.spec.handler) result[c.spec.id] = refs.get(c.spec.id);
    }
    return result;
  };

  return {
    [FLOW_BRAND]: PROTOCOL_VERSION,
    options: flowOptions,
    body: body as never,
    location: spec.source.at(0),
  };
}

// The params a plugin marks `"x-orchestra-quote": "shell"` (a command, like `run:`).
function shellQuoted(schema: Record<string, unknown>): string[] {
  const props = schema.properties as Record<string, Record<string, unknown>> | undefined;
  return Object.entries(props ?? {})
    .filter(([, p]) => p?.["x-orchestra-quote"] === "shell")
    .map(([k]) => k);
}

function renderDeep(value: unknown, ctx: { values: Values }, shell?: string[]): unknown {
  if (shell?.length && value !== null && typeof value === "object" && !Array.isArray(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        shell.includes(k) && typeof v === "string" && v.includes("${{")
          ? String(renderTemplate(parseTemplate(v), ctx, { quote: shellQuote }) ?? "")
          : renderDeep(v, ctx),
      ]),
    );
  }
  if (typeof value === "string") {
    return value.includes("${{") ? renderTemplate(parseTemplate(value), ctx) : value;
  }
  if (Array.isArray(value)) return value.map((v) => renderDeep(v, ctx));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderDeep(v, ctx)]));
  }
  return value;
}

/** The param `${{ event }}` reads, declared for a flow that reads it without declaring it. */
const EVENT_PARAM = {
  type: "object",
  default: {},
  description: "What started the run: a webhook's JSON body under orchestra serve",
} as const;

function readsEvent(compiled: Compiled[]): boolean {
  return compiled.some((c) => c.params?.includes("event"));
}

function resolve(dir: string, rel: string): string {
  return rel.startsWith("/") ? rel : `${dir}/${rel}`;
}

function topological(compiled: Compiled[]): Compiled[] {
  const byId = new Map(compiled.map((c) => [c.spec.id, c]));
  const done = new Set<string>();
  const out: Compiled[] = [];
  const visit = (c: Compiled, stack: Set<string>) => {
    if (done.has(c.spec.id) || stack.has(c.spec.id)) return;
    stack.add(c.spec.id);
    for (const n of new Set([...c.needs, ...c.reads])) {
      const d = byId.get(n);
      if (d) visit(d, stack);
    }
    stack.delete(c.spec.id);
    done.add(c.spec.id);
    out.push(c);
  };
  for (const c of compiled) visit(c, new Set());
  return out;
}
