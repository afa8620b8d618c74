import assert from "node:assert/strict";
import { parseStoreUrl } from "../../src/store/_pg_connection.ts";
import { migrate, PG_MIGRATIONS } from "../../src/store/postgres_migrations.ts";
import {
  PostgresStore,
  PostgresVersionError,
  StoreConnectionError,
} from "../../src/store/postgres_store.ts";
import { StoreVersionError } from "../../src/store/store.ts";
import {
  freshSchema,
  pgTest,
  withClient,
  withFreshSchema,
  withSchema,
} from "../_helpers/postgres.ts";

/** The URL with its password replaced (or its database, with `db`). */
function changed(url: string, part: { password?: string; database?: string; search?: string }) {
  const u = new URL(url);
  if (part.password !== undefined) u.password = part.password;
  if (part.database !== undefined) u.pathname = `/${part.database}`;
  if (part.search !== undefined) u.search = part.search;
  return u.href;
}

function passwordOf(url: string): string {
  return decodeURIComponent(new URL(url).password);
}

/** Asserts a StoreConnectionError whose one-line message matches and shows no password. */
async function rejectsClearly(
  url: string,
  pattern: RegExp,
  secret: string,
  options: { migrate?: boolean } = {},
) {
  await assert.rejects(
    () => PostgresStore.open(url, { connectTimeoutSeconds: 5, ...options }),
    (e) => {
      assert.ok(e instanceof StoreConnectionError, `${(e as Error)?.stack}`);
      assert.match(e.message, pattern);
      assert.equal(e.message.includes("\n"), false, "one line");
      if (secret) assert.equal(e.message.includes(secret), false, "the password is masked");
      assert.match(e.message, /^Cannot use the PostgreSQL store "[^"]*": /);
      return true;
    },
  );
}

pgTest("PostgresStore.open() migrates an empty schema to the latest version, once", async (url) => {
  await withFreshSchema(url, async (schemaUrl, schema) => {
    const first = await PostgresStore.open(schemaUrl);
    assert.deepEqual(first.migration, {
      schema,
      from: 0,
      to: PG_MIGRATIONS.length,
      applied: PG_MIGRATIONS.map((m, i) => ({ version: i + 1, description: m.description })),
    });
    await first.close();
    const again = await PostgresStore.open(schemaUrl);
    assert.deepEqual(again.migration.applied, []);
    assert.equal((await again.info()).schemaVersion, PG_MIGRATIONS.length);
    await again.close();
    const rows = await withClient(
      url,
      (sql) =>
        sql.unsafe(`SELECT version, description FROM "${schema}".schema_version ORDER BY version`),
    );
    assert.deepEqual(rows.map((r) => r.version), PG_MIGRATIONS.map((_, i) => i + 1));
  });
});

pgTest(
  "PostgresStore.open() of one new schema from many processes at once migrates it once",
  async (url) => {
    await withFreshSchema(url, async (schemaUrl) => {
      const stores = await Promise.all(
        Array.from({ length: 4 }, () => PostgresStore.open(schemaUrl)),
      );
      try {
        const applied = stores.map((s) => s.migration.applied.length);
        assert.deepEqual(applied.sort(), [0, 0, 0, PG_MIGRATIONS.length]);
      } finally {
        for (const s of stores) await s.close();
      }
    });
  },
);

