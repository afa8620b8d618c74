import assert from "node:assert/strict";
import { ReadyQueue } from "../../src/engine/ready_queue.ts";

interface Item {
  priority: number;
  seq: number;
}

function drain(q: ReadyQueue<Item>): number[] {
  const out: number[] = [];
  for (let item = q.pop(); item !== undefined; item = q.pop()) out.push(item.seq);
  return out;
}

Deno.test("ReadyQueue is empty at first", () => {
  const q = new ReadyQueue<Item>();
  assert.equal(q.size, 0);
  assert.equal(q.pop(), undefined);
});

Deno.test("ReadyQueue is first in, first out when priorities are equal", () => {
  const q = new ReadyQueue<Item>();
  for (let i = 0; i < 5; i++) q.push({ priority: 0, seq: i });
  assert.equal(q.size, 5);
  assert.deepEqual(drain(q), [0, 1, 2, 3, 4]);
  assert.equal(q.size, 0);
});

Deno.test("ReadyQueue pops higher priorities first", () => {
  const q = new ReadyQueue<Item>();
  q.push({ priority: 0, seq: 1 });
  q.push({ priority: 5, seq: 2 });
  q.push({ priority: -1, seq: 3 });
  q.push({ priority: 10, seq: 4 });
  q.push({ priority: 5, seq: 5 });
  assert.deepEqual(drain(q), [4, 2, 5, 1, 3]);
});

Deno.test("ReadyQueue orders equal priorities by seq once priorities are mixed", () => {
  const q = new ReadyQueue<Item>();
  for (let i = 0; i < 20; i++) q.push({ priority: i % 3, seq: i });
  const order = drain(q);
  assert.deepEqual(order, [
    2,
    5,
    8,
    11,
    14,
    17,
    1,
    4,
    7,
    10,
    13,
    16,
    19,
    0,
    3,
    6,
    9,
    12,
    15,
    18,
  ]);
});

Deno.test("ReadyQueue keeps working when pushes and pops interleave", () => {
  const q = new ReadyQueue<Item>();
  q.push({ priority: 0, seq: 1 });
  q.push({ priority: 0, seq: 2 });
  assert.equal(q.pop()?.seq, 1);
  q.push({ priority: 3, seq: 3 });
  assert.equal(q.size, 2);
  assert.equal(q.pop()?.seq, 3);
  assert.equal(q.pop()?.seq, 2);
  assert.equal(q.pop(), undefined);
  // Back to a plain FIFO with another priority.
  q.push({ priority: 7, seq: 4 });
  q.push({ priority: 7, seq: 5 });
  assert.deepEqual(drain(q), [4, 5]);
});

Deno.test("ReadyQueue agrees with a sorted reference on random input", () => {
  let state = 42;
  const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const q = new ReadyQueue<Item>();
  const model: Item[] = [];
  let seq = 0;
  for (let step = 0; step < 5000; step++) {
    if (random() < 0.6) {
      const item = { priority: Math.floor(random() * 4), seq: seq++ };
      q.push(item);
      model.push(item);
    } else {
      model.sort((a, b) => b.priority - a.priority || a.seq - b.seq);
      const expected = model.shift();
      assert.equal(q.pop(), expected, `step ${step}`);
    }
    assert.equal(q.size, model.length);
  }
});

Deno.test("ReadyQueue handles many items in FIFO mode", () => {
  const q = new ReadyQueue<Item>();
  for (let i = 0; i < 3000; i++) q.push({ priority: 1, seq: i });
  for (let i = 0; i < 2500; i++) assert.equal(q.pop()?.seq, i);
  for (let i = 3000; i < 4000; i++) q.push({ priority: 1, seq: i });
  assert.equal(q.size, 1500);
  const rest = drain(q);
  assert.equal(rest.length, 1500);
  assert.deepEqual(rest.slice(0, 3), [2500, 2501, 2502]);
  assert.equal(rest.at(-1), 3999);
});
