/**
 * A GitHub Actions workflow file (`jobs:`) read as a flow: each job a task whose `run:` steps
 * run one after the other, as on a runner. `on.workflow_dispatch.inputs` become params and
 * `on.schedule` the flow's schedule; `runs-on` and GitHub's token scopes are accepted and
 * ignored (noted for `describe`); actions (`uses:`), containers and services are refused with
 * what to use instead.
 *
 * @module
 */

import type { ValidationIssue } from "../../core/errors.ts";
import type { ParamSpec, ParamsSchema } from "../../core/params.ts";
import { PERMISSION_NAMES } from "../../core/permissions.ts";
import { checkCron } from "./cron.ts";
import {
  dispatchSchema,
  GITHUB_SCOPES,
  jobSchema,
  scheduleSchema,
  workflowSchema,
} from "./github_schema.ts";
import { permissionsSchema } from "./schema.ts";
import { checkFields, schemaIssues, typeOf } from "./schema_issues.ts";
import type { FlowSpec, RunDefaults, TaskFields, TaskSpec } from "./spec.ts";
import type { YamlSource } from "./source.ts";

/** Reads a workflow file's `data` into `spec`. */
export function loadWorkflow(spec: FlowSpec, data: object): FlowSpec {
  const { source } = spec;
  spec.form = "workflow";
  const { jobs, ...rest } = data as Record<string, unknown>;
  const top = checkFields(workflowSchema.omit({ jobs: true }), rest, source, [], spec, {
    form: "workflow",
  }).fields as Record<string, unknown>;
  if (typeof top.name === "string") spec.name = top.name;
  if (top.env) spec.fields.env = top.env as Record<string, string>;
  if (top.on !== undefined) readOn(spec, top.on);
  if (top.permissions !== undefined) readPermissions(spec, top.permissions, ["permissions"]);
  if (top.concurrency !== undefined) {
    spec.notes.push("concurrency (GitHub's run groups) is ignored: runs here do not queue");
  }
  const workflowRun = (top.defaults as { run?: RunDefaults } | undefined)?.run;
  if (jobs === null || typeof jobs !== "object" || Array.isArray(jobs)) {
    spec.issues.push({
      message: `jobs must be a mapping of id → job, got ${typeOf(jobs)}`,
      location: source.locate(["jobs"]),
    });
    return spec;
  }
  const runners = new Set<string>();
  for (const [id, raw] of Object.entries(jobs)) {
    const task = readJob(spec, id, raw, workflowRun, runners);
    if (task) spec.tasks.push(task);
  }
  if (runners.size) {
    spec.notes.push(
      `runs-on (${[...runners].join(", ")}) is ignored: jobs run on this machine, one process ` +
        "per step",
    );
  }
  if (spec.tasks.length === 0 && spec.issues.length === 0) {
    spec.issues.push({
      message: `Workflow "${spec.name}" has no jobs`,
      location: source.locate(["jobs"]),
      hint: "add a job with `steps:`",
    });
  }
  return spec;
}

function readJob(
  spec: FlowSpec,
  id: string,
  raw: unknown,
  workflowRun: RunDefaults | undefined,
  runners: Set<string>,
): TaskSpec | undefined {
  const { source } = spec;
  const path = ["jobs", id];
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    spec.issues.push({
      message: `jobs.${id} must be a mapping with \`steps:\`, got ${typeOf(raw)}`,
      location: source.locate(path),
      taskId: id,
    });
    return undefined;
  }
  const { fields: job, invalid } = checkFields(jobSchema, raw, source, path, spec, {
    taskId: id,
    form: "workflow",
  });
  refuseUnsupported(spec, id, job);
  if (job["runs-on"] !== undefined) runners.add(runnerLabel(job["runs-on"]));
  if (job.permissions !== undefined) {
    readPermissions(spec, job.permissions, [...path, "permissions"]);
  }
  if (job.environment !== undefined) {
    spec.notes.push(`environment of job "${id}" (a GitHub deployment target) is ignored`);
  }
  if (job.concurrency !== undefined) {
    spec.notes.push(`concurrency of job "${id}" (GitHub's run groups) is ignored`);
  }
  const steps = (job.steps ?? []) as NonNullable<TaskFields["steps"]>;
  if (job.steps === undefined && job.uses === undefined && !invalid) {
    spec.issues.push({
      message: `Job "${id}" has no steps`,
      hint: "add `steps:` with `run:` commands",
      taskId: id,
      location: source.locateKey(["jobs"], id),
    });
  }
  const fields: TaskFields = {};
  for (const key of ["needs", "if", "env", "outputs", "strategy", "timeout-minutes"] as const) {
    if (job[key] !== undefined) (fields as Record<string, unknown>)[key] = job[key];
  }
  if (job["continue-on-error"] !== undefined) {
    fields["continue-on-error"] = job["continue-on-error"] as boolean | string;
  }
  if (job.steps !== undefined) fields.steps = steps;
  const task: TaskSpec = { id, source, path, fields, job: true };
  if (typeof job.name === "string") task.displayName = job.name;
  const jobRun = (job.defaults as { run?: RunDefaults } | undefined)?.run;
  if (workflowRun || jobRun) task.runDefaults = { ...workflowRun, ...jobRun };
  if (invalid) task.rawKeys = Object.keys(raw);
  return task;
}

