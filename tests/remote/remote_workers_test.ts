import assert from "node:assert/strict";
import { join } from "node:path";
import { main } from "../../src/cli/main.ts";
import { TaskQueue } from "../../src/remote/task_queue.ts";
import { cli, fakeIo, ROOT, withState } from "../cli/_io.ts";
import { pgTest, withClient, withFreshSchema } from "../_helpers/postgres.ts";
import { killAll, MOD_URL, startWorker, until, type WorkerProcess } from "./_workers.ts";

/** A short lease, for the test that waits for one to lapse. */
const FAST = { heartbeatMs: 200, leaseMs: 1000 };

/** A flow of `n` remote tasks (tags `tags`) and `plain` untagged ones, each `ms` long. */
function flowSource(o: { n: number; ms: number; tags?: string[]; plain?: number }): string {
  return `import { flow, task } from "${MOD_URL}";
export const work = task(
  { name: "work", executor: "remote", tags: ${JSON.stringify(o.tags ?? [])} },
  async (n: number, ctx) => {
    await new Promise((r) => setTimeout(r, ${o.ms}));
    ctx.log.info("ran " + n);
    return { n, pid: Deno.pid, attempt: ctx.attempt, key: ctx.idempotencyKey };
  },
);
export const plain = task({ name: "plain", executor: "remote" }, (n: number) => ({ n, pid: Deno.pid }));
export default flow("fleet", () => {
  const out = [];
  for (let i = 0; i < ${o.n}; i++) out.push(work(i));
  for (let i = 0; i < ${o.plain ?? 0}; i++) out.push(plain(i));
  return out;
});
`;
}

interface TaskDoc {
  id: string;
  status: string;
  attempts: number;
  result: { n: number; pid: number; attempt?: number; key?: string };
}

async function runFlow(
  url: string,
  dir: string,
  source: string,
): Promise<
  { code: number; err: string; doc: { runId: string; status: string; tasks: TaskDoc[] } }
> {
  const file = join(dir, "fleet.ts");
  await Deno.writeTextFile(file, source);
  const io = fakeIo();
  const code = await main(
    ["run", file, "--store", url, "--state-dir", join(dir, "state"), "--json"],
    io,
  );
  assert.ok(io.out.trim().startsWith("{"), `no JSON from run (exit ${code}):\n${io.err}`);
  return { code, err: io.err, doc: JSON.parse(io.out) };
}

Deno.test("run: a remote task on a SQLite store is a clear error before anything runs", async () => {
  await withState(async (dir) => {
    const file = join(dir, "fleet.ts");
    await Deno.writeTextFile(file, flowSource({ n: 1, ms: 0 }));
    const r = await cli(["run", file, "--state-dir", join(dir, "state")]);
    assert.equal(r.code, 2, r.err);
    assert.match(
      r.err,
      /error: Task "work" has executor "remote": remote needs a PostgreSQL store: --store postgres:\/\/…/,
    );
    const flag = await cli([
      "run",
      join(dir, "fleet.ts"),
      "--state-dir",
      join(dir, "state"),
      "--executor",
      "remote",
    ]);
    assert.equal(flag.code, 2);
    assert.match(flag.err, /--executor remote: remote needs a PostgreSQL store/);
  });
});

Deno.test("worker and workers without a PostgreSQL store say what they need", async () => {
  for (const command of ["worker", "workers"]) {
    const r = await cli([command]);
    assert.equal(r.code, 2, command);
    assert.match(r.err, /remote needs a PostgreSQL store: --store postgres:\/\/…/);
  }
  const bad = await cli(["worker", "--store", "postgres://x@127.0.0.1:1/db", "--concurrency", "0"]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--concurrency must be a whole number ≥ 1, got "0"/);
});

