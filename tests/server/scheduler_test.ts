// The scheduler with a fake clock and an in-memory store: ticks, overlap and catch-up
// policies, pause and resume, missed ticks, across daylight saving time changes.
import assert from "node:assert/strict";
import { checkSchedules, type ScheduleSpec } from "../../src/core/schedule.ts";
import { Metrics } from "../../src/server/metrics.ts";
import { Scheduler, type SchedulerClock } from "../../src/server/scheduler.ts";
import { MemoryStore } from "../../src/store/memory_store.ts";

/** A clock whose time moves only when told; timers fire as it passes them. */
class FakeClock implements SchedulerClock {
  #timers: { at: number; fn: () => void }[] = [];
  constructor(public ms: number) {}
  now(): number {
    return this.ms;
  }
  setTimer(fn: () => void, ms: number): () => void {
    const t = { at: this.ms + ms, fn };
    this.#timers.push(t);
    return () => (this.#timers = this.#timers.filter((x) => x !== t));
  }
  /** Moves to `iso`, firing every timer due on the way, in order. */
  async advance(to: number, scheduler: Scheduler): Promise<void> {
    for (;;) {
      this.#timers.sort((a, b) => a.at - b.at);
      const next = this.#timers[0];
      if (!next || next.at > to) break;
      this.#timers.shift();
      this.ms = next.at;
      next.fn();
      await scheduler.idle();
    }
    this.ms = to;
  }
}

interface Harness {
  clock: FakeClock;
  scheduler: Scheduler;
  started: { tick: string; runId: string }[];
  running: Set<string>;
  cancelled: string[];
  metrics: Metrics;
  store: MemoryStore;
  logs: string[];
}

function harness(start: string, store = new MemoryStore()): Harness {
  const clock = new FakeClock(Date.parse(start));
  const started: Harness["started"] = [];
  const running = new Set<string>();
  const cancelled: string[] = [];
  const metrics = new Metrics();
  const logs: string[] = [];
  let n = 0;
  const scheduler = new Scheduler({
    store,
    metrics,
    clock,
    start: (_s, tick) => {
      const runId = `r${++n}`;
      started.push({ tick: tick.toISOString(), runId });
      running.add(runId);
      return Promise.resolve({ runId });
    },
    isRunning: (id) => running.has(id),
    cancel: (id) => {
      cancelled.push(id);
      running.delete(id);
      return Promise.resolve();
    },
    log: (_l, message, props) => logs.push(`${message} ${JSON.stringify(props)}`),
    maxWaitMs: 24 * 3600_000,
  });
  return { clock, scheduler, started, running, cancelled, metrics, store, logs };
}

function schedules(spec: ScheduleSpec) {
  const { schedules, issues } = checkSchedules("nightly", [spec]);
  assert.deepEqual(issues, []);
  return schedules;
}

const end = (h: Harness, runId: string) => {
  h.running.delete(runId);
  h.scheduler.runEnded(runId);
  return h.scheduler.idle();
};

Deno.test("scheduler: a daily 02:30 in Europe/Berlin fires once a day across the March and October changes", async () => {
  for (
    const [from, to, want] of [
      ["2026-03-27T12:00:00Z", "2026-03-31T12:00:00Z", [
        "2026-03-28T01:30:00.000Z",
        "2026-03-29T01:00:00.000Z", // 02:30 does not exist that day: 03:00 CEST
        "2026-03-30T00:30:00.000Z",
        "2026-03-31T00:30:00.000Z",
      ]],
      ["2026-10-24T12:00:00Z", "2026-10-27T12:00:00Z", [
        "2026-10-25T00:30:00.000Z", // 02:30 happens twice that day: once
        "2026-10-26T01:30:00.000Z",
        "2026-10-27T01:30:00.000Z",
      ]],
    ] as const
  ) {
    const h = harness(from);
    await h.scheduler.sync(
      schedules({ cron: "30 2 * * *", timezone: "Europe/Berlin", overlap: "allow" }),
    );
    await h.clock.advance(Date.parse(to), h.scheduler);
    assert.deepEqual(h.started.map((s) => s.tick), want);
    assert.equal(
      h.metrics.ticks.get({ schedule: "nightly:0", flow: "nightly", outcome: "started" }),
      want.length,
    );
  }
});

Deno.test("scheduler: overlap skip, buffer-one, cancel-other and allow", async () => {
  const at = "2026-01-01T00:00:00Z";
  const hour = 3600_000;
  const base = Date.parse(at);
  // skip: the ticks while r1 goes on are skipped and counted.
  let h = harness(at);
  await h.scheduler.sync(schedules({ cron: "0 * * * *", overlap: "skip" }));
  await h.clock.advance(base + 3 * hour, h.scheduler);
  assert.deepEqual(h.started.map((s) => s.runId), ["r1"]);
  assert.equal(
    h.metrics.ticks.get({ schedule: "nightly:0", flow: "nightly", outcome: "skipped" }),
    2,
  );
  // buffer-one: one tick is kept and runs when r1 ends; the others are skipped.
  h = harness(at);
  await h.scheduler.sync(schedules({ cron: "0 * * * *", overlap: "buffer-one" }));
  await h.clock.advance(base + 3 * hour, h.scheduler);
  assert.deepEqual(h.started.map((s) => s.tick), ["2026-01-01T01:00:00.000Z"]);
  await end(h, "r1");
  assert.deepEqual(h.started.map((s) => s.tick), [
    "2026-01-01T01:00:00.000Z",
    "2026-01-01T02:00:00.000Z",
  ]);
  assert.equal(
    h.metrics.ticks.get({ schedule: "nightly:0", flow: "nightly", outcome: "buffered" }),
    1,
  );
  // cancel-other: the running one is cancelled, the new one starts.
  h = harness(at);
  await h.scheduler.sync(schedules({ cron: "0 * * * *", overlap: "cancel-other" }));
  await h.clock.advance(base + 2 * hour, h.scheduler);
  assert.deepEqual(h.cancelled, ["r1"]);
  assert.deepEqual(h.started.map((s) => s.runId), ["r1", "r2"]);
  // allow: both run.
  h = harness(at);
  await h.scheduler.sync(schedules({ cron: "0 * * * *", overlap: "allow" }));
  await h.clock.advance(base + 2 * hour, h.scheduler);
  assert.deepEqual([...h.running], ["r1", "r2"]);
});

Deno.test("scheduler: ticks missed while no server ran are counted, logged and caught up by policy", async () => {
  for (
    const [policy, want] of [
      ["skip", []],
      ["latest", ["2026-01-01T05:00:00.000Z"]],
      ["all", ["2026-01-01T04:00:00.000Z", "2026-01-01T05:00:00.000Z"]],
    ] as const
  ) {
    const store = new MemoryStore();
    const spec = {
      cron: "0 * * * *",
      overlap: "allow",
      catchup: { window: "90m", policy },
    } as const;
    // A server ran until 00:30, then none until 05:10.
    const first = harness("2026-01-01T00:30:00Z", store);
    await first.scheduler.sync(schedules(spec));
    first.scheduler.stop();
    const h = harness("2026-01-01T05:10:00Z", store);
    await h.scheduler.sync(schedules(spec));
    assert.deepEqual(h.started.map((s) => s.tick), want, policy);
    assert.equal(
      h.metrics.missed.get({ schedule: "nightly:0", flow: "nightly" }),
      5,
      "01:00 … 05:00",
    );
    assert.equal(h.scheduler.list()[0].missed, 5);
    assert.match(h.logs.join("\n"), /missed \{count\} ticks.*"count":5/);
    // From now on it ticks normally, and nothing is missed twice.
    await h.clock.advance(Date.parse("2026-01-01T06:00:00Z"), h.scheduler);
    assert.equal(h.started.at(-1)!.tick, "2026-01-01T06:00:00.000Z");
    assert.equal(h.metrics.missed.get({ schedule: "nightly:0", flow: "nightly" }), 5);
  }
});

Deno.test("scheduler: paused ticks do not run and are not missed; resume starts from now; trigger runs now", async () => {
  const store = new MemoryStore();
  const h = harness("2026-01-01T00:00:00Z", store);
  await h.scheduler.sync(
    schedules({ cron: "0 * * * *", overlap: "allow", catchup: { policy: "all", window: "1d" } }),
  );
  const paused = await h.scheduler.pause("nightly:0");
  assert.equal(paused?.paused, true);
  assert.deepEqual(paused?.next, []);
  await h.clock.advance(Date.parse("2026-01-01T03:30:00Z"), h.scheduler);
  assert.deepEqual(h.started, []);
  assert.equal(
    h.metrics.ticks.get({ schedule: "nightly:0", flow: "nightly", outcome: "paused" }),
    3,
  );
  // Paused is kept in the store: another server sees it.
  assert.equal(
    ((await store.stateGet("schedule", "nightly:0", 0))?.value as { paused: boolean }).paused,
    true,
  );
  const resumed = await h.scheduler.resume("nightly:0");
  assert.equal(resumed?.next[0], "2026-01-01T04:00:00.000Z");
  assert.deepEqual(h.started, [], "the paused ticks are not caught up");
  const r = await h.scheduler.trigger("nightly:0");
  assert.deepEqual(r, { runId: "r1" });
  assert.equal(await h.scheduler.trigger("nope:0"), undefined);
});
