// Two Orchestra processes share one state dir: they run flows at the same time, and neither
// sees "database is locked".
import assert from "node:assert/strict";
import { listRuns, ROOT } from "./_spawn.ts";

const RUNS = 50;

function script(dir: string, label: string): Promise<Deno.CommandOutput> {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--no-prompt",
      `${ROOT}/tests/fixtures/many_runs.ts`,
      dir,
      `${RUNS}`,
      label,
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
}

function cliRuns(dir: string, count: number): Promise<{ code: number; err: string }[]> {
  return (async () => {
    const results = [];
    for (let i = 0; i < count; i++) {
      const { code, stderr } = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "--no-prompt",
          "--unstable-worker-options",
          `${ROOT}/main.ts`,
          "run",
          "examples/params.ts",
          "-p",
          "region=eu",
          "-q",
          "--state-dir",
          dir,
        ],
        cwd: ROOT,
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).output();
      results.push({ code, err: new TextDecoder().decode(stderr) });
    }
    return results;
  })();
}

Deno.test({
  name: `two processes, ${RUNS} runs each, journal into one state dir at the same time`,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "orchestra-concurrency-" });
    try {
      const outputs = await Promise.all([script(dir, "a"), script(dir, "b")]);
      const dec = new TextDecoder();
      for (const [i, out] of outputs.entries()) {
        const err = dec.decode(out.stderr);
        assert.doesNotMatch(err, /database is locked/i);
        assert.equal(out.code, 0, `process ${i}: ${err}`);
        assert.equal(dec.decode(out.stdout).trim(), String(RUNS), `process ${i}: ${err}`);
      }
      const runs = await listRuns(dir);
      assert.equal(runs.length, 2 * RUNS);
      assert.deepEqual(runs.filter((r) => r.status !== "succeeded"), []);
      assert.equal(runs.filter((r) => r.flow === "many-a").length, RUNS);
      assert.equal(runs.filter((r) => r.flow === "many-b").length, RUNS);
      assert.equal(new Set(runs.map((r) => r.runId)).size, 2 * RUNS);
      // They did run at the same time: each process started runs before the other finished.
      const span = (flow: string) => {
        const mine = runs.filter((r) => r.flow === flow);
        return {
          first: Math.min(...mine.map((r) => Date.parse(r.startedAt))),
          last: Math.max(...mine.map((r) => Date.parse(r.finishedAt!))),
        };
      };
      const [a, b] = [span("many-a"), span("many-b")];
      assert.ok(a.first < b.last && b.first < a.last, "the two processes overlapped");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "two `orchestra run` processes, one after another in each, share a state dir",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "orchestra-concurrency-cli-" });
    try {
      const results = (await Promise.all([cliRuns(dir, 4), cliRuns(dir, 4)])).flat();
      for (const r of results) {
        assert.doesNotMatch(r.err, /database is locked/i);
        assert.equal(r.code, 0, r.err);
      }
      const runs = await listRuns(dir);
      assert.equal(runs.length, 8);
      assert.deepEqual(runs.filter((r) => r.status !== "succeeded"), []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
