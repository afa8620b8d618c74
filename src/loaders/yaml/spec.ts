/**
 * A flow file as read and checked against the schema, before compiling: what each of the
 * three forms (Orchestra's `tasks:`, a GitHub workflow's `jobs:`, Chestra's `workflow:`) is
 * turned into, with where everything was written.
 *
 * @module
 */

import type { SourceLocation, ValidationIssue } from "../../core/errors.ts";
import type { flowSchema, taskSchema, z } from "./schema.ts";
import type { FileForm } from "./schema_issues.ts";
import type { YamlPath, YamlSource } from "./source.ts";

/** The fields of a task. */
export type TaskFields = z.infer<typeof taskSchema>;

/** How `run:` commands run unless a task or step says otherwise (`defaults.run`). */
export interface RunDefaults {
  /** The shell. */
  shell?: string;
  /** The directory, relative to the flow file. */
  "working-directory"?: string;
}

/** A task as written, with where it was written. */
export interface TaskSpec {
  /** The task's id. */
  id: string;
  /** The file it is in. */
  source: YamlSource;
  /** Its path in that file. */
  path: YamlPath;
  /** Its fields after `extends:` was applied. */
  fields: TaskFields;
  /** Set when some fields failed the schema (and were dropped): the keys as written. */
  rawKeys?: string[];
  /** For Chestra's form: the signals it waits for and emits. */
  signals?: { inputs: string[]; outputs: string[] };
  /** The name shown in the view and `describe`, when it differs from the id. */
  displayName?: string;
  /** `defaults.run` of the flow (and of the job), applied under the task's own settings. */
  runDefaults?: RunDefaults;
  /** Set for a GitHub job: its steps run as on a runner (bash -e by default). */
  job?: boolean;
  /** For a task of `handlers:`: which one. */
  handler?: HandlerKind;
}

/** The handlers a flow may have: `handlers: { failure, success, exit }`. */
export type HandlerKind = "failure" | "success" | "exit";

/** A cron entry of the flow's schedule. */
export interface ScheduleSpec {
  /** The five cron fields. */
  cron: string;
  /** Where it was written. */
  location: SourceLocation;
  /** The entry as written (`{ cron, timezone, params, catchup, overlap }`), for orchestra serve. */
  entry: Record<string, unknown>;
  /** Its path in the file (`schedule` or `on.schedule`, then its index). */
  path: YamlPath;
}

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
  /** Which form the file is in. */
  form: FileForm;
  /** Whether the file used Chestra's `workflow:` form. */
  chestra: boolean;
  /** When `orchestra serve` runs the flow. */
  schedules: ScheduleSpec[];
  /** What the file says that Orchestra accepts and ignores (`runs-on`, GitHub's scopes). */
  notes: string[];
  /** Every problem found so far. */
  issues: ValidationIssue[];
}

/** An empty spec of `source`, to fill in. */
export function emptySpec(source: YamlSource, name: string): FlowSpec {
  return {
    source,
    name,
    fields: {},
    tasks: [],
    form: "tasks",
    chestra: false,
    schedules: [],
    notes: [],
    issues: [],
  };
}
