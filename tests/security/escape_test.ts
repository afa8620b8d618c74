// The security suite: a table of escape attempts, each run as a real worker task with a narrow
// grant. Each must be denied by Deno inside the worker and reported as such: the task fails
// with an error naming the task and the permission, while a sibling using its grant as meant
// succeeds. Requests beyond the flow's ceiling, the policy or `sandbox: "strict"` are refused
// before anything runs. What Deno itself allows and Orchestra cannot prevent is pinned at the
// end as "known limitation" tests, so a change in Deno shows up here.
import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";
import { executeFlow, flow, FlowValidationError, type RunEvent } from "../../mod.ts";
import type { FlowHandle, RunRecord } from "../../mod.ts";
import { main } from "../../src/cli/main.ts";
import { readAudit } from "../../src/permissions/audit.ts";
import { Authorizer } from "../../src/permissions/authorizer.ts";
import { fakeIo, ROOT } from "../cli/_io.ts";
import {
  changeDir,
  escalateWorker,
  fetchAsLocalhost,
  fetchAsLoopbackIp,
  fetchOtherPort,
  importModule,
  inheritWorker,
  inlineReader,
  openLibrary,
  readBeyond,
  readEnv,
  readText,
  spawn,
  systemInfo,
  writeText,
} from "../fixtures/security/escape_tasks.ts";

const SECRET = "the secret outside the box";

/** A temporary directory: `box/` is what tasks are granted, `outside/` what they must not reach. */
interface Sandbox {
  dir: string;
  box: string;
  outside: string;
  /** A loopback server the test started; `hits` counts the requests that reached it. */
  port: number;
  hits: number;
}

