import assert from "node:assert/strict";
import { FakeClock, sleep, systemClock } from "../../src/engine/clock.ts";

Deno.test("FakeClock starts at the given time, by default 2026-01-01", () => {
  assert.equal(new FakeClock(5).now(), 5);
  assert.equal(new FakeClock().now(), Date.UTC(2026, 0, 1));
});

Deno.test("FakeClock advances on its own when the program is idle", async () => {
  const clock = new FakeClock(0);
  await sleep(clock, 60_000);
  assert.equal(clock.now(), 60_000);
  await sleep(clock, 10 * 60_000);
  assert.equal(clock.now(), 660_000);
});

Deno.test("FakeClock records every requested delay in order", async () => {
  const clock = new FakeClock(0);
  await sleep(clock, 100);
  await Promise.all([sleep(clock, 30), sleep(clock, 10)]);
  assert.deepEqual(clock.requested, [100, 30, 10]);
  assert.equal(clock.now(), 130);
});

Deno.test("FakeClock fires timers in time order, equal times in the order they were set", async () => {
  const clock = new FakeClock(0);
  const fired: string[] = [];
  const done = Promise.all([
    sleep(clock, 300).then(() => fired.push(`c@${clock.now()}`)),
    sleep(clock, 100).then(() => fired.push(`a@${clock.now()}`)),
    sleep(clock, 200).then(() => fired.push(`b1@${clock.now()}`)),
    sleep(clock, 200).then(() => fired.push(`b2@${clock.now()}`)),
  ]);
  await done;
  assert.deepEqual(fired, ["a@100", "b1@200", "b2@200", "c@300"]);
});

Deno.test("FakeClock waits for pending microtasks before moving time", async () => {
  const clock = new FakeClock(0);
  const seen: number[] = [];
  clock.setTimer(() => seen.push(clock.now()), 1000);
  // A long chain of microtasks runs entirely at time 0.
  let p = Promise.resolve();
  for (let i = 0; i < 100; i++) p = p.then(() => void seen.push(clock.now()));
  await p;
  assert.equal(seen.length, 100);
  assert.ok(seen.every((t) => t === 0));
  await sleep(clock, 2000);
  assert.deepEqual(seen.slice(100), [1000]);
});

Deno.test("FakeClock timers can be cancelled", async () => {
  const clock = new FakeClock(0);
  let fired = 0;
  const cancel = clock.setTimer(() => fired++, 50);
  cancel();
  cancel(); // twice is harmless
  await sleep(clock, 100);
  assert.equal(fired, 0);
  assert.equal(clock.now(), 100);
});

Deno.test("FakeClock.advance() fires due timers and stops at the target time", () => {
  const clock = new FakeClock(0);
  const fired: number[] = [];
  clock.setTimer(() => fired.push(clock.now()), 10);
  clock.setTimer(() => fired.push(clock.now()), 30);
  clock.setTimer(() => fired.push(clock.now()), 20);
  clock.advance(25);
  assert.deepEqual(fired, [10, 20]);
  assert.equal(clock.now(), 25);
  clock.advance(5);
  assert.deepEqual(fired, [10, 20, 30]);
  assert.equal(clock.now(), 30);
});

Deno.test("FakeClock.advance() fires timers that due timers set", () => {
  const clock = new FakeClock(0);
  const fired: number[] = [];
  clock.setTimer(() => {
    fired.push(clock.now());
    clock.setTimer(() => fired.push(clock.now()), 5);
  }, 10);
  clock.advance(100);
  assert.deepEqual(fired, [10, 15]);
  assert.equal(clock.now(), 100);
});

Deno.test("FakeClock treats a negative delay as zero", () => {
  const clock = new FakeClock(1000);
  let at = -1;
  clock.setTimer(() => (at = clock.now()), -50);
  clock.advance(0);
  assert.equal(at, 1000);
});

Deno.test("sleep() rejects with the signal's reason when aborted", async () => {
  const clock = new FakeClock(0);
  const controller = new AbortController();
  const reason = new Error("stop");
  const p = sleep(clock, 10_000, controller.signal);
  controller.abort(reason);
  await assert.rejects(p, (e) => e === reason);
  // The cancelled timer does not hold the clock: a later sleep starts from now.
  assert.equal(clock.now(), 0);
});

Deno.test("sleep() rejects at once when the signal is already aborted", async () => {
  const clock = new FakeClock(0);
  const reason = new Error("already");
  await assert.rejects(sleep(clock, 10, AbortSignal.abort(reason)), (e) => e === reason);
  assert.deepEqual(clock.requested, []);
});

Deno.test("sleep() resolves normally with a signal that is never aborted", async () => {
  const clock = new FakeClock(0);
  await sleep(clock, 10, new AbortController().signal);
  assert.equal(clock.now(), 10);
});

Deno.test("systemClock reads real time and its timers can be cancelled", async () => {
  const before = Date.now();
  assert.ok(Math.abs(systemClock.now() - before) < 1000);
  let fired = false;
  systemClock.setTimer(() => (fired = true), 0)();
  await new Promise<void>((resolve) => systemClock.setTimer(resolve, 1));
  assert.equal(fired, false);
});
