/**
 * The dependents of each call of one run, in two flat arrays rather than an array per node: an
 * edge costs 12 bytes, where a node's own `dependents` array costs 50 to 200 (a JS array grows
 * from one element to room for seventeen). A 100,000-task graph holds its edges until each
 * dependency settles, so this is much of what a large run's graph weighs besides its nodes. A
 * call's dependencies are its arguments' references (see `GraphBuilder.depsOf`).
 *
 * Edge `e` leads to `to[e]`; a node's dependents form a list threaded through `next` from
 * `node.firstOut`, the last linked first (so a node needs one field for it); the list is reversed
 * in place when it is consumed, so dependents are released in the order they were linked.
 *
 * @module
 */

import { type Node, SUCCEEDED } from "./node.ts";

/**
 * The dependents' lists of one run.
 *
 * @example
 * ```ts ignore
 * const edges = new Edges();
 * if (edges.link(b, a)) b.pending++; // b waits for a, which has not settled
 * edges.dependentsOf(a); // [b]
 * ```
 */
export class Edges {
  /** The dependent of each edge. */
  readonly to: Node[] = [];
  /** The next edge of the same dependency's list, or -1. */
  next: Int32Array = new Int32Array(256);

  /**
   * Makes `node` (whose call is being scanned) a dependent of `dep`, once however often the
   * call passes it, and says whether it must wait for `dep`: not when `dep` has settled.
   */
  link(node: Node, dep: Node): boolean {
    if (dep.state >= SUCCEEDED) return false;
    // The call's references are linked all at once: if it already passed `dep`, the head of
    // `dep`'s list leads to it.
    const head = dep.firstOut;
    if (head >= 0 && this.to[head] === node) return false;
    const e = this.to.length;
    this.to.push(node);
    if (e >= this.next.length) {
      const grown = new Int32Array(this.next.length * 2);
      grown.set(this.next);
      this.next = grown;
    }
    this.next[e] = head;
    dep.firstOut = e;
    return true;
  }

  /**
   * Takes a node's list of dependents, reversed in place into link order, and returns its first
   * edge (-1 when it had none): follow `next` from it. The node has none any more.
   */
  take(node: Node): number {
    let e = node.firstOut;
    node.firstOut = -1;
    const next = this.next;
    let prev = -1;
    while (e >= 0) {
      const following = next[e];
      next[e] = prev;
      prev = e;
      e = following;
    }
    return prev;
  }

  /** The dependents still waiting for a node, in link order; null when none are. */
  dependentsOf(node: Node): Node[] | null {
    if (node.firstOut < 0) return null;
    const out: Node[] = [];
    for (let e = node.firstOut; e >= 0; e = this.next[e]) out.push(this.to[e]);
    return out.reverse();
  }

  /** Drops every edge (the run has ended: nothing waits any more). */
  clear(): void {
    this.to.length = 0;
    this.next = new Int32Array(0);
  }
}
