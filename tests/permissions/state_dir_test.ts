import assert from "node:assert/strict";
import { secureStateDir, StateDirError } from "../../src/permissions/state_dir.ts";
import { SqliteStore } from "../../src/store/sqlite_store.ts";
import { withTree } from "../config/_tree.ts";

const mode = async (path: string) => (await Deno.stat(path)).mode! & 0o7777;

Deno.test("secureStateDir() creates the state dir 0700 and the store's files 0600, also the WAL's", async () => {
  await withTree({}, async (root) => {
    const dir = `${root}/nested/.orchestra`;
    await secureStateDir(dir);
    assert.equal(await mode(dir), 0o700);
    assert.equal(await mode(`${dir}/state.db`), 0o600);
    assert.equal(await mode(`${dir}/state.db-lock`), 0o600);
    const store = await SqliteStore.open(dir);
    try {
      await store.createRun({
        runId: "r1",
        flow: "f",
        status: "running",
        params: {},
        startedAt: new Date().toISOString(),
      });
      // SQLite gives its -wal and -shm files the database's mode.
      for (const f of ["state.db", "state.db-wal", "state.db-shm", "state.db-lock"]) {
        assert.equal(await mode(`${dir}/${f}`), 0o600, f);
      }
    } finally {
      await store.close();
    }
  });
});

Deno.test("secureStateDir() narrows a state dir and files made with looser modes", async () => {
  const files = {
    ".orchestra/state.db": "",
    ".orchestra/state.db-wal": "",
    ".orchestra/audit.log": "",
    ".orchestra/plugins/abc/mod.ts": "",
    ".orchestra/reports/out.json": "{}",
  };
  await withTree(files, async (root) => {
    const dir = `${root}/.orchestra`;
    await Deno.chmod(dir, 0o755);
    for (const f of ["state.db", "state.db-wal", "audit.log", "plugins/abc/mod.ts"]) {
      await Deno.chmod(`${dir}/${f}`, 0o644);
    }
    await Deno.chmod(`${dir}/plugins`, 0o755);
    await secureStateDir(dir);
    assert.equal(await mode(dir), 0o700);
    for (const f of ["state.db", "state.db-wal", "audit.log", "plugins/abc/mod.ts"]) {
      assert.equal(await mode(`${dir}/${f}`), 0o600, f);
    }
    assert.equal(await mode(`${dir}/plugins`), 0o700);
    assert.equal(await mode(`${dir}/plugins/abc`), 0o700);
  });
});

Deno.test("secureStateDir() refuses a directory every user may write to, and a file", async () => {
  await withTree({ "shared/": "", "file": "x" }, async (root) => {
    await Deno.chmod(`${root}/shared`, 0o1777);
    await assert.rejects(
      secureStateDir(`${root}/shared`),
      (e) => e instanceof StateDirError && /writable by every user \(mode 1777\)/.test(e.message),
    );
    assert.equal(await mode(`${root}/shared`), 0o1777, "left as it was");
    await assert.rejects(
      secureStateDir(`${root}/file`),
      (e) => e instanceof StateDirError && /is not a directory/.test(e.message),
    );
  });
});