pgTest("two workers drain one run; workers lists them; SIGTERM drains and stops", async (url) => {
  await withFreshSchema(url, async (schemaUrl) => {
    await withState(async (dir) => {
      const workers: WorkerProcess[] = [];
      try {
        workers.push(await startWorker(schemaUrl, ["--concurrency", "2"]));
        workers.push(await startWorker(schemaUrl, ["--concurrency", "2", "--tags", "a,b"]));
        const listed = await cli(["workers", "--store", schemaUrl, "--json"]);
        assert.equal(listed.code, 0, listed.err);
        const live = JSON.parse(listed.out);
        assert.deepEqual(
          live.workers.map((w: { pid: number }) => w.pid).sort(),
          workers.map((w) => w.pid).sort(),
        );
        assert.deepEqual(live.workers.find((w: { pid: number }) => w.pid === workers[1].pid).tags, [
          "a",
          "b",
        ]);
        const table = await cli(["workers", "--store", schemaUrl]);
        assert.match(table.out, /^WORKER\s+HOST\s+PID\s+TAGS\s+RUNNING\s+LAST HEARTBEAT\n/);
        assert.match(table.out, /a,b\s+0\/2\s+\d+\.\ds ago/);

        const { code, err, doc } = await runFlow(schemaUrl, dir, flowSource({ n: 8, ms: 300 }));
        assert.equal(code, 0, err);
        assert.equal(doc.status, "succeeded");
        assert.equal(doc.tasks.length, 8);
        const pids = new Set(doc.tasks.map((t) => t.result.pid));
        assert.deepEqual(
          [...pids].sort(),
          workers.map((w) => w.pid).sort(),
          "both workers ran tasks",
        );
        for (const t of doc.tasks) {
          assert.equal(t.attempts, 1);
          assert.equal(t.result.attempt, 1);
          assert.equal(t.result.key, `${doc.runId}:${t.id}`);
        }
        // Nothing is left in the queue once the results were read.
        const left = await withClient(
          url,
          (sql) =>
            sql.unsafe(
              `SELECT count(*)::int AS n FROM "${
                new URL(schemaUrl).searchParams.get("schema")
              }".task_queue`,
            ),
        );
        assert.equal(left[0].n, 0);

        for (const w of workers) w.kill("SIGTERM");
        for (const w of workers) {
          assert.equal(await w.exited, 0, w.err());
          assert.match(w.err(), /SIGTERM: draining/);
          assert.match(w.err(), /orchestra worker stopped \(\d+ tasks done\)/);
        }
        const after = await cli(["workers", "--store", schemaUrl, "--json"]);
        assert.deepEqual(JSON.parse(after.out).workers, []);
      } finally {
        await killAll(workers);
      }
    });
  });
});

pgTest(
  "a worker killed (SIGKILL) mid-task: the task runs again on another worker, recorded once",
  async (url) => {
    await withFreshSchema(url, async (schemaUrl, schema) => {
      await withState(async (dir) => {
        const workers: WorkerProcess[] = [];
        try {
          const a = await startWorker(schemaUrl, ["--concurrency", "1"], FAST);
          workers.push(a);
          const running = runFlow(schemaUrl, dir, flowSource({ n: 1, ms: 1500 }));
          await until("worker A runs the task", async () => {
            const rows = await withClient(
              url,
              (sql) => sql.unsafe(`SELECT status FROM "${schema}".task_queue`),
            );
            return rows.length === 1 && rows[0].status === "running";
          });
          a.kill("SIGKILL");
          await a.exited;
          const b = await startWorker(schemaUrl, ["--concurrency", "1"], FAST);
          workers.push(b);
          const { code, err, doc } = await running;
          assert.equal(code, 0, err);
          assert.equal(doc.status, "succeeded");
          assert.equal(doc.tasks.length, 1);
          const [t] = doc.tasks;
          assert.equal(t.status, "succeeded");
          assert.equal(t.attempts, 1, "the engine recorded one attempt");
          assert.equal(t.result.pid, b.pid, "it finished on the other worker");
          assert.equal(t.result.attempt, 2, "ctx.attempt counts the second delivery");
          assert.equal(t.result.key, `${doc.runId}:work`, "the idempotency key is stable");
        } finally {
          await killAll(workers);
        }
      });
    });
  },
);

