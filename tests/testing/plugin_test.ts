import assert from "node:assert/strict";
import { z } from "zod";
import { definePlugin } from "../../src/plugins/contract.ts";
import { FakeClock, runPlugin, runPluginInWorker } from "../../testing.ts";

// Defined at the module's top level: a worker imports this file to run them.

/** Greets after a wait, with a secret greeting and an upstream count. */
export const greet = definePlugin({
  name: "greet",
  version: "1.0.0",
  description: "Greets someone after a wait.",
  params: {
    type: "object",
    properties: {
      who: { type: "string" },
      waitMs: { type: "number", default: 600_000 },
    },
    required: ["who"],
    additionalProperties: false,
  },
  run: async (p: { who: string; waitMs: number }, ctx) => {
    await ctx.sleep(p.waitMs);
    ctx.log.info(`waited ${p.waitMs} ms`);
    ctx.log.warn("about to greet", { who: p.who });
    return {
      text: `${ctx.secret("GREETING")}, ${p.who}`,
      upstream: ctx.inputs.count ?? null,
      where: { runId: ctx.runId, taskId: ctx.taskId, attempt: ctx.attempt },
    };
  },
});

/** Reads `path`, which it declares; `peek`, which it does not, is read too when given. */
export const readText = definePlugin({
  name: "read_text",
  version: "1.0.0",
  description: "Reads a text file.",
  params: z.object({ path: z.string(), peek: z.string().optional() }),
  permissions: (p) => ({ read: [p.path] }),
  run: async (p, ctx) => {
    ctx.log.info(`reading ${p.path}`);
    console.log("console output is captured too");
    const text = await Deno.readTextFile(p.path);
    const peeked = p.peek === undefined ? null : await Deno.readTextFile(p.peek);
    return { text, peeked };
  },
});

Deno.test("runPlugin() applies param defaults, fakes sleep and captures the logs", async () => {
  const clock = new FakeClock(0);
  const run = await runPlugin(greet, { who: "Ada" }, {
    secrets: { GREETING: "Hello" },
    inputs: { count: 3 },
    clock,
    runId: "r-1",
    taskId: "hello",
    attempt: 2,
  });
  assert.deepEqual(run.result, {
    text: "Hello, Ada",
    upstream: 3,
    where: { runId: "r-1", taskId: "hello", attempt: 2 },
  });
  assert.deepEqual(run.logs, [
    { level: "info", message: "waited 600000 ms" },
    { level: "warning", message: "about to greet", props: { who: "Ada" } },
  ]);
  assert.deepEqual(clock.requested, [600_000], "the default wait, on the fake clock");
  assert.equal(clock.now(), 600_000);
  assert.equal(run.error, undefined);
});

Deno.test("runPlugin() rejects invalid params with every problem, or returns them", async () => {
  await assert.rejects(
    runPlugin(greet, { waitMs: "soon", extra: 1 }),
    (e: Error) => {
      assert.equal(e.name, "TypeError");
      assert.match(e.message, /Task "greet": params of plugin "greet" are invalid/);
      assert.match(e.message, /missing required param "who"/);
      assert.match(e.message, /unknown param "extra"/);
      assert.match(e.message, /waitMs: must be number/);
      return true;
    },
  );
  const run = await runPlugin(greet, {}, { throwOnError: false });
  assert.equal(run.result, undefined);
  assert.match(String(run.error), /missing required param "who"/);
  assert.deepEqual(run.logs, []);
});

Deno.test("runPlugin() keeps the lines logged before a failure when not throwing", async () => {
  const run = await runPlugin(greet, { who: "Ada", waitMs: 0 }, { throwOnError: false });
  assert.match(String(run.error), /Plugin "greet" read secret "GREETING", which the test did not/);
  assert.match(String(run.error), /pass it: .*secrets: \{ "GREETING": "…" \}/);
  assert.deepEqual(run.logs.map((l) => l.message), ["waited 0 ms", "about to greet"]);
});

