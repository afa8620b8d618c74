import assert from "node:assert/strict";
import { PluginInspector } from "../../src/plugins/inspect.ts";
import {
  discoverPlugins,
  parseUses,
  PluginLoadError,
  resolvePlugin,
} from "../../src/plugins/resolve.ts";
import { pluginSource, tempTree } from "./_plugins.ts";

const greet = (version: string) => pluginSource({ name: "greet", version });

async function rejects(p: Promise<unknown>, message: RegExp, hint?: RegExp): Promise<void> {
  const e = await p.then(() => undefined, (e) => e);
  assert.ok(e instanceof PluginLoadError, `expected a PluginLoadError, got ${e}`);
  assert.match(e.message, message);
  if (hint) assert.match(e.hint ?? "", hint);
}

Deno.test("uses: NAME@range picks the highest matching version among the plugin folders", async () => {
  const t = await tempTree({
    "plugins/greet.ts": greet("1.0.0"),
    "plugins/greet@1.2.5.ts": greet("1.2.5"),
    "plugins/greet@1.4.0/mod.ts": greet("1.4.0"),
    "plugins/greet@2.0.0.ts": greet("2.0.0"),
  });
  const inspector = new PluginInspector();
  try {
    const search = { flowDir: t.dir, inspector };
    const pick = async (uses: string) => {
      const r = await resolvePlugin(uses, search);
      return `${r.manifest.version} ${r.source.slice(r.source.indexOf("plugins/"))}`;
    };
    assert.equal(await pick("greet@^1.2"), "1.4.0 plugins/greet@1.4.0/mod.ts");
    assert.equal(await pick("greet"), "2.0.0 plugins/greet@2.0.0.ts");
    assert.equal(await pick("greet@1.0.0"), "1.0.0 plugins/greet.ts");
    assert.equal(await pick("greet@~1.2.0"), "1.2.5 plugins/greet@1.2.5.ts");
    const r = await resolvePlugin("greet@1", search);
    assert.equal(r.kind, "folder");
    assert.ok(r.moduleUrl.startsWith("file:///") && r.moduleUrl.endsWith("/mod.ts"));
    await rejects(
      resolvePlugin("greet@^3", search),
      /^No version of plugin "greet" matches "\^3"$/,
      /available versions: 1\.0\.0 \(.*greet\.ts\), 1\.2\.5 .*, 1\.4\.0 .*, 2\.0\.0 /,
    );
  } finally {
    inspector.close();
    await t.remove();
  }
});

Deno.test("--plugin-dir folders come before the flow's plugins/ folder, built-ins last", async () => {
  const t = await tempTree({
    "flow/plugins/greet.ts": greet("2.0.0"),
    "extra/greet.ts": greet("2.0.0"),
    "flow/plugins/start.ts": pluginSource({ name: "start", version: "1.0.0" }),
  });
  try {
    const search = { flowDir: `${t.dir}/flow`, dirs: [`${t.dir}/extra`] };
    assert.match((await resolvePlugin("greet", search)).source, /extra\/greet\.ts$/);
    // A folder plugin of the same version as a built-in is found first…
    assert.equal((await resolvePlugin("start", search)).kind, "folder");
    // …and the built-in serves a range only it matches.
    const builtin = await resolvePlugin("end", search);
    assert.equal(builtin.kind, "builtin");
    assert.equal(builtin.source, "built-in");
    assert.ok(builtin.definition);
  } finally {
    await t.remove();
  }
});

Deno.test("a file named for one version that defines another is refused", async () => {
  const t = await tempTree({ "plugins/greet@1.5.0.ts": greet("1.6.0") });
  try {
    await rejects(
      resolvePlugin("greet", { flowDir: t.dir }),
      /greet@1\.5\.0\.ts is named for version 1\.5\.0 but defines 1\.6\.0/,
    );
  } finally {
    await t.remove();
  }
});

Deno.test("a path is relative to the flow file's directory; a missing one says so", async () => {
  const t = await tempTree({ "lib/tools.ts": pluginSource({ name: "tools" }) });
  try {
    const r = await resolvePlugin("./lib/../lib/tools.ts", { flowDir: t.dir });
    assert.equal(r.kind, "path");
    assert.equal(r.manifest.name, "tools");
    assert.equal(r.moduleUrl, new URL(`file://${t.dir}/lib/tools.ts`).href);
    await rejects(
      resolvePlugin("./lib/nope.ts", { flowDir: t.dir }),
      /^Plugin file .*\/lib\/nope\.ts does not exist$/,
      /relative to the flow file's directory/,
    );
  } finally {
    await t.remove();
  }
});

