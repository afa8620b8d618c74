// The permission model end to end through the CLI: grants relative to the flow file, the
// local policy at validation, the external authorization service at launch, the audit log,
// and sandbox: "strict".
import assert from "node:assert/strict";
import { main } from "../../src/cli/main.ts";
import { fakeIo, ROOT } from "./_io.ts";

// A state dir of this file's own: /tmp is shared with every other process on the machine.
const STATE = Deno.makeTempDirSync({ prefix: "orchestra_state_" });
globalThis.addEventListener("unload", () => Deno.removeSync(STATE, { recursive: true }));

const FLOW = `${ROOT}/tests/fixtures/perm/flow.ts`;

async function inDir<T>(files: Record<string, string>, fn: (dir: string) => Promise<T>) {
  const dir = await Deno.makeTempDir();
  try {
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
    }
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a worker task's relative grant resolves against its flow file, from any directory", async () => {
  await inDir({}, async (dir) => {
    const io = fakeIo({ cwd: dir });
    const code = await main(
      ["run", FLOW, "--flow", "reads", "--json", "-q", "--state-dir", dir],
      io,
    );
    assert.equal(code, 0, io.err);
    assert.equal(JSON.parse(io.out).result, "hello from data");
  });
});

Deno.test("describe and --dry-run show each task's effective grant", async () => {
  const io = fakeIo();
  assert.equal(await main(["run", FLOW, "--flow", "reads", "--dry-run"], io), 0, io.err);
  assert.match(
    io.out,
    new RegExp(`read_greeting\\s+-\\s+worker\\s+read=${ROOT}/tests/fixtures/perm/data`),
  );
});

Deno.test("the local policy is checked at validation: a denial is exit 2 naming the rule's reason", async () => {
  const policy =
    'deny:\n  - permissions: { net: ["*.example.com"] }\n    reason: no calls out from CI\n';
  await inDir({ "orchestra.policy.yaml": policy }, async (dir) => {
    const io = fakeIo({ cwd: dir });
    assert.equal(await main(["validate", FLOW, "--flow", "api"], io), 2);
    assert.match(io.err, /Task "call_api" of flow "api" is denied net "api\.example\.com"/);
    assert.match(io.err, /no calls out from CI/);
    assert.match(io.err, /orchestra\.policy\.yaml:2:5: /, "the denying rule's position");
    const run = fakeIo({ cwd: dir });
    assert.equal(await main(["run", FLOW, "--flow", "api", "--state-dir", dir], run), 2);
  });
});

Deno.test("the external authorization service decides at launch; every decision is audited", async () => {
  const asked: unknown[] = [];
  let allow = false;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    asked.push(await req.json());
    return Response.json({ allow, reason: allow ? "approved by ops" : "not during the freeze" });
  });
  const url = `http://127.0.0.1:${server.addr.port}/check`;
  try {
    await inDir(
      { "orchestra.policy.yaml": `authorization:\n  url: ${url}\n  cacheTtl: 0s\n` },
      async (dir) => {
        const denied = fakeIo({ cwd: dir });
        assert.equal(
          await main(["run", FLOW, "--flow", "api", "--json", "-q", "--state-dir", dir], denied),
          1,
        );
        const doc = JSON.parse(denied.out);
        assert.equal(doc.tasks[0].status, "failed");
        assert.match(doc.tasks[0].error, /Task "call_api" of flow "api" is denied/);
        assert.match(doc.tasks[0].error, /not during the freeze/);
        assert.equal(doc.tasks[0].attempts, 0, "a denied task never starts");

        allow = true;
        const allowed = fakeIo({ cwd: dir });
        assert.equal(
          await main(["run", FLOW, "--flow", "api", "--json", "-q", "--state-dir", dir], allowed),
          0,
          allowed.err,
        );
        assert.equal(asked.length, 2);
        assert.deepEqual((asked[0] as { permissions: unknown }).permissions, {
          net: ["api.example.com"],
        });
        assert.equal((asked[0] as { task: string }).task, "call_api");

        const audit = fakeIo({ cwd: dir });
        assert.equal(await main(["audit", "--state-dir", dir, "--json"], audit), 0, audit.err);
        const lines = audit.out.trim().split("\n").map((l) => JSON.parse(l));
        assert.deepEqual(lines.map((l) => l.decision).sort(), ["allow", "deny"]);
        assert.ok(lines.every((l) => l.flow === "api" && l.task === "call_api"));
        const deniedOnly = fakeIo({ cwd: dir });
        assert.equal(
          await main(["audit", "--state-dir", dir, "--decision", "deny"], deniedOnly),
          0,
        );
        assert.match(deniedOnly.out, /not during the freeze/);
      },
    );
  } finally {
    await server.shutdown();
  }
});

Deno.test("an unreachable authorization service fails closed", async () => {
  await inDir(
    {
      "orchestra.policy.yaml":
        "authorization:\n  url: http://127.0.0.1:9/check\n  timeout: 500ms\n",
    },
    async (dir) => {
      const io = fakeIo({ cwd: dir });
      assert.equal(
        await main(["run", FLOW, "--flow", "api", "--json", "-q", "--state-dir", dir], io),
        1,
      );
      assert.match(JSON.parse(io.out).tasks[0].error, /is denied/);
    },
  );
});

Deno.test('sandbox: "strict" runs every task that requests a permission in a worker', async () => {
  const io = fakeIo();
  assert.equal(
    await main(["run", FLOW, "--flow", "strict", "--json", "-q", "--state-dir", STATE], io),
    0,
    io.err,
  );
  assert.equal(JSON.parse(io.out).result, "worker");
  const described = fakeIo();
  assert.equal(await main(["describe", FLOW, "--flow", "strict"], described), 0);
  assert.match(described.out, /where\s+-\s+worker/);
});
