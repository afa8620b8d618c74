import assert from "node:assert/strict";
import { taskContextStorage } from "../../src/core/protocol.ts";
import { sleep } from "../../src/engine/clock.ts";
import { TestClock } from "../../testing.ts";

/** Lets real macrotasks run: the clock's chance to move. */
const idle = () => new Promise((resolve) => setTimeout(resolve, 20));

Deno.test("TestClock moves to the next timer when nothing holds it", async () => {
  const clock = new TestClock(0);
  await sleep(clock, 90_000);
  assert.equal(clock.now(), 90_000);
  assert.deepEqual(clock.requested, [90_000]);
});

Deno.test("TestClock stands still while a held attempt is busy, moves when it waits", async () => {
  const clock = new TestClock(0);
  const attempt = {};
  const release = clock.hold(attempt);
  let timeout = false;
  clock.setTimer(() => (timeout = true), 30_000);
  await idle();
  assert.equal(timeout, false, "the attempt is busy: its timeout must not fire");
  assert.equal(clock.now(), 0);
  // The attempt now sleeps on the clock (a timer set in its context): time moves.
  const slept = taskContextStorage().run(attempt, () => sleep(clock, 10_000));
  await slept;
  assert.equal(clock.now(), 10_000);
  await idle();
  assert.equal(timeout, false, "awake and busy again: time stands still");
  release();
  await idle();
  assert.equal(timeout, true);
  assert.equal(clock.now(), 30_000);
});

Deno.test("TestClock: a cancelled sleep makes its attempt busy again", async () => {
  const clock = new TestClock(0);
  const attempt = {};
  const release = clock.hold(attempt);
  let fired = false;
  clock.setTimer(() => (fired = true), 5_000);
  const cancel = taskContextStorage().run(attempt, () => clock.setTimer(() => {}, 60_000));
  cancel();
  await idle();
  assert.equal(fired, false);
  release();
  release(); // releasing twice is harmless
  await idle();
  assert.equal(fired, true);
});

Deno.test("TestClock.advance() fires due timers even while held", () => {
  const clock = new TestClock(0);
  clock.hold({});
  const fired: number[] = [];
  clock.setTimer(() => fired.push(clock.now()), 200);
  clock.setTimer(() => fired.push(clock.now()), 100);
  clock.setTimer(() => fired.push(clock.now()), 500);
  clock.advance(300);
  assert.deepEqual(fired, [100, 200]);
  assert.equal(clock.now(), 300);
});
