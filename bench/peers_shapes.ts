/**
 * The peers benchmark's contestants: Orchestra, `p-graph` (a well-known promise-graph runner)
 * and a minimal Kahn-order executor (the floor: it calls each task with its inputs' values in
 * dependency order and does nothing else), each on the same three shapes of no-op tasks. Each
 * run builds its graph the way a user of that library would, and the time of a run includes
 * building it.
 *
 * - chain: 10,000 tasks, each needing the one before;
 * - fan: 1 → 10,000 → 1 (10,002 tasks);
 * - layers: 100 layers of 100, each task needing 3 tasks of the layer before.
 *
 * Orchestra passes each task its inputs' values and keeps a run record (status, attempts, times
 * and result of every task); p-graph passes nothing between tasks and keeps nothing; the floor
 * passes the values and keeps them.
 *
 * @module
 */

import { type Flow, flow, task } from "../mod.ts";
import { type DependencyList, PGraph, type PGraphNode } from "p-graph";

/** The shapes, by name. */
export const SHAPES = ["chain", "fan", "layers"] as const;
/** One of {@linkcode SHAPES}. */
export type Shape = typeof SHAPES[number];
/** The contestants, by name: the first is the floor. */
export const RUNNERS = ["kahn", "orchestra", "p-graph"] as const;
/** One of {@linkcode RUNNERS}. */
export type Runner = typeof RUNNERS[number];

/** How many tasks each shape has. */
export const SIZES: Record<Shape, number> = { chain: 10_000, fan: 10_002, layers: 10_000 };

const CHAIN = 10_000;
const FAN = 10_000;
const LAYERS = 100;
const WIDTH = 100;

// ---- the floor: a minimal Kahn-order executor ----

/** A task of the floor: gets its inputs' values, returns a value or a promise of one. */
export type KahnTask = (inputs: unknown[]) => unknown;

/**
 * Runs `tasks[i]` once every `deps[i]` has run, with their values, in Kahn order (a FIFO of the
 * tasks whose inputs are ready); a task that returns a promise is awaited. Resolves with every
 * task's value, or rejects with the first error.
 */
export function runKahn(tasks: KahnTask[], deps: number[][]): Promise<unknown[]> {
  const n = tasks.length;
  const pending = new Int32Array(n);
  const dependents: (number[] | undefined)[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const d = deps[i];
    pending[i] = d.length;
    for (let k = 0; k < d.length; k++) (dependents[d[k]] ??= []).push(i);
  }
  const values: unknown[] = new Array(n);
  const queue = new Int32Array(n);
  let head = 0, tail = 0, done = 0;
  for (let i = 0; i < n; i++) if (pending[i] === 0) queue[tail++] = i;
  return new Promise((resolve, reject) => {
    let failed = false;
    const settle = (i: number, v: unknown) => {
      values[i] = v;
      done++;
      const ds = dependents[i];
      if (ds !== undefined) { for (const k of ds) if (--pending[k] === 0) queue[tail++] = k; }
    };
    const pump = (): void => {
      while (head < tail && !failed) {
        const i = queue[head++];
        const d = deps[i];
        const inputs = new Array(d.length);
        for (let k = 0; k < d.length; k++) inputs[k] = values[d[k]];
        let r: unknown;
        try {
          r = tasks[i](inputs);
        } catch (e) {
          failed = true;
          reject(e);
          return;
        }
        if (
          r !== null && typeof r === "object" && typeof (r as Promise<unknown>).then === "function"
        ) {
          (r as Promise<unknown>).then((v) => {
            settle(i, v);
            pump();
          }, (e) => {
            failed = true;
            reject(e);
          });
        } else settle(i, r);
      }
      if (done === n) resolve(values);
    };
    pump();
  });
}

const kahnNoop: KahnTask = () => 1;

function kahnGraph(deps: number[][]): Promise<unknown[]> {
  const tasks = new Array<KahnTask>(deps.length).fill(kahnNoop);
  return runKahn(tasks, deps);
}