pgTest("tags route tasks: a tagged task runs only on a worker with all its tags", async (url) => {
  await withFreshSchema(url, async (schemaUrl) => {
    await withState(async (dir) => {
      const workers: WorkerProcess[] = [];
      try {
        const gpu = await startWorker(schemaUrl, ["--concurrency", "2", "--tags", "gpu,big"]);
        const other = await startWorker(schemaUrl, ["--concurrency", "4", "--tags", "gpu2"]);
        workers.push(gpu, other);
        const { code, err, doc } = await runFlow(
          schemaUrl,
          dir,
          flowSource({ n: 4, ms: 100, tags: ["gpu"], plain: 4 }),
        );
        assert.equal(code, 0, err);
        const tagged = doc.tasks.filter((t) => t.id.startsWith("work"));
        const plain = doc.tasks.filter((t) => t.id.startsWith("plain"));
        assert.equal(tagged.length, 4);
        for (const t of tagged) assert.equal(t.result.pid, gpu.pid, t.id);
        assert.equal(plain.length, 4);
        for (const t of plain) assert.ok([gpu.pid, other.pid].includes(t.result.pid), t.id);
      } finally {
        await killAll(workers);
      }
    });
  });
});

pgTest("the fencing token discards the late result of a worker presumed dead", async (url) => {
  await withFreshSchema(url, async (schemaUrl) => {
    const queue = await TaskQueue.open(schemaUrl);
    try {
      const call = {
        moduleUrl: "file:///x.ts",
        workerName: "t",
        name: "t",
        flow: "f",
        params: {},
        args: [],
        grant: {},
        secrets: [],
      };
      const id = await queue.enqueue({
        runId: "r",
        taskId: "t",
        attempt: 1,
        idempotencyKey: "r:t",
        tags: [],
        call,
      });
      const [first] = await queue.claim("w1", 10, [], 100);
      assert.equal(first.id, id);
      assert.deepEqual(await queue.claim("w2", 10, [], 100), [], "held while its lease lasts");
      await until(
        "the lease lapsed",
        async () => (await queue.claim("w2", 10, [], 60_000)).length === 1,
      );
      assert.deepEqual(
        await queue.heartbeat({ workerId: "w1", running: 1, leaseMs: 100 }, [first]),
        [
          id,
        ],
      );
      assert.equal(await queue.complete(id, first.token, { ok: true, value: "late" }), false);
      const [second] = await withClient(
        url,
        (sql) =>
          sql.unsafe(
            `SELECT token, claims FROM "${
              new URL(schemaUrl).searchParams.get("schema")
            }".task_queue`,
          ),
      );
      assert.equal(second.claims, 2);
      assert.equal(
        await queue.complete(id, Number(second.token), { ok: true, value: "on time" }),
        true,
      );
      assert.deepEqual([...(await queue.outcomes([id])).values()], [{
        ok: true,
        value: "on time",
      }]);
    } finally {
      await queue.close();
    }
  });
});

