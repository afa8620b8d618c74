/**
 * `orchestra plugins`: `list` every plugin available here, `info` shows one's manual page,
 * `new` scaffolds a plugin with its test, `update` re-pins a YAML flow's remote plugins.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { basename, dirname, isAbsolute, relative, resolve } from "node:path";
import denoJson from "../../../deno.json" with { type: "json" };
import { errorMessage } from "../../core/errors.ts";
import { didYouMean } from "../../core/suggest.ts";
import { loadFlowSpec } from "../../loaders/yaml/load.ts";
import { BUILTIN_PLUGINS } from "../../plugins/builtin.ts";
import type { PluginManifest } from "../../plugins/contract.ts";
import { PluginInspector } from "../../plugins/inspect.ts";
import { pinnedPlugins } from "../../plugins/remote.ts";
import {
  discoverPlugins,
  parseUses,
  PluginLoadError,
  type PluginSearch,
  type ResolvedPlugin,
  resolvePlugin,
} from "../../plugins/resolve.ts";
import { type Parsed, UsageError } from "../args.ts";
import type { Io } from "../io.ts";
import { pluginPermissionsText, renderPluginPage, renderProblems, renderTable } from "../render.ts";
import { commandSettings, shownPath as shownConfigPath, STORE_OPTIONS } from "./config.ts";

/** Options of `plugins`. */
export const PLUGINS_OPTIONS = {
  ...STORE_OPTIONS,
  "plugin-dir": { type: "string", multiple: true },
  json: { type: "boolean" },
  dir: { type: "string" },
} as const;

/** Help of `plugins`. */
export const PLUGINS_HELP = `Usage: orchestra plugins list [--plugin-dir DIR]… [--json]
       orchestra plugins info NAME[@RANGE] [--plugin-dir DIR]… [--json]
       orchestra plugins new NAME [--dir DIR]
       orchestra plugins update FLOW

A plugin is an ES module whose default export is definePlugin({ name, version, description,
params, permissions, run }); a YAML task runs it with "uses: NAME" and its params under "with:".

Subcommands:
  list           Every plugin available from the current directory: the built-ins, each
                 module in ./plugins/, in the configured pluginDirs and in --plugin-dir
                 (NAME.ts, NAME/mod.ts, NAME@1.2.3.ts, NAME@1.2.3/mod.ts: every version),
                 and the remote plugins pinned in ./orchestra.lock
  info NAME      A plugin's manual page: params (types, defaults), permissions, result,
                 documentation and an example. NAME@RANGE picks a version (greet@^1.2)
  new NAME       Write DIR/NAME.ts (a plugin) and DIR/NAME_test.ts (its test); DIR is
                 ./plugins unless --dir. Existing files are never overwritten
  update FLOW    Re-pin every remote plugin (uses: https://…) of the YAML flow FLOW whose
                 content changed, in orchestra.lock beside it

Options:
      --plugin-dir DIR      Look for plugins in DIR too (repeatable; before ./plugins)
      --dir DIR             Where "new" writes the plugin (default ./plugins)
      --state-dir DIR       Where verified copies of remote plugins are kept (./.orchestra)
      --config FILE         Use this configuration file instead of searching for one
      --json                list: an array of { name, version, source, kind, permissions,
                            description, pure }; info: the manifest with its source
  -h, --help                Show this help

Examples:
  orchestra plugins list
  orchestra plugins info http
  orchestra plugins new greet && deno test plugins/greet_test.ts
  orchestra plugins update flows/deploy.yaml
`;

const SUBCOMMANDS = ["list", "info", "new", "update"];

/** The built-in plugins' folder, when Orchestra runs from files (a clone, an install). */
const BUILTINS_URL = new URL("../../../plugins/", import.meta.url);
const BUILTINS_DIR = BUILTINS_URL.protocol === "file:"
  ? fileURLToPath(BUILTINS_URL).replace(/\/$/, "")
  : undefined;
const NAME = /^[a-z][a-z0-9_-]*$/;

