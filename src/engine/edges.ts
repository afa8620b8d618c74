/**
 * The edges of one run's graph, in three flat arrays rather than two arrays per node: an edge
 * costs 20 bytes, where a node's own `deps` and `dependents` arrays cost 50 to 200 bytes each (a
 * JS array grows from one element to room for seventeen). A 100,000-task graph holds every edge
 * until its run ends, so this is most of what a large run's graph weighs besides its nodes.
 *
 * Edge `e` goes from `from[e]` (the dependency) to `to[e]` (the dependent). A node's edges to
 * its dependencies are contiguous (they are linked while its call is scanned), from
 * `node.firstIn`; its dependents form a list threaded through `next`, in the order they were
 * linked, from `node.firstOut` to `node.lastOut`.
 *
 * @module
 */

import type { Node } from "./node.ts";

/**
 * The edges of one run.
 *
 * @example
 * ```ts ignore
 * const edges = new Edges();
 * if (edges.link(b, a)) b.pending++; // b needs a, which has not settled
 * edges.dependentsOf(a); // [b]
 * ```
 */
export class Edges {
  /** The dependency of each edge. */
  readonly from: Node[] = [];
  /** The dependent of each edge. */
  readonly to: Node[] = [];
  /** The next edge of the same dependency's list, or -1. */
  next: Int32Array = new Int32Array(256);

  /** How many edges there are. */
  get size(): number {
    return this.to.length;
  }

  /**
   * Links `node` (whose call is being scanned) to its dependency `dep`. When `dep` has not
   * settled, `node` joins its dependents (once, however often the call passes it) and `true`
   * says `node` must wait for it; a settled `dep` is only recorded as a dependency.
   */
  link(node: Node, dep: Node): boolean {
    const waits = !dep.settled;
    // The call's edges are linked all at once: if it already passed `dep`, the last edge of
    // `dep`'s list leads to it.
    if (waits && dep.lastOut >= 0 && this.to[dep.lastOut] === node) return false;
    const e = this.to.length;
    this.from.push(dep);
    this.to.push(node);
    if (node.firstIn < 0) node.firstIn = e;
    if (!waits) return false;
    if (e >= this.next.length) {
      const grown = new Int32Array(this.next.length * 2);
      grown.set(this.next);
      this.next = grown;
    }
    this.next[e] = -1;
    if (dep.firstOut < 0) dep.firstOut = e;
    else this.next[dep.lastOut] = e;
    dep.lastOut = e;
    return true;
  }

  /** The dependencies of a call that has not started, each once; null when it has none. */
  depsOf(node: Node): Node[] | null {
    const first = node.firstIn;
    if (first < 0) return null;
    const { from, to } = this;
    const deps: Node[] = [];
    // Short lists are de-duplicated by looking; long ones (a fan-in) with a set.
    let seen: Set<Node> | undefined;
    for (let e = first; e < to.length && to[e] === node; e++) {
      const d = from[e];
      if (seen === undefined) {
        if (!deps.includes(d)) deps.push(d);
        if (deps.length > 16) seen = new Set(deps);
      } else if (!seen.has(d)) {
        seen.add(d);
        deps.push(d);
      }
    }
    return deps;
  }

  /** The dependents still waiting for a node, in link order; null when none are. */
  dependentsOf(node: Node): Node[] | null {
    if (node.firstOut < 0) return null;
    const out: Node[] = [];
    for (let e = node.firstOut; e >= 0; e = this.next[e]) out.push(this.to[e]);
    return out;
  }
}
