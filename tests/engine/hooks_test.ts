import assert from "node:assert/strict";
import type { TaskContext } from "../../mod.ts";
import { HookRunner } from "../../src/engine/hooks.ts";
import { log } from "./_parts.ts";

const ctx = { taskId: "t" } as TaskContext;

Deno.test("HookRunner is slow only with task hooks or middleware", () => {
  assert.equal(new HookRunner([{ onFlowStart() {} }, undefined], [], log).slow, false);
  assert.equal(new HookRunner([{ afterTask() {} }], [], log).slow, true);
  assert.equal(new HookRunner([], [(_c, next) => next()], log).slow, true);
});

Deno.test("HookRunner.around() runs beforeTask, then the middleware outermost first", async () => {
  const order: string[] = [];
  const hooks = new HookRunner([{ beforeTask: () => void order.push("before") }], [
    async (
      _c,
      next,
    ) => (order.push("outer in"), await next().finally(() => order.push("outer out"))),
    async (_c, next) => (order.push("inner in"), await next()),
  ], log);
  const value = await hooks.around(ctx, () => (order.push("task"), 5));
  assert.equal(value, 5);
  assert.deepEqual(order, ["before", "outer in", "inner in", "task", "outer out"]);
});

Deno.test("HookRunner logs a failing hook and carries on; settled() waits for late hooks", async () => {
  let late = false;
  const hooks = new HookRunner(
    [
      {
        afterTask: () => {
          throw new Error("bad hook");
        },
      },
      { afterTask: () => new Promise<void>((r) => setTimeout(() => (late = true, r()), 5)) },
    ],
    [],
    log,
  );
  hooks.afterTask(ctx, 1);
  assert.equal(late, false);
  await hooks.settled();
  assert.equal(late, true);
});

Deno.test("HookRunner.flowEnd() calls the hook for how the run ended", async () => {
  const seen: string[] = [];
  const hooks = new HookRunner(
    [{
      onFlowSuccess: () => void seen.push("success"),
      onFlowFailure: () => void seen.push("failure"),
      onFlowCancel: () => void seen.push("cancel"),
    }],
    [],
    log,
  );
  for (const s of ["succeeded", "failed", "cancelled"] as const) {
    await hooks.flowEnd(s, {} as never);
  }
  assert.deepEqual(seen, ["success", "failure", "cancel"]);
});
