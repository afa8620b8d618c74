/**
 * What the compiler makes of a task: every expression parsed and checked, every setting
 * resolved. The graph (`graph.ts`) and the runnable flow (`runtime.ts`) are built from these.
 *
 * @module
 */

import type { TaskOptions } from "../../core/model.ts";
import type { ResolvedPlugin } from "../../plugins/resolve.ts";
import type { Expr, Template } from "./expressions/mod.ts";
import type { Interpolation } from "./shell_context.ts";
import type { TaskSpec } from "./spec.ts";

/** How a command's script is run. */
export interface ShellChoice {
  /**
   * `sh -c SCRIPT` (a task's default), or a command line run by `sh -c` in which `{0}` stands
   * for the script's file (`bash --noprofile --norc -eo pipefail {0}`).
   */
  command: "sh -c" | string;
  /** Whether the script is POSIX shell (sh, bash, …): only then may `${{ }}` stand in it. */
  posix: boolean;
  /** The name as written (for messages and the identity), or the default's name. */
  name: string;
}

/** A shell command: as written, and the script that runs instead. */
export interface ShellCommand {
  /** The command as written. */
  text: string;
  /** Its `${{ }}` expressions. */
  template: Template;
  /** Where each expression stands. */
  spots: Interpolation[];
  /** The script: each expression a reference to the variable holding its value. */
  script: string;
  /** How it runs. */
  shell: ShellChoice;
}

/** A parsed `if:`. */
export interface CompiledCondition {
  /** The expression. */
  expr: Expr;
  /** As written, for the skip reason. */
  text: string;
  /** Whether it calls failure(), always() or cancelled(): it is asked even after a failure. */
  always: boolean;
}

/** One step of a task with steps (a GitHub job). */
export interface CompiledStep {
  /** Its place, from 0. */
  index: number;
  /** Its id, for `steps.<id>`. */
  id?: string;
  /** The name shown in the log. */
  name: string;
  /** The command. */
  run: ShellCommand;
  /** Its env, over the task's. */
  env: [string, Template][];
  /** Its `if:`. */
  condition?: CompiledCondition | boolean;
  /** Where it runs, relative to the flow file. */
  workdir?: string;
  /** Whether its failure lets the task go on. */
  continueOnError: boolean | Template;
  /** Its time limit. */
  timeoutMs?: number;
}

/** A matrix: its legs, and how they run. */
export interface CompiledMatrix {
  /** The matrix as written, with its strings parsed as templates where they hold `${{`. */
  spec: unknown;
  /** The legs, when the matrix holds no expressions. */
  legs?: Record<string, unknown>[];
  /** The keys a leg may have, when known. */
  keys?: string[];
  /** Whether a failed leg stops the others. */
  failFast: boolean | Template;
  /** The most legs at once. */
  maxParallel?: number;
}

/** The outputs a task offers, for checking `tasks.X.outputs.K`. */
export interface OutputNames {
  /** The names known. */
  names: Set<string>;
  /** Whether others may appear at run time (written to $GITHUB_OUTPUT, or a JSON result). */
  open: boolean;
}

/** A task, compiled. */
export interface CompiledTask {
  /** The task as written. */
  spec: TaskSpec;
  /** Tasks it needs, directly. */
  needs: string[];
  /** Tasks whose results its expressions read (all upstream). */
  reads: Set<string>;
  /** Whether its expressions (other than `if:`) read `tasks.X.status` or `needs.X.result`. */
  readsStatus: boolean;
  /** A `run:` command. */
  run?: ShellCommand;
  /** How a command's output becomes the result. */
  output: "text" | "json";
  /** Steps, run one after the other. */
  steps?: CompiledStep[];
  /** The plugin of `uses:`. */
  uses?: ResolvedPlugin;
  /** Plugin params that are shell commands, and the param their values go into. */
  shellParams?: Map<string, { command: ShellCommand; envParam?: string }>;
  /** Plugin params that become code: never rendered. */
  codeParams?: string[];
  /** The plugin's params, with `${{ }}` still in them. */
  with?: unknown;
  /** The task's env. */
  env: [string, Template][];
  /** An expression, or a literal list whose strings may hold `${{ }}`. */
  foreach?: Template | (Template | { literal: unknown })[];
  /** Its matrix. */
  matrix?: CompiledMatrix;
  /** Its `if:`. */
  condition?: CompiledCondition | boolean;
  /** Named outputs, computed from `result` (or, with steps, from `steps`). */
  outputs: [string, Template][];
  /** The params its expressions read: a task receives only these. */
  params?: string[];
  /** The cache key expression. */
  cacheKey?: Template;
  /** Where commands run, relative to the flow file. */
  workdir?: string;
  /** `continue-on-error` as an expression (of matrix values). */
  continueOnError?: Template;
  /** Its `name:`, when it holds `${{ }}` (rendered when the task is called). */
  title?: Template;
  /** Its options for the engine. */
  options: TaskOptions;
  /** What the task is, for cache keys. */
  identity: string;
}
