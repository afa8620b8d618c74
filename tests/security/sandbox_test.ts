// The flow isolate: under `orchestra run` a TypeScript flow's module, body and pure tasks run in
// a Web Worker with no permissions, tasks that request permissions in task workers the host
// launches (re-checking what the isolate asks), pure tasks that hold the isolate past their
// timeout are stopped with it, and user code never imports remote code with the orchestrator's
// rights. Each escape attempt below runs through the CLI, as a user's flow file would.
import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";
import { main } from "../../src/cli/main.ts";
import { fakeIo, ROOT } from "../cli/_io.ts";

const LIB = pathToFileURL(`${ROOT}/mod.ts`).href;

interface Box {
  dir: string;
  state: string;
}

async function withBox(fn: (b: Box) => Promise<void>): Promise<void> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "orchestra_sandbox_" }));
  await Deno.mkdir(`${dir}/data`);
  await Deno.writeTextFile(`${dir}/data/in.txt`, "inside");
  await Deno.writeTextFile(`${dir}/outside.txt`, "the secret outside the box");
  try {
    await fn({ dir, state: `${dir}/.state` });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function flowFile(b: Box, source: string, name = "flow.ts"): Promise<string> {
  const file = `${b.dir}/${name}`;
  await Deno.writeTextFile(file, source.replaceAll("LIB", JSON.stringify(LIB)));
  return file;
}

async function run(b: Box, file: string, ...more: string[]) {
  const io = fakeIo({ cwd: b.dir });
  const code = await main(["run", file, "--json", "-q", "--state-dir", b.state, ...more], io);
  const doc = io.out ? JSON.parse(io.out) : undefined;
  const byId = Object.fromEntries(
    (doc?.tasks ?? []).map((t: { id: string }) => [t.id, t]),
  ) as Record<string, { status: string; error?: string; result?: unknown; attempts: number }>;
  return { code, err: io.err, doc, byId };
}

/** The flow option under which the inline read is tried: the default, and sandbox: "strict". */
const MODES = [
  "",
  'sandbox: "strict", ',
];

for (const sandbox of MODES) {
  Deno.test(
    `escape attempt: an inline task reads /etc/hostname under a ceiling of ./data (${
      sandbox ? "strict" : "default"
    })`,
    async () => {
      await withBox(async (b) => {
        const file = await flowFile(
          b,
          `import { flow, task } from LIB;
export const peek = task("peek", async () => await Deno.readTextFile("/etc/hostname"));
export const inside = task(
  { name: "inside", permissions: { read: ["./data"] } },
  async () => await Deno.readTextFile("./data/in.txt"),
);
export default flow({ name: "peek", ${sandbox}permissions: { read: ["./data"] } }, () => [peek(), inside()]);
`,
        );
        const { code, byId, doc } = await run(b, file);
        assert.equal(code, 1);
        assert.equal(byId.peek.status, "failed", "the read was not denied");
        assert.match(byId.peek.error!, /Requires read access to "\/etc\/hostname"/);
        assert.match(byId.peek.error!, /task "peek" was not granted it/);
        assert.match(byId.peek.error!, /runs in the flow isolate, which has none/);
        assert.equal(byId.inside.status, "succeeded", "a task granted ./data reads it");
        assert.equal(byId.inside.result, "inside");
        let hostname = "";
        try {
          hostname = (await Deno.readTextFile("/etc/hostname")).trim();
        } catch { /* none here */ }
        if (hostname) assert.ok(!JSON.stringify(doc).includes(hostname), "nothing leaked");
      });
    },
  );
}

Deno.test("escape attempt: the flow module's top-level code reads a file as it loads", async () => {
  await withBox(async (b) => {
    const file = await flowFile(
      b,
      `import { flow, task } from LIB;
const stolen = await Deno.readTextFile(${JSON.stringify(`${b.dir}/outside.txt`)});
export default flow("loot", () => task("t", () => stolen)());
`,
    );
    for (const command of ["run", "validate", "describe"]) {
      const io = fakeIo({ cwd: b.dir });
      const code = await main([command, file, "--state-dir", b.state], io);
      assert.equal(code, 2, `${command}: ${io.err}`);
      assert.match(io.err, /Cannot load ".*flow\.ts": .*Requires read access to ".*outside\.txt"/);
      assert.match(io.err, /loads in its flow isolate, which has no permissions/);
      assert.ok(!io.out.includes("the secret outside the box"));
    }
  });
});

Deno.test("escape attempt: a pure task spins past its timeout; the isolate is stopped and the run continues", async () => {
  await withBox(async (b) => {
    const file = await flowFile(
      b,
      `import { flow, task } from LIB;
export const spin = task({ name: "spin", timeout: "200ms", retries: 1 }, () => { for (;;) {} });
export const first = task("first", () => 1);
export const after = task("after", (n: number) => n + 1);
export const downstream = task("downstream", (x: unknown) => x);
export default flow("spinner", () => {
  const one = first();
  downstream(spin());
  return after(one);
});
`,
    );
    const { code, byId, doc } = await run(b, file);
    assert.equal(code, 1);
    assert.equal(doc.status, "failed");
    assert.equal(byId.spin.status, "failed");
    assert.equal(byId.spin.attempts, 2, "retried once in a fresh isolate, then failed");
    assert.match(byId.spin.error!, /timed out after 200ms/);
    assert.equal(byId.first.status, "succeeded");
    assert.equal(byId.after.status, "succeeded", "the run went on in a fresh isolate");
    assert.equal(byId.after.result, 2);
    assert.equal(byId.downstream.status, "skipped");
  });
});

Deno.test("escape attempt: the flow isolate asks for more at run time than the plan requested", async () => {
  await withBox(async (b) => {
    // The body plans a task that reads ./data, and at run time calls one of the same name and
    // id that asks for the whole disk: the host holds the isolate to the plan.
    const file = await flowFile(
      b,
      `import { flow, task } from LIB;
export const modest = task(
  { name: "read", permissions: { read: ["./data"] } },
  async (p: string) => await Deno.readTextFile(p),
);
export const greedy = task(
  { name: "read", permissions: { read: true } },
  async (p: string) => await Deno.readTextFile(p),
);
export default flow("liar", (f) => {
  const planning = f.runId === "plan";
  return f.call(planning ? modest : greedy, [${
        JSON.stringify(`${b.dir}/outside.txt`)
      }], { id: "read" });
});
`,
    );
    const { code, byId, doc } = await run(b, file);
    assert.equal(code, 1);
    assert.equal(byId.read.status, "failed");
    assert.match(byId.read.error!, /was refused: the flow isolate asked for permissions/);
    assert.ok(!JSON.stringify(doc).includes("the secret outside the box"));
  });
});

async function withServer(fn: (port: number, hits: () => number) => Promise<void>) {
  let hits = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    hits++;
    return new Response('export default "remote code";', {
      headers: { "content-type": "application/javascript" },
    });
  });
  try {
    await fn(server.addr.port, () => hits);
  } finally {
    await server.shutdown();
  }
}

