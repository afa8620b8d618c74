// Replay catches what changed: a resumed body that calls a task with other arguments, or its
// tasks in another order, fails with NonDeterminismError naming the call and the change,
// instead of handing the old results to calls they no longer belong to.
import assert from "node:assert/strict";
import {
  flow,
  type JournalEvent,
  MemoryStore,
  NonDeterminismError,
  type RunRecord,
  SqliteStore,
  type Store,
  task,
} from "../../mod.ts";
import { argsHash, isGeneratedId, ReplayCheck, restoredCalls } from "../../src/engine/replay.ts";
import { journalEvents, journalText } from "../../src/store/_journal_codec.ts";

const none = () => undefined;

Deno.test("isGeneratedId() tells ids made from the name from explicit ones", () => {
  assert.ok(isGeneratedId("load", "load"));
  assert.ok(isGeneratedId("load#12", "load"));
  assert.ok(!isGeneratedId("load#x", "load"));
  assert.ok(!isGeneratedId("load[0]", "load"));
  assert.ok(!isGeneratedId("mine", "load"));
});

Deno.test("argsHash() hashes each argument, with references as their ids", () => {
  class Ref {
    constructor(readonly id: string) {}
  }
  const refId = (v: object) => v instanceof Ref ? v.id : undefined;
  const h = argsHash([1, new Ref("a"), { y: [new Ref("b")], x: "s" }], refId).split(" ");
  assert.equal(h.length, 3);
  assert.equal(h[1], "&a", "a reference is its id");
  // Ids may hold commas and ampersands; no id holds a space.
  assert.deepEqual(argsHash([new Ref("x,&y"), 2], refId).split(" ")[0], "&x,&y");
  assert.equal(argsHash([new Ref("a")], refId), h[1], "one hash per argument");
  assert.notEqual(argsHash([new Ref("a")], refId), argsHash([new Ref("b")], refId));
  assert.notEqual(argsHash([new Ref("a")], refId), argsHash(["a"], refId), "a ref is not its id");
  assert.notEqual(argsHash([{ $ref: "a" }], refId), argsHash([new Ref("a")], refId));
  assert.equal(argsHash([{ a: 1, b: undefined }], none), argsHash([{ a: 1 }], none));
  assert.notEqual(argsHash([null], none), argsHash([undefined], none));
});

function check(
  restore: Map<
    string,
    { name: string; value: unknown; attempts: number; argsHash?: string; call?: number }
  >,
) {
  return new ReplayCheck("r", restore, none);
}
const callOf = (id: string, args: unknown[], group: unknown = null) => ({
  id,
  config: { name: id.replace(/[#\[].*$/, "") },
  args,
  group,
  map: null,
});

Deno.test("ReplayCheck names the argument that changed", () => {
  const restore = new Map([["load#2", {
    name: "load",
    value: 1,
    attempts: 1,
    argsHash: argsHash(["users", 10], none),
  }]]);
  const c = check(restore);
  c.check(callOf("load", [])); // not restored: it runs
  assert.throws(() => c.check(callOf("load#2", ["users", 11])), (e) => {
    assert.ok(e instanceof NonDeterminismError);
    assert.equal(e.taskId, "load#2");
    assert.equal(e.change, 'call "load#2" was called with different arguments: args[1] changed');
    return true;
  });
  assert.throws(
    () => check(restore).check(callOf("load#2", ["users"])),
    /it was called with 2 arguments, now 1/,
  );
  assert.equal(check(restore).check(callOf("load#2", ["users", 10]))?.value, 1);
});

Deno.test("ReplayCheck names a map item whose item changed", () => {
  const restore = new Map([["sq[1]", {
    name: "sq",
    value: 4,
    attempts: 1,
    argsHash: argsHash([2], none),
  }]]);
  assert.throws(
    () => check(restore).check(callOf("sq[1]", [3], {})),
    /call "sq\[1\]" was called with a different item than when the run began/,
  );
});

Deno.test("ReplayCheck catches calls made in another order", () => {
  const restore = new Map([
    ["a", { name: "a", value: 1, attempts: 1, call: 0 }],
    ["b", { name: "b", value: 2, attempts: 1, call: 1 }],
  ]);
  const c = check(restore);
  assert.throws(() => c.check(callOf("b", [])), /the body called "b" where the run called "a"/);
  // Explicit ids name a call whatever its place: they are not counted.
  const d = check(restore);
  d.check({ ...callOf("x", []), config: { name: "other" } });
  assert.equal(d.check(callOf("a", []))?.value, 1);
});

Deno.test("restoredCalls() keeps succeeded calls with their place and hash, not reset ones", () => {
  const restore = restoredCalls([
    {
      taskId: "a",
      name: "a",
      kind: "task",
      status: "succeeded",
      result: 1,
      attempts: 1,
      argsHash: "h",
    },
    { taskId: "m", name: "m", kind: "map", status: "succeeded", attempts: 1 },
    {
      taskId: "m[0]",
      name: "m",
      kind: "task",
      status: "cached",
      result: 2,
      attempts: 0,
      group: "m",
    },
    { taskId: "b", name: "b", kind: "task", status: "failed", attempts: 2 },
    { taskId: "c", name: "c", kind: "task", status: "succeeded", result: 3, attempts: 1 },
    { taskId: "mine", name: "c", kind: "task", status: "succeeded", result: 4, attempts: 1 },
  ], new Set(["c"]));
  assert.deepEqual([...restore.keys()], ["a", "m[0]", "mine"]);
  assert.deepEqual(restore.get("a"), { name: "a", value: 1, attempts: 1, call: 0, argsHash: "h" });
  assert.equal(restore.get("m[0]")?.call, undefined);
  assert.equal(restore.get("mine")?.call, undefined);
});

Deno.test("task.created keeps its compact form in the journal with the hash", () => {
  const e: JournalEvent = {
    type: "task.created",
    runId: "r",
    time: 5,
    taskId: "load#2",
    name: "load",
    needs: ["a"],
    kind: "task",
    argsHash: "1abc &load",
  };
  const text = journalText([e, { ...e, group: "g" }, { ...e, argsHash: undefined }]);
  assert.ok(!text.includes('"argsHash"'), text);
  const back = journalEvents("r", text, 2);
  assert.equal(back[0].type === "task.created" && back[0].argsHash, "1abc &load");
  assert.equal(back[1].type === "task.created" && back[1].group, "g");
  assert.equal(back[2].type === "task.created" && back[2].argsHash, undefined);
});

// ---- through a store, as resume does ----

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "orchestra-replay-" });
  dirs.push(dir);
  return dir;
}
globalThis.addEventListener("unload", () => {
  for (const d of dirs) Deno.removeSync(d, { recursive: true });
});

