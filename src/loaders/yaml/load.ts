/**
 * Reading YAML flow files: syntax, includes, templates and the schema, every problem with its
 * file:line:col. The result is a checked description of the flow that `compile.ts` turns into
 * the flow graph and a runnable flow.
 *
 * @module
 */

import type { ValidationIssue } from "../../core/errors.ts";
import { didYouMean } from "../../core/suggest.ts";
import { FileReadError, readBoundedTextFile } from "../../fs/read_bounded.ts";
import { loadChestra } from "./chestra.ts";
import { loadWorkflow } from "./github.ts";
import { addHandlers } from "./handlers.ts";
import { flowSchema, taskSchema } from "./schema.ts";
import { checkFields, describePath, typeOf } from "./schema_issues.ts";
import { emptySpec, type FlowSpec, type TaskFields, type TaskSpec } from "./spec.ts";
import { type YamlPath, YamlSource } from "./source.ts";

export type { FlowSpec, TaskSpec } from "./spec.ts";

/** Reads a file as a {@linkcode YamlSource}, or returns the problem. */
export async function readSource(
  path: string,
  shown: string,
  what = "flow file",
): Promise<YamlSource | ValidationIssue> {
  try {
    return new YamlSource(shown, await readBoundedTextFile(path, { what, shown }));
  } catch (e) {
    // A FIFO, a device or a file over the limit: the message says which and what to do.
    if (e instanceof FileReadError) return { message: e.message, hint: "name a regular file" };
    const why = e instanceof Deno.errors.NotFound ? "no such file" : (e as Error).message;
    return { message: `Cannot read "${shown}": ${why}` };
  }
}

function dirOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : path.slice(0, i);
}

function join(dir: string, rel: string): string {
  if (rel.startsWith("/")) return rel;
  const parts = `${dir}/${rel}`.split("/");
  const out: string[] = [];
  for (const p of parts) {
    if (p === "..") out.pop();
    else if (p !== "." && p !== "") out.push(p);
  }
  return (dir.startsWith("/") ? "/" : "") + out.join("/");
}

function fileName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1).replace(/\.ya?ml$/i, "");
}

type Template = TaskFields;

interface Collected {
  tasks: TaskSpec[];
  templates: Map<string, { fields: Partial<Template>; source: YamlSource; path: YamlPath }>;
}

/**
 * Reads the flow file at `absolute` (shown as `shown`) with its includes, validates every
 * part against the schema and applies templates. Never throws for bad input: problems are in
 * `issues`. With `text`, that is the main file's content (includes are still read from disk).
 */
export async function loadFlowSpec(
  absolute: string,
  shown: string,
  text?: string,
): Promise<FlowSpec> {
  const read = text === undefined ? await readSource(absolute, shown) : new YamlSource(shown, text);
  if (!(read instanceof YamlSource)) {
    const spec = emptySpec(new YamlSource(shown, ""), fileName(shown));
    spec.issues.push(read);
    return spec;
  }
  const source = read;
  const spec = emptySpec(source, fileName(shown));
  spec.issues.push(...source.syntaxIssues);
  if (spec.issues.length) return spec;
  spec.issues.push(...source.keyIssues);
  const data = source.data;
  if (data === null || data === undefined) {
    spec.issues.push({
      message: `"${shown}" is empty`,
      location: source.at(0),
      hint: "a flow file needs `tasks:` (or a GitHub workflow's `jobs:`, or Chestra's `workflow:`)",
    });
    return spec;
  }
  if (typeof data !== "object" || Array.isArray(data)) {
    spec.issues.push({
      message: `"${shown}" must be a mapping with \`tasks:\`, got ${typeOf(data)}`,
      location: source.at(0),
    });
    return spec;
  }
  if ("workflow" in data) return loadChestra(spec, data);
  if ("jobs" in data && !("tasks" in data)) return loadWorkflow(spec, data);

  const collected: Collected = { tasks: [], templates: new Map() };
  await collect(
    source,
    absolute,
    data as Record<string, unknown>,
    collected,
    spec,
    [absolute],
    true,
  );
  if (spec.fields.name !== undefined) spec.name = spec.fields.name;
  spec.schedules = (spec.fields.schedule ?? []).map((s, i) => ({
    cron: s.cron,
    location: source.locate(["schedule", i, "cron"]),
    entry: s,
    path: ["schedule", i],
  }));
  const runDefaults = spec.fields.defaults?.run;
  if (runDefaults) { for (const t of collected.tasks) t.runDefaults = runDefaults; }
  if (collected.tasks.length === 0 && spec.issues.length === 0) {
    spec.issues.push({
      message: `Flow "${spec.name}" has no tasks`,
      location: source.at(0),
      hint: "add `tasks:` with at least one task",
    });
  }
  spec.tasks = applyTemplates(collected, spec.issues);
  addHandlers(spec);
  return spec;
}

