// `orchestra plugins list | info | new | update`, called through main() as a user would.
import assert from "node:assert/strict";
import { main } from "../../src/cli/main.ts";
import { BUILTIN_PLUGINS } from "../../src/plugins/builtin.ts";
import { pinnedPlugins } from "../../src/plugins/remote.ts";
import { resolvePlugin } from "../../src/plugins/resolve.ts";
import { fakeIo, ROOT } from "./_io.ts";

const MOD = new URL("../../mod.ts", import.meta.url).href;
// Test plugins import the contract alone: a small module graph loads faster in a worker.
const CONTRACT = new URL("../../src/plugins/contract.ts", import.meta.url).href;

async function cli(args: string[], cwd: string, columns?: number) {
  const io = fakeIo({ cwd });
  if (columns !== undefined) io.terminal.columns = columns;
  const code = await main(args, io);
  return { code, out: io.out, err: io.err };
}

async function inTemp<T>(fn: (dir: string) => Promise<T>, base?: string): Promise<T> {
  const dir = await Deno.makeTempDir(base ? { dir: base, prefix: ".plugins_cli_" } : {});
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const GREET_1_0 = `import { definePlugin } from "${CONTRACT}";
import { z } from "zod";

export default definePlugin({
  name: "greet",
  version: "1.0.0",
  description: "Greets someone by name.",
  params: z.object({
    who: z.string().describe("Who to greet"),
    style: z.enum(["plain", "loud"]).default("plain").describe("How to greet"),
    tags: z.array(z.string()).optional(),
    retry: z.object({
      attempts: z.number().int().min(1).default(2).describe("How many times"),
      delay: z.string().optional(),
    }).optional(),
    target: z.union([z.string(), z.number()]).optional(),
  }),
  permissions: { net: ["api.example.com"], read: ["./data"] },
  result: "the greeting, a string",
  docs: "# Greeting\\n\\nGreets **someone** by name. " + "The greeting is built from the style and the name given, and sent nowhere. ".repeat(4) +
    "\\n\\n- first point of a list that is long enough to wrap onto a second line when narrow\\n- second\\n\\n" +
    "See [the guide](https://example.com/guide).",
  example: "hello:\\n  uses: greet\\n  with:\\n    who: Ada\\n",
  run: (p) => \`Hello, \${p.who}!\`,
});
`;

const GREET_1_1 = `import { definePlugin } from "${CONTRACT}";

export default definePlugin({
  name: "greet",
  version: "1.1.0",
  description: "Greets someone (JSON Schema params).",
  params: {
    type: "object",
    properties: {
      who: { type: "string", description: "Who to greet" },
      times: { type: "integer", default: 1, minimum: 1 },
    },
    required: ["who"],
    additionalProperties: false,
  },
  run: (p) => "hi " + p.who,
});
`;

const GREET_2_0 = `import { definePlugin } from "${CONTRACT}";

export default definePlugin({
  name: "greet",
  version: "2.0.0",
  description: "Greets someone over the network.",
  params: { type: "object", properties: { host: { type: "string" } }, required: ["host"] },
  permissions: (p) => ({ net: [String(p.host)] }),
  run: (p) => "hi " + p.host,
});
`;

const EXTRA = `import { definePlugin } from "${CONTRACT}";

export default definePlugin({
  name: "extra",
  version: "0.3.0",
  description: "Lives in another plugin folder.",
  run: () => 1,
});
`;

/** A project with three versions of greet in plugins/, and extra/ as another plugin folder. */
async function project(dir: string): Promise<void> {
  await Deno.mkdir(`${dir}/plugins/greet@1.1.0`, { recursive: true });
  await Deno.mkdir(`${dir}/extra`);
  await Deno.writeTextFile(`${dir}/plugins/greet.ts`, GREET_1_0);
  await Deno.writeTextFile(`${dir}/plugins/greet@1.1.0/mod.ts`, GREET_1_1);
  await Deno.writeTextFile(`${dir}/plugins/greet@2.0.0.ts`, GREET_2_0);
  await Deno.writeTextFile(`${dir}/extra/extra.ts`, EXTRA);
}

Deno.test("plugins list and info over a project with three versions of greet", async (t) => {
  // One project for every step: loading plugin modules is the slow part.
  await inTemp(async (dir) => {
    await project(dir);
    await t.step(
      "list shows every version in plugins/, --plugin-dir and the built-ins",
      async () => {
        const r = await cli(["plugins", "list", "--plugin-dir", "extra"], dir);
        assert.equal(r.code, 0, r.err);
        const lines = r.out.trimEnd().split("\n");
        assert.match(lines[0], /^NAME\s+VERSION\s+SOURCE\s+PERMISSIONS\s+DESCRIPTION$/);
        const row = (name: string, version: string) =>
          lines.find((l) => l.split(/\s+/)[0] === name && l.split(/\s+/)[1] === version);
        assert.match(
          row("greet", "1.0.0") ?? "",
          /\.\/plugins\/greet\.ts\s+read=\.\/data net=api\.example\.com\s+Greets someone by name\.$/,
        );
        assert.match(row("greet", "1.1.0") ?? "", /\.\/plugins\/greet@1\.1\.0\/mod\.ts\s+none\s+/);
        assert.match(
          row("greet", "2.0.0") ?? "",
          /\.\/plugins\/greet@2\.0\.0\.ts\s+computed from params\s+Greets someone over the network\.$/,
        );
        assert.match(row("extra", "0.3.0") ?? "", /\.\/extra\/extra\.ts\s+none\s+Lives in another/);
        for (const name of BUILTIN_PLUGINS.keys()) {
          assert.match(lines.find((l) => l.startsWith(`${name} `)) ?? "", /\sbuilt-in\s/, name);
        }
        // Sorted by name, highest version first.
        const greets = lines.filter((l) => l.startsWith("greet "));
        assert.deepEqual(greets.map((l) => l.split(/\s+/)[1]), ["2.0.0", "1.1.0", "1.0.0"]);

        // Without --plugin-dir, extra/ is not searched.
        const plain = await cli(["plugins", "list"], dir);
        assert.equal(plain.code, 0, plain.err);
        assert.doesNotMatch(plain.out, /^extra /m);
      },
    );

    await t.step(
      "list --json prints name, version, source, kind, permissions, description, pure",
      async () => {
        const r = await cli(["plugins", "list", "--json"], dir);
        assert.equal(r.code, 0, r.err);
        const rows = JSON.parse(r.out) as Record<string, unknown>[];
        const greet = rows.filter((p) => p.name === "greet");
        assert.deepEqual(greet.map((p) => p.version), ["2.0.0", "1.1.0", "1.0.0"]);
        assert.deepEqual(greet[2], {
          name: "greet",
          version: "1.0.0",
          source: "./plugins/greet.ts",
          kind: "folder",
          permissions: { net: ["api.example.com"], read: ["./data"] },
          description: "Greets someone by name.",
          pure: false,
        });
        assert.equal(greet[0].permissions, "computed");
        const start = rows.find((p) => p.name === "start");
        assert.deepEqual(start, {
          name: "start",
          version: BUILTIN_PLUGINS.get("start")!.version,
          source: "built-in",
          kind: "builtin",
          permissions: {},
          description: BUILTIN_PLUGINS.get("start")!.description,
          pure: true,
        });
      },
    );

    await t.step(
      "info renders a manual page: params table, permissions, docs, example",
      async () => {
        const r = await cli(["plugins", "info", "greet@1.0.0"], dir, 60);
        assert.equal(r.code, 0, r.err);
        const out = r.out;
        assert.match(out, /^NAME\n {2}greet@1\.0\.0 — Greets someone by name\.\n/);
        assert.match(
          out,
          /\nSYNOPSIS\n {2}uses: greet\n {2}with: \{ who, style\?, tags\?, retry\?, target\? \}\n/,
        );
        assert.match(out, /\nSOURCE\n {2}\.\/plugins\/greet\.ts\n/);
        // Every version, highest first.
        assert.match(
          out,
          /\nVERSIONS\n {2}2\.0\.0 +\.\/plugins\/greet@2\.0\.0\.ts\n {2}1\.1\.0 +\.\/plugins\/greet@1\.1\.0\/mod\.ts\n {2}1\.0\.0 +\.\/plugins\/greet\.ts\n/,
        );
        assert.match(out, /\n {2}PARAM +TYPE +REQUIRED +DEFAULT +DESCRIPTION\n/);
        assert.match(out, /\n {2}who +string +yes +- +Who to greet\n/);
        assert.match(out, /\n {2}style +"plain" \| "loud" +no +"plain" +How to greet\n/);
        assert.match(out, /\n {2}tags +string\[\] +no +-/);
        assert.match(out, /\n {2}retry +object +no +-/);
        assert.match(out, /\n {2}retry\.attempts +integer +no +2 +How many times \(min 1\)\n/);
        assert.match(out, /\n {2}retry\.delay +string +no +-/);
        assert.match(out, /\n {2}target +string \| number +no +-/);
        assert.match(out, /\nPERMISSIONS\n {2}read=\.\/data\n {2}net=api\.example\.com\n/);
        assert.match(out, /\nRESULT\n {2}the greeting, a string\n/);
        // The Markdown as text: no heading marks or emphasis, links spelled out, lists hanging.
        const docs = out.slice(out.indexOf("\nDOCS\n"), out.indexOf("\nEXAMPLE\n"));
        assert.match(docs, /\n {2}Greeting\n\n {2}Greets someone by name\. The greeting/);
        assert.match(
          docs,
          /\n {2}• first point of a list that is long enough to wrap onto a\n {4}second line when narrow\n {2}• second\n/,
        );
        assert.match(docs, /the guide \(https:\/\/example\.com\/guide\)/);
        assert.doesNotMatch(docs, /\*\*|^#/m);
        for (const line of docs.split("\n")) assert.ok(line.length <= 60, `too wide: "${line}"`);
        assert.match(out, /\nEXAMPLE\n {2}hello:\n {4}uses: greet\n {4}with:\n {6}who: Ada\n$/);
      },
    );

    await t.step(
      "info picks the highest version in range and says when params decide permissions",
      async () => {
        const latest = await cli(["plugins", "info", "greet"], dir);
        assert.equal(latest.code, 0, latest.err);
        assert.match(latest.out, /^NAME\n {2}greet@2\.0\.0 — /);
        assert.match(latest.out, /\nPERMISSIONS\n {2}computed from params: /);
        assert.match(latest.out, /\n {2}host +string +yes +- *\n/);

        const one = await cli(["plugins", "info", "greet@^1.0"], dir);
        assert.equal(one.code, 0, one.err);
        assert.match(one.out, /^NAME\n {2}greet@1\.1\.0 — Greets someone \(JSON Schema params\)\./);
        assert.match(one.out, /\n {2}times +integer +no +1 +\(min 1\)\n/);

        const json = await cli(["plugins", "info", "greet@~1.1", "--json"], dir);
        assert.equal(json.code, 0, json.err);
        const doc = JSON.parse(json.out);
        assert.equal(doc.version, "1.1.0");
        assert.equal(doc.source, "./plugins/greet@1.1.0/mod.ts");
        assert.deepEqual(doc.params.required, ["who"]);

        const none = await cli(["plugins", "info", "greet@^5"], dir);
        assert.equal(none.code, 2);
        assert.match(none.err, /No version of plugin "greet" matches "\^5"/);
        assert.match(none.err, /2\.0\.0.*1\.1\.0|1\.1\.0.*2\.0\.0/);
      },
    );

    await t.step("info of an unknown plugin exits 2 with a suggestion and the names", async () => {
      const r = await cli(["plugins", "info", "gret"], dir);
      assert.equal(r.code, 2);
      assert.equal(r.out, "");
      assert.match(r.err, /^error: unknown plugin "gret" \(did you mean "greet"\?\)\n/);
      const names = [...new Set(["greet", ...BUILTIN_PLUGINS.keys()])].sort();
      assert.match(r.err, new RegExp(`\nAvailable plugins: ${names.join(", ")}\n`));
      const bad = await cli(["plugins", "info", "Not A Name"], dir);
      assert.equal(bad.code, 2);
      assert.match(bad.err, /is not a plugin name, path or URL/);
    });
  });
});

Deno.test("plugins info start reads like a manual page", async () => {
  const r = await cli(["plugins", "info", "start"], ROOT);
  assert.equal(r.code, 0, r.err);
  const start = BUILTIN_PLUGINS.get("start")!;
  assert.ok(r.out.startsWith(`NAME\n  start@${start.version} — ${start.description}\n`), r.out);
  assert.match(r.out, /\nSOURCE\n {2}built-in \(part of Orchestra\)\n/);
  assert.match(r.out, /\nPARAMS\n {2}none\n/);
  assert.match(r.out, /\nPERMISSIONS\n {2}none\n {2}pure: /);
  assert.match(r.out, /\nEXAMPLE\n {2}start:\n {4}uses: start\n/);
  const titles = r.out.split("\n").filter((l) => /^[A-Z]+$/.test(l));
  assert.deepEqual(titles, [
    "NAME",
    "SYNOPSIS",
    "SOURCE",
    "PARAMS",
    "PERMISSIONS",
    "RESULT",
    "DOCS",
    "EXAMPLE",
  ]);
});

const HAS_HTTP = BUILTIN_PLUGINS.has("http") || (() => {
  try {
    return Deno.statSync(`${ROOT}/plugins/http.ts`).isFile;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "plugins info http shows its params with types and defaults",
  ignore: !HAS_HTTP,
  fn: async () => {
    const r = await cli(["plugins", "info", "http"], ROOT);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^NAME\n {2}http@\d+\.\d+\.\d+ — /);
    assert.match(r.out, /\n {2}url +string[^\n]* +yes +- +/);
    assert.match(r.out, /\n {2}method +"GET" \| /);
    assert.match(r.out, /\nPERMISSIONS\n {2}computed from params/);
    for (const l of r.out.split("\n")) assert.ok(l.length <= 100, `too wide: "${l}"`);
  },
});

async function denoTest(cwd: string, file: string): Promise<{ ok: boolean; output: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["test", "--no-prompt", file],
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { ok: out.success, output: text };
}

Deno.test("plugins new in a fresh project writes the plugin, its test and a deno.json; the test passes", async () => {
  await inTemp(async (dir) => {
    const r = await cli(["plugins", "new", "greet"], dir);
    assert.equal(r.code, 0, r.err);
    const plugin = await Deno.readTextFile(`${dir}/plugins/greet.ts`);
    assert.match(plugin, /import \{ definePlugin \} from "@orchestra\/orchestra";/);
    assert.match(plugin, /import \{ z \} from "npm:zod@4\.1\.12";/);
    assert.match(plugin, /name: "greet",/);
    assert.match(plugin, /permissions: \{\},/);
    const test = await Deno.readTextFile(`${dir}/plugins/greet_test.ts`);
    assert.match(test, /import \{ runPlugin \} from "@orchestra\/orchestra\/testing";/);
    const config = JSON.parse(await Deno.readTextFile(`${dir}/deno.json`));
    assert.equal(config.imports["@orchestra/orchestra"], MOD);
    assert.match(
      r.out,
      /^Wrote \.\/plugins\/greet\.ts \(the plugin\) and \.\/plugins\/greet_test\.ts/,
    );
    assert.match(r.out, /Wrote \.\/deno\.json/);
    assert.match(r.out, /orchestra plugins info greet/);
    assert.match(r.out, /\n {6}uses: greet\n/);

    const run = await denoTest(dir, "plugins/greet_test.ts");
    assert.ok(run.ok, run.output);
    assert.match(run.output, /2 passed/);

    // The new plugin is listed and has a manual page.
    const info = await cli(["plugins", "info", "greet"], dir);
    assert.equal(info.code, 0, info.err);
    assert.match(info.out, /\n {2}who +string +no +"world" +Who to greet/);

    // Never overwritten.
    await Deno.writeTextFile(`${dir}/plugins/greet.ts`, "// mine\n");
    const again = await cli(["plugins", "new", "greet"], dir);
    assert.equal(again.code, 2);
    assert.match(again.err, /\.\/plugins\/greet\.ts already exists; not overwriting it/);
    assert.equal(await Deno.readTextFile(`${dir}/plugins/greet.ts`), "// mine\n");
  });
});

Deno.test("plugins new inside this repository relies on its import map; the test passes", async () => {
  await inTemp(async (dir) => {
    const r = await cli(["plugins", "new", "hello-world", "--dir", "mine"], dir);
    assert.equal(r.code, 0, r.err);
    assert.doesNotMatch(r.out, /deno\.json/);
    await assert.rejects(Deno.stat(`${dir}/deno.json`), Deno.errors.NotFound);
    assert.match(r.out, /--plugin-dir \.\/mine/);
    const run = await denoTest(dir, "mine/hello-world_test.ts");
    assert.ok(run.ok, run.output);
    const check = await new Deno.Command(Deno.execPath(), {
      args: ["check", "mine/hello-world.ts"],
      cwd: dir,
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.ok(check.success, new TextDecoder().decode(check.stderr));
  }, `${ROOT}/tests/cli`);
});

Deno.test("plugins new leaves another project's deno.json alone and says what to add", async () => {
  await inTemp(async (dir) => {
    await Deno.writeTextFile(`${dir}/deno.json`, '{ "tasks": {} }\n');
    const r = await cli(["plugins", "new", "greet"], dir);
    assert.equal(r.code, 0, r.err);
    assert.equal(await Deno.readTextFile(`${dir}/deno.json`), '{ "tasks": {} }\n');
    assert.match(r.out, /Note: \.\/deno\.json does not map "@orchestra\/orchestra"/);
    assert.ok(r.out.includes(`"@orchestra/orchestra": "${MOD}"`), r.out);
  });
});

Deno.test("plugins new refuses a bad name (exit 2)", async () => {
  await inTemp(async (dir) => {
    for (const name of ["Greet", "1greet", "my.plugin", "_x", "a b"]) {
      const r = await cli(["plugins", "new", name], dir);
      assert.equal(r.code, 2, name);
      assert.match(r.err, new RegExp(`invalid plugin name "${name.replace(".", "\\.")}"`));
    }
    assert.match((await cli(["plugins", "new", "Greet"], dir)).err, /\(e\.g\. "greet"\)/);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  });
});

const PLUGIN_V1 = `import { definePlugin } from "${CONTRACT}";
export default definePlugin({
  name: "remote-greet",
  version: "1.0.0",
  description: "A remote plugin, first edition.",
  permissions: { net: ["example.com"] },
  run: () => "v1",
});
`;

Deno.test("plugins update re-pins a changed remote plugin; list shows the pin", async () => {
  await inTemp(async (dir) => {
    let body = PLUGIN_V1;
    const server = Deno.serve(
      { port: 0, hostname: "127.0.0.1", onListen: () => {} },
      () => new Response(body, { headers: { "content-type": "application/typescript" } }),
    );
    try {
      const url = `http://127.0.0.1:${server.addr.port}/remote-greet@1.0.0.ts`;
      await Deno.writeTextFile(
        `${dir}/flow.yaml`,
        `tasks:\n  hello:\n    uses: ${url}\n  local:\n    uses: start\n`,
      );
      const stateDir = `${dir}/.orchestra`;
      const first = await resolvePlugin(url, { flowDir: dir, stateDir });
      const [pin] = await pinnedPlugins(`${dir}/orchestra.lock`);
      assert.equal(pin.integrity, first.integrity);

      const list = await cli(["plugins", "list", "--json", "--state-dir", stateDir], dir);
      assert.equal(list.code, 0, list.err);
      const remote = (JSON.parse(list.out) as Record<string, unknown>[])
        .find((p) => p.kind === "url");
      assert.deepEqual(remote, {
        name: "remote-greet",
        version: "1.0.0",
        source: url,
        kind: "url",
        permissions: { net: ["example.com"] },
        description: "A remote plugin, first edition.",
        pure: false,
      });

      const same = await cli(["plugins", "update", "flow.yaml", "--state-dir", stateDir], dir);
      assert.equal(same.code, 0, same.err);
      assert.match(same.out, new RegExp(`${url.replaceAll(".", "\\.")} +unchanged sha256-`));

      body = PLUGIN_V1.replace("first edition", "second edition");
      await assert.rejects(
        resolvePlugin(url, { flowDir: dir, stateDir }),
        /changed since it was pinned/,
      );
      const r = await cli(["plugins", "update", "flow.yaml", "--state-dir", stateDir], dir);
      assert.equal(r.code, 0, r.err);
      const [after] = await pinnedPlugins(`${dir}/orchestra.lock`);
      assert.notEqual(after.integrity, pin.integrity);
      assert.ok(
        r.out.includes(`${url}  ${pin.integrity} → ${after.integrity}\n`),
        r.out,
      );
      assert.match(r.out, /Pinned in \.\/orchestra\.lock\./);
      const now = await resolvePlugin(url, { flowDir: dir, stateDir });
      assert.equal(now.manifest.description, "A remote plugin, second edition.");
    } finally {
      await server.shutdown();
    }
  });
});

Deno.test("plugins list shows a pin whose copy is not cached from the lock file alone", async () => {
  await inTemp(async (dir) => {
    const url = "https://plugins.example.com/far@2.1.0/mod.ts";
    const integrity = "sha256-" + "A".repeat(43) + "=";
    await Deno.writeTextFile(
      `${dir}/orchestra.lock`,
      JSON.stringify({
        version: 1,
        remote: { [url]: { integrity, pinned: "2025-01-01T00:00:00.000Z" } },
      }),
    );
    const r = await cli(["plugins", "list"], dir);
    assert.equal(r.code, 0, r.err);
    const line = r.out.split("\n").find((l) => l.startsWith("far ")) ?? "";
    assert.match(
      line,
      /^far +2\.1\.0 +https:\/\/plugins\.example\.com\/far@2\.1\.0\/mod\.ts +unknown +pinned \(sha256-A+=\); not downloaded to this state dir yet$/,
    );
  });
});

Deno.test("plugins update: a TypeScript flow, a flow without remote plugins, a bad file", async () => {
  await inTemp(async (dir) => {
    await Deno.writeTextFile(`${dir}/flow.ts`, "export {};\n");
    const ts = await cli(["plugins", "update", "flow.ts"], dir);
    assert.equal(ts.code, 0, ts.err);
    assert.match(
      ts.out,
      /flow\.ts is a TypeScript flow: "plugins update" re-pins the remote plugins of YAML flows/,
    );

    await Deno.writeTextFile(`${dir}/local.yaml`, "tasks:\n  a:\n    uses: start\n");
    const local = await cli(["plugins", "update", "local.yaml"], dir);
    assert.equal(local.code, 0, local.err);
    assert.equal(
      local.out,
      `Flow "local" uses no remote plugins (uses: https://…); nothing to update.\n`,
    );

    const missing = await cli(["plugins", "update", "nope.yaml"], dir);
    assert.equal(missing.code, 2);
    assert.match(missing.err, /Cannot read "nope\.yaml": no such file/);
  });
});

Deno.test("plugins: usage errors exit 2 with a hint; help plugins explains the subcommands", async () => {
  const none = await cli(["plugins"], ROOT);
  assert.equal(none.code, 2);
  assert.match(none.err, /missing subcommand: one of list, info, new, update/);
  const typo = await cli(["plugins", "lst"], ROOT);
  assert.equal(typo.code, 2);
  assert.match(typo.err, /unknown subcommand "lst" \(did you mean "list"\?\)/);
  const noName = await cli(["plugins", "info"], ROOT);
  assert.equal(noName.code, 2);
  assert.match(noName.err, /"plugins info" needs NAME/);
  const dir = await cli(["plugins", "list", "--dir", "x"], ROOT);
  assert.equal(dir.code, 2);
  assert.match(dir.err, /--dir is an option of "plugins new"/);
  const help = await cli(["help", "plugins"], ROOT);
  assert.equal(help.code, 0);
  assert.match(help.out, /^Usage: orchestra plugins list/);
  const main_ = await cli(["--help"], ROOT);
  assert.match(main_.out, /\n {2}plugins +List plugins/);
});
