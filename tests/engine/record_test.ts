import assert from "node:assert/strict";
import { task } from "../../mod.ts";
import { normalizeTaskOptions } from "../../src/core/model.ts";
import { CACHED, FAILED, Node, SKIPPED, SUCCEEDED } from "../../src/engine/node.ts";
import { iso, runRecord, taskRecord } from "../../src/engine/record.ts";

function node(id: string, state: number): Node {
  const def = task("t", () => 1);
  const n = new Node(id, 0, def, normalizeTaskOptions(def.options).config, 0);
  n.state = state;
  return n;
}

Deno.test("taskRecord() keeps what a settled call tells", () => {
  const ok = node("t", SUCCEEDED);
  ok.value = { n: 1 };
  ok.attempts = 2;
  ok.startedAt = 0;
  ok.finishedAt = 1000;
  assert.deepEqual(taskRecord(ok), {
    id: "t",
    name: "t",
    status: "succeeded",
    attempts: 2,
    startedAt: iso(0),
    finishedAt: iso(1000),
    result: { n: 1 },
  });
  const failed = node("t#2", FAILED);
  failed.error = new Error("boom");
  assert.equal(taskRecord(failed).error, "boom");
  const skipped = node("t#3", SKIPPED);
  skipped.reason = 'upstream "t" failed';
  assert.equal(taskRecord(skipped).reason, 'upstream "t" failed');
  const cached = node("t#4", CACHED);
  cached.cacheKey = "t:abc";
  cached.value = 1;
  assert.deepEqual([taskRecord(cached).status, taskRecord(cached).cacheKey], ["cached", "t:abc"]);
});

Deno.test("runRecord() lists map groups followed by their items, and the result if it succeeded", () => {
  const group = node("sq", SUCCEEDED);
  const items = [node("sq[0]", SUCCEEDED), node("sq[1]", SUCCEEDED)];
  for (const i of items) i.group = group;
  group.map = {
    items,
    left: 0,
    limit: Infinity,
    running: 0,
    parked: null,
    maxItems: 10,
    select: null,
  };
  const after = node("after", SUCCEEDED);
  const run = { runId: "r", flow: "f", params: {}, startedAt: 0, finishedAt: 5, result: 9 };
  const record = runRecord(run, [group, ...items, after], "succeeded");
  assert.deepEqual(record.tasks.map((t) => t.id), ["sq", "sq[0]", "sq[1]", "after"]);
  assert.equal(record.tasks[0].items, 2);
  assert.equal(record.tasks[1].group, "sq");
  assert.equal(record.result, 9);
  assert.equal(runRecord(run, [], "failed", "why").result, undefined);
  assert.equal(runRecord(run, [], "failed", "why").error, "why");
});
