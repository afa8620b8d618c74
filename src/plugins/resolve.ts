/**
 * Finding plugins: `uses: NAME[@range]` (plugin folders, then built-ins), a path relative to
 * the flow file, an `https:` URL (pinned by integrity), or a `jsr:` / `npm:` specifier.
 *
 * @module
 */

import { fileURLToPath, pathToFileURL } from "node:url";
import semver from "semver";
import { OrchestraError } from "../core/errors.ts";
import { displayPath } from "../core/protocol.ts";
import { didYouMean } from "../core/suggest.ts";
import { BUILTIN_PLUGINS } from "./builtin.ts";
import { type PluginDefinition, type PluginManifest, pluginManifest } from "./contract.ts";
import { PluginInspector } from "./inspect.ts";
import { loadRemote } from "./remote.ts";

/** Where plugins are looked for. */
export interface PluginSearch {
  /** The flow file's directory: relative paths and its `plugins/` folder are found from it. */
  flowDir: string;
  /** More plugin folders, searched first, in order (`--plugin-dir`, then `pluginDirs`). */
  dirs?: string[];
  /** Where verified copies of remote plugins are kept. @default `${flowDir}/.orchestra` */
  stateDir?: string;
  /** The Orchestra lock file pinning remote plugins. @default `${flowDir}/orchestra.lock` */
  lockFile?: string;
  /** Re-pin remote plugins whose content changed (`orchestra plugins update`). */
  update?: boolean;
  /** Fetches remote plugins. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Loads plugin modules; the caller closes it. @default one made (and closed) per call */
  inspector?: PluginInspector;
}

/** Where a plugin came from. */
export type PluginSourceKind = "builtin" | "path" | "folder" | "url" | "jsr" | "npm";

/** A plugin found for a `uses:`. */
export interface ResolvedPlugin {
  /** The `uses:` it was found for. */
  uses: string;
  /** What it says of itself. */
  manifest: PluginManifest;
  /** Where it came from. */
  kind: PluginSourceKind;
  /** Where it came from, for people: `built-in`, a path, a URL or a specifier. */
  source: string;
  /** The module a worker imports to run it. */
  moduleUrl: string;
  /** The plugin itself, for built-ins (loaded in this process). */
  definition?: PluginDefinition;
  /** For a remote plugin: its pinned integrity (`sha256-…`). */
  integrity?: string;
}

/** A plugin could not be found or loaded; `hint` says how to fix it. */
export class PluginLoadError extends OrchestraError {
  /** How to fix it. */
  readonly hint: string | undefined;
  /** Creates the error. */
  constructor(message: string, hint?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PluginLoadError";
    this.hint = hint;
  }
}

/** What a `uses:` names, by its form. */
export type UsesForm =
  | { form: "name"; name: string; range: string }
  | { form: "path"; path: string }
  | { form: "url"; url: string }
  | { form: "jsr" | "npm"; specifier: string };

const NAME = /^[a-z][a-z0-9_-]*$/;
const PLUGIN_FILE = /^([a-z][a-z0-9_-]*)(?:@([^/]+?))?(?:\.(?:ts|js|mts|mjs))?$/;

