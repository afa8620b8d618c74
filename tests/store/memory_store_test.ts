import assert from "node:assert/strict";
import { storeCases } from "../../src/store/conformance.ts";
import { MemoryStore } from "../../src/store/memory_store.ts";

storeCases("MemoryStore", (options) => Promise.resolve(new MemoryStore(options)));

Deno.test("MemoryStore rejects every call once closed", async () => {
  const store = new MemoryStore();
  await store.close();
  await assert.rejects(() => store.getRun("r"), /closed/);
  await assert.rejects(() => store.append([]), /closed/);
});
