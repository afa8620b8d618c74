import assert from "node:assert/strict";
import type { JournalEvent } from "../../src/engine/types.ts";
import { MemoryCache } from "../../src/engine/cache.ts";
import { Sealer } from "../../src/permissions/encrypted.ts";
import { SecretValues } from "../../src/permissions/secret_values.ts";
import {
  maskRecord,
  SecretCache,
  SecretJournal,
  unsealRestored,
} from "../../src/cli/secret_journal.ts";
import { MemoryStore } from "../../src/store/memory_store.ts";

const TOKEN = "t0k3n-abc";

function secrets(): SecretValues {
  const s = new SecretValues();
  s.add(TOKEN);
  return s;
}

function succeeded(taskId: string, result: unknown): JournalEvent {
  return {
    type: "task.succeeded",
    runId: "r1",
    time: 2,
    taskId,
    name: taskId,
    attempt: 1,
    durationMs: 1,
    result,
  } as JournalEvent;
}

async function journaled(sealer?: Sealer) {
  const store = new MemoryStore();
  await store.createRun({
    runId: "r1",
    flow: "f",
    status: "running",
    params: { pw: "enc:v1:abc" },
    startedAt: new Date(0).toISOString(),
  });
  const journal = new SecretJournal(store, secrets(), sealer);
  await journal.append([
    { type: "task.created", runId: "r1", time: 1, taskId: "a", name: "a", needs: [], kind: "task" },
    { type: "task.created", runId: "r1", time: 1, taskId: "b", name: "b", needs: [], kind: "task" },
    {
      type: "task.retrying",
      runId: "r1",
      time: 1,
      taskId: "a",
      name: "a",
      attempt: 1,
      delayMs: 1,
      error: `401 for ${TOKEN}`,
    },
    succeeded("a", { header: `Bearer ${TOKEN}` }),
    succeeded("b", "plain ***"),
  ]);
  return store;
}

Deno.test("SecretJournal masks every string it writes and marks a masked result", async () => {
  const store = await journaled();
  const events = (await store.events("r1")).map((e) =>
    e.event as unknown as Record<string, unknown>
  );
  assert.ok(!JSON.stringify(events).includes(TOKEN));
  assert.equal(events[2].error, "401 for ***");
  assert.equal(events[3].masked, true);
  assert.equal(events[3].sealed, undefined, "no key, nothing sealed");
  assert.equal(events[4].masked, undefined, "a result that shows *** of its own");
  const tasks = await store.getTasks("r1");
  assert.deepEqual(tasks.map((t) => t.result), [{ header: "Bearer ***" }, "plain ***"]);
});

Deno.test("unsealRestored() restores a sealed result with its secrets, and re-runs a masked one", async () => {
  const sealer = new Sealer("k");
  const restore = async (store: MemoryStore) =>
    new Map((await store.getTasks("r1")).map((t) => [t.taskId, {
      name: t.name,
      value: t.result,
      attempts: t.attempts,
    }]));
  const sealedStore = await journaled(sealer);
  const learned = new SecretValues();
  const opened = await unsealRestored(
    sealedStore,
    "r1",
    await restore(sealedStore),
    learned,
    sealer,
  );
  assert.deepEqual(opened.rerun, []);
  assert.deepEqual(opened.restore.get("a")?.value, { header: `Bearer ${TOKEN}` });
  assert.equal(opened.restore.get("b")?.value, "plain ***");
  assert.equal(learned.mask(TOKEN), "***", "the restored value's secret is masked from now on");
  // Without the key (or with another), the masked result's task runs again.
  for (const other of [undefined, new Sealer("another")]) {
    const closed = await unsealRestored(
      sealedStore,
      "r1",
      await restore(sealedStore),
      learned,
      other,
    );
    assert.deepEqual(closed.rerun, ["a"]);
    assert.deepEqual([...closed.restore.keys()], ["b"]);
  }
});

Deno.test("SecretCache hashes keys, seals results that hold a secret with a key, skips them without", async () => {
  const stored: [string, unknown][] = [];
  const memory = new MemoryCache();
  const inner = {
    get: (k: string, now: number) => memory.get(k, now),
    set: (k: string, v: unknown, at: number) => {
      stored.push([k, v]);
      memory.set(k, v, at);
    },
    clear: () => memory.clear(),
  };
  const keyed = new SecretCache(inner, secrets(), new Sealer("k"));
  await keyed.set(`fetch:["${TOKEN}"]`, `got ${TOKEN}`, 1000);
  assert.equal(stored.length, 1);
  assert.match(stored[0][0], /^task:[0-9a-f]{64}$/, "stored under the key's hash");
  assert.match((stored[0][1] as { sealed: string }).sealed, /^enc:v1:/);
  assert.ok(!JSON.stringify(stored).includes(TOKEN));
  assert.deepEqual(await keyed.get(`fetch:["${TOKEN}"]`, 0), { value: `got ${TOKEN}` });
  const keyless = new SecretCache(new MemoryCache(), secrets());
  await keyless.set("k", `got ${TOKEN}`, 1000);
  assert.equal(await keyless.get("k", 0), undefined, "a masked copy would be a wrong hit");
  await keyless.set("k", "plain", 1000);
  assert.deepEqual(await keyless.get("k", 0), { value: "plain" });
});

Deno.test("maskRecord() masks data, never ids, counts or times", () => {
  const s = new SecretValues();
  s.add("1");
  const record = maskRecord(s, {
    runId: "r1",
    flow: "f",
    status: "failed",
    result: undefined,
    params: {},
    startedAt: "2026-01-01T00:00:01.000Z",
    finishedAt: "2026-01-01T00:00:01.000Z",
    error: "code 1",
    tasks: [{ id: "t1", name: "t1", status: "failed", attempts: 1, error: "exit 1" }],
  });
  assert.equal(record.error, "code ***");
  assert.deepEqual(record.tasks[0], {
    id: "t1",
    name: "t1",
    status: "failed",
    attempts: 1,
    error: "exit ***",
  });
  assert.equal(record.startedAt, "2026-01-01T00:00:01.000Z");
});
