import assert from "node:assert/strict";
import { context, flow, task, type TaskContext } from "../../mod.ts";
import {
  type Executor,
  ExecutorRegistry,
  InlineExecutor,
  type TaskCall,
} from "../../src/engine/executor.ts";

function call(fn: (...a: never[]) => unknown, args: unknown[], ctx = {} as TaskContext): TaskCall {
  return {
    id: "t",
    task: task("t", fn),
    config: {} as never,
    args,
    context: ctx,
    grant: undefined,
  };
}

Deno.test("InlineExecutor calls the function with the context after the arguments", () => {
  const inline = new InlineExecutor();
  const ctx = { taskId: "t" } as TaskContext;
  for (let n = 0; n <= 5; n++) {
    const args = Array.from({ length: n }, (_, i) => i);
    const got = inline.run(call((...a: unknown[]) => a, args, ctx)) as unknown[];
    assert.deepEqual(got.slice(0, n), args);
    assert.equal(got[n], ctx);
  }
});

Deno.test("InlineExecutor returns a synchronous result as it is, and a promise as a promise", () => {
  const inline = new InlineExecutor();
  assert.equal(inline.run(call(() => 7, [])), 7);
  assert.ok(inline.run(call(() => Promise.resolve(7), [])) instanceof Promise);
});

Deno.test("a contextual InlineExecutor makes the context reachable through context()", () => {
  const ctx = { taskId: "deep" } as TaskContext;
  const got = new InlineExecutor(true).run(call(() => context().taskId, [], ctx));
  assert.equal(got, "deep");
  assert.throws(
    () => new InlineExecutor(false).run(call(() => context(), [], ctx)),
    /outside a running task/,
  );
});

Deno.test("ExecutorRegistry makes provided executors on first use and closes only those", async () => {
  const closed: string[] = [];
  const given: Executor = { run: () => 1, close: () => (closed.push("given"), Promise.resolve()) };
  const registry = new ExecutorRegistry({ inline: given });
  let made = 0;
  registry.provide("inline", () => ({ run: () => 2 })); // the given one wins
  registry.provide("worker", () => (made++, {
    run: () => 3,
    close: () => (closed.push("made"), Promise.resolve()),
  }));
  assert.equal(made, 0);
  assert.equal(registry.get("inline"), given);
  assert.equal(registry.get("worker"), registry.get("worker"));
  assert.equal(made, 1);
  assert.equal(registry.get("remote"), undefined);
  await registry.close();
  assert.deepEqual(closed, ["made"]);
});

Deno.test("a run's executors option adds a way to run tasks without touching the scheduler", async () => {
  const seen: string[] = [];
  const remote: Executor = {
    run(c) {
      seen.push(`${c.id}@${c.context.attempt}`);
      return Promise.resolve((c.args[0] as number) * 10);
    },
  };
  const far = task({ name: "far", executor: "process" }, (n: number) => n);
  const near = task("near", (n: number) => n + 1);
  const record = await flow("remote", () => near(far(4))).run({}, {
    executors: { process: remote },
  });
  assert.equal(record.status, "succeeded");
  assert.equal(record.result, 41);
  assert.deepEqual(seen, ["far@1"]);
});

Deno.test("without an executor for it, a task's executor setting is a validation error", async () => {
  const far = task({ name: "far", executor: "process" }, () => 1);
  await assert.rejects(
    () => flow("none", () => far()).run(),
    /asks for executor "process", which this build does not offer yet/,
  );
});
