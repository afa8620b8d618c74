import assert from "node:assert/strict";
import plugin from "../../plugins/log.ts";
import {
  invokePlugin,
  parsePluginParams,
  type PluginDefinition,
  pluginManifest,
  pluginPermissions,
} from "../../src/plugins/contract.ts";
import type { TaskContext } from "../../src/engine/types.ts";

// The contract's functions take untyped plugins.
const log = plugin as unknown as PluginDefinition;

type Line = [level: string, message: string, props?: Record<string, unknown>];

function fakeContext() {
  const lines: Line[] = [];
  const at = (level: string) => (message: string, props?: Record<string, unknown>) => {
    lines.push(props === undefined ? [level, message] : [level, message, props]);
  };
  const ctx: TaskContext = {
    runId: "run-1",
    flow: "test",
    taskId: "announce",
    name: "announce",
    attempt: 1,
    params: {},
    signal: new AbortController().signal,
    log: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") },
    sleep: () => Promise.resolve(),
    secret: (name) => {
      throw new Error(`no secret ${name}`);
    },
  };
  return { ctx, lines };
}

Deno.test("log writes the message at info level by default and returns it", async () => {
  const { ctx, lines } = fakeContext();
  assert.equal(await invokePlugin(log, { message: "fetched 3 rows" }, {}, ctx), "fetched 3 rows");
  assert.deepEqual(lines, [["info", "fetched 3 rows"]]);
});

Deno.test("log writes at the level given, with data as a structured property", async () => {
  const { ctx, lines } = fakeContext();
  for (const level of ["debug", "warn", "error"]) {
    await invokePlugin(log, { message: `at ${level}`, level, data: { rows: [1, 2] } }, {}, ctx);
  }
  assert.deepEqual(lines, [
    ["debug", "at debug", { data: { rows: [1, 2] } }],
    ["warn", "at warn", { data: { rows: [1, 2] } }],
    ["error", "at error", { data: { rows: [1, 2] } }],
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
  const m = pluginManifest(log);
  assert.equal(m.pure, true);
  assert.deepEqual(pluginPermissions(log, { message: "x" }), {});
  const props = m.params.properties as Record<string, { default?: unknown; enum?: string[] }>;
  assert.equal(props.level.default, "info");
  assert.deepEqual(props.level.enum, ["debug", "info", "warn", "error"]);
  assert.ok(m.docs && m.example && m.result);
  // An invalid call is refused before anything is logged.
  const { ctx, lines } = fakeContext();
  await assert.rejects(invokePlugin(log, { level: "info" }, {}, ctx), /params of plugin "log"/);
  assert.deepEqual(lines, []);
});
