import assert from "node:assert/strict";
import { task, type TaskContext } from "../../mod.ts";
import { TaskFailedError, TaskTimeoutError } from "../../src/core/errors.ts";
import type { PermissionSet } from "../../src/core/permissions.ts";
import { type AttemptParts, Attempts } from "../../src/engine/attempts.ts";
import { MemoryCache } from "../../src/engine/cache.ts";
import { type Executor, ExecutorRegistry, type TaskCall } from "../../src/engine/executor.ts";
import { HookRunner } from "../../src/engine/hooks.ts";
import { RunEvents } from "../../src/engine/journal.ts";
import { STATUS } from "../../src/engine/node.ts";
import { TaskCache } from "../../src/engine/task_cache.ts";
import type { Scheduler } from "../../src/engine/scheduler.ts";
import { RunSecrets } from "../../src/engine/secrets.ts";
import { log, parts, tick } from "./_parts.ts";

/** A scheduler whose nodes are run by real attempts over `executors`. */
function attempts(
  executors: Record<string, Executor>,
  more: Partial<AttemptParts> = {},
  cache = new MemoryCache(),
) {
  return parts({
    executors: Object.keys(executors),
    launcher: (sched: Scheduler, clock) =>
      new Attempts({
        scope: {
          runId: "r",
          flow: "f",
          params: {},
          clock,
          secrets: new RunSecrets(() => undefined),
          events: new RunEvents(undefined, undefined, log),
        },
        executors: new ExecutorRegistry(executors),
        hooks: new HookRunner([], [], log),
        cache: new TaskCache(cache, "f"),
        authorize: undefined,
        decrypt: undefined,
        random: () => 0.5,
        log,
        ...more,
      }, sched),
  });
}

/** An executor that records its calls and answers with `answer`. */
function recorder(answer: (call: TaskCall) => unknown) {
  const calls: TaskCall[] = [];
  const executor: Executor = {
    run(call) {
      calls.push(call);
      return answer(call);
    },
  };
  return { calls, executor };
}

Deno.test("Attempts dispatch each task to the executor its setting names", async () => {
  const inline = recorder(() => "inline");
  const remote = recorder((c) => Promise.resolve(`remote:${c.args[0]}@${c.context.attempt}`));
  const s = attempts({ inline: inline.executor, process: remote.executor });
  const a = s.graph.call(task("a", () => 0), []);
  const b = s.graph.call(task({ name: "b", executor: "process" }, (_x: string) => 0), ["x"]);
  await tick();
  assert.equal(inline.calls.length, 1);
  assert.equal(remote.calls[0].id, "b");
  assert.deepEqual([a.value, b.value], ["inline", "remote:x@1"]);
});

Deno.test("Attempts keep a synchronous executor's result synchronous", async () => {
  const sync = recorder((c) => (c.args[0] as number) + 1);
  const s = attempts({ inline: sync.executor });
  const a = s.graph.call(task("a", (_n: number) => 0), [1]);
  let prev = a;
  for (let i = 0; i < 100; i++) prev = s.graph.call(task("a", (_n: number) => 0), [prev]);
  await tick(); // one drain runs the whole chain: no promise per task
  assert.equal(STATUS[prev.state], "succeeded");
  assert.equal(prev.value, 102);
});

Deno.test("Attempts retry with backoff on the run's clock", async () => {
  let n = 0;
  const flaky = recorder(() => {
    if (++n < 3) throw new Error(`try ${n}`);
    return "ok";
  });
  const s = attempts({ inline: flaky.executor });
  const node = s.graph.call(
    task({ name: "flaky", retries: { attempts: 3, delay: "1s", backoff: 2 } }, () => 0),
    [],
  );
  while (node.state < 3) await tick();
  assert.equal(node.value, "ok");
  assert.equal(node.attempts, 3);
  assert.deepEqual(s.clock.requested, [1000, 2000]);
});

Deno.test("Attempts abort an attempt at its timeout and fail it with TaskTimeoutError", async () => {
  let signal: AbortSignal | undefined;
  const hang = recorder((c) => {
    signal = c.context.signal;
    return new Promise(() => {});
  });
  const s = attempts({ inline: hang.executor });
  const node = s.graph.call(task({ name: "hang", timeout: "5s" }, () => 0), []);
  while (node.state < 3) await tick();
  assert.equal(STATUS[node.state], "failed");
  assert.ok(signal?.aborted && signal.reason instanceof TaskTimeoutError);
  assert.ok(node.error instanceof TaskFailedError);
  assert.equal(s.clock.now(), 5000);
});

Deno.test("Attempts authorize a task that requests permissions before its first attempt", async () => {
  const seen = recorder((c) => c.grant);
  const asked: unknown[] = [];
  const granted: PermissionSet = { read: ["./data/a.csv"] };
  const s = attempts({ inline: seen.executor }, {
    authorize: (t) => (asked.push(t), Promise.resolve(granted)),
  });
  const node = s.graph.call(
    task({ name: "reader", permissions: { read: ["./data"] } }, () => 0),
    [],
  );
  while (node.state < 3) await tick();
  assert.deepEqual(asked, [{
    runId: "r",
    taskId: "reader",
    name: "reader",
    request: { read: ["./data"] },
  }]);
  assert.deepEqual(node.value, granted, "the executor's call carries the grant");
});

Deno.test("Attempts decrypt encrypted arguments once, before the first attempt", async () => {
  const seen = recorder((c) => c.args[0]);
  const s = attempts({ inline: seen.executor }, {
    decrypt: (v) => Promise.resolve(v.replace("enc:v1:", "plain-")),
  });
  const node = s.graph.call(task("use", (_s: string) => 0), ["enc:v1:abc"]);
  while (node.state < 3) await tick();
  assert.equal(node.value, "plain-abc");
});

Deno.test("Attempts pass the context to the executor's call", async () => {
  let ctx: TaskContext | undefined;
  const s = attempts({ inline: recorder((c) => (ctx = c.context, 1)).executor });
  s.graph.call(task("who", () => 0), [], { id: "me" });
  await tick();
  assert.equal(ctx?.taskId, "me");
  assert.equal(ctx?.name, "who");
  assert.equal(ctx?.runId, "r");
});

Deno.test("Attempts look the cache up first: a hit settles the call as cached, without an attempt", async () => {
  const cache = new MemoryCache();
  const run = recorder(() => "computed");
  const t = task({ name: "c", cache: true }, (_n: number) => 0);
  const first = attempts({ inline: run.executor }, {}, cache);
  const a = first.graph.call(t, [1]);
  while (a.state < 3) await tick();
  const second = attempts({ inline: run.executor }, {}, cache);
  const b = second.graph.call(t, [1]);
  while (b.state < 3) await tick();
  assert.equal(run.calls.length, 1);
  assert.equal(STATUS[b.state], "cached");
  assert.equal(b.value, "computed");
  assert.equal(b.attempts, 0);
  assert.equal(b.cacheKey, a.cacheKey);
});