async function lockHash(): Promise<string> {
  const bytes = await Deno.readFile(`${ROOT}/deno.lock`);
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (x) => x.toString(16).padStart(2, "0")).join("");
}

function remoteFlow(port: number, grant: string): string {
  return `import { flow, task } from LIB;
export const fetchCode = task(
  { name: "fetch_code", executor: "worker"${grant} },
  async () => (await import("http://127.0.0.1:${port}/x.js")).default,
);
export default flow("remote", () => fetchCode());
`;
}

Deno.test("escape attempt: a literal remote import in a worker task without an import grant", async () => {
  await withBox(async (b) => {
    await withServer(async (port, hits) => {
      const file = await flowFile(b, remoteFlow(port, ""));
      const { code, err } = await run(b, file);
      assert.equal(code, 2, err);
      assert.match(
        err,
        /flow\.ts:4:\d+: The module imports remote code "http:\/\/127\.0\.0\.1:\d+\/x\.js"/,
      );
      assert.match(err, /permissions: \{ import: \["127\.0\.0\.1:\d+"\] \}/);
      assert.equal(hits(), 0, "nothing was fetched");
    });
  });
});

Deno.test("escape attempt: validate of a flow with a remote import leaves deno.lock unchanged", async () => {
  await withBox(async (b) => {
    await withServer(async (port, hits) => {
      const before = await lockHash();
      const literal = await flowFile(b, remoteFlow(port, ""), "literal.ts");
      const granted = await flowFile(
        b,
        remoteFlow(port, `, permissions: { import: ["127.0.0.1:${port}"] }`),
        "granted.ts",
      );
      const staticImport = await flowFile(
        b,
        `import code from "http://127.0.0.1:${port}/static.js";
import { flow, task } from LIB;
export default flow("static", () => task("t", () => code)());
`,
        "static.ts",
      );
      for (const file of [literal, granted, staticImport]) {
        const io = fakeIo({ cwd: b.dir });
        const code = await main(["validate", file, "--state-dir", b.state], io);
        assert.equal(code, 2, `${file}: ${io.err}`);
      }
      assert.equal(hits(), 0, "nothing was fetched");
      assert.equal(await lockHash(), before, "deno.lock is unchanged");
    });
  });
});
