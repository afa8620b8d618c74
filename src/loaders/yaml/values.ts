/**
 * What a task's expressions see when it runs: `params` (and `inputs`), `tasks.<id>` (result,
 * status, outputs), `needs.<id>` (GitHub's result and outputs), `env`, `secrets`, `run`,
 * `runner`, and `item`/`index` or `matrix`/`strategy` where the task fans out.
 *
 * @module
 */

import { renderTemplate, type Template, toText } from "./expressions/mod.ts";
import type { CompiledTask } from "./compiled.ts";

/** Expression values, by root name. */
export type Values = Record<string, unknown>;

/** What a compiled task is called with (JSON: it is part of the cache key). */
export interface Input {
  /** Results of the tasks it reads, by id; a matrix task's is the list of its legs' results. */
  tasks: Record<string, unknown>;
  /** The params it reads. */
  params: Record<string, unknown>;
  /** A foreach item. */
  item?: unknown;
  /** A foreach item's index. */
  index?: number;
  /** A matrix leg's values. */
  matrix?: Record<string, unknown>;
  /** A matrix leg's place: index and total. */
  leg?: [number, number];
  /** Statuses of what it waited for, filled in by its condition, by engine id. */
  statuses?: Record<string, string>;
  /** What it waits for besides what it reads (ancestors, the leg before): values unused. */
  after?: unknown;
}

/** A leg of a matrix task, in a run. */
export interface Leg {
  /** Its id in the run. */
  id: string;
  /** Its values. */
  values: Record<string, unknown>;
}

/** What values are computed from, besides the task and its input. */
export interface ValueSources {
  /** The run's id. */
  runId: string;
  /** The compiled tasks, by id. */
  tasks: ReadonlyMap<string, CompiledTask>;
  /** The legs of each matrix task in this run. */
  legs: ReadonlyMap<string, readonly Leg[]>;
  /** The flow's env. */
  flowEnv: readonly [string, Template][];
  /** Looks a secret up (through the task's context when it runs). */
  secret: (name: string) => string;
  /** Whether a failed task counts as succeeded (continue-on-error). */
  soft: (id: string) => boolean;
}

const RUNNER = {
  os: ({ linux: "Linux", darwin: "macOS", windows: "Windows" } as Record<string, string>)[
    Deno.build.os
  ] ?? Deno.build.os,
  arch: ({ x86_64: "X64", aarch64: "ARM64" } as Record<string, string>)[Deno.build.arch] ??
    Deno.build.arch,
  name: "orchestra",
};

/** Values by engine id (a leg's own id) regrouped by task id: a matrix task's as a list. */
export function groupValues(
  values: Record<string, unknown>,
  src: ValueSources,
): Record<string, unknown> {
  const out = { ...values };
  for (const [id, legs] of src.legs) {
    if (legs.some((l) => Object.hasOwn(values, l.id))) {
      out[id] = legs.map((l) => values[l.id] ?? null);
    }
  }
  return out;
}

/** Orchestra's status of task `id` in a run: a matrix task's is that of its legs together. */
export function statusOf(
  id: string,
  statuses: Record<string, string> | undefined,
  src: ValueSources,
): string {
  const legs = src.legs.get(id);
  if (!legs) return statuses?.[id] ?? "succeeded";
  // A leg that failed under continue-on-error counts as succeeded, as a task does.
  const all = legs.map((l) => {
    const s = statuses?.[l.id] ?? "succeeded";
    return s === "failed" && src.soft(l.id) ? "succeeded" : s;
  });
  for (const s of ["cancelled", "failed"]) if (all.includes(s)) return s;
  if (all.length && all.every((x) => x === "skipped")) return "skipped";
  return "succeeded";
}

/** GitHub's word for a status: success, failure, cancelled or skipped. */
export function githubResult(id: string, status: string, src: ValueSources): string {
  if (status === "failed") return src.legs.has(id) || !src.soft(id) ? "failure" : "success";
  if (status === "skipped" || status === "cancelled") return status;
  return "success";
}