pgTest(
  "PostgresStore.open() upgrades a version 1 schema in place: runs keep their rows and journals, and gain leases, retries and process groups",
  async (url) => {
    await withFreshSchema(url, async (schemaUrl, schema) => {
      const u = parseStoreUrl(schemaUrl);
      await withClient(url, async (sql) => {
        await migrate(sql, u, PG_MIGRATIONS.slice(0, 1));
        // What version 1 wrote: a finished run and one still running, with a journal row.
        await sql.unsafe(`INSERT INTO "${schema}".runs
          (run_id, flow, status, params, started_at, finished_at, updated_at, journal_seq)
          VALUES ('done', 'etl', 'succeeded', '{}', now(), now(), now(), 0),
                 ('live', 'etl', 'running', '{"n":1}', now(), NULL, now(), 1)`);
        await sql.unsafe(`INSERT INTO "${schema}".journal (run_id, seq, last, format, events)
          VALUES ('live', 1, 1, 2, '[0,[1,0,"a",0,[],"task"]]')`);
      });
      const store = await PostgresStore.open(schemaUrl);
      try {
        // 2: leases, retries, process groups; 3: orchestra serve's state table.
        assert.deepEqual(store.migration.applied.map((m) => m.version), [2, 3]);
        assert.equal((await store.getRun("done"))?.status, "succeeded");
        const live = await store.getRun("live");
        assert.equal(live?.status, "interrupted", "nobody holds it: its owner is long gone");
        assert.deepEqual(live?.params, { n: 1 });
        assert.deepEqual((await store.getTasks("live")).map((t) => t.taskId), ["a"]);
        assert.ok((await store.claimRun("live")).lease);
        await store.append([{
          type: "task.started",
          runId: "live",
          time: Date.now(),
          taskId: "a",
          name: "a",
          attempt: 1,
        }]);
        assert.deepEqual((await store.events("live")).map((e) => e.seq), [1, 2]);
        await store.createRun({
          runId: "again",
          flow: "etl",
          status: "failed",
          params: {},
          startedAt: new Date().toISOString(),
          retryOf: "done",
        });
        assert.deepEqual((await store.listRuns({ retryOf: "done" })).map((r) => r.runId), [
          "again",
        ]);
      } finally {
        await store.close();
      }
    });
  },
);

pgTest("PostgresStore.open() refuses a schema written by a newer Orchestra", async (url) => {
  await withFreshSchema(url, async (schemaUrl, schema) => {
    await (await PostgresStore.open(schemaUrl)).close();
    await withClient(url, (sql) =>
      sql.unsafe(
        `INSERT INTO "${schema}".schema_version (version, description) VALUES (99, 'future')`,
      ));
    await assert.rejects(() => PostgresStore.open(schemaUrl), (e) => {
      assert.ok(e instanceof PostgresVersionError && e instanceof StoreVersionError);
      assert.equal(e.found, 99);
      assert.equal(e.supported, PG_MIGRATIONS.length);
      assert.match(e.message, /schema "t_[^"]+" is version 99, but this Orchestra supports up to/);
      assert.equal(e.message.includes(passwordOf(url)), false);
      return true;
    });
  });
});

pgTest(
  "PostgresStore.open({ migrate: false }) of an empty schema says to run store migrate",
  async (url) => {
    await rejectsClearly(
      withSchema(url, freshSchema()),
      /its schema "t_\w+" is at version 0 of \d+; run orchestra store migrate$/,
      passwordOf(url),
      { migrate: false },
    );
  },
);