// What a runner does and Orchestra does not: each refused with what to do instead.
function refuseUnsupported(spec: FlowSpec, id: string, job: Record<string, unknown>): void {
  const { source } = spec;
  const path = ["jobs", id];
  const issue = (key: string, message: string, hint: string) =>
    spec.issues.push({ message, hint, taskId: id, location: source.locateKey(path, key) });
  if (job.uses !== undefined) {
    issue(
      "uses",
      `Job "${id}" calls the reusable workflow "${job.uses}", which cannot run here`,
      "copy its jobs into this file, or run its file with `orchestra run` on its own",
    );
  }
  for (const key of ["with", "secrets"] as const) {
    if (job[key] !== undefined && job.uses === undefined) {
      issue(key, `Job "${id}" has \`${key}\`, which only a reusable workflow takes`, `remove it`);
    }
  }
  if (job.container !== undefined) {
    issue(
      "container",
      `Job "${id}" asks for a container, which Orchestra does not start`,
      "its steps run on this machine: run `docker run …` in a step, or remove `container:`",
    );
  }
  if (job.services !== undefined) {
    issue(
      "services",
      `Job "${id}" asks for service containers, which Orchestra does not start`,
      "start the services before the run (or in a step), and remove `services:`",
    );
  }
}

function runnerLabel(value: unknown): string {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.map(String).join(" + ");
  return "a runner group";
}

/** What to use instead of a GitHub action. */
export function actionHint(uses: string): string {
  const name = uses.split("@")[0].toLowerCase();
  if (name === "actions/checkout") {
    return "the flow runs in its own directory, where the files already are: remove the step";
  }
  const setup = /^(?:actions|denoland)\/setup-([a-z]+)/.exec(name);
  if (setup) {
    return `tools come from this machine's PATH: install ${setup[1]} here and remove the step`;
  }
  if (name === "actions/cache") {
    return "a `tasks:` flow caches a task's result with `cache:`; here, remove the step";
  }
  if (name === "actions/upload-artifact" || name === "actions/download-artifact") {
    return "steps run on this machine: write files to a directory the later jobs read, or " +
      "pass values through outputs";
  }
  if (name === "actions/github-script") {
    return "run the script with `deno eval` in a `run:` step, or use a `tasks:` flow with " +
      "`uses: deno`";
  }
  if (name.startsWith("docker://")) return "run the image with `docker run …` in a `run:` step";
  if (name.startsWith("./")) return "run the action's script in a `run:` step";
  return "replace it with a `run:` step, or use a plugin in a `tasks:` flow " +
    "(`orchestra plugins` lists them)";
}

function readOn(spec: FlowSpec, on: unknown): void {
  const { source } = spec;
  const events: [string, unknown][] = typeof on === "string"
    ? [[on, null]]
    : Array.isArray(on)
    ? on.map((e) => [String(e), null])
    : Object.entries(on as Record<string, unknown>);
  const ignored: string[] = [];
  for (const [event, value] of events) {
    if (event === "workflow_dispatch") {
      if (value === null || value === undefined) continue;
      const r = dispatchSchema.safeParse(value);
      if (!r.success) {
        spec.issues.push(...schemaIssues(r.error, source, ["on", event], value, "workflow"));
        continue;
      }
      spec.fields.params = inputsToParams(r.data.inputs ?? {}, spec) as typeof spec.fields.params;
    } else if (event === "schedule") {
      readSchedule(spec, value);
    } else ignored.push(event);
  }
  if (ignored.length) {
    spec.notes.push(
      `on: ${ignored.join(", ")} ${ignored.length === 1 ? "is" : "are"} ignored: the flow runs ` +
        "when you run it (and on its schedule under `orchestra serve`)",
    );
  }
}