const kahn: Record<Shape, () => Promise<unknown>> = {
  chain() {
    const deps: number[][] = [[]];
    for (let i = 1; i < CHAIN; i++) deps.push([i - 1]);
    return kahnGraph(deps);
  },
  fan() {
    const deps: number[][] = [[]];
    const all: number[] = [];
    for (let i = 1; i <= FAN; i++) {
      deps.push([0]);
      all.push(i);
    }
    deps.push(all);
    return kahnGraph(deps);
  },
  layers() {
    const deps: number[][] = [];
    for (let i = 0; i < WIDTH; i++) deps.push([]);
    for (let l = 1; l < LAYERS; l++) {
      const base = (l - 1) * WIDTH;
      for (let i = 0; i < WIDTH; i++) {
        deps.push([base + i, base + (i + 1) % WIDTH, base + (i + 2) % WIDTH]);
      }
    }
    return kahnGraph(deps);
  },
};

// ---- Orchestra ----

const noop = task("noop", (..._inputs: unknown[]) => 1);

async function orchestraRun(f: Flow): Promise<unknown> {
  const record = await f.run();
  if (record.status !== "succeeded") throw new Error(record.error);
  return record;
}

// Defined once, as a flow module does; each run builds its graph in the body.
const orchestraFlows: Record<Shape, Flow> = {
  chain: flow("chain", () => {
    let prev = noop();
    for (let i = 1; i < CHAIN; i++) prev = noop(prev);
    return prev;
  }),
  fan: flow("fan", () => {
    const root = noop();
    const mid = new Array(FAN);
    for (let i = 0; i < FAN; i++) mid[i] = noop(root);
    return noop(mid);
  }),
  layers: flow("layers", () => {
    let prev = Array.from({ length: WIDTH }, () => noop());
    for (let l = 1; l < LAYERS; l++) {
      const next = new Array(WIDTH);
      for (let i = 0; i < WIDTH; i++) {
        next[i] = noop(prev[i], prev[(i + 1) % WIDTH], prev[(i + 2) % WIDTH]);
      }
      prev = next;
    }
    return prev[0];
  }),
};

const orchestra: Record<Shape, () => Promise<unknown>> = {
  chain: () => orchestraRun(orchestraFlows.chain),
  fan: () => orchestraRun(orchestraFlows.fan),
  layers: () => orchestraRun(orchestraFlows.layers),
};

// ---- p-graph ----

const pgraphNoop = () => 1;

function pgraphRun(nodes: Map<string, PGraphNode>, deps: DependencyList): Promise<void> {
  return new PGraph(nodes, deps).run();
}

const pgraph: Record<Shape, () => Promise<unknown>> = {
  chain() {
    const nodes = new Map<string, PGraphNode>();
    const deps: DependencyList = [];
    for (let i = 0; i < CHAIN; i++) {
      nodes.set(`t${i}`, { run: pgraphNoop });
      if (i > 0) deps.push([`t${i - 1}`, `t${i}`]);
    }
    return pgraphRun(nodes, deps);
  },
  fan() {
    const nodes = new Map<string, PGraphNode>([["root", { run: pgraphNoop }]]);
    const deps: DependencyList = [];
    for (let i = 0; i < FAN; i++) {
      nodes.set(`t${i}`, { run: pgraphNoop });
      deps.push(["root", `t${i}`], [`t${i}`, "sink"]);
    }
    nodes.set("sink", { run: pgraphNoop });
    return pgraphRun(nodes, deps);
  },
  layers() {
    const nodes = new Map<string, PGraphNode>();
    const deps: DependencyList = [];
    for (let l = 0; l < LAYERS; l++) {
      for (let i = 0; i < WIDTH; i++) {
        const id = `t${l}_${i}`;
        nodes.set(id, { run: pgraphNoop });
        if (l > 0) {
          for (const k of [i, (i + 1) % WIDTH, (i + 2) % WIDTH]) deps.push([`t${l - 1}_${k}`, id]);
        }
      }
    }
    return pgraphRun(nodes, deps);
  },
};

/** One run of `shape` by `runner`, graph building included. */
export const RUNS: Record<Runner, Record<Shape, () => Promise<unknown>>> = {
  kahn,
  orchestra,
  "p-graph": pgraph,
};