/**
 * The outputs of task `id` from its `value`: what it declares under `outputs:`, over the
 * outputs it wrote (a `run:` step's `$GITHUB_OUTPUT`, a JSON object result); a task with steps
 * has its outputs as its value. A matrix task's are lists, one value per leg.
 */
export function outputsOf(
  id: string,
  value: unknown,
  params: Values,
  src: ValueSources,
  matrix?: Values,
): Values {
  const c = src.tasks.get(id);
  const legs = src.legs.get(id);
  if (legs && matrix === undefined) {
    const each = legs.map((l, i) =>
      outputsOf(id, Array.isArray(value) ? value[i] : null, params, src, l.values)
    );
    const names = new Set(each.flatMap((o) => Object.keys(o)));
    return Object.fromEntries([...names].map((k) => [k, each.map((o) => o[k] ?? null)]));
  }
  if (c?.steps) return isMapping(value) ? { ...value } : {};
  const out: Values = c?.run && isMapping(value) ? { ...value } : {};
  for (const [k, tpl] of c?.outputs ?? []) {
    const values: Values = { result: value, params, run: { id: src.runId } };
    if (matrix) values.matrix = matrix;
    out[k] = renderTemplate(tpl, { values });
  }
  return out;
}

function isMapping(v: unknown): v is Values {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** Secrets as an expression context: each read looks the secret up; an unset one is an error. */
export function secretsContext(lookup: (name: string) => string): Values {
  return new Proxy({}, {
    get: (_t, name) => typeof name === "string" ? lookup(name) : undefined,
    has: () => true,
    // Expressions read properties through their descriptors: an unset secret is an error
    // there too, not an empty string.
    getOwnPropertyDescriptor: (_t, name) =>
      typeof name === "string"
        ? { value: lookup(name), enumerable: true, configurable: true }
        : undefined,
  });
}

/** The values the expressions of task `c` see, for `input`. */
export function taskValues(
  c: CompiledTask,
  input: Input,
  src: ValueSources,
  withEnv = true,
): Values {
  const statuses = input.statuses;
  const tasks: Values = {};
  for (const id of c.reads) {
    const result = input.tasks[id] ?? null;
    tasks[id] = {
      result,
      status: statusOf(id, statuses, src),
      outputs: outputsOf(id, result, input.params, src),
    };
  }
  const needs: Values = {};
  for (const id of c.needs) {
    const result = input.tasks[id] ?? null;
    needs[id] = {
      result: githubResult(id, statusOf(id, statuses, src), src),
      outputs: outputsOf(id, result, input.params, src),
    };
  }
  const base: Values = {
    params: input.params,
    inputs: input.params,
    tasks,
    needs,
    secrets: secretsContext(src.secret),
    run: { id: src.runId },
    runner: { ...RUNNER, temp: tempDir() },
    event: input.params.event ?? {},
  };
  if (input.item !== undefined || input.index !== undefined) {
    base.item = input.item ?? null;
    base.index = input.index ?? 0;
  }
  if (input.matrix) {
    base.matrix = input.matrix;
    const [index, total] = input.leg ?? [0, 1];
    base.strategy = {
      "fail-fast": c.matrix?.failFast !== false,
      "job-index": index,
      "job-total": total,
      "max-parallel": c.matrix?.maxParallel ?? total,
    };
  }
  // The env is rendered with everything else in place: a foreach item or a matrix value may
  // go into it.
  if (withEnv) base.env = renderEnv([...src.flowEnv, ...c.env], base);
  return base;
}

/** Renders `env:` entries (in order: later ones win) to text. */
export function renderEnv(
  entries: readonly [string, Template][],
  values: Values,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, tpl] of entries) env[k] = toText(renderTemplate(tpl, { values }));
  return env;
}

function tempDir(): string {
  try {
    return Deno.env.get("TMPDIR") ?? "/tmp";
  } catch {
    return "/tmp";
  }
}
