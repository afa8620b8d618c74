/**
 * The three benchmark shapes of 10,000 no-op inline tasks, shared by the engine benchmarks and
 * the durable-state benchmarks that will follow.
 *
 * @module
 */

import { flow, task } from "../mod.ts";
import type { Flow } from "../mod.ts";

const noop = task("noop", (..._inputs: unknown[]) => 1);

/** A chain: each task needs the previous one. */
export function chain(n: number): Flow {
  return flow(`chain-${n}`, () => {
    let prev = noop();
    for (let i = 1; i < n; i++) prev = noop(prev);
    return prev;
  });
}

/** A fan-out/fan-in: one task, `n` tasks that need it, one task that needs them all. */
export function fanOut(n: number): Flow {
  return flow(`fan-${n}`, () => {
    const root = noop();
    const mid = new Array(n);
    for (let i = 0; i < n; i++) mid[i] = noop(root);
    return noop(mid);
  });
}

/** `layers` layers of `width` tasks; each task needs 3 tasks of the layer before. */
export function layered(layers: number, width: number): Flow {
  return flow(`layers-${layers}x${width}`, () => {
    let prev = Array.from({ length: width }, () => noop());
    for (let l = 1; l < layers; l++) {
      const next = new Array(width);
      for (let i = 0; i < width; i++) {
        next[i] = noop(prev[i], prev[(i + 1) % width], prev[(i + 2) % width]);
      }
      prev = next;
    }
    return prev[0];
  });
}