/** Runs `orchestra plugins`. */
export async function pluginsCommand(parsed: Parsed, io: Io): Promise<number> {
  const [sub, ...args] = parsed.positionals;
  if (sub === undefined) {
    throw new UsageError("plugins", `missing subcommand: one of ${SUBCOMMANDS.join(", ")}`);
  }
  if (!SUBCOMMANDS.includes(sub)) {
    throw new UsageError(
      "plugins",
      `unknown subcommand "${sub}"${didYouMean(sub, SUBCOMMANDS)}; the subcommands are ` +
        SUBCOMMANDS.join(", "),
    );
  }
  if (parsed.values.dir !== undefined && sub !== "new") {
    throw new UsageError("plugins", `--dir is an option of "plugins new", not "plugins ${sub}"`);
  }
  if (parsed.values.json && (sub === "new" || sub === "update")) {
    throw new UsageError("plugins", `--json is an option of "list" and "info", not "${sub}"`);
  }
  const expected = sub === "list" ? 0 : 1;
  if (args.length < expected) {
    const what = sub === "update" ? "FLOW (a YAML flow file)" : "NAME";
    throw new UsageError("plugins", `"plugins ${sub}" needs ${what}`);
  }
  if (args.length > expected) {
    throw new UsageError("plugins", `unexpected argument "${args[expected]}"`);
  }
  if (sub === "new") return await newPlugin(args[0], parsed, io);
  const settings = await commandSettings(parsed, io);
  if (typeof settings === "number") return settings;
  const inspector = new PluginInspector();
  try {
    const search: PluginSearch = {
      flowDir: io.cwd,
      dirs: settings.pluginDirs,
      stateDir: settings.stateDir,
      inspector,
    };
    if (sub === "list") return await listPlugins(search, parsed, io);
    if (sub === "info") return await pluginInfo(args[0], search, parsed, io);
    return await updatePlugins(args[0], search, io);
  } catch (e) {
    // A broken lock file or plugin folder: say what and how to fix it, without a stack.
    if (!(e instanceof PluginLoadError)) throw e;
    io.stderr(`error: ${e.message}${e.hint ? `\n  hint: ${e.hint}` : ""}\n`);
    return 2;
  } finally {
    inspector.close();
  }
}

// ---------------------------------------------------------------------------------------------
// list

/** One row of `plugins list`, as `--json` prints it. */
interface ListedPlugin {
  name: string;
  version: string;
  source: string;
  kind: string;
  permissions: PluginManifest["permissions"] | null;
  description: string;
  pure: boolean;
}

/** A path as people read it: `./…` when inside the current directory, else absolute. */
function shownPath(io: Io, path: string): string {
  return shownConfigPath(io, resolve(Deno.cwd(), path), true);
}

function shownSource(io: Io, p: ResolvedPlugin): string {
  return p.kind === "path" || p.kind === "folder" ? shownPath(io, p.source) : p.source;
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.+-]/).map((x) => Number.parseInt(x, 10));
  const pb = b.split(/[.+-]/).map((x) => Number.parseInt(x, 10));
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] || 0) - (pb[i] || 0);
    if (d) return d;
  }
  // A pre-release sorts below its release.
  return (a.includes("-") ? 0 : 1) - (b.includes("-") ? 0 : 1);
}

function listed(io: Io, p: ResolvedPlugin): ListedPlugin {
  return {
    name: p.manifest.name,
    version: p.manifest.version,
    source: shownSource(io, p),
    kind: p.kind,
    permissions: p.manifest.permissions,
    description: p.manifest.description,
    pure: p.manifest.pure,
  };
}

const OFFLINE = "not fetched by plugins list";

/** Rejects at once: `list` reads remote plugins from their verified copies, never the network. */
const offline: typeof fetch = () => Promise.reject(new Error(OFFLINE));

