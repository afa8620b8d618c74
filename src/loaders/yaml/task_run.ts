/**
 * What a compiled task does when it runs: its command (with `$GITHUB_OUTPUT` and friends), its
 * steps, or its plugin with `with:` rendered, in an environment of exactly what it declared.
 *
 * @module
 */

import { BASE_ENV_NAMES } from "../../executors/process.ts";
import type { TaskContext } from "../../engine/types.ts";
import { invokePlugin, type PluginEnv } from "../../plugins/contract.ts";
import type { CompiledTask } from "./compiled.ts";
import { parseTemplate, renderTemplate } from "./expressions/mod.ts";
import { runCompiledCommand, valueVariables } from "./run_command.ts";
import { runSteps } from "./steps_run.ts";
import { type Input, taskValues, type Values, type ValueSources } from "./values.ts";

/** What running a task needs besides the task and its input. */
export interface RunSources {
  /** The flow file's directory. */
  flowDir: string;
  /** Reads a host variable. */
  hostEnv: (name: string) => string | undefined;
  /** Values for the task's expressions, secrets read through `ctx`. */
  values: (ctx: TaskContext) => ValueSources;
}

/** Runs task `c` with `input`; `signal` stops it (the attempt's, or fail-fast's). */
export async function runTask(
  c: CompiledTask,
  input: Input,
  ctx: TaskContext,
  src: RunSources,
  signal: AbortSignal,
): Promise<unknown> {
  const values = taskValues(c, input, src.values(ctx));
  if (c.run) {
    const r = await runCompiledCommand({
      command: c.run,
      values,
      env: { ...processEnv(c, src.hostEnv), ...(values.env as Record<string, string>) },
      cwd: resolve(src.flowDir, c.workdir),
      workspace: src.flowDir,
      signal,
      log: ctx.log,
      what: `\`run\` of task "${c.spec.id}"`,
      owner: { runId: ctx.runId, taskId: ctx.taskId },
    });
    if (r.writes.summary) ctx.log.info("step summary", { summary: r.writes.summary });
    if (r.error) throw r.error;
    // Outputs written to $GITHUB_OUTPUT are the step's result, as on GitHub.
    if (Object.keys(r.writes.outputs).length) return r.writes.outputs;
    return commandResult(r.stdout, c);
  }
  if (c.steps) {
    return await runSteps({
      task: c,
      values,
      env: processEnv(c, src.hostEnv),
      flowDir: src.flowDir,
      signal,
      log: ctx.log,
      owner: { runId: ctx.runId, taskId: ctx.taskId },
    });
  }
  // A pure built-in plugin (the only kind that runs here).
  const [params, inputs, env] = pluginArgs(c, input, values, src.flowDir);
  return await invokePlugin(c.uses!.definition!, params, inputs, ctx, env);
}

/** What a command printed, as its result: text (trimmed), or JSON when the task asks. */
export function commandResult(stdout: string, c: CompiledTask): unknown {
  const text = stdout.trim();
  if (c.output !== "json") return text;
  if (text === "") return null;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(
      `Task "${c.spec.id}" has \`output: json\`, but its output is not JSON (${
        (e as Error).message
      }): ${JSON.stringify(text.slice(0, 120))}`,
    );
  }
}

/** What a plugin task receives: its params rendered, its inputs and where it runs. */
export function pluginArgs(
  c: CompiledTask,
  input: Input,
  values: Values,
  flowDir: string,
): [Record<string, unknown>, Values, PluginEnv] {
  const params: Record<string, unknown> = {};
  for (const [key, value] of Object.entries((c.with ?? {}) as Record<string, unknown>)) {
    // A param that becomes code is never rendered (validation refuses `${{ }}` there).
    if (c.shellParams?.has(key) || c.codeParams?.includes(key)) params[key] = value;
    else params[key] = renderDeep(value, { values });
  }
  for (const [key, { command, envParam }] of c.shellParams ?? []) {
    const what = `\`${key}\` of task "${c.spec.id}"`;
    params[key] = command.script;
    const vars = valueVariables(command, values, what);
    if (envParam) {
      const given = params[envParam];
      params[envParam] = { ...(given !== null && typeof given === "object" ? given : {}), ...vars };
    } else if (Object.keys(vars).length) {
      throw new TypeError(
        `${what} holds \${{ }}, but its plugin takes no variables to pass them in`,
      );
    }
  }
  const inputs: Values = {};
  for (const id of c.needs) inputs[id] = input.tasks[id] ?? null;
  return [params, inputs, { dir: flowDir }];
}

/** The environment a command starts from: base host variables and those the task was granted. */
export function processEnv(
  c: CompiledTask,
  hostEnv: (name: string) => string | undefined,
): Record<string, string> {
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
      const names = pattern.endsWith("*")
        ? Object.keys(Deno.env.toObject()).filter((k) => k.startsWith(pattern.slice(0, -1)))
        : [pattern];
      for (const k of names) {
        const v = hostEnv(k);
        if (v !== undefined) env[k] = v;
      }
    }
  }
  return env;
}

function renderDeep(value: unknown, ctx: { values: Values }): unknown {
  if (typeof value === "string") {
    return value.includes("${{") ? renderTemplate(parseTemplate(value), ctx) : value;
  }
  if (Array.isArray(value)) return value.map((v) => renderDeep(v, ctx));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderDeep(v, ctx)]));
  }
  return value;
}

function resolve(dir: string, rel: string | undefined): string {
  if (rel === undefined) return dir;
  return rel.startsWith("/") ? rel : `${dir}/${rel}`;
}