Deno.test("an unknown name gets did-you-mean and the plugins available", async () => {
  const t = await tempTree({ "plugins/greet.ts": greet("1.0.0") });
  try {
    await rejects(
      resolvePlugin("gret", { flowDir: t.dir }),
      /^Unknown plugin "gret" \(did you mean "greet"\?\)$/,
      /available plugins: .*start.*greet/,
    );
  } finally {
    await t.remove();
  }
});

Deno.test("uses: forms are told apart, and bad ones are refused before anything loads", () => {
  assert.deepEqual(parseUses("http"), { form: "name", name: "http", range: "*" });
  assert.deepEqual(parseUses("greet@^1.2"), { form: "name", name: "greet", range: "^1.2" });
  assert.deepEqual(parseUses("./p/x.ts"), { form: "path", path: "./p/x.ts" });
  assert.deepEqual(parseUses("/abs/x.ts"), { form: "path", path: "/abs/x.ts" });
  assert.deepEqual(parseUses("https://e.com/x@1.0.0/mod.ts"), {
    form: "url",
    url: "https://e.com/x@1.0.0/mod.ts",
  });
  assert.deepEqual(parseUses("jsr:@s/p@1.2.3"), { form: "jsr", specifier: "jsr:@s/p@1.2.3" });
  assert.deepEqual(parseUses("npm:p@^2/sub"), { form: "npm", specifier: "npm:p@^2/sub" });
  const refused = (uses: string, message: RegExp, hint?: RegExp) => {
    const e = (() => {
      try {
        parseUses(uses);
        return undefined;
      } catch (e) {
        return e;
      }
    })();
    assert.ok(e instanceof PluginLoadError, uses);
    assert.match(e.message, message);
    if (hint) assert.match(e.hint ?? "", hint);
  };
  refused("jsr:@s/p", /not pinned to a version/, /jsr:@s\/p@<version>/);
  refused("npm:left-pad", /not pinned to a version/, /npm:left-pad@<version>/);
  refused("jsr:nope@1.0.0", /not a valid jsr: specifier/, /jsr:@scope\/name@1\.2\.3/);
  refused("greet@banana", /invalid version range "banana"/);
  refused("Greet!", /is not a plugin name, path or URL/);
});

Deno.test("a plugin module loads without permissions: top-level I/O is refused clearly", async () => {
  const t = await tempTree({
    "plugins/nosy.ts": pluginSource({ name: "nosy" }, {
      top: 'const home = Deno.env.get("HOME");',
    }),
    "plugins/broken.ts": "export default definePlugin({",
    "plugins/empty.ts": "export const x = 1;\n",
  });
  try {
    const search = { flowDir: t.dir };
    await rejects(
      resolvePlugin("nosy", search),
      /^Plugin module .*nosy\.ts failed to load: .*env/i,
      /top-level code runs without permissions/,
    );
    await rejects(resolvePlugin("broken", search), /^Plugin module .*broken\.ts failed to load: /);
    await rejects(resolvePlugin("empty", search), /empty\.ts exports no plugin/, /definePlugin/);
  } finally {
    await t.remove();
  }
});

Deno.test("a jsr: plugin that cannot be fetched fails with what to check", async () => {
  await rejects(
    resolvePlugin("jsr:@orchestra-test/no-such-plugin@1.0.0", { flowDir: Deno.cwd() }),
    /^Plugin jsr:@orchestra-test\/no-such-plugin@1\.0\.0 could not be loaded from JSR: /,
    /jsr\.io/,
  );
});

Deno.test("discoverPlugins lists the built-ins and every version in the folders", async () => {
  const t = await tempTree({
    "plugins/greet.ts": greet("1.0.0"),
    "plugins/greet@2.0.0/mod.ts": greet("2.0.0"),
    "plugins/greet_test.ts": "this is not loaded",
    "plugins/broken.ts": "export default {",
  });
  try {
    const found = await discoverPlugins({ flowDir: t.dir });
    const names = found.map((p) => `${p.manifest.name}@${p.manifest.version}:${p.kind}`);
    assert.ok(names.includes("greet@1.0.0:folder") && names.includes("greet@2.0.0:folder"));
    assert.ok(names.includes("start@1.0.0:builtin") && names.includes("end@1.0.0:builtin"));
    assert.equal(found.errors?.length, 1);
    assert.match(found.errors![0].message, /broken\.ts failed to load/);
  } finally {
    await t.remove();
  }
});
