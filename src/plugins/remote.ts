/**
 * Remote plugins (`uses: https://…/greet@1.0.0/mod.ts`): pinned by the version in their URL and
 * by the integrity of their content, recorded in the Orchestra lock file
 * (`<flow dir>/orchestra.lock`):
 *
 * ```json
 * {
 *   "version": 1,
 *   "remote": {
 *     "https://example.com/plugins/greet@1.0.0/mod.ts": {
 *       "integrity": "sha256-…",
 *       "pinned": "2025-01-01T00:00:00.000Z"
 *     }
 *   }
 * }
 * ```
 *
 * Orchestra fetches a remote plugin itself, never Deno: the first load pins its SHA-256, every
 * later load checks the content against it and refuses a module that changed until
 * `orchestra plugins update` re-pins it. The verified bytes are copied to
 * `<cache dir>/<sha256 hex>/<file name>` and that `file:` URL is what workers import, so Deno's
 * own module cache can never serve stale or unverified content. When the network is down, a
 * pinned plugin whose verified copy is cached still loads.
 *
 * A remote plugin must be one module: its relative imports would resolve against the cached
 * copy, so they are refused (see {@linkcode loadRemote}).
 *
 * @module
 */

import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { errorMessage } from "../core/errors.ts";
import { readBoundedTextFile } from "../fs/read_bounded.ts";
import { PluginLoadError } from "./resolve.ts";

/** How a remote plugin was loaded. */
export type RemoteStatus = "pinned" | "verified" | "updated";

/** Options of {@linkcode loadRemote}. */
export interface RemoteLoadOptions {
  /** The Orchestra lock file (see {@linkcode defaultLockFile}); created when missing. */
  lockFile: string;
  /** Where verified copies are kept: `<cacheDir>/<sha256 hex>/<file name>`. */
  cacheDir: string;
  /**
   * Re-pin the plugin when its content changed (`orchestra plugins update`).
   * @default false
   */
  update?: boolean;
  /** Fetches the plugin. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** The clock for the `pinned` date. @default () => new Date() */
  now?: () => Date;
  /** How long the download may take, body included. @default 30000 */
  timeoutMs?: number;
}

/** What {@linkcode loadRemote} found. */
export interface RemoteLoadResult {
  /** The `file:` URL of the verified copy: what a worker imports. */
  moduleUrl: string;
  /** The content's integrity, `sha256-<base64>`. */
  integrity: string;
  /**
   * `pinned`: first seen, now in the lock file; `verified`: matches the lock file; `updated`:
   * changed and re-pinned (only with `update: true`).
   */
  status: RemoteStatus;
}

/** A plugin pinned in the lock file. */
export interface PinnedPlugin {
  /** Its URL. */
  url: string;
  /** Its integrity, `sha256-<base64>`. */
  integrity: string;
  /** When it was pinned (ISO date). */
  pinned: string;
}

interface LockEntry {
  integrity: string;
  pinned: string;
}

