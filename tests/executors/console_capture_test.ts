import assert from "node:assert/strict";
import { AsyncLocalStorage } from "node:async_hooks";
import { captureConsole, type ConsoleSink } from "../../src/executors/console_capture.ts";

function sink(lines: string[], name: string): ConsoleSink {
  return {
    debug: (m) => lines.push(`${name} debug ${m}`),
    info: (m) => lines.push(`${name} info ${m}`),
    warn: (m) => lines.push(`${name} warning ${m}`),
    error: (m) => lines.push(`${name} error ${m}`),
  };
}

Deno.test("captureConsole() routes each line to the task whose code wrote it, across awaits", async () => {
  const current = new AsyncLocalStorage<ConsoleSink>();
  const lines: string[] = [];
  const original = console.log;
  const release = captureConsole({
    current: () => current.getStore(),
    fallback: (level, m) => lines.push(`host ${level} ${m}`),
  });
  try {
    await Promise.all(["a", "b"].map((name) =>
      current.run(sink(lines, name), async () => {
        console.log("start %s", name);
        await new Promise((r) => setTimeout(r, 1));
        console.warn({ name });
        console.debug("debug");
      })
    ));
    console.error("between tasks");
  } finally {
    release();
  }
  assert.equal(console.log, original, "the console is restored");
  assert.deepEqual(lines.sort(), [
    "a debug debug",
    "a info start a",
    "a warning { name: 'a' }",
    "b debug debug",
    "b info start b",
    "b warning { name: 'b' }",
    "host error between tasks",
  ]);
});

Deno.test("captureConsole() nests: the newest capture routes until released, the last one restores", () => {
  const lines: string[] = [];
  const original = console.info;
  const outer = captureConsole({
    current: () => undefined,
    fallback: (_, m) => lines.push(`outer ${m}`),
  });
  const inner = captureConsole({
    current: () => undefined,
    fallback: (_, m) => lines.push(`inner ${m}`),
  });
  console.info("one");
  inner();
  console.info("two");
  outer();
  assert.equal(console.info, original);
  assert.deepEqual(lines, ["inner one", "outer two"]);
});

Deno.test("captureConsole() gives a sink that writes to the console the real one, not a loop", () => {
  const seen: string[] = [];
  const original = console.log;
  console.log = (...a: unknown[]) => void seen.push(`real ${a.join(" ")}`);
  try {
    const release = captureConsole({
      current: () => undefined,
      fallback: (_, m) => console.log(`routed: ${m}`),
    });
    console.log("hello");
    release();
  } finally {
    console.log = original;
  }
  assert.deepEqual(seen, ["real routed: hello"]);
});
