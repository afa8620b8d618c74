import assert from "node:assert/strict";
import { task } from "../../mod.ts";
import type { RunEvent } from "../../src/core/events.ts";
import { type ContextScope, Ctx } from "../../src/engine/context.ts";
import { FakeClock } from "../../src/engine/clock.ts";
import { RunEvents } from "../../src/engine/journal.ts";
import { Node } from "../../src/engine/node.ts";
import { RunSecrets } from "../../src/engine/secrets.ts";
import { normalizeTaskOptions } from "../../src/core/model.ts";
import { log } from "./_parts.ts";

function setup() {
  const events: RunEvent[] = [];
  const def = task({ name: "t", secrets: ["TOKEN"] }, () => 1);
  const { config } = normalizeTaskOptions(def.options);
  const node = new Node("t#2", 0, def, config, 0);
  const scope: ContextScope = {
    runId: "r",
    flow: "f",
    params: { n: 1 },
    clock: new FakeClock(0),
    secrets: new RunSecrets(() => "tok-value"),
    events: new RunEvents((e) => events.push(e), undefined, log),
  };
  return { node, scope, events, ctx: new Ctx(scope, node, 2) };
}

Deno.test("Ctx describes the call and its attempt", () => {
  const { ctx } = setup();
  assert.deepEqual(
    [ctx.runId, ctx.flow, ctx.taskId, ctx.name, ctx.attempt, ctx.params],
    ["r", "f", "t#2", "t", 2, { n: 1 }],
  );
});

Deno.test("Ctx.abort() aborts the signal once, with the first reason", () => {
  const { ctx } = setup();
  ctx.abort("first");
  ctx.abort("second");
  assert.equal(ctx.signal.aborted, true);
  assert.equal(ctx.signal.reason, "first");
});

Deno.test("Ctx.log keeps lines with the task, masks secrets and emits task.log", () => {
  const { ctx, node, events } = setup();
  const token = ctx.secret("TOKEN");
  ctx.log.info(`using ${token} {not a template}`, { token });
  assert.equal(node.logs?.[0].message, "using *** {not a template}");
  assert.deepEqual(node.logs?.[0].props, { token: "***" });
  const e = events.find((e) => e.type === "task.log");
  assert.equal(e && "message" in e ? e.message : "", "using *** {not a template}");
});

Deno.test("Ctx.sleep() waits on the run's clock and rejects when aborted", async () => {
  const { ctx, scope } = setup();
  await ctx.sleep(60_000);
  assert.equal(scope.clock.now(), 60_000);
  const pending = ctx.sleep(1000);
  ctx.abort(new Error("stop"));
  await assert.rejects(pending, /stop/);
});
