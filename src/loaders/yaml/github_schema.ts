/**
 * The schema of a GitHub Actions workflow file (`jobs:`), as far as Orchestra runs it: jobs of
 * `run:` steps, their needs, conditions, env, outputs, strategy, timeouts and defaults, and
 * the `on:` triggers that become params (`workflow_dispatch.inputs`) and schedules.
 *
 * @module
 */

import { z } from "zod";
import { runDefaults, stepSchema, strategySchema } from "./schema.ts";

const expression = z.string().describe("Text that may contain ${{ … }} expressions");

const scalar = z.union([z.string(), z.number(), z.boolean()], {
  error: "expected a string, number or boolean",
});

/** GitHub's token permission scopes: accepted and ignored (Orchestra has no GitHub token). */
export const GITHUB_SCOPES: readonly string[] = [
  "actions",
  "attestations",
  "checks",
  "contents",
  "deployments",
  "discussions",
  "id-token",
  "issues",
  "models",
  "packages",
  "pages",
  "pull-requests",
  "repository-projects",
  "security-events",
  "statuses",
];

/**
 * `permissions:` in a workflow: GitHub's token scopes (ignored, noted by `describe`), or
 * Orchestra's Deno permissions (the ceiling).
 */
const workflowPermissions = z.union([
  z.enum(["read-all", "write-all"]).describe("GitHub's token scopes: ignored here"),
  z.record(z.string(), z.unknown()).describe(
    "GitHub's token scopes (contents, issues, …: ignored here), or Deno permissions (read, " +
      "write, net, env, run, …: the ceiling no job may exceed)",
  ),
]).describe(
  "GitHub's token scopes (ignored here), or Deno's permissions (read, write, net, …): the " +
    "ceiling no job may exceed",
);

const input = z.strictObject({
  description: z.string().optional().describe("What the input is for"),
  required: z.boolean().optional().describe("Whether a run must give it"),
  default: scalar.optional().describe("The value when none is given"),
  type: z.enum(["string", "boolean", "number", "choice", "environment"]).optional().describe(
    "string (the default), boolean, number, choice (with options) or environment (a string)",
  ),
  options: z.array(scalar).optional().describe("The values a choice input allows"),
  deprecationMessage: z.string().optional().describe("Shown by GitHub when the input is used"),
}).describe("A workflow_dispatch input: a param of the flow");

/** `on:` of a workflow. */
export const onSchema = z.union([
  z.string().describe("One event: only schedule and workflow_dispatch mean something here"),
  z.array(z.string()).describe("Events: only schedule and workflow_dispatch mean something here"),
  z.record(z.string(), z.unknown()).describe(
    "Events: workflow_dispatch.inputs become params, schedule the flow's schedule; the others " +
      "are accepted and ignored",
  ),
], { error: "expected an event, a list of events or a mapping of events" });

/** The parts of `on:` Orchestra reads. */
export const dispatchSchema = z.looseObject({
  inputs: z.record(z.string(), input).optional().describe("The params of a manual run"),
});

/** `on.schedule`. */
export const scheduleSchema = z.array(z.strictObject({
  cron: z.string().describe("Five fields: minute hour day-of-month month day-of-week (UTC)"),
}));

const concurrency = z.union([
  z.string(),
  z.strictObject({
    group: z.string().describe("Runs of one group do not overlap on GitHub"),
    "cancel-in-progress": z.union([z.boolean(), expression]).optional().describe(
      "Whether a new run cancels the running one, on GitHub",
    ),
  }),
]).describe("GitHub's concurrency group: accepted and ignored here");

/** A job: a task whose steps run one after the other. */
export const jobFields = {
  name: z.string().optional().describe("The job's display name, shown in the view"),
  needs: z.union([z.string(), z.array(z.string())], {
    error: "expected a job id or a list of job ids",
  }).optional().describe("Jobs that must finish first"),
  if: z.union([expression, z.boolean()], { error: "expected an expression or a boolean" })
    .optional().describe(
      "Run the job only when this is true; success() (the default), failure(), always(), " +
        "cancelled() look at every job upstream",
    ),
  "runs-on": z.unknown().optional().describe(
    "The runner label: accepted and ignored (jobs run on this machine; `describe` notes it)",
  ),
  env: z.record(z.string(), scalar).optional().describe("Environment of every step"),
  outputs: z.record(z.string(), expression).optional().describe(
    "The job's outputs, usually from ${{ steps.<id>.outputs.<name> }}; read them as " +
      "needs.<job>.outputs.<name>",
  ),
  strategy: strategySchema.optional(),
  "timeout-minutes": z.number().positive().optional().describe("Time limit of the job, in minutes"),
  "continue-on-error": z.union([
    z.boolean(),
    z.string().regex(/\$\{\{/, { error: "expected true, false or a ${{ … }} expression" }),
  ], {
    error: "expected true, false or a ${{ … }} expression",
  }).optional().describe(
    "When true, a failure of the job does not fail the workflow",
  ),
  defaults: z.strictObject({ run: runDefaults.optional() }).optional().describe(
    "How the job's `run:` steps run",
  ),
  steps: z.array(stepSchema).optional().describe("The job's steps, run one after the other"),
  permissions: workflowPermissions.optional(),
  environment: z.unknown().optional().describe(
    "GitHub's deployment environment: accepted and ignored",
  ),
  concurrency: concurrency.optional(),
  // Refused with a message that says why and what to use instead (see github.ts).
  container: z.unknown().optional().describe("Not supported: jobs run on this machine"),
  services: z.unknown().optional().describe("Not supported: start services before the run"),
  uses: z.string().optional().describe("A reusable workflow: not supported"),
  with: z.unknown().optional().describe("Inputs of a reusable workflow: not supported"),
  secrets: z.unknown().optional().describe("Secrets of a reusable workflow: not supported"),
};

/** A job. */
export const jobSchema = z.strictObject(jobFields).describe("A GitHub Actions job");

/** The top level of a GitHub Actions workflow file. */
export const workflowFields = {
  $schema: z.string().optional().describe("The JSON Schema of this file, for editors"),
  name: z.string().optional().describe("The flow's name (default: the file name)"),
  "run-name": z.string().optional().describe("GitHub's name of a run: accepted and ignored"),
  on: onSchema.optional().describe(
    "Triggers: workflow_dispatch.inputs become params, schedule the flow's schedule",
  ),
  env: z.record(z.string(), scalar).optional().describe("Environment of every job"),
  defaults: z.strictObject({ run: runDefaults.optional() }).optional().describe(
    "How every job's `run:` steps run",
  ),
  permissions: workflowPermissions.optional(),
  concurrency: concurrency.optional(),
  jobs: z.record(z.string(), jobSchema).describe("The jobs: id → job"),
};

/** A workflow file, strictly. */
export const workflowSchema = z.strictObject(workflowFields).describe(
  "A GitHub Actions workflow whose jobs are `run:` steps",
);

/** Keys of a job, for "did you mean". */
export const JOB_KEYS: readonly string[] = Object.keys(jobFields);
/** Top-level keys of a workflow file. */
export const WORKFLOW_KEYS: readonly string[] = Object.keys(workflowFields);
