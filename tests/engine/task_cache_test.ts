// Cache identity: a cached result is reused only by the same call of the same task (its code,
// its flow, its version); two flows share results only through an explicit key; keys hold
// hashes, never argument values; a miss says why.
import assert from "node:assert/strict";
import { FakeClock, flow, MemoryCache, type RunRecord, task } from "../../mod.ts";
import type { ResultCache } from "../../src/engine/cache.ts";
import { codeHash, describeCacheKey, TaskCache } from "../../src/engine/task_cache.ts";
import { normalizeTaskOptions } from "../../src/core/model.ts";
import type { TaskDefinition } from "../../src/core/protocol.ts";

const status = (r: RunRecord, id: string) => r.tasks.find((t) => t.id === id)?.status;

Deno.test("another flow's task of the same name does not get this flow's cached result", async () => {
  const cache = new MemoryCache();
  const load = task({ name: "load", cache: true }, (table: string) => `rows of ${table}`);
  const etl = await flow("etl", () => load("users")).run({}, { cache });
  const other = await flow("reports", () => load("users")).run({}, { cache });
  assert.equal(status(etl, "load"), "succeeded");
  assert.equal(status(other, "load"), "succeeded", "computed again, not taken from etl");
  const again = await flow("etl", () => load("users")).run({}, { cache });
  assert.equal(status(again, "load"), "cached");
});

Deno.test("editing a task's function body drops its cached results", async () => {
  const cache = new MemoryCache();
  const v1 = task({ name: "price", cache: true }, (n: number) => n * 2);
  const v2 = task({ name: "price", cache: true }, (n: number) => n * 3);
  await flow("shop", () => v1(10)).run({}, { cache });
  const edited = await flow("shop", () => v2(10)).run({}, { cache });
  assert.equal(edited.result, 30, "not the stale 20");
  assert.equal(status(edited, "price"), "succeeded");
});

Deno.test("a task's identity string, when given, stands for its code", async () => {
  const cache = new MemoryCache();
  // What a front end does for compiled steps: one function, told apart by what it runs.
  const step = (identity: string) =>
    Object.assign(task({ name: "step", cache: true }, () => identity), { identity });
  await flow("yaml", () => step("run: echo 1")()).run({}, { cache });
  const same = await flow("yaml", () => step("run: echo 1")()).run({}, { cache });
  const edited = await flow("yaml", () => step("run: echo 2")()).run({}, { cache });
  assert.equal(status(same, "step"), "cached");
  assert.equal(status(edited, "step"), "succeeded");
  assert.equal(edited.result, "run: echo 2");
});

Deno.test("bumping cache.version drops the results cached so far", async () => {
  const cache = new MemoryCache();
  let calls = 0;
  const fn = () => ++calls;
  const at = (version?: number) => task({ name: "v", cache: { version } }, fn);
  await flow("ver", () => at(1)()).run({}, { cache });
  assert.equal(status(await flow("ver", () => at(1)()).run({}, { cache }), "v"), "cached");
  assert.equal((await flow("ver", () => at(2)()).run({}, { cache })).result, 2);
  assert.equal(calls, 2);
});

Deno.test("two flows share results through an explicit key", async () => {
  const cache = new MemoryCache();
  let calls = 0;
  const user = task(
    { name: "user", cache: { key: (args) => `user:${args[0]}` } },
    (id: number) => (calls++, `name-${id}`),
  );
  const fetchUser = task(
    { name: "fetch_user", cache: { key: (args) => `user:${args[0]}` } },
    (id: number) => (calls++, `other-${id}`),
  );
  await flow("a", () => user(7)).run({}, { cache });
  const b = await flow("b", () => fetchUser(7)).run({}, { cache });
  assert.equal(calls, 1);
  assert.equal(b.result, "name-7");
  assert.equal(status(b, "fetch_user"), "cached");
});

Deno.test("cache keys and entries hold hashes, never argument values", async () => {
  const keys: string[] = [];
  const stored: unknown[] = [];
  const inner = new MemoryCache();
  const cache: ResultCache = {
    get: (k, now) => (keys.push(k), inner.get(k, now)),
    set: (k, v, e) => (keys.push(k), stored.push(v), inner.set(k, v, e)),
    clear: () => inner.clear(),
  };
  const secret = "hunter2-password";
  const login = task({ name: "login", cache: true }, (_p: string) => "token");
  const keyed = task({ name: "keyed", cache: { key: (a) => `k:${a[0]}` } }, (_p: string) => 1);
  const record = await flow("auth", () => [login(secret), keyed(secret)]).run({}, { cache });
  assert.equal(record.status, "succeeded");
  for (const k of keys) assert.ok(!k.includes(secret), k);
  assert.ok(!JSON.stringify(stored).includes(secret));
  for (const t of record.tasks) assert.ok(!t.cacheKey?.includes(secret));
});

Deno.test("a cached dependency counts as succeeded for conditions", async () => {
  const cache = new MemoryCache();
  const a = task({ name: "a", cache: true }, () => 1);
  const b = task("b", (x: number) => x + 1);
  const f = flow("cond", (h) =>
    h.call(b, [a()], {
      condition: { text: '"a succeeded"', test: (info) => info.statuses.a === "succeeded" },
    }));
  await f.run({}, { cache });
  const second = await f.run({}, { cache });
  assert.equal(status(second, "a"), "cached");
  assert.equal(status(second, "b"), "succeeded");
  assert.equal(second.result, 2);
});

function call(def: TaskDefinition, args: unknown[]) {
  return { task: def, config: normalizeTaskOptions(def.options).config, args };
}

Deno.test("TaskCache says why a miss missed: no entry, expired, code or version changed", async () => {
  const clock = new FakeClock(0);
  const cache = new TaskCache(new MemoryCache(), "f");
  const v1 = task({ name: "t", cache: { ttl: "1m", version: 1 } }, (_n: number) => 1);
  const first = await cache.lookup(call(v1, [1]), clock.now());
  assert.deepEqual(first, { hit: false, key: first.key, why: "no entry for this key" });
  await cache.store(call(v1, [1]), first.key, "value", 0);
  assert.deepEqual(await cache.lookup(call(v1, [1]), 30_000), {
    hit: true,
    key: first.key,
    value: "value",
  });
  const expired = await cache.lookup(call(v1, [1]), 90_000);
  assert.equal(!expired.hit && expired.why, "the entry expired 30s ago");
  const edited = task({ name: "t", cache: { ttl: "1m", version: 1 } }, (_n: number) => 2);
  const changed = await cache.lookup(call(edited, [1]), 1000);
  assert.match(!changed.hit ? changed.why : "", /the task's code changed/);
  const bumped = task({ name: "t", cache: { ttl: "1m", version: "2" } }, v1.fn);
  const versioned = await cache.lookup(call(bumped, [1]), 1000);
  assert.equal(
    !versioned.hit && versioned.why,
    'the key changed: cache.version is "2", the entry\'s is "1"',
  );
});

Deno.test("codeHash() follows the function's source, and describeCacheKey() its parts", async () => {
  const a = task("a", () => 1);
  assert.equal(await codeHash(a), await codeHash(task("b", () => 1)), "same source, same code");
  assert.match(await codeHash(a), /^[0-9a-f]{12}$/);
  assert.equal(
    describeCacheKey("etl", "load", { ttlMs: 3_600_000, code: "abc123" }),
    'flow "etl" + task "load" + code abc123 + its arguments (hashed); kept 1h',
  );
  assert.equal(
    describeCacheKey("etl", "load", { ttlMs: 60_000, version: "3", key: () => "" }),
    'key(args) (hashed) + version "3"; kept 1m',
  );
});
