import assert from "node:assert/strict";
import { defaultCache, MemoryCache, stableJson, StoreCache } from "../../src/engine/cache.ts";
import { MemoryStore } from "../../src/store/memory_store.ts";
import { flow, task } from "../../mod.ts";

Deno.test("MemoryCache returns a stored value until it expires", () => {
  const cache = new MemoryCache();
  cache.set("k", { rows: 3 }, 1000);
  assert.deepEqual(cache.get("k", 0), { value: { rows: 3 } });
  assert.deepEqual(cache.get("k", 999), { value: { rows: 3 } });
  assert.equal(cache.get("k", 1000), undefined);
  // Expired entries are gone, also for an earlier time.
  assert.equal(cache.get("k", 0), undefined);
});

Deno.test("MemoryCache distinguishes a stored undefined from a miss", () => {
  const cache = new MemoryCache();
  cache.set("u", undefined, 10);
  assert.deepEqual(cache.get("u", 0), { value: undefined });
  assert.equal(cache.get("missing", 0), undefined);
});

Deno.test("MemoryCache overwrites an entry and clear() removes all", () => {
  const cache = new MemoryCache();
  cache.set("a", 1, 100);
  cache.set("a", 2, 200);
  cache.set("b", 3, 100);
  assert.deepEqual(cache.get("a", 150), { value: 2 });
  cache.clear();
  assert.equal(cache.get("a", 0), undefined);
  assert.equal(cache.get("b", 0), undefined);
});

Deno.test("defaultCache is a MemoryCache shared by the process", () => {
  assert.ok(defaultCache instanceof MemoryCache);
});

Deno.test("stableJson() sorts object keys at every level", () => {
  assert.equal(
    stableJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: 2 } }),
    stableJson({
      a: { c: 2, d: [1, { y: 2, z: 1 }] },
      b: 1,
    }),
  );
  assert.equal(stableJson({ b: 1, a: 2 }), '{"a":2,"b":1}');
});

Deno.test("stableJson() keeps array order and handles primitives", () => {
  assert.equal(stableJson([3, 1, 2]), "[3,1,2]");
  assert.notEqual(stableJson([1, 2]), stableJson([2, 1]));
  assert.equal(stableJson("x"), '"x"');
  assert.equal(stableJson(null), "null");
  assert.equal(stableJson(undefined), "undefined");
  assert.equal(stableJson([undefined]), "[null]");
});

Deno.test("a StoreCache keeps results in a store: hits across runs, failures are not fatal", async () => {
  const store = new MemoryStore();
  const cache = new StoreCache(store);
  let calls = 0;
  const t = task({ name: "t", cache: { ttl: "1h" } }, (n: number) => (++calls, n * 2));
  const after = task("after", (x: number) => x + 1);
  const f = flow("sc", () => after(t(21)));
  const first = await f.run({}, { cache });
  assert.equal(first.result, 43);
  assert.equal(first.tasks.find((r) => r.id === "t")!.status, "succeeded");
  // A second run with a new adapter over the same store: the result comes from the store.
  const second = await f.run({}, { cache: new StoreCache(store) });
  assert.equal(second.result, 43);
  const hit = second.tasks.find((r) => r.id === "t")!;
  assert.equal(hit.status, "cached");
  assert.match(hit.cacheKey!, /^t:[0-9a-f]{32}$/);
  assert.equal(calls, 1);
  assert.equal(await cache.clear(), 1);

  // A lookup that rejects fails the task; a store that cannot store only costs the hit.
  const broken = {
    get: () => Promise.reject(new Error("store down")),
    set: () => {},
    clear: () => {},
  };
  const failed = await f.run({}, { cache: broken });
  assert.equal(failed.status, "failed");
  assert.match(String(failed.tasks.find((r) => r.id === "t")!.error), /store down/);
  const unwritable = {
    get: () => Promise.resolve(undefined),
    set: () => Promise.reject(new Error("disk full")),
    clear: () => {},
  };
  const ok = await f.run({}, { cache: unwritable });
  assert.equal(ok.status, "succeeded");
  assert.equal(ok.result, 43);
});