pgTest(
  "PostgresStore.open() errors: wrong password, missing database, unreachable server",
  async (url) => {
    const password = passwordOf(url);
    await rejectsClearly(
      changed(url, { password: "not-the-password" }),
      /:\*\*\*@.*password authentication failed for user "orchestra"; check the password/,
      "not-the-password",
    );
    await rejectsClearly(
      changed(url, { database: "no_such_db" }),
      /the database "no_such_db" does not exist; create it \(createdb no_such_db/,
      password,
    );
    // Port 1 on loopback: nothing listens there.
    const refused = changed(url, {}).replace(/@127\.0\.0\.1:\d+\//, "@127.0.0.1:1/");
    await rejectsClearly(
      refused,
      /connection refused at 127\.0\.0\.1:1; is PostgreSQL running and listening there\?$/,
      password,
    );
  },
);

pgTest("PostgresStore.open() errors: a bad URL, scheme, sslmode or schema name", async (url) => {
  const password = passwordOf(url);
  await rejectsClearly("postgres://a:b@[nope", /it is not a URL; write postgres:\/\/USER/, "b");
  await rejectsClearly(
    changed(url, {}).replace(/^postgres:/, "mysql:"),
    /the scheme must be postgres:\/\/ or postgresql:\/\/, not mysql:\/\//,
    password,
  );
  await rejectsClearly(
    changed(url, { search: "?sslmode=always" }),
    /sslmode="always" is not one of disable, allow, prefer, require, verify-ca, verify-full/,
    password,
  );
  await rejectsClearly(
    changed(url, { search: "?schema=Robert'); DROP TABLE students;--" }),
    /must be a lower-case SQL name/,
    password,
  );
  for (const bad of ["0", "soon", "-1", "1e3", "100000"]) {
    await rejectsClearly(
      changed(url, { search: `?lease_timeout=${bad}` }),
      new RegExp(
        `lease_timeout="${bad}" must be a number of seconds from 0\\.1 to 86400 \\(15 when not given\\)`,
      ),
      password,
    );
  }
});

pgTest(
  "PostgresStore: a run's lease lasts lease_timeout seconds from the URL, else leaseTimeoutSeconds, else 15",
  async (url) => {
    await withFreshSchema(url, async (schemaUrl) => {
      for (
        const [given, options, expected] of [
          ["", {}, 15],
          ["", { leaseTimeoutSeconds: 2.5 }, 2.5],
          ["&lease_timeout=0.5", { leaseTimeoutSeconds: 60 }, 0.5],
        ] as const
      ) {
        const store = await PostgresStore.open(`${schemaUrl}${given}`, options);
        try {
          assert.equal(store.leaseTimeoutSeconds, expected);
          const { lease } = await store.claimRun("r");
          assert.ok(lease);
          // The lease row expires that long after the claim, on the server's clock.
          const [row] = await withClient(url, (sql) =>
            sql.unsafe(
              `SELECT extract(epoch FROM expires_at - now()) AS left FROM "${
                new URL(schemaUrl).searchParams.get("schema")
              }".leases WHERE run_id = 'r'`,
            ));
          assert.ok(Number(row.left) <= expected && Number(row.left) > 0, `${row.left}`);
          await lease.release();
        } finally {
          await store.close();
        }
      }
      await assert.rejects(
        () => PostgresStore.open(schemaUrl, { leaseTimeoutSeconds: 0 }),
        (e) =>
          e instanceof RangeError &&
          /leaseTimeoutSeconds must be a number of seconds/.test(e.message),
      );
    });
  },
);

/** The test server's certificate, when it runs with TLS (.ci/postgres.sh makes one). */
function serverCertificate(): string | undefined {
  const dir = Deno.env.get("ORCHESTRA_PG_DIR");
  if (!dir) return undefined;
  try {
    Deno.statSync(`${dir}/server.crt`);
    return `${dir}/server.crt`;
  } catch {
    return undefined;
  }
}

pgTest(
  "PostgresStore: sslmode=disable connects without TLS; require and verify-full with TLS",
  async (url) => {
    await withFreshSchema(url, async (schemaUrl) => {
      const plain = await PostgresStore.open(`${schemaUrl}&sslmode=disable`);
      assert.equal((await plain.info()).tls, false);
      await plain.close();
      const cert = serverCertificate();
      if (cert === undefined) {
        console.warn("the test server has no TLS certificate: sslmode=require is not tried");
        return;
      }
      const tls = await PostgresStore.open(`${schemaUrl}&sslmode=require`);
      assert.equal((await tls.info()).tls, true);
      await tls.append([{ type: "run.started", runId: "r", time: 0, flow: "f", params: {} }]);
      assert.equal((await tls.getRun("r"))?.status, "running");
      await tls.close();
      // The certificate is self-signed: verify-full trusts it only when told to.
      await rejectsClearly(
        `${schemaUrl}&sslmode=verify-full`,
        /the server's TLS certificate was not accepted \(self-signed certificate\); name its CA with sslrootcert=FILE/,
        passwordOf(url),
      );
      const verified = await PostgresStore.open(
        `${schemaUrl}&sslmode=verify-full&sslrootcert=${encodeURIComponent(cert)}`,
      );
      assert.equal((await verified.info()).tls, true);
      await verified.close();
      await rejectsClearly(
        `${schemaUrl}&sslmode=verify-full&sslrootcert=/no/such/ca.pem`,
        /cannot read sslrootcert "\/no\/such\/ca\.pem"/,
        passwordOf(url),
      );
    });
  },
);

Deno.test("PostgresStore.open() with sslmode=require to a server without TLS says so, password masked", async () => {
  // A server that declines TLS ("N") and then hangs up, as one without TLS does.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = (async () => {
    for await (const conn of listener) {
      try {
        await conn.read(new Uint8Array(8));
        await conn.write(new Uint8Array([78]));
        await conn.read(new Uint8Array(512));
      } catch {
        // the client hung up first
      } finally {
        conn.close();
      }
    }
  })();
  const { port } = listener.addr as Deno.NetAddr;
  try {
    await rejectsClearly(
      `postgres://ada:s3cret@127.0.0.1:${port}/app?sslmode=require`,
      new RegExp(
        `^Cannot use the PostgreSQL store "postgres://ada:\\*\\*\\*@127.0.0.1:${port}/app\\?sslmode=require": ` +
          `the server at 127.0.0.1:${port} closed the connection during the TLS handshake ` +
          `\\(sslmode=require\\); does it accept TLS\\? For a server without TLS use sslmode=disable$`,
      ),
      "s3cret",
    );
  } finally {
    listener.close();
    await served;
  }
});