const LOCK_VERSION = 1;
const INTEGRITY = /^sha256-[A-Za-z0-9+/]{43}=$/;
const LOOPBACK = new Set(["127.0.0.1", "[::1]", "localhost"]);
const EXAMPLE_URL = "https://example.com/plugins/greet@1.0.0/mod.ts";
// `name@1.2.3` anywhere in the path (followed by `/`, an extension or the end), or a whole
// `1.2.3` / `v1.2.3` directory segment; a range (`@^1.2`) is no pin.
const VERSION_AT = /@v?\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?(?=$|\/|\.[A-Za-z])/;
const VERSION_SEGMENT = /\/v?\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]+)?\//;
const MODULE_EXTENSION = /\.(?:ts|js|mjs|mts|tsx|jsx)$/;
// Static relative (or root-relative) specifiers: `from "./x"`, `import "./x"`, `import("./x")`.
// Plain text matching, so a comment or string shaped like one counts too, and an import built
// at run time (`import(name)`, `new URL("./x", import.meta.url)`) is not seen.
const RELATIVE_IMPORT = /(?:\bfrom|\bimport)\s*(?:\(\s*)?(["'])(\.{0,2}\/[^"'\r\n]*)\1/g;

/**
 * The default lock file of a flow: `<flow dir>/orchestra.lock`.
 *
 * @example
 * ```ts
 * import { defaultLockFile } from "./remote.ts";
 * console.assert(defaultLockFile("/flows") === "/flows/orchestra.lock");
 * ```
 */
export function defaultLockFile(flowDir: string): string {
  return join(flowDir, "orchestra.lock");
}

/**
 * Checks that a URL may name a remote plugin and returns it parsed: `https:`, or `http:` to a
 * loopback host, with a version in its path (`greet@1.2.3.ts`, `greet@1.2.3/mod.ts`,
 * `/v1.2.3/mod.ts`, `/1.2.3/mod.ts`). Throws a {@linkcode PluginLoadError} with a hint
 * otherwise.
 *
 * @example
 * ```ts
 * import { checkRemoteUrl } from "./remote.ts";
 * console.assert(checkRemoteUrl("https://example.com/greet@1.0.0/mod.ts").host === "example.com");
 * try {
 *   checkRemoteUrl("https://example.com/greet/mod.ts");
 *   throw new Error("unreachable");
 * } catch (e) {
 *   console.assert((e as Error).message.includes("not pinned to a version"));
 * }
 * ```
 */
export function checkRemoteUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new PluginLoadError(
      `Plugin URL "${url}" is not a valid URL`,
      `write a full URL, e.g. ${EXAMPLE_URL}`,
    );
  }
  if (!secureScheme(parsed)) {
    throw new PluginLoadError(
      `Cannot load plugin ${url}: remote plugins are loaded over https: only ` +
        `(http: only from 127.0.0.1, ::1 or localhost)`,
      parsed.protocol === "http:"
        ? `use https://${parsed.host}${parsed.pathname}`
        : `serve the plugin over https:, e.g. ${EXAMPLE_URL}`,
    );
  }
  if (!VERSION_AT.test(parsed.pathname) && !VERSION_SEGMENT.test(parsed.pathname)) {
    throw new PluginLoadError(
      `Plugin ${url} is not pinned to a version: its path must name one ` +
        `("name@1.2.3", or a "/1.2.3/" or "/v1.2.3/" folder)`,
      `use a URL with an exact version, e.g. ${EXAMPLE_URL}`,
    );
  }
  return parsed;
}

/**
 * Fetches a remote plugin, checks it against the lock file and returns the `file:` URL of its
 * verified copy.
 *
 * - Not in the lock file: it is pinned (the lock file is written), status `pinned`.
 * - Same content as pinned: status `verified`.
 * - Changed: refused with a {@linkcode PluginLoadError}, unless `update` is set, which re-pins
 *   it (status `updated`).
 * - The fetch failed (network error) but it is pinned and its verified copy is cached: that copy
 *   is used (status `verified`).
 *
 * A remote plugin must be a single module whose imports are `npm:`, `jsr:` or full URLs: a
 * static relative import (`from "./x"`, `import "./x"`, `import("./x")`, also `/x`) is
 * refused, since it would resolve against the cached copy. The check is plain text matching.
 *
 * @example
 * ```ts
 * import { loadRemote } from "./remote.ts";
 * const dir = await Deno.makeTempDir();
 * const source = 'export default "hello";\n';
 * const options = {
 *   lockFile: `${dir}/orchestra.lock`,
 *   cacheDir: `${dir}/cache`,
 *   fetch: () => Promise.resolve(new Response(source)),
 * };
 * const url = "https://example.com/greet@1.0.0/mod.ts";
 * const first = await loadRemote(url, options);
 * console.assert(first.status === "pinned" && first.moduleUrl.endsWith("/mod.ts"));
 * console.assert((await loadRemote(url, options)).status === "verified");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadRemote(
  url: string,
  options: RemoteLoadOptions,
): Promise<RemoteLoadResult> {
  const parsed = checkRemoteUrl(url);
  const key = parsed.href;
  const doFetch = options.fetch ?? globalThis.fetch;
  const lock = await readLock(options.lockFile);
  const pinned = lock.get(key);

  let bytes: Uint8Array;
  try {
    // A server that never answers is a network failure, not a hang.
    const signal = AbortSignal.timeout(options.timeoutMs ?? 30_000);
    const res = await doFetch(key, { redirect: "follow", signal });
    if (!res.ok) {
      await res.body?.cancel();
      throw new PluginLoadError(
        `Cannot fetch plugin ${key}: the server answered ${res.status}` +
          (res.statusText ? ` ${res.statusText}` : ""),
        "check the URL and the version in it",
      );
    }
    // Redirects are followed, but never off https: (the lock protects later loads, not the
    // first one).
    if (res.url && res.url !== key && !secureScheme(new URL(res.url))) {
      await res.body?.cancel();
      throw new PluginLoadError(
        `Cannot load plugin ${key}: it redirects to ${res.url}, which is not https:`,
        "serve the plugin, and any redirect, over https:",
      );
    }
    bytes = new Uint8Array(await res.arrayBuffer());
  } catch (e) {
    if (e instanceof PluginLoadError) throw e;
    // A network failure: a pinned plugin whose verified copy is cached still loads.
    if (pinned && !options.update) {
      const cached = await cachedCopy(key, pinned.integrity, options.cacheDir);
      if (cached) return { moduleUrl: cached, integrity: pinned.integrity, status: "verified" };
    }
    throw new PluginLoadError(
      `Cannot fetch plugin ${key}: ${errorMessage(e)}`,
      pinned
        ? options.update
          ? "updating a plugin needs the network: check your connection"
          : "it is pinned but no verified copy is cached: check your connection"
        : "check the URL and your network connection",
      { cause: e },
    );
  }

  const digest = await sha256(bytes);
  const integrity = `sha256-${toBase64(digest)}`;
  let status: RemoteStatus = "verified";
  if (!pinned) status = "pinned";
  else if (pinned.integrity !== integrity) {
    if (!options.update) {
      throw new PluginLoadError(
        `Plugin ${key} changed since it was pinned (${pinned.integrity} → ${integrity})`,
        `check the change, then run "orchestra plugins update <flow>" to pin the new content`,
      );
    }
    status = "updated";
  }

  const relative = relativeImports(new TextDecoder().decode(bytes));
  if (relative.length) {
    const list = relative.map((r) => `"${r.specifier}" (line ${r.line})`).join(", ");
    throw new PluginLoadError(
      `Plugin ${key} imports ${list}: a remote plugin must be one module, importing only ` +
        `npm:, jsr: or full https: URLs (a relative import would resolve against Orchestra's ` +
        `verified copy, not the server)`,
      "bundle the plugin into a single module, or import its dependencies by full URL",
    );
  }

  const file = join(options.cacheDir, toHex(digest), cacheFileName(parsed));
  await writeVerified(file, bytes, integrity);
  if (status !== "verified") {
    const at = (options.now ?? (() => new Date()))().toISOString();
    await updateLock(options.lockFile, key, { integrity, pinned: at });
  }
  return { moduleUrl: pathToFileURL(resolve(file)).href, integrity, status };
}

/**
 * Every plugin pinned in a lock file, by URL (none when the file does not exist).
 *
 * @example
 * ```ts
 * import { pinnedPlugins } from "./remote.ts";
 * const dir = await Deno.makeTempDir();
 * console.assert((await pinnedPlugins(`${dir}/orchestra.lock`)).length === 0);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function pinnedPlugins(lockFile: string): Promise<PinnedPlugin[]> {
  const lock = await readLock(lockFile);
  return [...lock].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
    .map(([url, e]) => ({ url, integrity: e.integrity, pinned: e.pinned }));
}

async function readLock(path: string): Promise<Map<string, LockEntry>> {
  let text: string;
  try {
    text = await readBoundedTextFile(path, { what: "lock file" });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return new Map();
    throw new PluginLoadError(
      `Cannot read the Orchestra lock file ${path}: ${errorMessage(e)}`,
      undefined,
      { cause: e },
    );
  }
  const bad = (what: string): PluginLoadError =>
    new PluginLoadError(
      `The Orchestra lock file ${path} is malformed: ${what}`,
      `fix it, or delete it and run "orchestra plugins update <flow>" to pin the plugins again`,
    );
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw bad(`it is not valid JSON (${errorMessage(e)})`);
  }
  if (!isObject(data)) throw bad("it must be a JSON object");
  if (data.version !== LOCK_VERSION) {
    throw bad(`"version" is ${JSON.stringify(data.version)}, expected ${LOCK_VERSION}`);
  }
  const remote = data.remote ?? {};
  if (!isObject(remote)) throw bad(`"remote" must be an object of URL → { integrity, pinned }`);
  const problems: string[] = [];
  const out = new Map<string, LockEntry>();
  for (const [url, entry] of Object.entries(remote)) {
    const where = `remote[${JSON.stringify(url)}]`;
    if (!isObject(entry)) {
      problems.push(`${where} must be an object { integrity, pinned }`);
      continue;
    }
    const { integrity, pinned } = entry;
    if (typeof integrity !== "string" || !INTEGRITY.test(integrity)) {
      problems.push(
        `${where}.integrity must be "sha256-<base64>", got ${JSON.stringify(integrity)}`,
      );
    }
    if (typeof pinned !== "string" || Number.isNaN(Date.parse(pinned))) {
      problems.push(`${where}.pinned must be an ISO date, got ${JSON.stringify(pinned)}`);
    }
    out.set(url, { integrity: integrity as string, pinned: pinned as string });
  }
  if (problems.length) throw bad(problems.join("; "));
  return out;
}

// Lock file updates in this process are serialised per file, so plugins loaded concurrently
// (one flow with several remote plugins) do not lose each other's pins.
const lockWrites = new Map<string, Promise<unknown>>();

function updateLock(path: string, url: string, entry: LockEntry): Promise<void> {
  const file = resolve(path);
  const write = async () => {
    const lock = await readLock(file);
    lock.set(url, entry);
    const remote: Record<string, LockEntry> = {};
    for (const u of [...lock.keys()].sort()) {
      const e = lock.get(u)!;
      remote[u] = { integrity: e.integrity, pinned: e.pinned };
    }
    const text = JSON.stringify({ version: LOCK_VERSION, remote }, null, 2) + "\n";
    await Deno.mkdir(dirname(file), { recursive: true });
    await writeAtomically(file, new TextEncoder().encode(text));
  };
  const next = (lockWrites.get(file) ?? Promise.resolve()).then(write, write);
  const settled = next.catch(() => {});
  lockWrites.set(file, settled);
  settled.then(() => {
    if (lockWrites.get(file) === settled) lockWrites.delete(file);
  });
  return next;
}

async function writeVerified(file: string, bytes: Uint8Array, integrity: string): Promise<void> {
  if (await hasIntegrity(file, integrity)) return;
  await Deno.mkdir(dirname(file), { recursive: true });
  await writeAtomically(file, bytes);
}

async function writeAtomically(file: string, bytes: Uint8Array): Promise<void> {
  const temp = `${file}.${crypto.randomUUID()}.tmp`;
  try {
    await Deno.writeFile(temp, bytes);
    await Deno.rename(temp, file);
  } catch (e) {
    await Deno.remove(temp).catch(() => {});
    throw e;
  }
}

async function cachedCopy(
  url: string,
  integrity: string,
  cacheDir: string,
): Promise<string | undefined> {
  const file = join(
    cacheDir,
    toHex(fromBase64(integrity.slice("sha256-".length))),
    cacheFileName(new URL(url)),
  );
  return await hasIntegrity(file, integrity) ? pathToFileURL(resolve(file)).href : undefined;
}

async function hasIntegrity(file: string, integrity: string): Promise<boolean> {
  try {
    return `sha256-${toBase64(await sha256(await Deno.readFile(file)))}` === integrity;
  } catch {
    return false;
  }
}

/** The cached copy's name: the URL's last segment, `.ts` added unless it is a module's. */
function cacheFileName(url: URL): string {
  let name = url.pathname.slice(url.pathname.lastIndexOf("/") + 1);
  try {
    name = decodeURIComponent(name);
  } catch {
    // keep it encoded
  }
  name = name.replace(/[^A-Za-z0-9._@+-]/g, "_").replace(/^\.+/, "");
  if (name === "") name = "mod";
  return MODULE_EXTENSION.test(name) ? name : `${name}.ts`;
}

function relativeImports(text: string): { specifier: string; line: number }[] {
  const out: { specifier: string; line: number }[] = [];
  for (const m of text.matchAll(RELATIVE_IMPORT)) {
    const line = text.slice(0, m.index).split("\n").length;
    out.push({ specifier: m[2], line });
  }
  return out;
}

async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
}

function toBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

function toHex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function secureScheme(url: URL): boolean {
  return url.protocol === "https:" || (url.protocol === "http:" && LOOPBACK.has(url.hostname));
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
