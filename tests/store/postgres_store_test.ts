import assert from "node:assert/strict";
import { storeCases } from "../../src/store/conformance.ts";
import { PostgresStore } from "../../src/store/postgres_store.ts";
import type { Store } from "../../src/store/store.ts";
import {
  dropSchema,
  freshSchema,
  pgTest,
  POSTGRES_URL,
  withFreshSchema,
  withSchema,
} from "../_helpers/postgres.ts";
import { started, taskEvents } from "./_events.ts";

const schemas = new WeakMap<Store, string>();

if (POSTGRES_URL === undefined) {
  // Registered as ignored, with the reason, by pgTest.
  pgTest("PostgresStore: the conformance suite", () => Promise.resolve());
} else {
  const url = POSTGRES_URL;
  storeCases(
    "PostgresStore",
    async (options) => {
      const schema = freshSchema("conf");
      const store = await PostgresStore.open(withSchema(url, schema), options);
      schemas.set(store, schema);
      return store;
    },
    {
      cleanup: (store) => dropSchema(url, schemas.get(store)!),
      // Another process's store: the same schema, a lease owner of its own.
      peer: (store, options) => PostgresStore.open(withSchema(url, schemas.get(store)!), options),
    },
  );
}

pgTest(
  "PostgresStore: durability normal turns synchronous_commit off, full keeps it on",
  async (url) => {
    await withFreshSchema(url, async (schemaUrl) => {
      for (const [durability, expected] of [["full", "on"], ["normal", "off"]] as const) {
        const store = await PostgresStore.open(schemaUrl, { durability });
        try {
          assert.equal(store.durability, durability);
          assert.equal((await store.info()).synchronousCommit, expected);
          await store.append([started("r-" + durability)]);
          assert.equal((await store.getRun("r-" + durability))?.status, "running");
        } finally {
          await store.close();
        }
      }
      await assert.rejects(
        // deno-lint-ignore no-explicit-any
        () => PostgresStore.open(schemaUrl, { durability: "fast" as any }),
        TypeError,
      );
    });
  },
);

pgTest(
  "PostgresStore: a long batch of many runs is one append; a 10,000-event run reads back",
  async (url) => {
    await withFreshSchema(url, async (schemaUrl) => {
      const store = await PostgresStore.open(schemaUrl);
      try {
        const events = [started("a"), started("b")];
        for (let i = 0; i < 5000; i++) events.push(...taskEvents(i % 2 ? "a" : "b", i));
        await store.append(events);
        const a = await store.getTasks("a");
        assert.equal(a.length, 2500);
        assert.deepEqual(a[0].result, { i: 1 });
        assert.equal((await store.events("b")).length, 7501);
        assert.deepEqual(
          (await store.events("b", { afterSeq: 7499 })).map((e) => e.seq),
          [7500, 7501],
        );
      } finally {
        await store.close();
      }
    });
  },
);

pgTest(
  "PostgresStore: appends from two stores to one run take turns and number on",
  async (url) => {
    await withFreshSchema(url, async (schemaUrl) => {
      const [one, two] = [await PostgresStore.open(schemaUrl), await PostgresStore.open(schemaUrl)];
      try {
        await one.append([started("r")]);
        const writes: Promise<void>[] = [];
        for (let i = 0; i < 40; i++) writes.push((i % 2 ? one : two).append(taskEvents("r", i)));
        await Promise.all(writes);
        const seqs = (await one.events("r")).map((e) => e.seq);
        assert.deepEqual(seqs, Array.from({ length: 121 }, (_, i) => i + 1));
        assert.equal((await two.getTasks("r")).filter((t) => t.status === "succeeded").length, 40);
      } finally {
        await one.close();
        await two.close();
      }
    });
  },
);

pgTest("PostgresStore: a closed store rejects calls", async (url) => {
  await withFreshSchema(url, async (schemaUrl) => {
    const store = await PostgresStore.open(schemaUrl);
    await store.close();
    await assert.rejects(() => store.getRun("r"), /is closed/);
    await assert.rejects(() => store.append([started("r")]), /is closed/);
    await store.close();
  });
});