Deno.test("parseStoreUrl() reads schema, sslmode, sslrootcert, connect_timeout and lease_timeout, and hands the rest to the driver", async () => {
  const { parseStoreUrl } = await import("../../src/store/_pg_connection.ts");
  const u = parseStoreUrl(
    "postgres://ada:p%40ss@db:6543/app?schema=ci&sslmode=verify-full&sslrootcert=%2Fca.pem" +
      "&connect_timeout=3&application_name=etl",
  );
  assert.deepEqual(
    { ...u, url: undefined },
    {
      url: undefined,
      shown: "postgres://ada:***@db:6543/app?schema=ci&sslmode=verify-full&sslrootcert=%2Fca.pem" +
        "&connect_timeout=3&application_name=etl",
      driverUrl: "postgres://ada:p%40ss@db:6543/app?application_name=etl",
      schema: "ci",
      sslmode: "verify-full",
      sslrootcert: "/ca.pem",
      connectTimeoutSeconds: 3,
      host: "db",
      port: 6543,
      user: "ada",
      database: "app",
    },
  );
  const plain = parseStoreUrl("postgresql://ada@db/app");
  assert.equal(plain.schema, "orchestra");
  assert.equal(plain.sslmode, "prefer");
  assert.equal(plain.port, 5432);
  assert.equal(plain.connectTimeoutSeconds, undefined);
  assert.equal(plain.leaseTimeoutSeconds, undefined);
  const leased = parseStoreUrl("postgres://ada@db/app?lease_timeout=2.5&schema=x");
  assert.equal(leased.leaseTimeoutSeconds, 2.5);
  assert.equal(leased.driverUrl, "postgres://ada@db/app", "not sent to the server as a setting");
  assert.throws(
    () => parseStoreUrl("postgres://ada:s3cret@db/app?connect_timeout=soon"),
    (e: Error) =>
      /connect_timeout="soon" must be a whole number of seconds/.test(e.message) &&
      !e.message.includes("s3cret"),
  );
});