function readSchedule(spec: FlowSpec, value: unknown): void {
  const { source } = spec;
  const r = scheduleSchema.safeParse(value);
  if (!r.success) {
    spec.issues.push({
      message: "on.schedule must be a list of { cron: … }",
      location: source.locate(["on", "schedule"]),
      hint: 'e.g. schedule: [{ cron: "30 5 * * 1-5" }]',
    });
    return;
  }
  r.data.forEach((s, i) => {
    const location = source.locate(["on", "schedule", i, "cron"]);
    const problem = checkCron(s.cron);
    if (problem) {
      spec.issues.push({ message: `on.schedule[${i}].cron ${problem}`, location, hint: CRON_HINT });
    } else {
      spec.schedules.push({ cron: s.cron, location, entry: s, path: ["on", "schedule", i] });
    }
  });
}

/** What a cron entry looks like. */
export const CRON_HINT =
  'five fields: minute hour day-of-month month day-of-week, e.g. "0 3 * * 1"';

function inputsToParams(
  inputs: Record<string, Record<string, unknown>>,
  spec: FlowSpec,
): ParamsSchema {
  const out: ParamsSchema = {};
  for (const [name, input] of Object.entries(inputs)) {
    const type = input.type === "boolean"
      ? "boolean"
      : input.type === "number"
      ? "number"
      : "string";
    const p: ParamSpec = { type };
    if (typeof input.description === "string") p.description = input.description;
    if (input.required === true && input.default === undefined) p.required = true;
    if (input.default !== undefined) p.default = convert(type, input.default);
    if (input.type === "choice") {
      if (!Array.isArray(input.options) || input.options.length === 0) {
        spec.issues.push({
          message: `Input "${name}" is a choice without options`,
          location: spec.source.locate(["on", "workflow_dispatch", "inputs", name]),
          hint: "list them under `options:`",
        });
      } else p.enum = input.options.map(String);
    }
    out[name] = p;
  }
  return out;
}

// GitHub passes inputs as text; a boolean input's default is often written "true".
function convert(type: string, value: unknown): unknown {
  if (type === "boolean" && (value === "true" || value === "false")) return value === "true";
  if (type === "number" && typeof value === "string" && value.trim() !== "") {
    const n = Number(value);
    return Number.isNaN(n) ? value : n;
  }
  if (type === "string" && typeof value !== "string") return String(value);
  return value;
}

/**
 * GitHub's token scopes are noted and ignored; Deno's permission names form the ceiling. A mix
 * is a mistake: one is GitHub's token, the other what tasks may do here.
 */
function readPermissions(spec: FlowSpec, value: unknown, path: (string | number)[]): void {
  const { source } = spec;
  const at = (key?: string) => key ? source.locateKey(path, key) : source.locate(path);
  if (typeof value === "string") {
    spec.notes.push(`permissions: ${value} (GitHub's token scopes) is ignored`);
    return;
  }
  const keys = Object.keys(value as object);
  const deno = keys.filter((k) => (PERMISSION_NAMES as readonly string[]).includes(k));
  const github = keys.filter((k) => GITHUB_SCOPES.includes(k));
  const unknown = keys.filter((k) => !deno.includes(k) && !github.includes(k));
  const issues: ValidationIssue[] = unknown.map((k) => ({
    message: `Unknown permission "${k}"`,
    location: at(k),
    hint: `Deno's permissions (what jobs may do here): ${PERMISSION_NAMES.join(", ")}; ` +
      `GitHub's token scopes (ignored here): ${GITHUB_SCOPES.join(", ")}`,
  }));
  if (deno.length && github.length) {
    issues.push({
      message: `permissions mixes GitHub's token scopes (${github.join(", ")}) with Deno's ` +
        `permissions (${deno.join(", ")})`,
      location: at(),
      hint: "GitHub's scopes mean nothing here: remove them, and keep Deno's permissions " +
        "(the ceiling of what jobs may do)",
    });
  }
  spec.issues.push(...issues);
  if (issues.length) return;
  if (github.length) {
    spec.notes.push(`permissions (GitHub's token scopes: ${github.join(", ")}) are ignored`);
    return;
  }
  if (path.length > 1) {
    spec.issues.push({
      message: "A job's Deno permissions are given per step's task, not per job",
      location: at(),
      hint: "put Deno's permissions at the top of the file: they are the flow's ceiling",
    });
    return;
  }
  const r = permissionsSchema.safeParse(value);
  if (r.success) spec.fields.permissions = r.data;
  else spec.issues.push(...schemaIssues(r.error, source as YamlSource, path, value, "workflow"));
}
