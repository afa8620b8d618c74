// Failing stores fail cleanly: a corrupt, read-only, full, removed or replaced state.db gives
// one clear line (what, which file, what to do), exit 1, and no stack trace; a run that cannot
// record fails rather than pretend; a read-only state dir can still be read.
import assert from "node:assert/strict";
import { MemoryStore } from "../../src/store/memory_store.ts";
import { Orchestrator } from "../../src/orchestrator/orchestrator.ts";
import { type AppendEvent, StoreError } from "../../src/store/store.ts";
import { flow, task } from "../../mod.ts";
import { cli, fakeIo, ROOT, withState } from "../cli/_io.ts";
import { main } from "../../src/cli/main.ts";
import { spawnOrchestra, text, waitFor } from "./_processes.ts";
import { listRuns } from "./_spawn.ts";

const DENO = ["run", "-A", "--no-prompt", "--unstable-worker-options", `${ROOT}/main.ts`];

/** One line on stderr, starting with "error: ", and no stack frame. */
function oneLine(err: string, pattern: RegExp): void {
  assert.match(err, pattern);
  assert.equal(err.trimEnd().split("\n").length, 1, `one line, got:\n${err}`);
  assert.doesNotMatch(err, /^\s+at /m, "no stack trace");
}

/** A state dir with one finished run; resolves with its id. */
async function oneRun(dir: string): Promise<string> {
  assert.equal((await cli(["run", "examples/dynamic.ts", "-q", "--state-dir", dir])).code, 0);
  return (await listRuns(dir))[0].runId;
}

Deno.test("a corrupt state.db: every command says so in one line, exit 1; a stack only with ORCHESTRA_DEBUG=1", async () => {
  await withState(async (dir) => {
    const runId = await oneRun(dir);
    // Garbage from the second page on: SQLite opens the file, then finds it malformed.
    const file = await Deno.open(`${dir}/state.db`, { read: true, write: true });
    const size = (await file.stat()).size;
    await file.seek(4096, Deno.SeekMode.Start);
    await file.write(new Uint8Array(size - 4096).fill(0xff));
    file.close();
    const commands = [
      ["runs"],
      ["status", runId],
      ["logs", runId],
      ["resume", runId],
      ["cancel", runId],
      ["run", "examples/dynamic.ts"],
    ];
    for (const args of commands) {
      const r = await cli([...args, "--state-dir", dir]);
      assert.equal(r.code, 1, args.join(" "));
      oneLine(
        r.err,
        new RegExp(
          `^error: Cannot (read|open|write to) the state database "${dir}/state\\.db": the ` +
            `file is corrupt \\(database disk image is malformed\\); move it aside`,
        ),
      );
    }
    // Garbage from the first byte: not a database at all.
    await Deno.writeTextFile(`${dir}/state.db`, "garbage ".repeat(1000));
    const r = await cli(["status", runId, "--state-dir", dir]);
    assert.equal(r.code, 1);
    oneLine(
      r.err,
      /^error: Cannot open the state database .*: the file is corrupt \(file is not a database\)/,
    );
  });
});

Deno.test("an unexpected error prints its stack only with ORCHESTRA_DEBUG=1 or the debug log level", async () => {
  await withState(async (dir) => {
    const runId = await oneRun(dir);
    const file = await Deno.open(`${dir}/state.db`, { read: true, write: true });
    await file.seek(4096, Deno.SeekMode.Start);
    await file.write(new Uint8Array(16_384).fill(0xff));
    file.close();
    // logs reads the journal after it opened the store: the error reaches the CLI's top.
    const plain = fakeIo();
    assert.equal(await main(["logs", runId, "--state-dir", dir], plain), 1);
    assert.doesNotMatch(plain.err, /^\s+at /m);
    const debug = fakeIo();
    debug.env = (name) => name === "ORCHESTRA_DEBUG" ? "1" : undefined;
    assert.equal(await main(["logs", runId, "--state-dir", dir], debug), 1);
    assert.match(debug.err, /^\s+at /m, "a stack for whoever debugs");
    const level = fakeIo();
    level.env = (name) => name === "ORCHESTRA_LOG_LEVEL" ? "debug" : undefined;
    assert.equal(await main(["logs", runId, "--state-dir", dir], level), 1);
    assert.match(level.err, /^\s+at /m);
  });
});

const SETPRIV = (() => {
  try {
    return Deno.uid() === 0 && Deno.statSync("/usr/bin/setpriv").isFile;
  } catch {
    return false;
  }
})();

/** `orchestra ARGS` as a process that file permissions bind (as root: without DAC override). */
async function unprivileged(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const drop = ["--bounding-set=-dac_override,-dac_read_search,-fowner", Deno.execPath()];
  const { code, stdout, stderr } = await new Deno.Command(
    SETPRIV ? "/usr/bin/setpriv" : Deno.execPath(),
    { args: [...(SETPRIV ? drop : []), ...DENO, ...args], cwd: ROOT },
  ).output();
  const dec = new TextDecoder();
  return { code, out: dec.decode(stdout), err: dec.decode(stderr) };
}

