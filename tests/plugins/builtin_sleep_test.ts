import assert from "node:assert/strict";
import plugin from "../../plugins/sleep.ts";
import {
  invokePlugin,
  parsePluginParams,
  type PluginDefinition,
  pluginManifest,
  pluginPermissions,
} from "../../src/plugins/contract.ts";
import type { TaskContext } from "../../src/engine/types.ts";

// The contract's functions take untyped plugins.
const sleep = plugin as unknown as PluginDefinition;

// A task context whose sleep records the waits and honours the signal, like the engine's.
function fakeContext(signal = new AbortController().signal) {
  const waits: number[] = [];
  const ctx: TaskContext = {
    runId: "run-1",
    flow: "test",
    taskId: "pause",
    name: "pause",
    attempt: 1,
    params: {},
    signal,
    log: { debug() {}, info() {}, warn() {}, error() {} },
    sleep: (ms) => {
      waits.push(ms);
      return signal.aborted ? Promise.reject(signal.reason) : Promise.resolve();
    },
    secret: (name) => {
      throw new Error(`no secret ${name}`);
    },
  };
  return { ctx, waits };
}

Deno.test("sleep waits on the task's clock for the duration given, and returns it in ms", async () => {
  for (
    const [duration, ms] of [["1.5s", 1500], ["2m", 120_000], [250, 250], ["1h30m", 5_400_000]]
  ) {
    const { ctx, waits } = fakeContext();
    assert.equal(await invokePlugin(sleep, { duration }, {}, ctx), ms);
    assert.deepEqual(waits, [ms]);
  }
});

Deno.test("sleep fails with the abort reason when the run is cancelled", async () => {
  const controller = new AbortController();
  controller.abort(new Error("run cancelled"));
  const { ctx } = fakeContext(controller.signal);
  await assert.rejects(invokePlugin(sleep, { duration: "10s" }, {}, ctx), /run cancelled/);
});

Deno.test("sleep's params: a duration is required and must parse", () => {
  assert.deepEqual(parsePluginParams(sleep, { duration: "90s" }), {
    ok: true,
    value: { duration: "90s" },
  });
  const bad = parsePluginParams(sleep, { duration: "soon" });
  assert.equal(bad.ok, false);
  assert.deepEqual(!bad.ok && bad.problems.map((p) => p.path), [["duration"]]);
  assert.match(!bad.ok ? bad.problems[0].message : "", /Invalid duration "soon"/);
  const negative = parsePluginParams(sleep, { duration: -1 });
  assert.equal(negative.ok, false);
  assert.equal(parsePluginParams(sleep, {}).ok, false, "duration is required");
  assert.equal(parsePluginParams(sleep, { duration: 1, extra: 1 }).ok, false, "unknown param");
});

Deno.test("sleep is pure: no permissions, documented, with a params table", () => {
  const m = pluginManifest(sleep);
  assert.equal(m.pure, true);
  assert.deepEqual(m.permissions, {});
  assert.deepEqual(pluginPermissions(sleep, { duration: "1s" }), {});
  assert.ok(m.docs && m.example && m.result);
  const props = m.params.properties as Record<string, { description?: string }>;
  assert.match(props.duration.description!, /duration/);
  assert.deepEqual(m.params.required, ["duration"]);
});
