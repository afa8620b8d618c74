import assert from "node:assert/strict";
import log from "../../plugins/log.ts";
import {
  parsePluginParams,
  type PluginDefinition,
  pluginManifest,
  pluginPermissions,
} from "../../src/plugins/contract.ts";
import { type PluginLogLine, runPlugin } from "../../testing.ts";

// pluginManifest() and pluginPermissions() take a PluginDefinition<Record<string, unknown>>,
// which a plugin whose params type is an interface (no index signature) is not: they need a cast.
const untyped = log as unknown as PluginDefinition;

Deno.test("log writes the message at info level by default and returns it", async () => {
  const { result, logs } = await runPlugin(log, { message: "fetched 3 rows" });
  assert.equal(result, "fetched 3 rows");
  assert.deepEqual(logs, [{ level: "info", message: "fetched 3 rows" }]);
});

Deno.test("log writes at the level given, with data as a structured property", async () => {
  const lines: PluginLogLine[] = [];
  for (const level of ["debug", "warn", "error"]) {
    const { logs } = await runPlugin(log, {
      message: `at ${level}`,
      level,
      data: { rows: [1, 2] },
    });
    lines.push(...logs);
  }
  // `ctx.log.warn` writes at the engine's "warning" level.
  assert.deepEqual(lines, [
    { level: "debug", message: "at debug", props: { data: { rows: [1, 2] } } },
    { level: "warning", message: "at warn", props: { data: { rows: [1, 2] } } },
    { level: "error", message: "at error", props: { data: { rows: [1, 2] } } },
  ]);
});

Deno.test("log's params: message is required, level is one of four", () => {
  const ok = parsePluginParams(log, { message: "hi" });
  assert.deepEqual(ok, { ok: true, value: { message: "hi", level: "info" } });
  const bad = parsePluginParams(log, { message: "hi", level: "loud" });
  assert.equal(bad.ok, false);
  assert.deepEqual(!bad.ok && bad.problems.map((p) => p.path), [["level"]]);
  assert.equal(parsePluginParams(log, {}).ok, false);
});

Deno.test("log is pure and documented; its params table has the level's default", async () => {
  const m = pluginManifest(untyped);
  assert.equal(m.pure, true);
  assert.deepEqual(pluginPermissions(untyped, { message: "x" }), {});
  const props = m.params.properties as Record<string, { default?: unknown; enum?: string[] }>;
  assert.equal(props.level.default, "info");
  assert.deepEqual(props.level.enum, ["debug", "info", "warn", "error"]);
  assert.ok(m.docs && m.example && m.result);
  // An invalid call is refused before anything is logged.
  const { error, logs } = await runPlugin(log, { level: "info" }, { throwOnError: false });
  assert.match(String(error), /params of plugin "log"/);
  assert.deepEqual(logs, []);
});