/** A remote plugin's name and version from its URL (`…/greet@1.2.3.ts`, `…/greet@1.2.3/mod.ts`). */
function nameFromUrl(url: string): { name: string; version: string } {
  const path = new URL(url).pathname;
  const at = /([a-z][a-z0-9_-]*)@v?(\d+\.\d+\.\d+[^/]*?)(?:\.(?:ts|js|mts|mjs|tsx|jsx))?(?:\/|$)/
    .exec(path);
  if (at) return { name: at[1], version: at[2] };
  const parts = path.split("/").filter(Boolean);
  const file = (parts.pop() ?? "").replace(/\.(?:ts|js|mts|mjs|tsx|jsx)$/, "");
  const version = /^v?(\d+\.\d+\.\d+.*)$/.exec(parts[parts.length - 1] ?? "");
  if (version) parts.pop();
  return { name: file === "mod" ? parts.pop() ?? file : file, version: version?.[1] ?? "?" };
}

/** The remote plugins pinned in `lockFile`, each read from its verified copy when cached. */
async function pinnedRows(io: Io, search: PluginSearch, lockFile: string): Promise<ListedPlugin[]> {
  const out: ListedPlugin[] = [];
  for (const pin of await pinnedPlugins(lockFile)) {
    try {
      const p = await resolvePlugin(pin.url, { ...search, lockFile, fetch: offline });
      out.push(listed(io, p));
    } catch (e) {
      // No verified copy in the state dir (or it no longer loads): what the lock file says.
      const why = errorMessage(e);
      out.push({
        ...nameFromUrl(pin.url),
        source: pin.url,
        kind: "url",
        permissions: null,
        description: why.includes(OFFLINE)
          ? `pinned (${pin.integrity}); not downloaded to this state dir yet`
          : `pinned (${pin.integrity}); cannot be loaded: ${why}`,
        pure: false,
      });
    }
  }
  return out;
}

async function listPlugins(search: PluginSearch, parsed: Parsed, io: Io): Promise<number> {
  const found = await discoverPlugins(search);
  const rows = found.map((p) => listed(io, p));
  rows.push(...await pinnedRows(io, search, resolve(io.cwd, "orchestra.lock")));
  rows.sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : compareVersions(b.version, a.version)
  );
  for (const e of found.errors ?? []) {
    io.stderr(`warning: ${e.message}${e.hint ? `\n  hint: ${e.hint}` : ""}\n`);
  }
  if (parsed.values.json) {
    io.stdout(JSON.stringify(rows, null, 2) + "\n");
    return 0;
  }
  const table = [["NAME", "VERSION", "SOURCE", "PERMISSIONS", "DESCRIPTION"]];
  for (const r of rows) {
    table.push([
      r.name,
      r.version,
      r.source,
      r.permissions === null ? "unknown" : pluginPermissionsText(r.permissions),
      r.description,
    ]);
  }
  io.stdout(renderTable(table) + "\n");
  return 0;
}

// ---------------------------------------------------------------------------------------------
// info

