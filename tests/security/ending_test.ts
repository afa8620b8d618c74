// Escape attempts against the orchestrator itself: a task (or a plugin's top-level code, while
// its manifest is read) signals the orchestrator's process or group, or ends its own isolate.
// Deno lets any isolate signal its own process without `run`; `Deno.exit()` and `close()` in a
// worker end it silently, which left the run "running" forever. Each attempt runs `orchestra`
// in a process of its own, in a session of its own (so a signal to "the group" reaches nothing
// else), bounded in time: the orchestrator must survive, fail the task with what it tried, and
// finish the run.
import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";
import { ROOT } from "../cli/_io.ts";

const FLOWS = `${ROOT}/tests/fixtures/security/ending_flows.ts`;
/** Long enough for a loaded machine; a hang (the old behaviour) ends the test here. */
const LIMIT_MS = 45_000;

interface Outcome {
  code: number | null;
  signal: string | null;
  out: string;
  err: string;
}

async function orchestra(cwd: string, args: string[]): Promise<Outcome> {
  const state = await Deno.makeTempDir({ prefix: "orchestra_ending_" });
  try {
    const child = new Deno.Command("setsid", {
      args: [
        Deno.execPath(),
        "run",
        "-A",
        "--no-prompt",
        "--no-check",
        "--unstable-worker-options",
        `${ROOT}/main.ts`,
        ...args,
        ...(args[0] === "run" ? ["--state-dir", state] : []),
      ],
      cwd,
      // INIT_CWD (set by `deno task`) would tell the CLI another working directory.
      env: { NO_COLOR: "1", INIT_CWD: cwd },
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(LIMIT_MS),
    }).spawn();
    const { code, signal, stdout, stderr } = await child.output();
    const text = (b: Uint8Array) => new TextDecoder().decode(b);
    return { code: signal ? null : code, signal, out: text(stdout), err: text(stderr) };
  } finally {
    await Deno.remove(state, { recursive: true });
  }
}

function alive(o: Outcome): void {
  assert.equal(o.signal, null, `the orchestrator was killed (${o.signal}) or hung:\n${o.err}`);
}

const ATTACKS: { flow: string; task: string; tried: RegExp }[] = [
  {
    flow: "kill_own",
    task: "kill_own",
    tried:
      /task "kill_own" called Deno\.kill\(\d+, "SIGKILL"\); tasks cannot signal the orchestrator's own process or process group/,
  },
  {
    flow: "kill_node",
    task: "kill_node",
    tried: /task "kill_node" called process\.kill\(\d+, "SIGKILL"\); tasks cannot signal/,
  },
  {
    flow: "kill_group",
    task: "kill_group",
    tried: /task "kill_group" called Deno\.kill\(0, "SIGUSR2"\); tasks cannot signal/,
  },
  {
    flow: "exit_deno",
    task: "exit_deno",
    tried:
      /task "exit_deno" called Deno\.exit\(3\); tasks cannot end the orchestrator — throw an error to fail the task/,
  },
  {
    flow: "close_self",
    task: "close_self",
    tried: /task "close_self" called close\(\); tasks cannot end the orchestrator/,
  },
  {
    flow: "exit_node",
    task: "exit_node",
    tried: /task "exit_node" called process\.exit\(4\); tasks cannot end the orchestrator/,
  },
];

for (const a of ATTACKS) {
  Deno.test(`escape attempt: a worker task that tries ${a.flow.replace("_", " ")} fails; the orchestrator survives and finishes the run`, async () => {
    const o = await orchestra(ROOT, ["run", FLOWS, "--flow", a.flow, "--json", "-q"]);
    alive(o);
    assert.equal(o.code, 1, o.err);
    const record = JSON.parse(o.out);
    const byId = Object.fromEntries(
      (record.tasks as { id: string; status: string; error?: string }[]).map((t) => [t.id, t]),
    );
    assert.equal(record.status, "failed");
    assert.equal(byId[a.task].status, "failed");
    assert.match(byId[a.task].error!, a.tried);
    assert.equal(byId.bystander.status, "succeeded", byId.bystander.error);
  });
}

async function withPlugin(topLevel: string, fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "orchestra_ending_plugin_" });
  try {
    await Deno.mkdir(`${dir}/plugins`);
    await Deno.writeTextFile(
      `${dir}/plugins/evil.ts`,
      `import { definePlugin } from ${JSON.stringify(pathToFileURL(`${ROOT}/mod.ts`).href)};
${topLevel}
export default definePlugin({
  name: "evil",
  version: "1.0.0",
  description: "Its top-level code attacks the process that reads its manifest.",
  run: () => "ran",
});
`,
    );
    await Deno.writeTextFile(`${dir}/flow.yaml`, "tasks:\n  t:\n    uses: evil\n");
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("escape attempt: a plugin's top-level code kills the orchestrator while its manifest is read", async () => {
  await withPlugin('Deno.kill(Deno.pid, "SIGKILL");', async (dir) => {
    const o = await orchestra(dir, ["validate", "flow.yaml"]);
    alive(o);
    assert.equal(o.code, 2, o.err);
    assert.match(
      o.err,
      /Plugin module .*evil\.ts failed to load: the top-level code of plugin module evil\.ts called Deno\.kill\(\d+, "SIGKILL"\)/,
    );
  });
});

Deno.test("escape attempt: a plugin's top-level code ends its inspection worker (Deno.exit)", async () => {
  await withPlugin("Deno.exit(1);", async (dir) => {
    const o = await orchestra(dir, ["validate", "flow.yaml"]);
    alive(o);
    assert.equal(o.code, 2, o.err);
    assert.match(o.err, /evil\.ts called Deno\.exit\(1\); tasks cannot end the orchestrator/);
  });
});