/** Parses a `uses:` value, or throws a {@linkcode PluginLoadError} saying what is wrong. */
export function parseUses(uses: string): UsesForm {
  const u = uses.trim();
  if (/^(\.{1,2}\/|\/)/.test(u) || u.startsWith("file:")) return { form: "path", path: u };
  if (/^https?:/.test(u)) return { form: "url", url: u };
  if (u.startsWith("jsr:") || u.startsWith("npm:")) {
    const form = u.slice(0, 3) as "jsr" | "npm";
    const rest = u.slice(4).replace(/^\//, "");
    const m = /^((?:@[^/@]+\/)?[^/@]+)(?:@([^/]+))?(\/.*)?$/.exec(rest);
    if (!m || (form === "jsr" && !m[1].startsWith("@"))) {
      throw new PluginLoadError(
        `"${u}" is not a valid ${form}: specifier`,
        form === "jsr" ? "write jsr:@scope/name@1.2.3" : "write npm:name@1.2.3",
      );
    }
    if (!m[2]) {
      throw new PluginLoadError(
        `Plugin "${u}" is not pinned to a version`,
        `write ${form}:${m[1]}@<version>${m[3] ?? ""} (an exact version, or a range like ^1.2)`,
      );
    }
    if (semver.validRange(m[2]) === null) {
      throw new PluginLoadError(`Plugin "${u}" has an invalid version "${m[2]}"`);
    }
    return { form, specifier: u };
  }
  if (/\.(ts|js|mts|mjs)$/.test(u) && !u.includes("@")) return { form: "path", path: u };
  const at = u.indexOf("@");
  const name = at === -1 ? u : u.slice(0, at);
  const range = at === -1 ? "*" : u.slice(at + 1);
  if (!NAME.test(name)) {
    throw new PluginLoadError(
      `"${u}" is not a plugin name, path or URL`,
      "write a name (http, my_plugin@^1.2), a path (./plugins/x.ts), an https: URL, or a " +
        "jsr:/npm: specifier",
    );
  }
  if (semver.validRange(range) === null) {
    throw new PluginLoadError(
      `Plugin "${u}" has an invalid version range "${range}"`,
      'write a version or range: 1.2.3, ^1.2, ~1.2.3, ">=1 <3", *',
    );
  }
  return { form: "name", name, range };
}

/** A plugin module in a plugin folder. */
interface FolderEntry {
  name: string;
  /** From the file name, when it says. */
  version?: string;
  path: string;
  dir: string;
}

function absolute(path: string, base: string): string {
  if (path.startsWith("file:")) return fileURLToPath(path);
  const full = path.startsWith("/") ? path : `${base.replace(/\/+$/, "")}/${path}`;
  const out: string[] = [];
  for (const seg of full.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") out.pop();
    else out.push(seg);
  }
  return `/${out.join("/")}`;
}

/** The folders searched for plugins by name, in order. */
export function pluginFolders(search: PluginSearch): string[] {
  const cwd = Deno.cwd();
  const out = [...(search.dirs ?? []).map((d) => absolute(d, cwd)), `${search.flowDir}/plugins`];
  return [...new Set(out.map((d) => d.replace(/\/+$/, "")))];
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/** Every plugin module in the folders (`NAME.ts`, `NAME/mod.ts`, `NAME@1.2.3.ts`, …). */
async function scanFolders(folders: string[]): Promise<FolderEntry[]> {
  const out: FolderEntry[] = [];
  for (const dir of folders) {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(dir)].sort((a, b) => a.name.localeCompare(b.name));
    } catch {
      continue;
    }
    for (const e of entries) {
      if (/_test\.[mc]?[jt]s$/.test(e.name) || e.name.startsWith(".")) continue;
      // A folder's mod.ts gathers its plugins (like plugins/mod.ts here): not a plugin itself.
      if (/^mod\.[mc]?[jt]s$/.test(e.name)) continue;
      const m = PLUGIN_FILE.exec(e.name);
      if (!m) continue;
      let path: string | undefined;
      if (e.isDirectory) {
        if (/\.(ts|js|mts|mjs)$/.test(e.name)) continue;
        for (const main of ["mod.ts", "mod.js"]) {
          if (await isFile(`${dir}/${e.name}/${main}`)) {
            path = `${dir}/${e.name}/${main}`;
            break;
          }
        }
      } else if (/\.(ts|js|mts|mjs)$/.test(e.name)) path = `${dir}/${e.name}`;
      if (!path || BUILTIN_URLS().has(fileUrl(path))) continue;
      const entry: FolderEntry = { name: m[1], path, dir };
      if (m[2] !== undefined) {
        if (semver.valid(m[2]) === null) continue;
        entry.version = m[2];
      }
      out.push(entry);
    }
  }
  return out;
}

// The built-ins' own files, met when a flow sits next to this repository's plugins/ folder.
let builtinUrls: Set<string> | undefined;
const BUILTIN_URLS = () =>
  builtinUrls ??= new Set([...BUILTIN_PLUGINS.values()].map((p) => p.moduleUrl ?? ""));

// A path as messages show it: relative to the working directory when below it.
const shown = (path: string): string => displayPath(fileUrl(path));

function fileUrl(path: string): string {
  // The form Deno gives the module's import.meta.url: NAME@1.2.0.ts keeps its "@", so the
  // worker finds the plugin's task under the URL it was registered with.
  return pathToFileURL(path).href;
}

/** A built-in plugin as a `uses:` resolves to it. */
export function builtinPlugin(uses: string, def: PluginDefinition): ResolvedPlugin {
  return {
    uses,
    manifest: pluginManifest(def),
    kind: "builtin",
    source: "built-in",
    moduleUrl: def.moduleUrl ?? "",
    definition: def,
  };
}

/** The one plugin a module offers (its default export, else its only plugin). */
async function fromModule(
  inspector: PluginInspector,
  moduleUrl: string,
  what: string,
  wanted?: string,
): Promise<PluginManifest> {
  const manifests = await inspector.manifests(moduleUrl);
  if (manifests.length === 0) {
    throw new PluginLoadError(
      `${what} exports no plugin`,
      "export the result of definePlugin({ … }), as the default export",
    );
  }
  if (wanted !== undefined) {
    const m = manifests.find((x) => x.name === wanted);
    if (!m) {
      throw new PluginLoadError(
        `${what} defines plugin "${manifests[0].name}", not "${wanted}"`,
        `name the file after the plugin (${manifests[0].name}.ts), or rename the plugin`,
      );
    }
    return m;
  }
  return manifests[0];
}

/**
 * Finds the plugin a `uses:` names and reads its manifest. Plugin modules other than the
 * built-ins are loaded in a worker without permissions.
 */
export async function resolvePlugin(uses: string, search: PluginSearch): Promise<ResolvedPlugin> {
  const inspector = search.inspector ?? new PluginInspector();
  try {
    return await resolveWith(uses, search, inspector);
  } finally {
    if (!search.inspector) inspector.close();
  }
}