async function pluginInfo(
  uses: string,
  search: PluginSearch,
  parsed: Parsed,
  io: Io,
): Promise<number> {
  let form;
  try {
    form = parseUses(uses);
  } catch (e) {
    if (!(e instanceof PluginLoadError)) throw e;
    io.stderr(`error: ${e.message}${e.hint ? `\n  hint: ${e.hint}` : ""}\n`);
    return 2;
  }
  let versions: { version: string; source: string }[] | undefined;
  if (form.form === "name") {
    const all = await discoverPlugins(search);
    const names = [...new Set(all.map((p) => p.manifest.name))].sort();
    if (!names.includes(form.name)) {
      io.stderr(
        `error: unknown plugin "${form.name}"${didYouMean(form.name, names)}\n` +
          `Available plugins: ${names.join(", ")}\n` +
          `Run "orchestra plugins list" to see them, or "orchestra plugins new ${form.name}" ` +
          `to write it.\n`,
      );
      return 2;
    }
    versions = all.filter((p) => p.manifest.name === form.name)
      .sort((a, b) => compareVersions(b.manifest.version, a.manifest.version))
      .map((p) => ({ version: p.manifest.version, source: shownSource(io, p) }));
  }
  let plugin: ResolvedPlugin;
  try {
    plugin = await resolvePlugin(uses, { ...search, lockFile: resolve(io.cwd, "orchestra.lock") });
  } catch (e) {
    if (!(e instanceof PluginLoadError)) throw e;
    io.stderr(`error: ${e.message}${e.hint ? `\n  hint: ${e.hint}` : ""}\n`);
    return 2;
  }
  const source = shownSource(io, plugin);
  if (parsed.values.json) {
    const doc = { ...plugin.manifest, source, kind: plugin.kind, integrity: plugin.integrity };
    io.stdout(JSON.stringify(doc, null, 2) + "\n");
    return 0;
  }
  const width = Math.max(40, Math.min(io.terminal.columns, 100));
  io.stdout(renderPluginPage(plugin.manifest, {
    source: plugin.kind === "builtin" ? "built-in (part of Orchestra)" : source,
    ...(plugin.integrity ? { integrity: plugin.integrity } : {}),
    ...(versions ? { versions } : {}),
  }, width));
  return 0;
}

// ---------------------------------------------------------------------------------------------
// new

function pluginTemplate(name: string): string {
  return `/**
 * The \`${name}\` plugin. Describe what it does here; \`orchestra plugins info ${name}\` shows
 * its manual page, built from the fields below.
 *
 * Use it from a YAML flow next to this folder:
 *
 * \`\`\`yaml
 * tasks:
 *   hello:
 *     uses: ${name}
 *     with:
 *       who: Ada
 * \`\`\`
 *
 * @module
 */

import { definePlugin } from "@orchestra/orchestra";
import { z } from "npm:zod@4.1.12";

export default definePlugin({
  name: "${name}",
  version: "0.1.0",
  description: "Greets someone (say in one line what ${name} does).",
  // Its params, checked when a flow is validated; \`.describe()\` texts show in the manual.
  params: z.object({
    who: z.string().min(1).default("world").describe("Who to greet"),
  }),
  // The Deno permissions it needs, in the words of Deno's --allow-* flags, for example
  // { net: ["api.example.com"], read: ["./data"] }. It runs in a worker granted exactly these.
  permissions: {},
  result: "the greeting, a string",
  docs: "Greets \`who\`. Replace this text with what the plugin does, what each param means " +
    "and what it returns (Markdown).",
  example: "hello:\\n  uses: ${name}\\n  with:\\n    who: Ada\\n",
  run(params, ctx) {
    ctx.log.info(\`greeting \${params.who}\`);
    return \`Hello, \${params.who}!\`;
  },
});
`;
}

