import assert from "node:assert/strict";
import { flow, FlowValidationError, OrchestraError, planFlow, task, usePlugin } from "../../mod.ts";
import reader from "./_reader_plugin.ts";

Deno.test("usePlugin runs a pure built-in inline, by name", async () => {
  const count = task("count", () => 3);
  const f = flow("builtin", () => usePlugin("end", {}, { id: "done", inputs: { n: count() } }));
  const record = await f.run();
  assert.equal(record.status, "succeeded", record.error);
  assert.deepEqual(record.result, { n: 3 });
  assert.deepEqual(record.tasks.map((t) => t.id), ["count", "done"]);
});

Deno.test("usePlugin runs a plugin in a worker with the permissions it asked for", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/a.txt`, "alpha");
    await Deno.writeTextFile(`${dir}/b.txt`, "beta");
    const suffix = task("suffix", () => "!");
    const f = flow("reads", () => {
      const a = usePlugin(reader, { path: `${dir}/a.txt`, suffix: suffix() }, { id: "a" });
      return usePlugin(reader, { path: `${dir}/b.txt` }, { id: "b", inputs: { a } });
    });
    const record = await f.run();
    assert.equal(record.status, "succeeded", record.error);
    assert.deepEqual(record.result, {
      text: "beta",
      inputs: { a: { text: "alpha!", inputs: {} } },
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a plugin granted less than it needs fails with a permission error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/a.txt`, "alpha");
    const f = flow("narrow", () =>
      usePlugin(reader, { path: `${dir}/a.txt` }, {
        id: "a",
        permissions: { read: [`${dir}/other`] },
      }));
    const record = await f.run();
    assert.equal(record.status, "failed");
    assert.match(record.tasks[0].error!, /Requires read access to .*a\.txt/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("usePlugin says what is wrong: unknown name, outside a flow, permissions unknown", async () => {
  // @ts-expect-error: not a built-in's name (a type error too, and at run time for JavaScript)
  const unknown = await flow("x", () => usePlugin("ennd", {})).run();
  assert.equal(unknown.status, "failed");
  assert.match(unknown.error!, /unknown built-in plugin "ennd" \(did you mean "end"\?\)/);
  assert.throws(() => usePlugin("end", {}), OrchestraError);
  const path = task("path", () => "/tmp/x");
  const record = await flow("refs", () => usePlugin(reader, { path: path() })).run().catch((e) =>
    e
  );
  const message = record instanceof Error ? record.message : record.error;
  assert.match(message, /cannot say which permissions it needs .*pass \{ permissions/);
});

Deno.test("params known when the flow is planned are checked then, at the call", async () => {
  const f = flow("bad", () => {
    usePlugin(reader, { path: 3 as unknown as string, sufix: "!" } as never, {
      permissions: { read: ["/tmp"] },
    });
  });
  const graph = await planFlow(f, {});
  assert.deepEqual(graph.issues.map((i) => i.message), [
    'Task "reader": plugin "reader" params at path: Invalid input: expected string, received number',
  ]);
  assert.match(graph.issues[0].location!.file, /plugin_test\.ts$/);
  await assert.rejects(f.run(), FlowValidationError);
});

Deno.test("params that come from other tasks are checked when the plugin runs", async () => {
  const three = task("three", () => 3);
  const f = flow("late", () =>
    usePlugin(reader, { path: three() as unknown as string }, {
      permissions: { read: ["/tmp"] },
    }));
  const record = await f.run();
  assert.equal(record.status, "failed");
  const failed = record.tasks.find((t) => t.id === "reader")!;
  assert.match(failed.error!, /params of plugin "reader" are invalid: path: /);
});
