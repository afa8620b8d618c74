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
import {
  chestraSchema,
  DEFAULT_KEYS,
  FLOW_KEYS,
  flowSchema,
  TASK_KEYS,
  taskSchema,
  z,
} from "./schema.ts";
import { YamlPath, YamlSource } from "./source.ts";

/** A task as written, with where it was written. */
export interface TaskSpec {
  /** The task's id. */
  id: string;
  /** The file it is in. */
  source: YamlSource;
  /** Its path in that file. */
  path: YamlPath;
  /** Its fields after `extends:` was applied. */
  fields: z.infer<typeof taskSchema>;
  /** Set when some fields failed the schema (and were dropped): the keys as written. */
  rawKeys?: string[];
  /** For Chestra's form: the signals it waits for and emits. */
  signals?: { inputs: string[]; outputs: string[] };
  /** For a task of `handlers:`: which one. */
  handler?: HandlerKind;
}

/** The handlers a flow may have: `handlers: { failure, success, exit }`. */
export type HandlerKind = "failure" | "success" | "exit";

/** A flow file, read and checked against the schema. */
export interface FlowSpec {
  /** The main file. */
  source: YamlSource;
  /** The flow's name. */
  name: string;
  /** Top-level fields (tasks and templates resolved separately). */
  fields: z.infer<typeof flowSchema>;
  /** Every task, in file order (included files first). */
  tasks: TaskSpec[];
  /** Whether the file used Chestra's `workflow:` form. */
  chestra: boolean;
  /** Every problem found so far. */
  issues: ValidationIssue[];
}

function describePath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) {
    out += typeof p === "number" ? `[${p}]` : out ? `.${String(p)}` : String(p);
  }
  return out || "the file";
}

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return `${typeof v} ${JSON.stringify(v)}`;
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let v = data;
  for (const p of path) v = (v as Record<PropertyKey, unknown> | undefined)?.[p];
  return v;
}

/** The keys a mapping at `path` accepts, for did-you-mean. */
function knownKeys(path: readonly PropertyKey[], base: YamlPath): readonly string[] {
  const full = [...base, ...path];
  const last = full[full.length - 2];
  if (full.length === 0) return FLOW_KEYS;
  if (full[0] === "defaults" && full.length === 1) return DEFAULT_KEYS;
  if (full[0] === "tasks" || full[0] === "templates") {
    if (full.length === 2) return TASK_KEYS;
    if (full[2] === "retries") return ["attempts", "delay", "backoff", "maxDelay", "jitter"];
    if (full[2] === "cache") return ["ttl", "key"];
    if (full[2] === "permissions") {
      return ["read", "write", "net", "env", "run", "ffi", "sys", "import"];
    }
  }
  if (full[0] === "params") return ["type", "default", "description", "enum", "required"];
  if (full[0] === "workflow") {
    return full.length === 1
      ? ["name", "description", "tasks"]
      : ["name", "plugin", "inputs", "outputs", "params"];
  }
  void last;
  return [];
}

/** Turns schema problems into positioned issues. */
export function schemaIssues(
  error: z.ZodError,
  source: YamlSource,
  base: YamlPath,
  data: unknown,
): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  for (const issue of flattenUnions(error.issues)) {
    const path = issue.path.filter((p): p is string | number => typeof p !== "symbol");
    const full = [...base, ...path];
    const where = describePath(full);
    if (issue.code === "unrecognized_keys") {
      const known = knownKeys(path, base);
      for (const key of issue.keys) {
        out.push({
          message: `Unknown key "${key}" in ${where}${didYouMean(key, known)}`,
          location: source.locateKey(full, key),
          hint: known.length ? `known keys: ${known.join(", ")}` : undefined,
        });
      }
      continue;
    }
    const value = valueAt(data, path);
    let message: string;
    if (issue.code === "invalid_type") {
      message = value === undefined
        ? `${where} is required`
        : `${where} must be ${
          issue.expected === "object"
            ? "a mapping"
            : issue.expected === "array"
            ? "a list"
            : issue.expected === "int"
            ? "a whole number"
            : `a ${issue.expected}`
        }, got ${typeOf(value)}`;
    } else if (issue.code === "invalid_value") {
      const options = (issue.values ?? []).map((v) => String(v));
      message = `${where} must be one of ${options.join(", ")}, got ${typeOf(value)}${
        didYouMean(String(value), options)
      }`;
    } else if (
      (issue.code === "too_small" || issue.code === "too_big") && issue.origin === "number"
    ) {
      const small = issue.code === "too_small";
      const bound = small ? issue.minimum : issue.maximum;
      const op = small ? (issue.inclusive ? "≥" : ">") : (issue.inclusive ? "≤" : "<");
      message = `${where} must be ${op} ${String(bound)}, got ${typeOf(value)}`;
    } else {
      message = `${where}: ${issue.message.replace(/^Invalid input: /, "")}`;
      if (issue.code === "invalid_union" && value !== undefined) {
        message += `, got ${typeOf(value)}`;
      }
    }
    out.push({ message, location: source.locate(full) });
  }
  return out.map((i) => (i.hint === undefined ? (delete i.hint, i) : i));
}