function testTemplate(name: string): string {
  return `import assert from "node:assert/strict";
import { runPlugin } from "@orchestra/orchestra/testing";
import plugin from "./${name}.ts";

Deno.test("${name} greets who it is given", async () => {
  const { result } = await runPlugin(plugin, { who: "Ada" });
  assert.equal(result, "Hello, Ada!");
});

Deno.test("${name} greets the world by default", async () => {
  const { result } = await runPlugin(plugin, {});
  assert.equal(result, "Hello, world!");
});
`;
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

/**
 * The import map entries a project needs for `@orchestra/orchestra`: this copy's own modules
 * when running from source under Deno, else the published package.
 */
function libraryImports(): Record<string, string> {
  const root = new URL("../../../", import.meta.url);
  const underDeno = /^deno(\.exe)?$/.test(basename(Deno.execPath()));
  if (root.protocol === "file:" && underDeno) {
    return {
      "@orchestra/orchestra": new URL("mod.ts", root).href,
      "@orchestra/orchestra/testing": new URL("testing.ts", root).href,
      "@orchestra/orchestra/plugins": new URL("plugins/mod.ts", root).href,
    };
  }
  return { "@orchestra/orchestra": `jsr:@orchestra/orchestra@^${denoJson.version}` };
}

/** The nearest deno.json(c) at or above `dir`, if any. */
async function nearestDenoConfig(dir: string): Promise<string | undefined> {
  for (let d = dir;; d = dirname(d)) {
    for (const name of ["deno.json", "deno.jsonc"]) {
      if (await exists(`${d}/${name}`)) return `${d}/${name}`;
    }
    if (dirname(d) === d) return undefined;
  }
}

/**
 * Makes `@orchestra/orchestra` resolve for the new plugin: nothing when the nearest
 * deno.json(c) already maps it; a new deno.json in the project when there is none; else a
 * note saying what to add. Returns the lines to print.
 */
async function ensureImportMap(io: Io, dir: string, project: string): Promise<string[]> {
  const config = await nearestDenoConfig(dir);
  const imports = libraryImports();
  if (config) {
    const text = await Deno.readTextFile(config);
    // The package itself (self-reference by name) or a project that maps it already.
    if (text.includes('"@orchestra/orchestra"')) return [];
    const entries = Object.entries(imports).map(([k, v]) => `    "${k}": "${v}"`).join(",\n");
    return [
      `Note: ${shownPath(io, config)} does not map "@orchestra/orchestra"; add to its "imports":`,
      entries,
    ];
  }
  const file = `${project}/deno.json`;
  await Deno.writeTextFile(file, JSON.stringify({ imports }, null, 2) + "\n", { createNew: true });
  return [`Wrote ${shownPath(io, file)}: it maps "@orchestra/orchestra" for the plugin and test`];
}

async function newPlugin(name: string, parsed: Parsed, io: Io): Promise<number> {
  if (!NAME.test(name)) {
    const fixed = name.toLowerCase().replace(/[^a-z0-9_-]+/g, "_").replace(/^[^a-z]+/, "");
    io.stderr(
      `error: invalid plugin name "${name}": use lower case letters, digits, "-" and "_", ` +
        `starting with a letter${fixed && NAME.test(fixed) ? ` (e.g. "${fixed}")` : ""}\n`,
    );
    return 2;
  }
  const dirArg = typeof parsed.values.dir === "string" ? parsed.values.dir : "plugins";
  const dir = resolve(io.cwd, dirArg);
  if (dir === BUILTINS_DIR) {
    // Run inside a clone of Orchestra, ./plugins is the built-ins' folder, not the user's.
    io.stderr(
      `error: ${shownPath(io, dir)} holds Orchestra's built-in plugins; not writing "${name}" ` +
        `there. Write it elsewhere: orchestra plugins new ${name} --dir my_plugins ` +
        `(then run flows with --plugin-dir my_plugins)\n`,
    );
    return 2;
  }
  const plugin = `${dir}/${name}.ts`;
  const test = `${dir}/${name}_test.ts`;
  for (const path of [plugin, test, `${dir}/${name}/mod.ts`]) {
    if (await exists(path)) {
      io.stderr(
        `error: ${shownPath(io, path)} already exists; not overwriting it\n` +
          `Remove it, or pick another name.\n`,
      );
      return 2;
    }
  }
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(plugin, pluginTemplate(name), { createNew: true });
  await Deno.writeTextFile(test, testTemplate(name), { createNew: true });
  const inCwd = !relative(io.cwd, dir).startsWith("..") && !isAbsolute(relative(io.cwd, dir));
  const project = inCwd ? io.cwd : dirname(dir);
  const notes = await ensureImportMap(io, dir, project);

  const next = [
    [`deno test ${shownPath(io, test)}`, "run its test"],
    [`orchestra plugins info ${name}`, "see its manual page"],
  ];
  const lines = [
    `Wrote ${shownPath(io, plugin)} (the plugin) and ${shownPath(io, test)} (its test).`,
    ...notes,
    "",
    "Next:",
    renderTable(next, "  "),
  ];
  const isDefault = dir === resolve(io.cwd, "plugins");
  lines.push(
    "",
    isDefault
      ? `Use it from a YAML flow in ${shownPath(io, io.cwd)} (next to the plugins/ folder):`
      : basename(dir) === "plugins"
      ? `Use it from a YAML flow in ${shownPath(io, dirname(dir))} (next to the plugins/ ` +
        `folder), or pass --plugin-dir ${shownPath(io, dir)}:`
      : `Use it from a YAML flow run with --plugin-dir ${shownPath(io, dir)} (or list the ` +
        `folder in pluginDirs in orchestra.yaml):`,
    "  tasks:",
    "    hello:",
    `      uses: ${name}`,
    "      with:",
    "        who: Ada",
  );
  if (BUILTIN_PLUGINS.has(name)) {
    lines.push("", `Note: "${name}" is also a built-in; "uses: ${name}" now finds this one first.`);
  }
  io.stdout(lines.join("\n") + "\n");
  return 0;
}

// ---------------------------------------------------------------------------------------------
// update

async function updatePlugins(flow: string, search: PluginSearch, io: Io): Promise<number> {
  const path = resolve(io.cwd, flow);
  if (/\.(ts|tsx|mts|js|jsx|mjs)$/.test(flow)) {
    io.stdout(
      `${flow} is a TypeScript flow: "plugins update" re-pins the remote plugins of YAML flows ` +
        `(uses: https://…), so there is nothing to update.\nA TypeScript flow imports its ` +
        `plugins as modules; deno.lock pins those (deno cache --reload ${flow} refreshes it).\n`,
    );
    return 0;
  }
  if (!/\.ya?ml$/.test(flow)) {
    throw new UsageError("plugins", `"${flow}" is not a YAML flow file (.yaml or .yml)`);
  }
  const spec = await loadFlowSpec(path, flow);
  if (spec.issues.length) {
    io.stderr(renderProblems(`flow file "${flow}"`, spec.issues));
    return 2;
  }
  const uses = [...new Set(spec.tasks.map((t) => t.fields.uses).filter((u) => u !== undefined))];
  const remote = uses.filter((u) => /^https?:/.test(u.trim()));
  const pkgs = uses.filter((u) => /^(jsr|npm):/.test(u.trim()));
  const out: string[] = [];
  if (pkgs.length) {
    out.push(`Not re-pinned here (deno.lock pins jsr: and npm: plugins): ${pkgs.join(", ")}`);
  }
  if (remote.length === 0) {
    out.push(`Flow "${spec.name}" uses no remote plugins (uses: https://…); nothing to update.`);
    io.stdout(out.join("\n") + "\n");
    return 0;
  }
  const flowDir = dirname(path);
  const lockFile = resolve(flowDir, "orchestra.lock");
  const before = new Map((await pinnedPlugins(lockFile)).map((p) => [p.url, p.integrity]));
  let failed = 0;
  const rows: string[][] = [];
  for (const u of remote) {
    const url = u.trim();
    try {
      const p = await resolvePlugin(url, { ...search, flowDir, lockFile, update: true });
      const key = new URL(url).href;
      const old = before.get(key);
      const now = p.integrity ?? "?";
      rows.push([
        url,
        old === undefined ? `pinned ${now}` : old === now ? `unchanged ${now}` : `${old} → ${now}`,
      ]);
    } catch (e) {
      failed++;
      const hint = e instanceof PluginLoadError && e.hint ? `\n  hint: ${e.hint}` : "";
      io.stderr(`error: cannot update ${url}: ${errorMessage(e)}${hint}\n`);
      rows.push([url, "failed (see above)"]);
    }
  }
  out.push(renderTable(rows));
  const changed = rows.filter((r) => r[1].includes(" → ") || r[1].startsWith("pinned ")).length;
  out.push(
    failed
      ? `${failed} of ${remote.length} could not be updated; the others are pinned in ` +
        shownPath(io, lockFile)
      : changed
      ? `Pinned in ${shownPath(io, lockFile)}.`
      : `Every remote plugin is unchanged.`,
  );
  io.stdout(out.join("\n") + "\n");
  return failed ? 1 : 0;
}