async function withSandbox(fn: (s: Sandbox) => Promise<void>): Promise<void> {
  // Real, so that only the links made here lead elsewhere (macOS's temp dir is a link).
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "orchestra_escape_" }));
  const s: Sandbox = { dir, box: `${dir}/box`, outside: `${dir}/outside`, port: 0, hits: 0 };
  await Deno.mkdir(s.box);
  await Deno.mkdir(s.outside);
  await Deno.writeTextFile(`${s.box}/inside.txt`, "inside");
  await Deno.writeTextFile(`${s.box}/module.js`, "export default 'imported';\n");
  await Deno.writeTextFile(`${s.outside}/secret.txt`, SECRET);
  await Deno.writeTextFile(`${s.outside}/module.js`, `export default ${JSON.stringify(SECRET)};\n`);
  // Links inside the granted directory that point out of it.
  await Deno.symlink("../outside", `${s.box}/link`);
  await Deno.symlink("../outside/secret.txt", `${s.box}/secret-link`);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    s.hits++;
    return new Response(SECRET);
  });
  s.port = server.addr.port;
  Deno.env.set("ORCH_T_ALLOWED", "allowed");
  Deno.env.set("ORCH_X", SECRET);
  try {
    await fn(s);
  } finally {
    Deno.env.delete("ORCH_T_ALLOWED");
    Deno.env.delete("ORCH_X");
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs a flow as `orchestra run` would: requests resolve against the sandbox, then ceiling,
 * policy and audit decide at launch. */
async function runIn(
  s: Sandbox,
  body: (f: FlowHandle) => unknown,
): Promise<RunRecord & { errors: Map<string, Error> }> {
  const authorizer = new Authorizer({ flow: "escape", baseDir: s.dir, user: "security-suite" });
  const errors = new Map<string, Error>();
  const record = await flow("escape", body).run({}, {
    authorize: (t) => authorizer.authorize({ id: t.taskId, request: t.request, runId: t.runId }),
    hooks: { onTaskError: (ctx, e) => void errors.set(ctx.taskId, e as Error) },
  });
  return { ...record, errors };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** The FlowValidationError a run is refused with. */
async function rejection(run: Promise<unknown>): Promise<FlowValidationError> {
  try {
    await run;
  } catch (e) {
    assert.ok(e instanceof FlowValidationError, `refused with ${e}`);
    return e;
  }
  throw new assert.AssertionError({ message: "the flow ran: it should have been refused" });
}

const esc = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** One escape attempt: the call `attempt` must be denied, the call `control` must succeed. */
interface Attempt {
  /** What the task tries. */
  name: string;
  /** The flow body; call the attempt with id "attempt" and its sibling with id "control". */
  body(f: FlowHandle, s: Sandbox): void;
  /** The attempt's error type: Deno's `NotCapable`, or `TypeError` for a module load. */
  type?: "TypeError";
  /** What the attempt's error must say: the permission, and what was asked for. */
  error(s: Sandbox): RegExp;
  /** What the control returns. */
  control: (s: Sandbox) => unknown;
  /** Checks after the run, e.g. that nothing was written. */
  after?(s: Sandbox): Promise<void> | void;
}

const ATTEMPTS: Attempt[] = [
  {
    name: "read outside the grant",
    body: (f, s) => {
      f.call(readText, [`${s.outside}/secret.txt`], { id: "attempt" });
      f.call(readText, [`${s.box}/inside.txt`], { id: "control" });
    },
    error: (s) => new RegExp(`Requires read access to "${esc(s.outside)}/secret\\.txt"`),
    control: () => "inside",
  },
  {
    name: "read via .. from inside the granted directory",
    body: (f, s) => {
      f.call(readText, [`${s.box}/../outside/secret.txt`], { id: "attempt" });
      f.call(readText, [`${s.box}/./inside.txt`], { id: "control" });
    },
    error: (s) => new RegExp(`Requires read access to "${esc(s.outside)}/secret\\.txt"`),
    control: () => "inside",
  },
  {
    name: "write outside the grant",
    body: (f, s) => {
      f.call(writeText, [`${s.outside}/written.txt`], { id: "attempt" });
      f.call(writeText, [`${s.box}/written.txt`], { id: "control" });
    },
    error: (s) => new RegExp(`Requires write access to "${esc(s.outside)}/written\\.txt"`),
    control: () => "written",
    after: async (s) => assert.equal(await exists(`${s.outside}/written.txt`), false),
  },
  {
    name: "write via .. from inside the granted directory",
    body: (f, s) => {
      f.call(writeText, [`${s.box}/../outside/written.txt`], { id: "attempt" });
      f.call(writeText, [`${s.box}/written.txt`], { id: "control" });
    },
    error: (s) => new RegExp(`Requires write access to "${esc(s.outside)}/written\\.txt"`),
    control: () => "written",
    after: async (s) => assert.equal(await exists(`${s.outside}/written.txt`), false),
  },
  {
    name: "network to a port of the granted host that was not granted",
    body: (f, s) => {
      f.call(fetchOtherPort, [`http://127.0.0.1:${s.port}/`], { id: "attempt" });
      f.call(fetchAsLoopbackIp, [`http://127.0.0.1:${s.port}/`], { id: "control" });
    },
    error: (s) => new RegExp(`Requires net access to "127\\.0\\.0\\.1:${s.port}"`),
    control: () => SECRET,
    after: (s) => assert.equal(s.hits, 1, "only the control reached the server"),
  },
  {
    name: "network to another host",
    body: (f, s) => {
      f.call(fetchOtherPort, ["http://example.com/"], { id: "attempt" });
      f.call(fetchAsLoopbackIp, [`http://127.0.0.1:${s.port}/`], { id: "control" });
    },
    error: () => /Requires net access to "example\.com(:80)?"/,
    control: () => SECRET,
  },
  {
    name: "network to 127.0.0.1 with a grant for localhost",
    body: (f, s) => {
      f.call(fetchAsLocalhost, [`http://127.0.0.1:${s.port}/`], { id: "attempt" });
      f.call(fetchAsLoopbackIp, [`http://127.0.0.1:${s.port}/`], { id: "control" });
    },
    error: (s) => new RegExp(`Requires net access to "127\\.0\\.0\\.1:${s.port}"`),
    control: () => SECRET,
    after: (s) => assert.equal(s.hits, 1, "only the control reached the server"),
  },
  {
    name: "network to localhost with a grant for 127.0.0.1",
    body: (f, s) => {
      f.call(fetchAsLoopbackIp, [`http://localhost:${s.port}/`], { id: "attempt" });
      f.call(fetchAsLoopbackIp, [`http://127.0.0.1:${s.port}/`], { id: "control" });
    },
    error: (s) => new RegExp(`Requires net access to "localhost:${s.port}"`),
    control: () => SECRET,
    after: (s) => assert.equal(s.hits, 1, "only the control reached the server"),
  },
  {
    name: "an environment variable not granted",
    body: (f) => {
      f.call(readEnv, ["HOME"], { id: "attempt" });
      f.call(readEnv, ["ORCH_T_ALLOWED"], { id: "control" });
    },
    error: () => /Requires env access to "HOME"/,
    control: () => "allowed",
  },
  {
    name: "an environment variable outside a wildcard grant (ORCH_T_* does not cover ORCH_X)",
    body: (f) => {
      f.call(readEnv, ["ORCH_X"], { id: "attempt" });
      f.call(readEnv, ["ORCH_T_ALLOWED"], { id: "control" });
    },
    error: () => /Requires env access to "ORCH_X"/,
    control: () => "allowed",
  },
  {
    name: "a subprocess without run",
    body: (f, s) => {
      f.call(spawn, [], { id: "attempt" });
      f.call(readText, [`${s.box}/inside.txt`], { id: "control" });
    },
    error: () => /Requires run access to "true"/,
    control: () => "inside",
  },
  {
    name: "a worker started inside the task asking for more than the task has",
    body: (f, s) => {
      f.call(escalateWorker, [`${s.outside}/secret.txt`], { id: "attempt" });
      f.call(inheritWorker, [`${s.box}/inside.txt`], { id: "control" });
    },
    // Deno's message names no permission: the worker asked for read (all) and got nothing.
    error: () => /NotCapable|Can't escalate parent thread permissions/,
    control: () => "inside",
  },
  {
    name: "a worker started inside the task with the task's permissions, reading outside",
    body: (f, s) => {
      f.call(inheritWorker, [`${s.outside}/secret.txt`], { id: "attempt" });
      f.call(inheritWorker, [`${s.box}/inside.txt`], { id: "control" });
    },
    error: (s) => new RegExp(`Requires read access to "${esc(s.outside)}/secret\\.txt"`),
    control: () => "inside",
  },
  {
    name: "a dynamic import of a remote module without import",
    body: (f, s) => {
      f.call(importModule, ["https://example.com/escape.js"], { id: "attempt" });
      f.call(importModule, [pathToFileURL(`${s.box}/module.js`).href], { id: "control" });
    },
    type: "TypeError",
    error: () => /Requires import access to "example\.com:443"/,
    control: () => "imported",
  },
  {
    name: "a dynamic import of a local module outside the grant",
    body: (f, s) => {
      f.call(importModule, [pathToFileURL(`${s.outside}/module.js`).href], { id: "attempt" });
      f.call(importModule, [pathToFileURL(`${s.box}/module.js`).href], { id: "control" });
    },
    type: "TypeError",
    error: (s) => new RegExp(`Requires read access to "${esc(s.outside)}/module\\.js"`),
    control: () => "imported",
  },
  {
    name: "a native library without ffi",
    body: (f, s) => {
      f.call(openLibrary, ["libc.so.6"], { id: "attempt" });
      f.call(readText, [`${s.box}/inside.txt`], { id: "control" });
    },
    error: () => /Requires ffi access to "libc\.so\.6"/,
    control: () => "inside",
  },
  {
    name: "system information (Deno.osRelease) without sys",
    body: (f, s) => {
      f.call(systemInfo, ["osRelease"], { id: "attempt" });
      f.call(readText, [`${s.box}/inside.txt`], { id: "control" });
    },
    error: () => /Requires sys access to "osRelease"/,
    control: () => "inside",
  },
  {
    name: "system information (Deno.hostname) without sys",
    body: (f, s) => {
      f.call(systemInfo, ["hostname"], { id: "attempt" });
      f.call(readText, [`${s.box}/inside.txt`], { id: "control" });
    },
    error: () => /Requires sys access to "hostname"/,
    control: () => "inside",
  },
];

for (const a of ATTEMPTS) {
  Deno.test(`escape attempt is denied and reported: ${a.name}`, async () => {
    await withSandbox(async (s) => {
      const record = await runIn(s, (f) => a.body(f, s));
      const byId = Object.fromEntries(record.tasks.map((t) => [t.id, t]));
      const attempt = byId.attempt;
      assert.equal(
        attempt.status,
        "failed",
        `not denied: the task returned ${JSON.stringify(attempt.result)}`,
      );
      assert.equal(attempt.attempts, 1, "the task ran, and Deno denied it inside the worker");
      const error = `${attempt.error}`;
      assert.match(error, /task "attempt" was not granted it/, "the error names the task");
      assert.match(error, a.error(s), "the error names the permission and what was asked");
      assert.equal(record.errors.get("attempt")?.name, a.type ?? "NotCapable");
      assert.equal(record.status, "failed");
      assert.equal(byId.control.status, "succeeded", byId.control.error);
      assert.deepEqual(byId.control.result, a.control(s));
      if (a.control(s) !== SECRET) {
        assert.ok(!JSON.stringify(record).includes(SECRET), "nothing from outside leaked");
      }
      await a.after?.(s);
    });
  });
}

Deno.test("escape attempt is refused at validation: a task asking beyond the flow's ceiling (nothing runs)", async () => {
  await withSandbox(async (s) => {
    const events: RunEvent[] = [];
    const beyond = flow(
      { name: "beyond", permissions: { read: ["./box"] } },
      (f) => [f.call(readText, [`${s.box}/inside.txt`]), f.call(readBeyond, [s.outside])],
    );
    const err = await rejection(executeFlow(beyond, {}, { onEvent: (e) => events.push(e) }));
    const messages = err.issues.map((i) => i.message).join("\n");
    assert.match(messages, /Task "read_beyond" requests read "\.\/box\/\.\.\/outside"/);
    assert.match(messages, /beyond the flow's ceiling \(read=\.\/box\)/);
    assert.deepEqual(events.filter((e) => e.type === "task.started"), [], "no task started");
  });
});

async function writeFlowFile(s: Sandbox): Promise<string> {
  const mod = pathToFileURL(`${ROOT}/mod.ts`).href;
  const tasks = pathToFileURL(`${ROOT}/tests/fixtures/security/escape_tasks.ts`).href;
  const file = `${s.dir}/flow.ts`;
  await Deno.writeTextFile(
    file,
    `import { flow } from ${JSON.stringify(mod)};
import { callOut, readLink, readText } from ${JSON.stringify(tasks)};
export const beyond = flow(
  { name: "beyond", permissions: { read: ["./box"] } },
  () => [readText(${
      JSON.stringify(`${s.box}/inside.txt`)
    }), callOut("http://127.0.0.1:${s.port}/")],
);
export const linked = flow(
  { name: "linked", permissions: { read: ["./box"] } },
  () => readLink(${JSON.stringify(`${s.box}/link/secret.txt`)}),
);
export const consented = flow(
  { name: "consented", permissions: { read: ["./box/link"] } },
  () => readLink(${JSON.stringify(`${s.box}/link/secret.txt`)}),
);
export const unbounded = flow(
  { name: "unbounded" },
  () => readLink(${JSON.stringify(`${s.box}/link/secret.txt`)}),
);
`,
  );
  return file;
}

async function cliRun(s: Sandbox, name: string): Promise<{ code: number; err: string }> {
  const file = await writeFlowFile(s);
  const state = `${s.dir}/state`;
  const io = fakeIo({ cwd: s.dir });
  const code = await main(["run", file, "--flow", name, "--json", "-q", "--state-dir", state], io);
  const launched = (await readAudit(`${state}/audit.log`)).filter((r) => r.phase !== "validation");
  assert.deepEqual(launched, [], "no task was launched");
  assert.equal(s.hits, 0, "nothing reached the network");
  return { code, err: io.err };
}

Deno.test("escape attempt is refused at validation: the CLI exits 2 for a task beyond the ceiling", async () => {
  await withSandbox(async (s) => {
    const { code, err } = await cliRun(s, "beyond");
    assert.equal(code, 2, err);
    assert.match(
      err,
      /Task "call_out" of flow "beyond" is denied net "127\.0\.0\.1": the flow's ceiling allows no net/,
    );
  });
});

Deno.test("escape attempt is refused at validation: a request naming a symlink that leads outside the ceiling", async () => {
  await withSandbox(async (s) => {
    const { code, err } = await cliRun(s, "linked");
    assert.equal(code, 2, `a link inside the ceiling must not carry a grant out of it: ${err}`);
    assert.match(
      err,
      new RegExp(
        `Task "read_link" of flow "linked" is denied read "${esc(s.outside)}": ` +
          `the flow's ceiling allows read only for "${esc(s.box)}"`,
      ),
    );
  });
});

Deno.test("a request naming a symlink runs when the ceiling names the same link (control)", async () => {
  await withSandbox(async (s) => {
    const file = await writeFlowFile(s);
    const io = fakeIo({ cwd: s.dir });
    const args = [
      "run",
      file,
      "--flow",
      "consented",
      "--json",
      "-q",
      "--state-dir",
      `${s.dir}/state`,
    ];
    assert.equal(await main(args, io), 0, io.err);
    assert.equal(JSON.parse(io.out).result, SECRET);
  });
});

Deno.test("escape attempt is refused at validation: a request naming a symlink into what the policy denies", async () => {
  await withSandbox(async (s) => {
    await Deno.writeTextFile(
      `${s.dir}/orchestra.policy.yaml`,
      'deny:\n  - permissions: { read: ["./outside"] }\n    reason: nothing outside the box\n',
    );
    const { code, err } = await cliRun(s, "unbounded");
    assert.equal(code, 2, `a link must not carry a grant past a deny rule: ${err}`);
    assert.match(
      err,
      new RegExp(`Task "read_link" of flow "unbounded" is denied read "${esc(s.outside)}": `),
    );
    assert.match(err, /\(nothing outside the box\)/);
  });
});

Deno.test('escape attempt is refused at validation: sandbox: "strict" with an inline task that requests permissions', async () => {
  await withSandbox(async (s) => {
    const events: RunEvent[] = [];
    const strict = flow(
      { name: "strict", sandbox: "strict" },
      () => inlineReader(`${s.outside}/secret.txt`),
    );
    const err = await rejection(executeFlow(strict, {}, { onEvent: (e) => events.push(e) }));
    assert.match(
      err.message,
      /Task "inline_reader" requests permissions but runs inline, and the flow demands sandbox: "strict"/,
    );
    assert.deepEqual(events.filter((e) => e.type === "task.started"), [], "no task started");
  });
});

// Known limitations: Deno allows these, and Orchestra cannot prevent them. Each test pins what
// happens today, so it fails (and should be turned into a denial) once Deno changes.

Deno.test("known limitation: Deno follows a symlink inside a granted directory, so a read through it leaves the grant", async () => {
  await withSandbox(async (s) => {
    const record = await runIn(s, (f) => {
      f.call(readText, [`${s.box}/link/secret.txt`], { id: "via_dir_link" });
      f.call(readText, [`${s.box}/secret-link`], { id: "via_file_link" });
    });
    assert.deepEqual(
      record.tasks.map((t) => [t.id, t.status, t.result]),
      [["via_dir_link", "succeeded", SECRET], ["via_file_link", "succeeded", SECRET]],
    );
  });
});

Deno.test("known limitation: Deno follows a symlink inside a granted directory, so a write through it leaves the grant", async () => {
  await withSandbox(async (s) => {
    const record = await runIn(s, () => writeText(`${s.box}/link/written.txt`));
    assert.equal(record.status, "succeeded", record.error);
    assert.equal(await Deno.readTextFile(`${s.outside}/written.txt`), "escaped");
  });
});

Deno.test("known limitation: Deno reads a hard link inside a granted directory, so a worker task reads the file outside it", async () => {
  await withSandbox(async (s) => {
    await Deno.link(`${s.outside}/secret.txt`, `${s.box}/hard.txt`);
    const record = await runIn(s, () => readText(`${s.box}/hard.txt`));
    assert.equal(record.status, "succeeded", record.error);
    assert.equal(
      record.result,
      SECRET,
      "only the fs plugin checks links (tests/security/links_test.ts)",
    );
  });
});

Deno.test("escape attempt: Deno.chdir() in a worker task would move the whole process's working directory", async () => {
  await withSandbox(async (s) => {
    const cwd = Deno.cwd();
    try {
      const record = await runIn(s, () => changeDir(s.box));
      assert.equal(record.status, "failed");
      assert.match(
        record.tasks[0].error!,
        /task "change_dir" called Deno\.chdir\(".*\/box"\); a task cannot change the working directory/,
      );
      assert.equal(Deno.cwd(), cwd, "the orchestrator's cwd stayed where it was");
    } finally {
      Deno.chdir(cwd);
    }
  });
});
