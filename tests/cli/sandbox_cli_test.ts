// `orchestra` as a host: a TypeScript flow runs in its flow isolate unless it opts out
// (sandbox: false, --no-sandbox), which describe says and a policy may forbid; the isolate's
// cache, resume, secrets and granted remote imports go through the host.
import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";
import { main } from "../../src/cli/main.ts";
import { fakeIo, ROOT } from "./_io.ts";

const LIB = JSON.stringify(pathToFileURL(`${ROOT}/mod.ts`).href);

async function inDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "orchestra_host_" }));
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function cmd(dir: string, args: string[], env: Record<string, string> = {}) {
  const io = fakeIo({ cwd: dir });
  const base = io.env;
  io.env = (name) => env[name] ?? base(name);
  const code = await main([...args, "--state-dir", `${dir}/.state`], io);
  return { code, out: io.out, err: io.err };
}

// Reads a file in its top-level code: only the host (unsandboxed) may.
const TOP_LEVEL_READ = `import { flow, task } from ${LIB};
const text = await Deno.readTextFile(new URL("./data.txt", import.meta.url));
export const show = task("show", () => text);
export default flow({ name: "open" }, () => show());
`;

// Reads a file in an inline task that requests nothing: only unsandboxed may it. The module
// itself loads without rights, so the flow can say sandbox: false (it is read in the isolate).
const INLINE_READ = `import { flow, task } from ${LIB};
export const show = task("show", async () => await Deno.readTextFile("data.txt"));
export default flow({ name: "open", sandbox: false }, () => show());
`;

Deno.test("sandbox: false runs the module in the host, and describe and --dry-run say so", async () => {
  await inDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/data.txt`, "plain");
    await Deno.writeTextFile(`${dir}/flow.ts`, INLINE_READ);
    const ran = await cmd(dir, ["run", "flow.ts", "--json", "-q"]);
    assert.equal(ran.code, 0, ran.err);
    assert.equal(JSON.parse(ran.out).result, "plain");
    const described = await cmd(dir, ["describe", "flow.ts"]);
    assert.match(described.out, /Sandbox: OFF \(unsandboxed\) — the flow opted out/);
    assert.match(described.out, /this flow runs unsandboxed/);
    const json = await cmd(dir, ["describe", "flow.ts", "--json"]);
    assert.equal(JSON.parse(json.out).sandboxed, false);
    const plan = await cmd(dir, ["run", "flow.ts", "--dry-run"]);
    assert.match(plan.out, /this flow runs unsandboxed/);
  });
});

Deno.test("--no-sandbox imports the flow into the host; without it the same flow cannot load", async () => {
  await inDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/data.txt`, "plain");
    await Deno.writeTextFile(`${dir}/flow.ts`, TOP_LEVEL_READ);
    const boxed = await cmd(dir, ["run", "flow.ts", "-q"]);
    assert.equal(boxed.code, 2);
    assert.match(boxed.err, /Requires read access to ".*data\.txt"/);
    const open = await cmd(dir, ["run", "flow.ts", "--no-sandbox", "--json", "-q"]);
    assert.equal(open.code, 0, open.err);
    assert.equal(JSON.parse(open.out).result, "plain");
  });
});

Deno.test("a policy with sandbox: required refuses sandbox: false and --no-sandbox (exit 2)", async () => {
  await inDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/data.txt`, "plain");
    await Deno.writeTextFile(`${dir}/orchestra.policy.yaml`, "sandbox: required\n");
    await Deno.writeTextFile(`${dir}/off.ts`, INLINE_READ);
    const off = await cmd(dir, ["run", "off.ts", "-q"]);
    assert.equal(off.code, 2);
    assert.match(off.err, /the flow says sandbox: false, and the policy .* says sandbox: required/);
    await Deno.writeTextFile(
      `${dir}/pure.ts`,
      `import { flow, task } from ${LIB};
export default flow("pure", () => task("one", () => 1)());
`,
    );
    const flag = await cmd(dir, ["validate", "pure.ts", "--no-sandbox"]);
    assert.equal(flag.code, 2);
    assert.match(flag.err, /--no-sandbox was given, and the policy .* says sandbox: required/);
    assert.equal((await cmd(dir, ["run", "pure.ts", "-q"])).code, 0, "sandboxed, it runs");
    await Deno.writeTextFile(`${dir}/orchestra.policy.yaml`, "sandbox: sometimes\n");
    const bad = await cmd(dir, ["validate", "pure.ts"]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /"sandbox" must be required or optional, got "sometimes"/);
  });
});

Deno.test("a sandboxed run's cache is the host's: the second run is a hit, in another process too", async () => {
  await inDir(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/flow.ts`,
      `import { flow, task } from ${LIB};
export const stamp = task({ name: "stamp", cache: { ttl: "1h" } }, () => crypto.randomUUID());
export default flow("stamped", () => stamp());
`,
    );
    const first = await cmd(dir, ["run", "flow.ts", "--json", "-q"]);
    const second = await cmd(dir, ["run", "flow.ts", "--json", "-q"]);
    assert.equal(second.code, 0, second.err);
    const a = JSON.parse(first.out);
    const b = JSON.parse(second.out);
    assert.equal(b.tasks[0].status, "cached");
    assert.equal(b.result, a.result, "the cached value, not a new one");
  });
});