async function collect(
  source: YamlSource,
  absolute: string,
  data: Record<string, unknown>,
  into: Collected,
  spec: FlowSpec,
  chain: string[],
  main: boolean,
): Promise<void> {
  const { tasks, ...rest } = data;
  // What is valid is kept: a bad `defaults:` does not drop the flow's params.
  const fields = checkFields(flowSchema.omit({ tasks: true }), rest, source, [], spec)
    .fields as FlowSpec["fields"];
  if (main) spec.fields = fields;
  else {
    // An included file contributes templates, tasks, env and params; the includer wins.
    spec.fields.env = { ...fields.env, ...spec.fields.env };
    spec.fields.params = { ...fields.params, ...spec.fields.params };
  }
  await collectIncludes(source, absolute, fields.include, into, spec, chain);
  for (const [name, fields2] of Object.entries(fields.templates ?? {})) {
    into.templates.set(name, { fields: fields2, source, path: ["templates", name] });
  }
  if (tasks !== undefined) collectTasks(source, tasks, into, spec);
}

async function collectIncludes(
  source: YamlSource,
  absolute: string,
  include: string | string[] | undefined,
  into: Collected,
  spec: FlowSpec,
  chain: string[],
): Promise<void> {
  const includes = include === undefined ? [] : typeof include === "string" ? [include] : include;
  for (const [i, rel] of includes.entries()) {
    const target = join(dirOf(absolute), rel);
    const at = source.locate(typeof include === "string" ? ["include"] : ["include", i]);
    if (chain.includes(target)) {
      spec.issues.push({
        message: `include "${rel}" forms a cycle: ${[...chain, target].map(fileName).join(" → ")}`,
        location: at,
        hint: "remove one of these includes",
      });
      continue;
    }
    const shown = join(dirOf(source.file), rel);
    const inc = await readSource(target, shown, "include");
    if (!(inc instanceof YamlSource)) {
      spec.issues.push({
        hint: "include paths are relative to the file that includes them",
        ...inc,
        location: at,
      });
      continue;
    }
    if (inc.syntaxIssues.length) {
      spec.issues.push(...inc.syntaxIssues);
      continue;
    }
    spec.issues.push(...inc.keyIssues);
    const incData = inc.data ?? {};
    if (typeof incData !== "object" || Array.isArray(incData)) {
      spec.issues.push({ message: `Included "${shown}" must be a mapping`, location: inc.at(0) });
      continue;
    }
    await collect(
      inc,
      target,
      incData as Record<string, unknown>,
      into,
      spec,
      [...chain, target],
      false,
    );
  }
}

function collectTasks(source: YamlSource, tasks: unknown, into: Collected, spec: FlowSpec): void {
  const entries: [string | undefined, unknown, YamlPath][] = [];
  if (Array.isArray(tasks)) {
    tasks.forEach((t, i) => entries.push([undefined, t, ["tasks", i]]));
  } else if (tasks !== null && typeof tasks === "object") {
    for (const [id, t] of Object.entries(tasks)) entries.push([id, t, ["tasks", id]]);
  } else {
    spec.issues.push({
      message: `tasks must be a mapping of id → task, or a list of tasks, got ${typeOf(tasks)}`,
      location: source.locate(["tasks"]),
    });
    return;
  }
  for (const [key, raw, path] of entries) {
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
      spec.issues.push({
        message: `${describePath(path)} must be a mapping of task settings, got ${typeOf(raw)}`,
        location: source.locate(path),
        hint: "e.g. `run: echo hello`",
      });
      continue;
    }
    const { id: givenId, name } = raw as Record<string, unknown>;
    const named = key ??
      [givenId, name].find((v) => typeof v === "string" || typeof v === "number");
    const { fields, invalid } = checkFields(taskSchema, raw, source, path, spec, {
      taskId: named === undefined ? undefined : String(named),
    });
    const data = fields as TaskFields;
    // In a mapping the key is the id and `name:` a display name; in a list, `id:` is the id
    // and `name:` stands in for it when there is none.
    const id = key ?? data.id ?? data.name;
    if (id === undefined) {
      spec.issues.push({
        message: `${describePath(path)} has no id`,
        location: source.locate(path),
        hint: "give it `id:` (or `name:`)",
      });
      continue;
    }
    const spec2: TaskSpec = { id, source, path, fields: data };
    if (data.name !== undefined && (key !== undefined || data.id !== undefined)) {
      spec2.displayName = data.name;
    }
    if (invalid) spec2.rawKeys = Object.keys(raw);
    into.tasks.push(spec2);
  }
}

function applyTemplates(collected: Collected, issues: ValidationIssue[]): TaskSpec[] {
  const names = [...collected.templates.keys()];
  return collected.tasks.map((t) => {
    const name = t.fields.extends;
    if (name === undefined) return t;
    const tpl = collected.templates.get(name);
    if (!tpl) {
      issues.push({
        message: `Task "${t.id}" extends unknown template "${name}"${didYouMean(name, names)}`,
        taskId: t.id,
        location: t.source.locate([...t.path, "extends"]),
        hint: names.length ? `templates: ${names.join(", ")}` : "declare it under `templates:`",
      });
      return t;
    }
    if (tpl.fields.extends !== undefined) {
      issues.push({
        message: `Template "${name}" extends another template; only one level is supported`,
        location: tpl.source.locate([...tpl.path, "extends"]),
      });
    }
    const merged = { ...tpl.fields, ...t.fields };
    for (const key of ["with", "env", "permissions", "outputs"] as const) {
      if (tpl.fields[key] && t.fields[key]) {
        (merged as Record<string, unknown>)[key] = { ...tpl.fields[key], ...t.fields[key] };
      }
    }
    delete merged.extends;
    return { ...t, fields: merged };
  });
}