async function resolveWith(
  uses: string,
  search: PluginSearch,
  inspector: PluginInspector,
): Promise<ResolvedPlugin> {
  const form = parseUses(uses);
  switch (form.form) {
    case "path": {
      const path = absolute(form.path, search.flowDir);
      if (!(await isFile(path))) {
        throw new PluginLoadError(
          `Plugin file ${shown(path)} does not exist`,
          "a plugin path is relative to the flow file's directory",
        );
      }
      const moduleUrl = fileUrl(path);
      const manifest = await fromModule(inspector, moduleUrl, shown(path));
      return { uses, manifest, kind: "path", source: shown(path), moduleUrl };
    }
    case "url": {
      const stateDir = search.stateDir ?? `${search.flowDir}/.orchestra`;
      const remote = await loadRemote(form.url, {
        lockFile: search.lockFile ?? `${search.flowDir}/orchestra.lock`,
        cacheDir: `${stateDir}/plugins`,
        ...(search.update ? { update: true } : {}),
        ...(search.fetch ? { fetch: search.fetch } : {}),
      });
      const manifest = await fromModule(inspector, remote.moduleUrl, form.url);
      return {
        uses,
        manifest,
        kind: "url",
        source: form.url,
        moduleUrl: remote.moduleUrl,
        integrity: remote.integrity,
      };
    }
    case "jsr":
    case "npm": {
      const manifest = await fromModule(inspector, form.specifier, form.specifier);
      return { uses, manifest, kind: form.form, source: form.specifier, moduleUrl: form.specifier };
    }
    case "name":
      return await byName(uses, form.name, form.range, search, inspector);
  }
}

async function byName(
  uses: string,
  name: string,
  range: string,
  search: PluginSearch,
  inspector: PluginInspector,
): Promise<ResolvedPlugin> {
  const entries = await scanFolders(pluginFolders(search));
  const mine = entries.filter((e) => e.name === name);
  const candidates: { version: string; get: () => Promise<ResolvedPlugin>; where: string }[] = [];
  for (const e of mine) {
    const moduleUrl = fileUrl(e.path);
    let version = e.version;
    if (version === undefined) {
      version = (await fromModule(inspector, moduleUrl, shown(e.path), name)).version;
    }
    candidates.push({
      version,
      where: shown(e.path),
      get: async () => {
        const manifest = await fromModule(inspector, moduleUrl, shown(e.path), name);
        if (e.version !== undefined && manifest.version !== e.version) {
          throw new PluginLoadError(
            `${shown(e.path)} is named for version ${e.version} but defines ${manifest.version}`,
            "make the file name and the plugin's version agree",
          );
        }
        return { uses, manifest, kind: "folder", source: shown(e.path), moduleUrl };
      },
    });
  }
  const def = BUILTIN_PLUGINS.get(name);
  if (def) {
    candidates.push({
      version: def.version,
      where: "built-in",
      get: () => Promise.resolve(builtinPlugin(uses, def)),
    });
  }
  if (candidates.length === 0) {
    const known = [...new Set([...BUILTIN_PLUGINS.keys(), ...entries.map((e) => e.name)])];
    throw new PluginLoadError(
      `Unknown plugin "${name}"${didYouMean(name, known)}`,
      `available plugins: ${known.join(", ")}; or add ${name}.ts to a plugins/ folder next ` +
        `to the flow`,
    );
  }
  // The highest version in range; on a tie, the first found (folders before built-ins).
  let best: (typeof candidates)[number] | undefined;
  for (const c of candidates) {
    if (!semver.satisfies(c.version, range, { includePrerelease: range !== "*" })) continue;
    if (!best || semver.gt(c.version, best.version)) best = c;
  }
  if (!best) {
    const list = candidates.map((c) => `${c.version} (${c.where})`).join(", ");
    throw new PluginLoadError(
      `No version of plugin "${name}" matches "${range}"`,
      `available versions: ${list}`,
    );
  }
  return await best.get();
}

/**
 * Every plugin available to a flow in `search.flowDir`: the built-ins and each module in the
 * plugin folders (every version). A module that fails to load is reported in `errors`.
 */
export async function discoverPlugins(
  search: PluginSearch,
): Promise<ResolvedPlugin[] & { errors?: PluginLoadError[] }> {
  const inspector = search.inspector ?? new PluginInspector();
  const out: ResolvedPlugin[] & { errors?: PluginLoadError[] } = [];
  try {
    for (const e of await scanFolders(pluginFolders(search))) {
      const moduleUrl = fileUrl(e.path);
      try {
        for (const manifest of await inspector.manifests(moduleUrl)) {
          out.push({
            uses: `${manifest.name}@${manifest.version}`,
            manifest,
            kind: "folder",
            source: shown(e.path),
            moduleUrl,
          });
        }
      } catch (err) {
        (out.errors ??= []).push(
          err instanceof PluginLoadError ? err : new PluginLoadError(String(err)),
        );
      }
    }
    for (const def of BUILTIN_PLUGINS.values()) {
      out.push(builtinPlugin(`${def.name}@${def.version}`, def));
    }
    return out;
  } finally {
    if (!search.inspector) inspector.close();
  }
}
