// Policy rules for plugins: a plugin task's name and version reach the local policy and the
// authorization service, so `plugin:` rules match (they used to fail open). The service's
// decisions are cached in the state store for their TTL, shared across processes. The audit
// log records refusals at validation, tasks that request nothing, and the secrets each task
// read (by name).
import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";
import { main } from "../../src/cli/main.ts";
import { type AuditRecord, readAudit } from "../../src/permissions/audit.ts";
import { fakeIo, ROOT } from "../cli/_io.ts";

async function inProject(
  files: Record<string, string>,
  fn: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "orchestra_plugin_policy_" }));
  try {
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
    }
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function cli(dir: string, args: string[], env: Record<string, string> = {}) {
  const io = fakeIo({ cwd: dir });
  io.env = (name) => env[name] ?? (name === "NO_COLOR" ? "1" : undefined);
  const code = await main(args, io);
  return { code, out: io.out, err: io.err };
}

/** A loopback HTTP server that counts the requests it gets. */
async function withServer(
  answer: (body: Record<string, unknown>) => unknown,
  fn: (url: string, bodies: Record<string, unknown>[]) => Promise<void>,
): Promise<void> {
  const bodies: Record<string, unknown>[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const body = req.method === "POST" ? await req.json().catch(() => ({})) : {};
    bodies.push(body);
    return Response.json(answer(body));
  });
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`, bodies);
  } finally {
    await server.shutdown();
  }
}

/** A YAML flow `fetcher` with an http task `fetch` and an fs task `save`. */
const FLOW = (url: string) =>
  `name: fetcher
tasks:
  fetch:
    uses: http
    with: { url: "${url}/data" }
  save:
    needs: fetch
    uses: fs
    with: { op: write, path: out.json, content: "\${{ tasks.fetch.result }}" }
`;

Deno.test("escape attempt is refused at validation: a policy rule denying the http plugin", async () => {
  await withServer(() => ({ ok: true }), async (url, hits) => {
    const policy = "deny:\n  - plugin: http\n    permissions: { net: true }\n" +
      "    reason: no plugin calls out from CI\n";
    await inProject({ "flow.yaml": FLOW(url), "orchestra.policy.yaml": policy }, async (dir) => {
      for (const command of [["validate"], ["run", "--json", "-q"], ["describe"]]) {
        const r = await cli(dir, [command[0], "flow.yaml", ...command.slice(1)]);
        assert.equal(r.code, 2, `${command[0]}: ${r.err}`);
        assert.match(
          r.err,
          /Task "fetch" \(plugin "http"\) of flow "fetcher" is denied net "127\.0\.0\.1:\d+": denied by the policy rule at .*orchestra\.policy\.yaml:2:5 \(no plugin calls out from CI\)/,
        );
        assert.doesNotMatch(r.err, /Task "save"/, "the fs task is not http");
      }
      assert.equal(hits.length, 0, "nothing reached the network");
      const refused = (await readAudit(`${dir}/.orchestra/audit.log`))
        .filter((r) => r.phase === "validation");
      assert.ok(refused.length >= 3, "each refusal at validation is audited");
      assert.deepEqual(
        { task: refused[0].task, plugin: refused[0].plugin, version: refused[0].pluginVersion },
        { task: "fetch", plugin: "http", version: "1.0.0" },
      );
      assert.equal(refused[0].decision, "deny");
      assert.equal(refused[0].source, "policy");
      assert.equal(refused[0].runId, undefined);
    });
  });
});

Deno.test("escape attempt is refused at validation: a plugin rule by name and version, task and flow", async () => {
  await withServer(() => ({ ok: true }), async (url) => {
    const cases: [string, boolean][] = [
      ["deny:\n  - plugin: http@1.*\n    permissions: { net: true }\n", true],
      ["deny:\n  - plugin: http@2.*\n    permissions: { net: true }\n", false],
      ["deny:\n  - plugin: http\n    task: fetch\n    permissions: { net: true }\n", true],
      ["deny:\n  - plugin: http\n    task: other\n    permissions: { net: true }\n", false],
      ["deny:\n  - plugin: http\n    flow: fetch*\n    permissions: { net: true }\n", true],
      ["deny:\n  - plugin: http\n    flow: etl\n    permissions: { net: true }\n", false],
      ["deny:\n  - plugin: fs\n    permissions: { net: true }\n", false],
    ];
    for (const [policy, denied] of cases) {
      await inProject({ "flow.yaml": FLOW(url), "orchestra.policy.yaml": policy }, async (dir) => {
        const r = await cli(dir, ["validate", "flow.yaml"]);
        assert.equal(r.code, denied ? 2 : 0, `${policy}: ${r.err}`);
        if (denied) assert.match(r.err, /Task "fetch" \(plugin "http"\) .* is denied net/);
      });
    }
  });
});

Deno.test("a policy that allows only the fs plugin lets fs tasks run and refuses the same grant to other tasks", async () => {
  const mod = pathToFileURL(`${ROOT}/mod.ts`).href;
  const plugins = pathToFileURL(`${ROOT}/plugins/mod.ts`).href;
  const flowText = `import { flow, task, usePlugin } from ${JSON.stringify(mod)};
