/**
 * Graph algorithms over task nodes: topological order, cycles with their path, layers.
 *
 * @module
 */

/** The minimum a graph algorithm needs of a node. */
export interface GraphNode {
  /** Unique id. */
  id: string;
  /** Ids this node depends on. */
  needs: readonly string[];
}

/**
 * Finds every cycle (one path per strongly connected component), as id paths that end where
 * they start: `["a", "b", "c", "a"]`. Edges to unknown ids are ignored.
 *
 * @example
 * ```ts
 * import { findCycles } from "./graph.ts";
 * const cycles = findCycles([
 *   { id: "a", needs: ["c"] }, { id: "b", needs: ["a"] }, { id: "c", needs: ["b"] },
 * ]);
 * console.assert(cycles.length === 1 && cycles[0].join(" → ") === "a → b → c → a");
 * ```
 */
export function findCycles(nodes: readonly GraphNode[]): string[][] {
  // Edges point from a dependency to its dependent, so paths read in execution order.
  const ids = new Set(nodes.map((n) => n.id));
  const next = new Map<string, string[]>();
  for (const n of nodes) next.set(n.id, []);
  for (const n of nodes) {
    for (const d of n.needs) if (ids.has(d)) next.get(d)!.push(n.id);
  }
  // Tarjan's algorithm, iteratively, so deep chains do not overflow the stack.
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const sccs: string[][] = [];
  for (const start of nodes) {
    if (index.has(start.id)) continue;
    const work: [string, number][] = [[start.id, 0]];
    while (work.length) {
      const frame = work[work.length - 1];
      const [v, i] = frame;
      if (i === 0) {
        index.set(v, counter);
        low.set(v, counter++);
        stack.push(v);
        onStack.add(v);
      }
      const out = next.get(v)!;
      if (i < out.length) {
        frame[1]++;
        const w = out[i];
        if (!index.has(w)) work.push([w, 0]);
        else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
        continue;
      }
      work.pop();
      if (work.length) {
        const parent = work[work.length - 1][0];
        low.set(parent, Math.min(low.get(parent)!, low.get(v)!));
      }
      if (low.get(v) === index.get(v)) {
        const scc: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          scc.push(w);
        } while (w !== v);
        const selfLoop = scc.length === 1 && next.get(v)!.includes(v);
        if (scc.length > 1 || selfLoop) sccs.push(scc);
      }
    }
  }
  const order = new Map(nodes.map((n, i) => [n.id, i]));
  return sccs.map((scc) => cyclePath(scc, next, order));
}

function cyclePath(
  scc: string[],
  next: Map<string, string[]>,
  order: Map<string, number>,
): string[] {
  const members = new Set(scc);
  const start = scc.reduce((a, b) => (order.get(a)! <= order.get(b)! ? a : b));
  // Breadth-first search for the shortest way back to the start inside the component.
  const prev = new Map<string, string>();
  const queue = [start];
  for (let qi = 0; qi < queue.length; qi++) {
    const v = queue[qi];
    for (const w of next.get(v)!) {
      if (!members.has(w)) continue;
      if (w === start) {
        // Walk back to the start, then reverse: inserting at the front would be quadratic.
        const path = [start];
        for (let x = v; x !== start; x = prev.get(x)!) path.push(x);
        path.push(start);
        path.reverse();
        return path;
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

/**
 * Orders nodes so each comes after everything it needs, grouped into layers that could run
 * at the same time. Nodes on cycles are left out.
 *
 * @example
 * ```ts
 * import { layers } from "./graph.ts";
 * const l = layers([{ id: "a", needs: [] }, { id: "b", needs: ["a"] }, { id: "c", needs: ["a"] }]);
 * console.assert(l.length === 2 && l[1].length === 2);
 * ```
 */
export function layers(nodes: readonly GraphNode[]): string[][] {
  const ids = new Set(nodes.map((n) => n.id));
  const pending = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const n of nodes) {
    const needs = n.needs.filter((d) => ids.has(d));
    pending.set(n.id, needs.length);
    for (const d of needs) {
      const list = dependents.get(d);
      if (list) list.push(n.id);
      else dependents.set(d, [n.id]);
    }
  }
  const out: string[][] = [];
  let current = nodes.filter((n) => pending.get(n.id) === 0).map((n) => n.id);
  while (current.length) {
    out.push(current);
    const following: string[] = [];
    for (const id of current) {
      for (const d of dependents.get(id) ?? []) {
        const left = pending.get(d)! - 1;
        pending.set(d, left);
        if (left === 0) following.push(d);
      }
    }
    current = following;
  }
  return out;
}
