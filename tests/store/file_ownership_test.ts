import assert from "node:assert/strict";
import { FileRunOwnership } from "../../src/store/file_ownership.ts";
import { RunOwnedError } from "../../src/store/ownership.ts";
import { SqliteStore } from "../../src/store/sqlite_store.ts";
import { started, withDir } from "./_events.ts";

Deno.test("two stores on one state dir: one owner per run, and the other store's start is refused", async () => {
  await withDir(async (dir) => {
    const a = await SqliteStore.open(dir);
    const b = await SqliteStore.open(dir);
    try {
      await a.append([started("r")]);
      assert.equal((await b.getRun("r"))?.status, "running", "b sees a's lease");
      assert.equal((await b.getRun("r"))?.owner?.pid, Deno.pid);
      const claim = await b.claimRun("r");
      assert.equal(claim.lease, undefined);
      assert.equal(claim.heldBy?.pid, Deno.pid);
      await assert.rejects(() => b.append([started("r")]), RunOwnedError);
      assert.equal((await a.events("r")).length, 1, "the refused append wrote nothing");
      await a.close();
      assert.equal((await b.getRun("r"))?.status, "interrupted", "a closed: nobody owns it");
      assert.ok((await b.claimRun("r")).lease);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

Deno.test("a run's lease is free the moment its holder is SIGKILLed (a real process)", async () => {
  await withDir(async (dir) => {
    const store = new URL("../../src/store/sqlite_store.ts", import.meta.url).href;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `import { SqliteStore } from "${store}";
         const s = await SqliteStore.open(${JSON.stringify(dir)});
         await s.append([{ type: "run.started", runId: "r", time: 0, flow: "f", params: {} }]);
         console.log("claimed");
         setInterval(() => {}, 1000);`,
      ],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!out.includes("claimed")) {
      const { value, done } = await reader.read();
      if (done) break;
      out += value;
    }
    const owners = new FileRunOwnership(dir);
    assert.equal((await owners.runOwner("r"))?.pid, child.pid, "the child holds it");
    child.kill("SIGKILL");
    await child.status;
    // Through the reader: child.stdout stays locked by the pipe until the pipe has seen its end.
    await reader.cancel();
    // No probe of the pid and no wait: the OS released the lock with the process.
    assert.equal(await owners.runOwner("r"), undefined);
    const s = await SqliteStore.open(dir);
    try {
      assert.equal((await s.getRun("r"))?.status, "interrupted");
      assert.ok((await s.claimRun("r")).lease);
    } finally {
      await s.close();
    }
  });
});

Deno.test("a released lease removes its lock file; the run can be claimed again", async () => {
  await withDir(async (dir) => {
    const a = new FileRunOwnership(dir);
    const b = new FileRunOwnership(dir);
    const claim = await a.claimRun("r", { pid: 1, host: "h", since: "t" });
    assert.ok(claim.lease);
    assert.deepEqual((await b.claimRun("r")).heldBy, { pid: 1, host: "h", since: "t" });
    await claim.lease.release();
    await assert.rejects(() => Deno.stat(a.path("r")), Deno.errors.NotFound);
    assert.ok((await b.claimRun("r")).lease);
    assert.ok(a.path("../x").endsWith("/runs/%2E%2E%2Fx.lock"), "odd ids are escaped");
    await b.releaseAll();
  });
});
