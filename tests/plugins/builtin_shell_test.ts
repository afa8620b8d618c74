import assert from "node:assert/strict";
import { join } from "node:path";
import shell from "../../plugins/shell.ts";
import { CommandFailedError } from "../../src/executors/process.ts";
import {
  parsePluginParams,
  type PluginDefinition,
  pluginManifest,
  pluginPermissions,
} from "../../src/plugins/contract.ts";
import { runPlugin, runPluginInWorker } from "../../testing.ts";

// pluginManifest() and pluginPermissions() take a PluginDefinition<Record<string, unknown>>,
// which a plugin whose params type is an interface (no index signature) is not: they need a cast.
const untyped = shell as unknown as PluginDefinition;
const LINUX = Deno.build.os === "linux";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "orchestra-shell-" });
  try {
    await Deno.mkdir(join(dir, "data"));
    await Deno.writeTextFile(join(dir, "data/rows.csv"), "a\nb\nc\n");
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

// Whether a process is gone (or a zombie nobody reaped yet, which runs no more).
async function gone(pid: number): Promise<boolean> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

async function waitUntilGone(pid: number): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    if (await gone(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

async function waitForFile(path: string): Promise<string> {
  for (;;) {
    try {
      const text = (await Deno.readTextFile(path)).trim();
      if (text) return text;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test("shell returns stdout parsed like a run: task: JSON, text or null", async () => {
  const run = async (command: string) => (await runPlugin(shell, { command })).result;
  assert.deepEqual(await run(`printf '{"rows": 3}\\n'`), { rows: 3 });
  assert.equal(await run("echo hello; echo world"), "hello\nworld");
  assert.equal(await run("true"), null);
});

Deno.test("shell runs in the flow's directory, or in cwd relative to it", async () => {
  await withDir(async (dir) => {
    assert.equal((await runPlugin(shell, { command: "pwd" }, { dir })).result, dir);
    assert.equal(
      (await runPlugin(shell, { command: "wc -l < rows.csv", cwd: "data" }, { dir })).result,
      3,
    );
  });
});

Deno.test("shell's command gets the base variables, passEnv, env and secretEnv, nothing else", async () => {
  Deno.env.set("ORCHESTRA_TEST_PASSED", "passed");
  Deno.env.set("ORCHESTRA_TEST_HIDDEN", "hidden");
  try {
    const { result } = await runPlugin(shell, {
      command: 'printf "%s|%s|%s|%s|%s" "$GREETING" "$N" "$ORCHESTRA_TEST_PASSED" ' +
        '"${ORCHESTRA_TEST_HIDDEN:-unset}" "$TOKEN"',
      env: { GREETING: "hi there", N: 2 },
      passEnv: ["ORCHESTRA_TEST_PASSED"],
      secretEnv: { TOKEN: "TOKEN" },
    }, { secrets: { TOKEN: "s3cret" } });
    assert.equal(result, "hi there|2|passed|unset|s3cret");
    assert.equal(
      (await runPlugin(shell, { command: 'echo "$PATH"' })).result,
      Deno.env.get("PATH"),
    );
  } finally {
    Deno.env.delete("ORCHESTRA_TEST_PASSED");
    Deno.env.delete("ORCHESTRA_TEST_HIDDEN");
  }
});

Deno.test("shell fails on a non-zero exit with the code and the end of stderr", async () => {
  await assert.rejects(
    runPlugin(shell, { command: "echo starting; echo 'no such table' >&2; exit 3" }),
    (e: Error) => {
      assert.ok(e instanceof CommandFailedError);
      assert.equal(e.code, 3);
      assert.equal(e.message, "command exited with code 3: no such table");
      return true;
    },
  );
});

Deno.test("shell logs each line of output with its stream", async () => {
  const { logs } = await runPlugin(shell, { command: "echo one; echo two >&2; echo three" });
  const logged = logs.filter((l) => l.level === "info")
    .map((l) => `${(l.props as { stream: string }).stream}: ${l.message}`).sort();
  assert.deepEqual(logged, ["stderr: two", "stdout: one", "stdout: three"]);
});

Deno.test({
  name: "shell's cancellation stops the command and what it started",
  ignore: !LINUX,
  fn: async () => {
    await withDir(async (dir) => {
      const controller = new AbortController();
      const pidFile = join(dir, "pid");
      const call = runPlugin(shell, { command: `sleep 60 & echo $! > ${pidFile}; wait` }, {
        signal: controller.signal,
      });
      const pid = Number(await waitForFile(pidFile));
      assert.equal(await gone(pid), false);
      controller.abort(new Error("timed out after 1s"));
      await assert.rejects(call, /timed out after 1s/);
      assert.ok(await waitUntilGone(pid), "the background sleep was stopped");
    });
  },
});

Deno.test("shell's params: a command, variable names that are names", () => {
  assert.deepEqual(parsePluginParams(shell, { command: "ls" }), {
    ok: true,
    value: { command: "ls", args: [], output: "auto", env: {}, passEnv: [], secretEnv: {} },
  });
  const bad = parsePluginParams(shell, { command: "", env: { "NOT-A-NAME": "x" } });
  assert.equal(bad.ok, false);
  const paths = !bad.ok ? bad.problems.map((p) => p.path.join(".")) : [];
  assert.ok(paths.includes("command"), paths.join());
  assert.ok(paths.some((p) => p.startsWith("env")), paths.join());
});

Deno.test("shell asks to start its process and read the variables it passes on", () => {
  const perms = pluginPermissions(untyped, { command: "ls", passEnv: ["AWS_REGION"] });
  assert.deepEqual(perms, {
    run: [LINUX ? "setsid" : "sh"],
    env: ["PATH", "HOME", "LANG", "TZ", "TMPDIR", "AWS_REGION"],
  });
  const m = pluginManifest(untyped);
  assert.equal(m.permissions, "computed");
  assert.equal(m.pure, false);
  assert.ok(m.docs!.includes("passEnv") && m.example!.includes("uses: shell"));
});

Deno.test("shell runs in a worker with only its grant, and its timeout stops the command", async () => {
  await withDir(async (dir) => {
    // One grant for every call: what shell asks for when it passes no variables on.
    const grant = pluginPermissions(untyped, { command: "x" }, { dir });
    const call = (params: Record<string, unknown>, signal?: AbortSignal) =>
      runPluginInWorker(shell, params, { dir, grant, signal });
    assert.equal((await call({ command: "cat data/rows.csv | wc -l" })).result, 3);
    // A host variable the grant does not name cannot be passed on.
    await assert.rejects(
      call({ command: "true", passEnv: ["ORCHESTRA_TEST_VAR"] }),
      /Requires env access to "ORCHESTRA_TEST_VAR"/,
    );
    if (!LINUX) return;
    // Terminating the worker (what a timeout does) stops what the command started.
    const controller = new AbortController();
    const pidFile = join(dir, "pid");
    const running = call({ command: `sleep 60 & echo $! > ${pidFile}; wait` }, controller.signal);
    const pid = Number(await waitForFile(pidFile));
    controller.abort(new Error("timed out"));
    await assert.rejects(running, /timed out/);
    assert.ok(await waitUntilGone(pid), "the background sleep was stopped");
  });
});
