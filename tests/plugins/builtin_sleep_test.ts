import assert from "node:assert/strict";
import sleep from "../../plugins/sleep.ts";
import {
  parsePluginParams,
  type PluginDefinition,
  pluginManifest,
  pluginPermissions,
} from "../../src/plugins/contract.ts";
import { FakeClock, runPlugin } from "../../testing.ts";

// pluginManifest() and pluginPermissions() take a PluginDefinition<Record<string, unknown>>,
// which a plugin whose params type is an interface (no index signature) is not: they need a cast.
const untyped = sleep as unknown as PluginDefinition;

Deno.test("sleep waits on the task's clock for the duration given, and returns it in ms", async () => {
  for (
    const [duration, ms] of [["1.5s", 1500], ["2m", 120_000], [250, 250], ["1h30m", 5_400_000]]
  ) {
    const clock = new FakeClock();
    const { result } = await runPlugin(sleep, { duration }, { clock });
    assert.equal(result, ms);
    assert.deepEqual(clock.requested, [ms]);
  }
});

Deno.test("sleep fails with the abort reason when the run is cancelled", async () => {
  const controller = new AbortController();
  controller.abort(new Error("run cancelled"));
  await assert.rejects(
    runPlugin(sleep, { duration: "10s" }, { signal: controller.signal }),
    /run cancelled/,
  );
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
  const m = pluginManifest(untyped);
  assert.equal(m.pure, true);
  assert.deepEqual(m.permissions, {});
  assert.deepEqual(pluginPermissions(untyped, { duration: "1s" }), {});
  assert.ok(m.docs && m.example && m.result);
  const props = m.params.properties as Record<string, { description?: string }>;
  assert.match(props.duration.description!, /duration/);
  assert.deepEqual(m.params.required, ["duration"]);
});