type ZodIssue = z.ZodError["issues"][number];

/**
 * A union's own message says little ("expected a number or { … }"); when exactly one branch
 * fits the value's shape, its problems (an unknown key, a bad field) say what to fix.
 */
function flattenUnions(issues: readonly ZodIssue[]): ZodIssue[] {
  const out: ZodIssue[] = [];
  for (const issue of issues) {
    if (issue.code !== "invalid_union" || !("errors" in issue)) {
      out.push(issue);
      continue;
    }
    const fitting = (issue.errors as ZodIssue[][]).filter((branch) =>
      !branch.some((i) =>
        i.path.length === 0 && (i.code === "invalid_type" || i.code === "invalid_union")
      )
    );
    if (fitting.length !== 1) {
      out.push(issue);
      continue;
    }
    for (const inner of flattenUnions(fitting[0])) {
      out.push({ ...inner, path: [...issue.path, ...inner.path] } as ZodIssue);
    }
  }
  return out;
}

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

type Template = z.infer<typeof taskSchema>;

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
    const empty = new YamlSource(shown, "");
    return {
      source: empty,
      name: fileName(shown),
      fields: {},
      tasks: [],
      chestra: false,
      issues: [read],
    };
  }
  const source = read;
  const spec: FlowSpec = {
    source,
    name: fileName(shown),
    fields: {},
    tasks: [],
    chestra: false,
    issues: [...source.syntaxIssues],
  };
  if (spec.issues.length) return spec;
  const data = source.data;
  if (data === null || data === undefined) {
    spec.issues.push({
      message: `"${shown}" is empty`,
      location: source.at(0),
      hint: "a flow file needs `tasks:` (or Chestra's `workflow:`)",
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

const HANDLER_IF: Record<HandlerKind, string> = {
  failure: "${{ failure() }}",
  success: "${{ success() }}",
  exit: "${{ always() }}",
};

/**
 * `handlers:` become tasks (`on-failure`, `on-success`, `on-exit`) that need every task of
 * the flow, with the condition that says when each runs; `on-exit` also waits for the other
 * two. Nothing else in the compiler knows about them but that they are not the flow's result.
 */
function addHandlers(spec: FlowSpec): void {
  const handlers = spec.fields.handlers;
  if (!handlers) return;
  const tasks = spec.tasks.map((t) => t.id);
  const added: string[] = [];
  for (const kind of ["failure", "success", "exit"] as const) {
    const fields = handlers[kind];
    if (!fields) continue;
    const id = `on-${kind}`;
    const path = ["handlers", kind];
    if (tasks.includes(id)) {
      spec.issues.push({
        message: `Task "${id}" is the name of the ${kind} handler`,
        location: spec.source.locate(path),
        hint: `rename the task "${id}"`,
      });
      continue;
    }
    for (const key of ["needs", "if", "foreach"] as const) {
      if (fields[key] === undefined) continue;
      spec.issues.push({
        message: `The ${kind} handler cannot have \`${key}\`: it runs once the flow's tasks ended`,
        location: spec.source.locate([...path, key]),
        hint: key === "if" ? "the handler's kind says when it runs" : `remove \`${key}\``,
      });
    }
    const needs = kind === "exit" ? [...tasks, ...added] : tasks;
    spec.tasks.push({
      id,
      source: spec.source,
      path,
      fields: { ...fields, needs, if: HANDLER_IF[kind] },
      handler: kind,
    });
    added.push(id);
  }
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
  const parsed = flowSchema.omit({ tasks: true }).safeParse(rest);
  if (!parsed.success) spec.issues.push(...schemaIssues(parsed.error, source, [], rest));
  const fields = parsed.success ? parsed.data : {};
  if (main) spec.fields = fields;
  else {
    // An included file contributes templates, tasks, env and params; the includer wins.
    spec.fields.env = { ...fields.env, ...spec.fields.env };
    spec.fields.params = { ...fields.params, ...spec.fields.params };
  }
  const includes = fields.include === undefined
    ? []
    : typeof fields.include === "string"
    ? [fields.include]
    : fields.include;
  for (const [i, rel] of includes.entries()) {
    const target = join(dirOf(absolute), rel);
    const at = source.locate(typeof fields.include === "string" ? ["include"] : ["include", i]);
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
  for (const [name, fields2] of Object.entries(fields.templates ?? {})) {
    into.templates.set(name, { fields: fields2, source, path: ["templates", name] });
  }
  if (tasks === undefined) return;
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
    const r = taskSchema.safeParse(raw);
    let fields = r.data;
    if (!r.success) {
      const { id, name } = raw as Record<string, unknown>;
      const named = key ?? [id, name].find((v): v is string => typeof v === "string");
      const found = schemaIssues(r.error, source, path, raw);
      spec.issues.push(
        ...(named === undefined ? found : found.map((i) => ({ ...i, taskId: named }))),
      );
      // Keep what is valid, so one bad field does not hide the task's other problems or make
      // every task that needs it "unknown".
      const shape = taskSchema.shape as Record<string, z.ZodType>;
      fields = Object.fromEntries(
        Object.entries(raw).filter(([k, v]) =>
          Object.hasOwn(shape, k) && shape[k].safeParse(v).success
        ),
      ) as z.infer<typeof taskSchema>;
    }
    const data = fields!;
    const id = key ?? data.id ?? data.name;
    if (id === undefined) {
      spec.issues.push({
        message: `${describePath(path)} has no id`,
        location: source.locate(path),
        hint: "give it `id:` or `name:`",
      });
      continue;
    }
    const spec2: TaskSpec = { id, source, path, fields: data };
    if (!r.success) spec2.rawKeys = Object.keys(raw);
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

function loadChestra(spec: FlowSpec, data: object): FlowSpec {
  const { source } = spec;
  spec.chestra = true;
  const r = chestraSchema.safeParse(data);
  if (!r.success) {
    spec.issues.push(...schemaIssues(r.error, source, [], data));
    return spec;
  }
  const wf = r.data.workflow;
  spec.name = wf.name;
  if (wf.description !== undefined) spec.fields.description = wf.description;
  const producers = new Map<string, string[]>();
  for (const t of wf.tasks) {
    for (const s of t.outputs ?? []) producers.set(s, [...(producers.get(s) ?? []), t.name]);
  }
  const signals = [...producers.keys()];
  wf.tasks.forEach((t, i) => {
    const path: YamlPath = ["workflow", "tasks", i];
    const needs: string[] = [];
    (t.inputs ?? []).forEach((signal, j) => {
      const from = producers.get(signal);
      if (!from) {
        spec.issues.push({
          message: `Task "${t.name}" waits for signal "${signal}", which no task outputs${
            didYouMean(signal, signals)
          }`,
          taskId: t.name,
          location: source.locate([...path, "inputs", j]),
          hint: signals.length
            ? `signals that tasks output: ${signals.join(", ")}`
            : "list it under some task's `outputs:`",
        });
        return;
      }
      for (const p of from) if (p !== t.name && !needs.includes(p)) needs.push(p);
    });
    spec.tasks.push({
      id: t.name,
      source,
      path,
      fields: { uses: t.plugin, with: t.params ?? {}, needs },
      signals: { inputs: t.inputs ?? [], outputs: t.outputs ?? [] },
    });
  });
  return spec;
}