/** What examples/scale_out.ts computes for one part. */
async function digestOf(part: number, rounds: number): Promise<string> {
  let data = new TextEncoder().encode(`part ${part}`).buffer as ArrayBuffer;
  for (let i = 0; i < rounds; i++) data = await crypto.subtle.digest("SHA-256", data);
  return Array.from(new Uint8Array(data, 0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
}

pgTest(
  "the CLI end to end: examples/scale_out.ts on two workers, one killed mid-run, finishes right",
  async (url) => {
    await withFreshSchema(url, async (schemaUrl, schema) => {
      await withState(async (dir) => {
        const workers: WorkerProcess[] = [];
        try {
          workers.push(await startWorker(schemaUrl, ["--concurrency", "2"], FAST));
          workers.push(await startWorker(schemaUrl, ["--concurrency", "2"], FAST));
          const run = new Deno.Command(Deno.execPath(), {
            args: [
              "run",
              "-A",
              "--no-prompt",
              "--unstable-worker-options",
              join(ROOT, "main.ts"),
              "run",
              join(ROOT, "examples", "scale_out.ts"),
              "--store",
              schemaUrl,
              "--state-dir",
              join(dir, "state"),
              "-p",
              "parts=8",
              "-p",
              "rounds=3000",
              "--json",
            ],
            cwd: dir,
            stdin: "null",
            stdout: "piped",
            stderr: "piped",
            env: { NO_COLOR: "1" },
          }).output();
          const victim = workers[0];
          await until("the first worker runs a task", async () => {
            const rows = await withClient(url, (sql) =>
              sql.unsafe(
                `SELECT 1 FROM "${schema}".task_queue q JOIN "${schema}".workers w
                ON w.worker_id = q.worker_id WHERE q.status = 'running' AND w.pid = $1`,
                [victim.pid],
              ));
            return rows.length > 0;
          });
          victim.kill("SIGKILL");
          const out = await run;
          const err = new TextDecoder().decode(out.stderr);
          assert.equal(out.code, 0, err);
          const doc = JSON.parse(new TextDecoder().decode(out.stdout));
          assert.equal(doc.status, "succeeded");
          const items = doc.tasks.filter((t: { id: string }) => /^digest\[\d+\]$/.test(t.id));
          assert.equal(items.length, 8, "each part recorded once");
          for (const t of items) assert.equal(t.status, "succeeded");
          assert.deepEqual(doc.result, {
            parts: 8,
            first: await digestOf(0, 3000),
            last: await digestOf(7, 3000),
          });
          const digests = doc.tasks.find((t: { id: string }) => t.id === "digest").result;
          for (let i = 0; i < 8; i++) {
            assert.equal(digests[i], await digestOf(i, 3000), `part ${i}`);
          }
        } finally {
          await killAll(workers);
        }
      });
    });
  },
);

pgTest(
  "a remote task runs with exactly its grant; YAML's executor: remote runs a plugin step on a worker",
  async (url) => {
    await withFreshSchema(url, async (schemaUrl) => {
      await withState(async (dir) => {
        const workers: WorkerProcess[] = [];
        try {
          workers.push(await startWorker(schemaUrl, ["--concurrency", "2"]));
          const data = join(dir, "data.txt");
          await Deno.writeTextFile(data, "granted");
          const file = join(dir, "grant.ts");
          await Deno.writeTextFile(
            file,
            `import { flow, task } from "${MOD_URL}";
export const reads = task(
  { name: "reads", executor: "remote", permissions: { read: [${JSON.stringify(data)}] } },
  () => Deno.readTextFile(${JSON.stringify(data)}),
);
export const sneaks = task(
  { name: "sneaks", executor: "remote", continueOnError: true },
  () => Deno.readTextFile(${JSON.stringify(data)}),
);
export default flow("grant", () => ({ a: reads(), b: sneaks() }));
`,
          );
          const io = fakeIo();
          await main(
            ["run", file, "--store", schemaUrl, "--state-dir", join(dir, "s"), "--json"],
            io,
          );
          const doc = JSON.parse(io.out);
          const byId = Object.fromEntries(
            doc.tasks.map((t: { id: string }) => [t.id, t]),
          ) as Record<string, { status: string; result?: unknown; error?: string }>;
          assert.equal(byId.reads.status, "succeeded", JSON.stringify(byId.reads));
          assert.equal(byId.reads.result, "granted");
          assert.equal(byId.sneaks.status, "failed");
          assert.match(
            JSON.stringify(byId.sneaks),
            /Requires read access to .*data\.txt.*task \\"sneaks\\" was not granted it/,
          );

          const yaml = join(dir, "remote.yaml");
          await Deno.writeTextFile(
            yaml,
            `name: remote_yaml
params:
  who: { type: string, default: world }
tasks:
  greet:
    uses: log
    executor: remote
    with: { message: "Hello, \${{ params.who }}", level: info }
  shout:
    needs: greet
    executor: remote
    uses: log
    with: { message: "\${{ tasks.greet.result }}!" }
`,
          );
          const y = fakeIo();
          const code = await main(
            [
              "run",
              yaml,
              "--store",
              schemaUrl,
              "--state-dir",
              join(dir, "s"),
              "--json",
              "-p",
              "who=Ada",
            ],
            y,
          );
          assert.equal(code, 0, y.err);
          const ydoc = JSON.parse(y.out);
          assert.deepEqual(ydoc.tasks.map((t: { result: unknown }) => t.result), [
            "Hello, Ada",
            "Hello, Ada!",
          ]);
          assert.match(JSON.stringify(ydoc.tasks[0].logs), /Hello, Ada/);
        } finally {
          await killAll(workers);
        }
      });
    });
  },
);

pgTest(
  "SIGTERM mid-task drains: the running task finishes and is recorded, then the worker exits 0",
  async (url) => {
    await withFreshSchema(url, async (schemaUrl, schema) => {
      await withState(async (dir) => {
        const workers: WorkerProcess[] = [];
        try {
          const w = await startWorker(schemaUrl, ["--concurrency", "1"]);
          workers.push(w);
          const running = runFlow(schemaUrl, dir, flowSource({ n: 1, ms: 1500 }));
          await until("the worker runs the task", async () => {
            const rows = await withClient(
              url,
              (sql) => sql.unsafe(`SELECT status FROM "${schema}".task_queue`),
            );
            return rows.length === 1 && rows[0].status === "running";
          });
          w.kill("SIGTERM");
          const { code, err, doc } = await running;
          assert.equal(code, 0, err);
          assert.equal(doc.tasks[0].result.pid, w.pid);
          assert.equal(doc.tasks[0].result.attempt, 1);
          assert.equal(await w.exited, 0, w.err());
          assert.match(w.err(), /SIGTERM: draining \(1 running\)/);
          assert.match(w.err(), /orchestra worker stopped \(1 tasks done\)/);
        } finally {
          await killAll(workers);
        }
      });
    });
  },
);

pgTest(
  "orchestra worker is a host: a task module's top level runs only in its sandboxed worker",
  async (url) => {
    await withFreshSchema(url, async (schemaUrl) => {
      await withState(async (dir) => {
        const workers: WorkerProcess[] = [];
        try {
          workers.push(await startWorker(schemaUrl));
          const marker = join(dir, "imported-by-the-host");
          const file = join(dir, "side_effect.ts");
          // Under the CLI the flow isolate imports this module with no permissions too: the
          // write is caught there, so that the flow can be planned at all.
          await Deno.writeTextFile(
            file,
            `import { flow, task } from "${MOD_URL}";
try { Deno.writeTextFileSync(${
              JSON.stringify(marker)
            }, String(Deno.pid)); } catch { /* no rights */ }
export const probe = task({ name: "probe", executor: "remote" }, () => {
  try {
    Deno.writeTextFileSync(${JSON.stringify(marker)}, "task");
    return "wrote";
  } catch (e) {
    return (e as Error).name;
  }
});
export default flow("host", () => probe());
`,
          );
          const { code, err, doc } = await runFlow(schemaUrl, dir, await Deno.readTextFile(file));
          assert.equal(code, 0, err);
          assert.equal(doc.tasks[0].result as unknown, "NotCapable");
          await assert.rejects(() => Deno.stat(marker), Deno.errors.NotFound);
        } finally {
          await killAll(workers);
        }
      });
    });
  },
);
