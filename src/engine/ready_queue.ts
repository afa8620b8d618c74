/**
 * The queue of tasks whose inputs are ready: first in, first out among equal priorities, higher
 * priority first otherwise. Stays a plain FIFO (O(1)) until a second priority shows up.
 *
 * @module
 */

/** What the queue needs of an entry. */
export interface Prioritized {
  /** Higher runs first. */
  readonly priority: number;
  /** Creation order; lower runs first among equal priorities. */
  readonly seq: number;
}

function before(a: Prioritized, b: Prioritized): boolean {
  return a.priority > b.priority || (a.priority === b.priority && a.seq < b.seq);
}

/**
 * A ready queue.
 *
 * @example
 * ```ts
 * import { ReadyQueue } from "./ready_queue.ts";
 * const q = new ReadyQueue<{ priority: number; seq: number }>();
 * q.push({ priority: 0, seq: 1 });
 * q.push({ priority: 5, seq: 2 });
 * console.assert(q.pop()?.seq === 2);
 * ```
 */
export class ReadyQueue<T extends Prioritized> {
  #items: T[] = [];
  #head = 0;
  #heap = false;
  #priority: number | undefined;

  /** Number of entries. */
  get size(): number {
    return this.#items.length - this.#head;
  }

  /** Adds an entry. */
  push(item: T): void {
    if (!this.#heap) {
      if (this.#priority === undefined || this.size === 0) this.#priority = item.priority;
      if (item.priority === this.#priority) {
        this.#items.push(item);
        return;
      }
      this.#toHeap();
    }
    const a = this.#items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(a[i], a[p])) break;
      [a[i], a[p]] = [a[p], a[i]];
      i = p;
    }
  }

  /** Removes and returns the entry that should run next. */
  pop(): T | undefined {
    const a = this.#items;
    if (!this.#heap) {
      if (this.#head >= a.length) return undefined;
      const item = a[this.#head];
      a[this.#head++] = undefined as unknown as T;
      if (this.#head === a.length) {
        a.length = 0;
        this.#head = 0;
      } else if (this.#head > 1024 && this.#head * 2 > a.length) {
        a.splice(0, this.#head);
        this.#head = 0;
      }
      return item;
    }
    if (a.length === 0) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < a.length && before(a[l], a[m])) m = l;
        if (r < a.length && before(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    } else {
      this.#heap = false;
      this.#priority = undefined;
    }
    return top;
  }

  #toHeap(): void {
    const rest = this.#items.slice(this.#head);
    this.#items = [];
    this.#head = 0;
    this.#heap = true;
    for (const item of rest) this.push(item);
  }
}