const load = task("load", (table: string) => `rows of ${table}`);
const save = task("save", (..._rows: unknown[]) => "saved");
const boom = task("boom", (..._x: unknown[]): string => {
  throw new Error("not yet");
});

async function resumeWith(
  store: Store,
  body: (f: unknown) => unknown,
  changed: (f: unknown) => unknown,
): Promise<{ first: RunRecord; second: RunRecord; ran: string[] }> {
  const first = await flow("replayed", body as never).run({}, { journal: store });
  const ran: string[] = [];
  await store.reopenRun(first.runId, {});
  const restore = restoredCalls(await store.getTasks(first.runId));
  const second = await flow("replayed", changed as never).run({}, {
    runId: first.runId,
    journal: store,
    restore,
    onEvent: (e) => e.type === "task.started" && ran.push(e.taskId),
  });
  return { first, second, ran };
}

for (
  const [name, open] of [
    ["memory", () => Promise.resolve(new MemoryStore())],
    ["sqlite", async () => await SqliteStore.open(await tempDir())],
  ] as const
) {
  Deno.test(`a resumed body calling a task with other arguments fails (${name} store)`, async () => {
    const store: Store = await open();
    try {
      const { first, second, ran } = await resumeWith(
        store,
        () => boom(save(load("users"), load("orders"))),
        () => boom(save(load("users"), load("invoices"))),
      );
      assert.equal(first.status, "failed");
      assert.equal(second.status, "failed");
      assert.match(
        second.error!,
        /Run "[^"]+" cannot be replayed: call "load#2" was called with different arguments: args\[0\] changed/,
      );
      assert.deepEqual(ran, [], "nothing ran: the old results were not handed out");
    } finally {
      await store.close();
    }
  });

  Deno.test(`a resumed body calling its tasks in another order fails (${name} store)`, async () => {
    const store: Store = await open();
    try {
      const { second } = await resumeWith(
        store,
        () => boom(load("users"), save(1)),
        () => boom(save(1), load("users")),
      );
      assert.equal(second.status, "failed");
      assert.match(second.error!, /the body called "save" where the run called "load"/);
    } finally {
      await store.close();
    }
  });

  Deno.test(`an unchanged resumed body restores its calls (${name} store)`, async () => {
    const store: Store = await open();
    try {
      const body = () => boom(save(load("users"), load("orders")));
      const { second, ran } = await resumeWith(store, body, body);
      assert.equal(second.status, "failed");
      assert.match(second.error!, /not yet/);
      assert.deepEqual(ran, ["boom"], "only the failed call runs again");
    } finally {
      await store.close();
    }
  });
}