Deno.test({
  name:
    "a read-only state dir (0555, files 0444): runs, status and logs read it; run says why it cannot record",
  ignore: Deno.uid() === 0 && !SETPRIV,
  async fn() {
    await withState(async (dir) => {
      const runId = await oneRun(dir);
      const modes: [string, number][] = [];
      for await (const e of Deno.readDir(dir)) {
        const path = `${dir}/${e.name}`;
        modes.push([path, e.isDirectory ? 0o555 : 0o444]);
        if (e.isDirectory) {
          for await (const f of Deno.readDir(path)) modes.push([`${path}/${f.name}`, 0o444]);
        }
      }
      for (const [path, mode] of modes.reverse()) await Deno.chmod(path, mode);
      await Deno.chmod(dir, 0o555);
      try {
        const runs = await unprivileged(["runs", "--state-dir", dir]);
        assert.equal(runs.code, 0, runs.err);
        assert.match(runs.out, new RegExp(`${runId}\\s+restock\\s+succeeded`));
        const status = await unprivileged(["status", runId, "--state-dir", dir]);
        assert.equal(status.code, 0, status.err);
        assert.match(status.out, /: succeeded, started/);
        const logs = await unprivileged(["logs", runId, "--state-dir", dir]);
        assert.equal(logs.code, 0, logs.err);
        assert.match(logs.out, /\[reorder\] Ordered 16 × widget/);
        const run = await unprivileged(["run", "examples/dynamic.ts", "-q", "--state-dir", dir]);
        assert.equal(run.code, 1);
        oneLine(
          run.err,
          new RegExp(
            // The database, or the run's lock file beside it: one line either way.
            `^error: Cannot (open|write to) the state database "${dir}/(state\\.db|runs/[^"]+\\.lock)": ` +
              `it cannot be written`,
          ),
        );
      } finally {
        await Deno.chmod(dir, 0o700);
        for (const [path] of modes) await Deno.chmod(path, 0o700).catch(() => {}); // may be gone
      }
    });
  },
});

Deno.test("a full disk (ulimit -f on the process): the run fails with the store's error, exit 1, no stack", async () => {
  await withState(async (dir) => {
    // 400 blocks of 512 bytes: the journal of a 400 kB result does not fit.
    const { code, stderr } = await new Deno.Command("sh", {
      args: [
        "-c",
        `ulimit -f 400; trap '' XFSZ; exec "$0" "$@"`,
        Deno.execPath(),
        ...DENO,
        "run",
        "tests/fixtures/durability/big_output.yaml",
        "-p",
        "bytes=400000",
        "-q",
        "--state-dir",
        dir,
      ],
      cwd: ROOT,
    }).output();
    const err = new TextDecoder().decode(stderr);
    assert.equal(code, 1, err);
    assert.match(
      err,
      new RegExp(
        `error: the state store failed: Cannot write to the state database "${dir}/state\\.db"`,
      ),
    );
    assert.doesNotMatch(err, /^\s+at /m);
  });
});

Deno.test("a store whose writes fail: the run is recorded as failed, not succeeded", async () => {
  // What a full disk looks like to the engine, whatever the store.
  class FullStore extends MemoryStore {
    appends = 0;
    override append(events: readonly AppendEvent[]): Promise<void> {
      if (++this.appends > 2) {
        return Promise.reject(
          new StoreError("/s/state.db", "Cannot write to the state database", "the disk is full"),
        );
      }
      return super.append(events);
    }
  }
  const steps = Array.from({ length: 5 }, (_, i) => task(`step${i}`, (n: number) => n + 1));
  const chain = flow("chain", () => steps.reduce((acc: unknown, t) => t(acc as number), 0));
  const store = new FullStore();
  const orchestrator = new Orchestrator({ store });
  await orchestrator.start();
  try {
    const record = await orchestrator.wait(await orchestrator.invoke(chain));
    assert.equal(record.status, "failed");
    assert.match(
      record.error!,
      /the state store failed: Cannot write to the state database .*disk is full/,
    );
  } finally {
    await orchestrator.stop();
  }
});

for (const how of ["removed", "replaced"] as const) {
  Deno.test({
    name:
      `state.db ${how} while a run records: the run fails saying so, not exit 0 with nothing recorded`,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      await withState(async (dir) => {
        const run = spawnOrchestra([
          "run",
          "tests/fixtures/durability/gate_flow.ts",
          "-q",
          "-p",
          `log=${dir}/log`,
          "-p",
          `gate=${dir}/gate`,
          "--state-dir",
          dir,
        ]);
        await waitFor("the task to start", async () => (await text(`${dir}/log`)) !== "");
        if (how === "removed") {
          for (const f of ["state.db", "state.db-wal", "state.db-shm"]) {
            await Deno.remove(`${dir}/${f}`).catch(() => {});
          }
        } else {
          await Deno.copyFile(`${dir}/state.db`, `${dir}/copy.db`);
          await Deno.rename(`${dir}/copy.db`, `${dir}/state.db`);
        }
        await Deno.writeTextFile(`${dir}/gate`, "");
        const { code } = await run.done;
        assert.equal(code, 1, run.err());
        assert.match(
          run.err(),
          new RegExp(
            `the state store failed: Cannot record in the state database "${dir}/state\\.db": ` +
              `the file was ${how} while Orchestra had it open`,
          ),
        );
        assert.doesNotMatch(run.err(), /^\s+at /m);
      });
    },
  });
}