import { fs } from ${JSON.stringify(plugins)};
export const own = task(
  { name: "own", executor: "worker", permissions: { read: ["./in.txt"] } },
  () => Deno.readTextFile(new URL("./in.txt", import.meta.url)),
);
export const withPlugin = flow("plugged", () => usePlugin(fs, { op: "read", path: "in.txt" }));
export const withoutPlugin = flow("unplugged", () => own());
`;
  const policy = "default: deny\nallow:\n  - plugin: fs\n    permissions: { read: [./in.txt] }\n";
  await inProject(
    { "flow.ts": flowText, "in.txt": "hello", "orchestra.policy.yaml": policy },
    async (dir) => {
      const ok = await cli(dir, ["run", "flow.ts", "--flow", "plugged", "--json", "-q"]);
      assert.equal(ok.code, 0, ok.err);
      assert.equal(JSON.parse(ok.out).result, "hello");
      const refused = await cli(dir, ["run", "flow.ts", "--flow", "unplugged", "--json", "-q"]);
      assert.equal(refused.code, 2, refused.err);
      assert.match(
        refused.err,
        /Task "own" of flow "unplugged" is denied read ".*\/in\.txt": no allow rule/,
      );
      const launches = (await readAudit(`${dir}/.orchestra/audit.log`))
        .filter((r) => r.phase === "launch" && r.task === "fs");
      assert.equal(launches.length, 1);
      assert.equal(launches[0].plugin, "fs");
      assert.equal(launches[0].pluginVersion, "1.0.0");
    },
  );
});

Deno.test("the authorization service hears the plugin's name and version; its decisions are shared through the state store", async () => {
  await withServer(() => ({ ok: true }), async (dataUrl) => {
    await withServer(
      (b) => ({ allow: true, reason: `ok for ${b.plugin}` }),
      async (authz, asked) => {
        const policy = `authorization:\n  url: ${authz}/check\n  cacheTtl: 1h\n`;
        const yaml =
          `name: fetcher\ntasks:\n  fetch:\n    uses: http\n    with: { url: "${dataUrl}/data" }\n`;
        await inProject({ "flow.yaml": yaml, "orchestra.policy.yaml": policy }, async (dir) => {
          // Four identical requests, each from a run of its own: one call to the service.
          for (let i = 0; i < 4; i++) {
            const r = await cli(dir, ["run", "flow.yaml", "--json", "-q"]);
            assert.equal(r.code, 0, r.err);
          }
          assert.equal(asked.length, 1, "one call for four identical requests");
          assert.equal(asked[0].plugin, "http");
          assert.equal(asked[0].pluginVersion, "1.0.0");
          assert.equal(asked[0].task, "fetch");
          assert.equal(asked[0].flow, "fetcher");
          // Another process sharing the state dir reuses the decision while its TTL lasts.
          const child = await new Deno.Command(Deno.execPath(), {
            args: [
              "run",
              "-A",
              "--no-prompt",
              "--unstable-worker-options",
              `${ROOT}/main.ts`,
              "run",
              "flow.yaml",
              "-q",
            ],
            cwd: dir,
            env: { NO_COLOR: "1", INIT_CWD: dir },
            stdout: "piped",
            stderr: "piped",
          }).output();
          assert.equal(child.code, 0, new TextDecoder().decode(child.stderr));
          assert.equal(asked.length, 1, "the next process asked nobody");
          const audit = (await readAudit(`${dir}/.orchestra/audit.log`))
            .filter((r) => r.phase === "launch");
          assert.equal(audit.length, 5);
          assert.ok(audit.every((r) => r.decision === "allow" && r.reason === "ok for http"));
          // Forgetting the cache forgets the decisions too: the service is asked again.
          const cleared = await cli(dir, ["cache", "clear"]);
          assert.equal(cleared.code, 0, cleared.err);
          assert.match(
            cleared.out,
            /Cleared 1 cache entry \(task results and authorization decisions\)/,
          );
          assert.equal((await cli(dir, ["run", "flow.yaml", "-q"])).code, 0);
          assert.equal(asked.length, 2);
        });
      },
    );
  });
});

Deno.test("the audit log records tasks that request nothing and the secrets each task read, by name only", async () => {
  const yaml = `name: quiet
tasks:
  hello:
    run: echo hello
  token:
    run: echo \${{ secrets.API_TOKEN }} > /dev/null
  note:
    uses: log
    with: { message: hi }
`;
  await inProject({ "flow.yaml": yaml }, async (dir) => {
    const r = await cli(dir, ["run", "flow.yaml", "--json", "-q"], { API_TOKEN: "t0k3n-value" });
    assert.equal(r.code, 0, r.err);
    const text = await Deno.readTextFile(`${dir}/.orchestra/audit.log`);
    assert.ok(!text.includes("t0k3n-value"), "never a value");
    const records: AuditRecord[] = await readAudit(`${dir}/.orchestra/audit.log`);
    // Every task that ran has its line: `run:` steps request run of sh; `log` requests nothing.
    const launched = records.filter((x) => !x.secret)
      .map((x) => [x.task, x.decision, JSON.stringify(x.granted), x.reason ?? ""]);
    assert.deepEqual(launched.sort(), [
      ["hello", "allow", '{"run":["sh"]}', ""],
      ["note", "allow", "{}", "requested no permissions"],
      ["token", "allow", '{"run":["sh"]}', ""],
    ]);
    const secrets = records.filter((x) => x.secret);
    assert.equal(secrets.length, 1);
    assert.deepEqual(
      [secrets[0].task, secrets[0].secret, secrets[0].source, secrets[0].runId],
      ["token", "API_TOKEN", "secret", JSON.parse(r.out).runId],
    );
    const shown = await cli(dir, ["audit"]);
    assert.match(shown.out, /token\s+secret API_TOKEN/);
  });
});