Deno.test("a task that declares a secret runs in a task worker the host gives the value to; it is masked", async () => {
  await inDir(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/flow.ts`,
      `import { flow, task, type TaskContext } from ${LIB};
export const login = task({ name: "login", secrets: ["API_TOKEN"] }, (ctx: TaskContext) => {
  ctx.log.info("token " + ctx.secret("API_TOKEN"));
  return ctx.secret("API_TOKEN").length;
});
export const peek = task("peek", (ctx: TaskContext) => ctx.secret("API_TOKEN"));
export default flow("secretive", () => [login(), peek()]);
`,
    );
    const run = await cmd(dir, ["run", "flow.ts", "--json", "-q"], { API_TOKEN: "s3cr3t-value" });
    assert.equal(run.code, 1, "peek declared no secret");
    assert.ok(!run.out.includes("s3cr3t-value") && !run.err.includes("s3cr3t-value"));
    const doc = JSON.parse(run.out);
    const login = doc.tasks.find((t: { id: string }) => t.id === "login");
    assert.equal(login.status, "succeeded", login.error);
    assert.equal(login.result, 12);
    assert.equal(login.logs[0].message, "token ***");
    const peek = doc.tasks.find((t: { id: string }) => t.id === "peek");
    assert.match(peek.error, /reads secret "API_TOKEN" but does not declare it/);
  });
});

Deno.test("retry of a sandboxed run restores what succeeded and runs the rest in a new isolate", async () => {
  await inDir(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/flow.ts`,
      `import { flow, task } from ${LIB};
export const stamp = task("stamp", () => crypto.randomUUID());
export const check = task("check", (ok: boolean, s: string) => {
  if (!ok) throw new Error("not yet");
  return s;
});
export default flow(
  { name: "retried", params: { ok: { type: "boolean", default: false } } },
  (_f, p) => check(p.ok, stamp()),
);
`,
    );
    const first = await cmd(dir, ["run", "flow.ts", "--json", "-q"]);
    assert.equal(first.code, 1);
    const doc = JSON.parse(first.out);
    const stamp = doc.tasks.find((t: { id: string }) => t.id === "stamp").result;
    const again = await cmd(dir, ["retry", doc.runId, "-p", "ok=true", "--json", "-q"]);
    assert.equal(again.code, 0, again.err);
    const retried = JSON.parse(again.out);
    assert.equal(retried.result, stamp, "stamp was restored, not run again");
  });
});

Deno.test({
  name:
    "a literal remote import granted to its task loads, from a process without a lock file, and deno.lock stays as it was",
  sanitizeResources: false,
  fn: async () => {
    await inDir(async (dir) => {
      let hits = 0;
      const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
        hits++;
        return new Response('export default "remote code";', {
          headers: { "content-type": "application/javascript" },
        });
      });
      const port = server.addr.port;
      const lock = await Deno.readFile(`${ROOT}/deno.lock`);
      try {
        await Deno.writeTextFile(
          `${dir}/flow.ts`,
          `import { flow, task } from ${LIB};
export const fetchCode = task(
  { name: "fetch_code", permissions: { import: ["127.0.0.1:${port}"] } },
  async () => (await import("http://127.0.0.1:${port}/x.js")).default,
);
export default flow("remote", () => fetchCode());
`,
        );
        const out = await new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "-A",
            "--no-prompt",
            "--no-lock",
            "--unstable-worker-options",
            `${ROOT}/main.ts`,
            "run",
            "flow.ts",
            "--json",
            "-q",
            "--state-dir",
            `${dir}/.state`,
          ],
          cwd: dir,
          stdout: "piped",
          stderr: "piped",
        }).output();
        const text = new TextDecoder();
        assert.equal(out.code, 0, text.decode(out.stderr));
        assert.equal(JSON.parse(text.decode(out.stdout)).result, "remote code");
        assert.ok(hits >= 1);
        assert.deepEqual(await Deno.readFile(`${ROOT}/deno.lock`), lock, "deno.lock unchanged");
      } finally {
        await server.shutdown();
      }
    });
  },
});