Deno.test("runPlugin() passes its signal: aborting stops a sleeping plugin", async () => {
  const controller = new AbortController();
  // A clock whose timers never fire: only the abort can end the sleep.
  const frozen = { now: () => 0, setTimer: () => () => {} };
  const running = runPlugin(greet, { who: "Ada" }, {
    signal: controller.signal,
    clock: frozen,
    secrets: { GREETING: "Hi" },
  });
  controller.abort(new Error("test is over"));
  await assert.rejects(running, /test is over/);
});

Deno.test("runPlugin() runs a plugin here, without enforcing its permissions", async () => {
  const file = await Deno.makeTempFile();
  const other = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(file, "mine");
    await Deno.writeTextFile(other, "not mine");
    const run = await runPlugin(readText, { path: file, peek: other });
    assert.deepEqual(run.result, { text: "mine", peeked: "not mine" });
  } finally {
    await Deno.remove(file);
    await Deno.remove(other);
  }
});

Deno.test("runPluginInWorker() grants exactly the declared permissions", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/in.txt`;
    const other = `${dir}/secret.txt`;
    await Deno.writeTextFile(file, "hello");
    await Deno.writeTextFile(other, "top secret");

    const ok = await runPluginInWorker(readText, { path: file });
    assert.deepEqual(ok.result, { text: "hello", peeked: null });
    assert.deepEqual(ok.logs, [
      { level: "info", message: `reading ${file}` },
      { level: "info", message: "console output is captured too" },
    ]);

    // The same plugin, reading a file it did not declare: denied in the worker.
    const denied = await runPluginInWorker(readText, { path: file, peek: other }, {
      throwOnError: false,
    });
    assert.equal(denied.result, undefined);
    const error = denied.error as Error;
    assert.equal(error.name, "NotCapable");
    assert.match(error.message, new RegExp(`Requires read access to "${other}"`));
    assert.match(
      error.message,
      /task "read_text" was not granted it: it asked for read of .*secret\.txt and was granted read: .*in\.txt; add it/,
    );
    assert.deepEqual(denied.logs.map((l) => l.message), [
      `reading ${file}`,
      "console output is captured too",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runPluginInWorker() runs with a given grant instead; rejects by default", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/in.txt`;
    await Deno.writeTextFile(file, "hello");
    await assert.rejects(
      runPluginInWorker(readText, { path: file }, { grant: {}, taskId: "load" }),
      (e: Error) => {
        assert.equal(e.name, "NotCapable");
        assert.match(e.message, /Requires read access/);
        assert.match(
          e.message,
          /task "load" was not granted it: it asked for read of .*in\.txt and was granted no read access; add/,
        );
        return true;
      },
    );
    const broad = await runPluginInWorker(readText, { path: file, peek: file }, {
      grant: { read: [dir] },
    });
    assert.deepEqual(broad.result, { text: "hello", peeked: "hello" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runPluginInWorker() passes secrets, inputs and ids; validates params", async () => {
  const run = await runPluginInWorker(greet, { who: "Alan", waitMs: 1 }, {
    secrets: { GREETING: "Hey" },
    inputs: { count: 7 },
    runId: "r-9",
  });
  assert.deepEqual(run.result, {
    text: "Hey, Alan",
    upstream: 7,
    where: { runId: "r-9", taskId: "greet", attempt: 1 },
  });
  await assert.rejects(
    runPluginInWorker(greet, { who: 42 }),
    /params of plugin "greet" are invalid: who: must be string/,
  );
});

Deno.test("runPluginInWorker() refuses a plugin not defined at a module's top level", async () => {
  const local = (() =>
    definePlugin({
      name: "local",
      version: "1.0.0",
      description: "Made inside a function.",
      run: () => 1,
    }))();
  await assert.rejects(
    runPluginInWorker(local, {}),
    (e: Error) =>
      e instanceof TypeError &&
      /plugin "local" cannot run in a worker: it was not defined at the top level/.test(
        e.message,
      ),
  );
  // In this process it runs all the same.
  assert.equal((await runPlugin(local, {})).result, 1);
});
