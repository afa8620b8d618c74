/**
 * `fs`: reads, writes, copies, lists, globs, checks and removes files. Its worker may read and
 * write exactly the paths the operation names, resolved against the flow file's directory.
 *
 * @module
 */

import { dirname, resolve } from "node:path";
import { z } from "zod";
import { OrchestraError } from "../src/core/errors.ts";
import type { PermissionSet } from "../src/core/permissions.ts";
import { definePlugin, type PluginDefinition, type WithDefaults } from "../src/plugins/contract.ts";

/** One operation of the `fs` plugin. */
export type FsOp = "read" | "write" | "copy" | "list" | "glob" | "exists" | "remove" | "mkdir";

const OPS: readonly FsOp[] = ["read", "write", "copy", "list", "glob", "exists", "remove", "mkdir"];

/** The params of the `fs` plugin, defaults applied. */
export interface FsParams {
  /** The operation. */
  op: FsOp;
  /** The file or directory (for glob, the directory searched). */
  path?: string;
  /** copy: the target path. */
  to?: string;
  /** write: the content. */
  content?: unknown;
  /** glob: the pattern. */
  pattern?: string;
  /** read: text, or parsed JSON. */
  format: "text" | "json";
  /** write: append. */
  append: boolean;
  /** write, copy, mkdir: create missing parent directories. */
  parents: boolean;
  /** remove: a directory and its contents. */
  recursive: boolean;
  /** list: objects instead of names. */
  details: boolean;
  /** glob: wildcards match a leading dot. */
  dot: boolean;
}

/** The params of the `fs` plugin as a task passes them (those with defaults optional). */
export type FsInput = WithDefaults<
  FsParams,
  "format" | "append" | "parents" | "recursive" | "details" | "dot"
>;

const params: z.ZodType<FsParams, FsInput> = z.strictObject({
  op: z.enum(OPS).describe("What to do: read, write, copy, list, glob, exists, remove or mkdir"),
  path: z.string().optional().describe(
    "The file or directory, relative to the flow file's directory; for glob the directory " +
      "searched (default: the flow file's directory)",
  ),
  to: z.string().optional().describe("copy: the target path (a file, or a directory's copy)"),
  content: z.unknown().optional().describe(
    "write: the content; a string is written as it is, any other value as JSON",
  ),
  pattern: z.string().optional().describe(
    "glob: the pattern, relative to `path`: `*`, `?`, `**`, `{a,b}`, `[abc]`",
  ),
  format: z.enum(["text", "json"]).default("text").describe(
    "read: `text` returns the content, `json` parses it",
  ),
  append: z.boolean().default(false).describe("write: append instead of replacing the file"),
  parents: z.boolean().default(false).describe(
    "write, copy, mkdir: create missing parent directories (grants write on the parent)",
  ),
  recursive: z.boolean().default(false).describe("remove: remove a directory and its contents"),
  details: z.boolean().default(false).describe(
    "list: return `{ name, type, size }` objects instead of names",
  ),
  dot: z.boolean().default(false).describe(
    "glob: let wildcards match names that start with a dot",
  ),
}).superRefine((p, ctx) => {
  const need = (field: "path" | "to" | "pattern" | "content", ops: readonly FsOp[]) => {
    if (ops.includes(p.op) && p[field] === undefined) {
      ctx.addIssue({ code: "custom", path: [field], message: `op "${p.op}" needs \`${field}\`` });
    }
  };
  need("path", ["read", "write", "copy", "list", "exists", "remove", "mkdir"]);
  need("to", ["copy"]);
  need("pattern", ["glob"]);
  need("content", ["write"]);
});

function resolvePath(path: string, base: string): string {
  return resolve(base, path);
}

function known(value: unknown, what: string): string {
  if (typeof value !== "string") throw new TypeError(`${what} must be a string`);
  if (value.includes("${{")) {
    throw new TypeError(`they depend on ${what} "${value}", known only when the task runs`);
  }
  return value;
}

/** What the worker may touch for these params (the params as written). */
function fsPermissions(p: Partial<Record<keyof FsParams, unknown>>, dir: string): PermissionSet {
  const path = (field: "path" | "to") => resolvePath(known(p[field], `\`${field}\``), dir);
  const target = (field: "path" | "to") => p.parents === true ? dirname(path(field)) : path(field);
  switch (p.op) {
    case "read":
    case "list":
    case "exists":
      return { read: [path("path")] };
    case "glob":
      return { read: [p.path === undefined ? dir : path("path")] };
    // Writing also reads the file's own metadata: a file with other links, or a link leading
    // out of the grant, is refused before anything is written (only the file itself is read).
    case "write":
      return { read: [path("path")], write: [target("path")] };
    case "mkdir":
      return { write: [target("path")] };
    case "remove":
      return { write: [path("path")] };
    case "copy":
      return { read: [path("path"), path("to")], write: [target("to")] };
    default:
      throw new TypeError(`op must be one of ${OPS.join(", ")}`);
  }
}

// ---- glob ----

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/**
 * A glob pattern as a regular expression over `/`-separated relative paths: `*` and `?` stay
 * within a name, `**` as a whole name spans any number of names, `{a,b}` is either, `[…]` a
 * character class. Unless `dot`, wildcards do not match a leading dot.
 *
 * @example
 * ```ts
 * import { globToRegExp } from "./fs.ts";
 * const re = globToRegExp("src/**\/*.{ts,js}");
 * console.assert(re.test("src/a/b.ts") && re.test("src/c.js") && !re.test("src/d.md"));
 * ```
 */
export function globToRegExp(pattern: string, options: { dot?: boolean } = {}): RegExp {
  const noDot = options.dot ? "" : "(?!\\.)";
  let out = "";
  const braces: boolean[] = []; // for each open "{": whether it opened at the start of a name
  let atStart = true; // at the start of a name
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    const start: boolean = atStart;
    atStart = false;
    if (c === "\\" && i + 1 < pattern.length) {
      out += escapeRegExp(pattern[++i]);
    } else if (c === "*") {
      if (pattern[i + 1] === "*") {
        while (pattern[i + 1] === "*") i++;
        const whole = start && (i + 1 === pattern.length || pattern[i + 1] === "/");
        if (whole && pattern[i + 1] === "/") {
          i++;
          out += `(?:${noDot}[^/]+/)*`;
          atStart = true;
        } else if (whole) out += `(?:${noDot}[^/]+(?:/${noDot}[^/]+)*)?`;
        else out += `${start ? noDot : ""}[^/]*`;
      } else out += `${start ? noDot : ""}[^/]*`;
    } else if (c === "?") {
      out += `${start ? noDot : ""}[^/]`;
    } else if (c === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end === -1) out += "\\[";
      else {
        let body = pattern.slice(i + 1, end).replace(/\\/g, "\\\\");
        if (body[0] === "!") body = "^" + body.slice(1);
        out += `(?!/)[${body}]`;
        i = end;
      }
    } else if (c === "{") {
      braces.push(start);
      out += "(?:";
      atStart = start;
    } else if (c === "}" && braces.length) {
      braces.pop();
      out += ")";
    } else if (c === "," && braces.length) {
      out += "|";
      atStart = braces[braces.length - 1];
    } else {
      out += escapeRegExp(c);
      atStart = c === "/";
    }
  }
  if (braces.length) throw new SyntaxError(`glob pattern "${pattern}" has an unclosed "{"`);
  return new RegExp(`^${out}$`);
}

// The directory a pattern's walk starts in (its leading names without wildcards), and whether
// the walk must go deeper than the pattern's names.
function walkPlan(pattern: string): { base: string; depth: number } {
  const names = pattern.split("/");
  let i = 0;
  while (i < names.length - 1 && !/[*?[{\\]/.test(names[i])) i++;
  const rest = names.slice(i);
  return {
    base: names.slice(0, i).join("/"),
    depth: rest.some((n) => n.includes("**")) || rest.some((n) => n.includes("{"))
      ? Infinity
      : rest.length,
  };
}

async function glob(root: string, pattern: string, dot: boolean): Promise<string[]> {
  pattern = pattern.replace(/^(?:\.\/)+/, "");
  if (pattern.startsWith("/") || pattern.split("/").includes("..")) {
    throw new TypeError(
      `glob pattern "${pattern}" must stay inside \`path\`: no leading "/" and no ".."; ` +
        `set \`path\` to the directory to search instead`,
    );
  }
  const re = globToRegExp(pattern, { dot });
  const { base, depth } = walkPlan(pattern);
  const out: string[] = [];
  const walk = async (rel: string, level: number): Promise<void> => {
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(rel ? resolve(root, rel) : root));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return;
      throw e;
    }
    for (const entry of entries) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (re.test(path)) out.push(path);
      // Symbolic links are matched, never followed: the walk stays inside the root.
      if (entry.isDirectory && level + 1 < depth) await walk(path, level + 1);
    }
  };
  await walk(base, 0);
  return out.sort();
}

// ---- links ----

/**
 * The `fs` plugin refused a path that Deno's own check would let through: a symbolic link
 * leading outside the task's grant, or a file with more than one hard link.
 */
export class FsLinkError extends OrchestraError {
  /** The path as the task named it. */
  readonly path: string;
  /** Creates the error. */
  constructor(path: string, message: string) {
    super(message);
    this.name = "FsLinkError";
    this.path = path;
  }
}

/**
 * Refuses a path that leads, through symbolic links, somewhere the task was not granted.
 * Deno checks a path as written and the system then follows links, so a link inside a granted
 * directory (or one replaced after validation) would reach any file.
 */
async function checkWhereItLeads(path: string, name: "read" | "write"): Promise<void> {
  let real: string;
  try {
    real = await Deno.realPath(path);
  } catch {
    return; // it does not exist (yet): the operation itself says so, or creates it
  }
  if (real === path) return;
  const { state } = await Deno.permissions.query({ name, path: real });
  if (state === "granted") return;
  throw new FsLinkError(
    path,
    `fs refuses to ${name} "${path}": it leads through a symbolic link to "${real}", which ` +
      `the task was not granted; name "${real}" itself, or grant it in the task's permissions`,
  );
}

/** Refuses a file that has other names: its content may be a file outside the grant. */
async function checkOneLink(file: Deno.FsFile, path: string, what: string): Promise<void> {
  const info = await file.stat();
  const links = info.nlink ?? 1;
  if (!info.isFile || links <= 1) return;
  throw new FsLinkError(
    path,
    `fs refuses to ${what} "${path}": the file has ${links} hard links, so it may be a file ` +
      `outside the task's grant under another name (Deno cannot tell); copy the file instead ` +
      `of linking it`,
  );
}

/** Opens a file to read, refusing links that leave the grant. */
async function openToRead(path: string): Promise<Deno.FsFile> {
  await checkWhereItLeads(path, "read");
  const file = await Deno.open(path, { read: true });
  try {
    await checkOneLink(file, path, "read");
  } catch (e) {
    file.close();
    throw e;
  }
  return file;
}

/** Opens a file to write (created if missing, never truncated before the checks). */
async function openToWrite(path: string, append: boolean): Promise<Deno.FsFile> {
  await checkWhereItLeads(path, "write");
  const existed = await Deno.lstat(path).then(() => true, () => false);
  const file = await Deno.open(path, { write: true, create: true, append });
  try {
    // A new file may have been made through a folder link swapped in meanwhile: look again.
    if (!existed) await checkWhereItLeads(path, "write");
    await checkOneLink(file, path, "write");
    if (!append) await file.truncate(0);
  } catch (e) {
    file.close();
    if (!existed) await Deno.remove(path).catch(() => {});
    throw e;
  }
  return file;
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) at += await file.write(bytes.subarray(at));
}

// ---- operations ----

async function copyFile(from: string, to: string): Promise<void> {
  using source = await openToRead(from);
  const mode = (await source.stat()).mode;
  const target = await openToWrite(to, false);
  await source.readable.pipeTo(target.writable, { preventClose: false });
  if (mode !== null) await Deno.chmod(to, mode & 0o777);
}

async function copy(from: string, to: string, top = true): Promise<number> {
  if (top) await checkWhereItLeads(from, "read");
  const info = await Deno.lstat(from);
  if (top && info.isDirectory && (to === from || to.startsWith(`${from}/`))) {
    throw new TypeError(
      `fs cannot copy "${from}" into "${to}", which is inside it; copy it somewhere else`,
    );
  }
  if (!info.isDirectory) {
    await copyFile(from, to);
    return 1;
  }
  await Deno.mkdir(to, { recursive: true });
  let files = 0;
  for await (const entry of Deno.readDir(from)) {
    if (entry.isSymlink) continue;
    files += await copy(resolve(from, entry.name), resolve(to, entry.name), false);
  }
  return files;
}

async function list(path: string, details: boolean): Promise<unknown[]> {
  const entries = (await Array.fromAsync(Deno.readDir(path)))
    .sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  if (!details) return entries.map((e) => e.name);
  const out = [];
  for (const e of entries) {
    const type = e.isDirectory ? "dir" : e.isSymlink ? "symlink" : "file";
    const size = e.isFile ? (await Deno.lstat(resolve(path, e.name))).size : null;
    out.push({ name: e.name, type, size });
  }
  return out;
}

async function run(p: FsParams, dir: string): Promise<unknown> {
  const path = p.path === undefined ? dir : resolvePath(p.path, dir);
  switch (p.op) {
    case "read": {
      using file = await openToRead(path);
      const text = await new Response(file.readable).text();
      if (p.format === "text") return text;
      try {
        return JSON.parse(text);
      } catch (e) {
        throw new SyntaxError(`${path} is not JSON: ${(e as Error).message}`);
      }
    }
    case "write": {
      const text = typeof p.content === "string"
        ? p.content
        : JSON.stringify(p.content, null, 2) + "\n";
      if (p.parents) await Deno.mkdir(dirname(path), { recursive: true });
      const bytes = new TextEncoder().encode(text);
      using file = await openToWrite(path, p.append);
      await writeAll(file, bytes);
      return { path, bytes: bytes.length };
    }
    case "copy": {
      const to = resolvePath(p.to!, dir);
      if (p.parents) await Deno.mkdir(dirname(to), { recursive: true });
      return { from: path, to, files: await copy(path, to) };
    }
    case "list":
      return await list(path, p.details);
    case "glob":
      return await glob(path, p.pattern!, p.dot);
    case "exists":
      try {
        await Deno.lstat(path);
        return true;
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) return false;
        throw e;
      }
    case "remove":
      try {
        await Deno.remove(path, { recursive: p.recursive });
        return true;
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) return false;
        throw e;
      }
    case "mkdir":
      await Deno.mkdir(path, { recursive: p.parents });
      return { path };
  }
}

/** The `fs` plugin. */
const fs: PluginDefinition<FsParams, FsInput, unknown> = definePlugin<FsParams, FsInput, unknown>({
  name: "fs",
  version: "1.0.0",
  description: "Reads, writes, copies, lists, globs and removes files inside the granted paths.",
  params,
  permissions: (p, env) => fsPermissions(p, env.dir),
  result: "read: the text (or JSON); write/copy/mkdir: what was done; list/glob: paths; " +
    "exists/remove: a boolean",
  docs: `One file operation per task, chosen by \`op\`. Paths are relative to the flow file's
directory (absolute paths work too). The task's worker is granted exactly the paths involved,
so the plugin cannot touch anything else.

| op | params | result | permission |
| --- | --- | --- | --- |
| \`read\` | \`path\`, \`format\` (\`text\` or \`json\`) | the text, or the parsed JSON | read \`path\` |
| \`write\` | \`path\`, \`content\`, \`append\`, \`parents\` | \`{ path, bytes }\` | write and read \`path\` |
| \`copy\` | \`path\`, \`to\`, \`parents\` | \`{ from, to, files }\` | read \`path\` and \`to\`, write \`to\` |
| \`list\` | \`path\`, \`details\` | names, sorted (or \`{ name, type, size }\`) | read \`path\` |
| \`glob\` | \`path\` (default: the flow's directory), \`pattern\`, \`dot\` | paths relative to \`path\`, sorted | read \`path\` |
| \`exists\` | \`path\` | \`true\` or \`false\` | read \`path\` |
| \`remove\` | \`path\`, \`recursive\` | \`true\`, or \`false\` when it did not exist | write \`path\` |
| \`mkdir\` | \`path\`, \`parents\` | \`{ path }\` | write \`path\` |

\`write\` writes a string as it is and any other value as indented JSON. \`copy\` copies a
file, or a directory with everything in it (symbolic links are skipped); \`to\` is the new
path, not a directory to copy into. With \`parents: true\`, \`write\`, \`copy\` and \`mkdir\`
create missing parent directories, which needs write access to the parent directory: the
grant widens to it.

\`glob\` patterns: \`*\` and \`?\` match within a name, \`**\` any number of directories,
\`{a,b}\` either alternative, \`[abc]\` one of the characters. Wildcards skip names starting
with a dot unless \`dot: true\`. Files and directories both match; symbolic links are
matched but not followed, so the search stays inside \`path\`.

**Links.** Deno checks a path as written and the system then follows links, so \`fs\`
checks what it opens: a file with more than one hard link is refused (its content may be a
file outside the grant under another name: copy it instead of linking it), and so is a path
that leads through a symbolic link somewhere the task was not granted (name the real path, or
grant it). Writing reads the file's own metadata for these checks, hence read of \`path\`.

**Errors.** A missing file fails \`read\`, \`copy\` and \`list\` with the path; a path
outside the grant fails with Deno's \`NotCapable\` error (it cannot happen with params the
permissions were computed from, only through symbolic links). When a path is an expression
known only at run time, give the task \`permissions:\` for it.`,
  example: `sources:
  uses: fs
  with:
    op: glob
    path: src
    pattern: "**/*.ts"
`,
  run: (p, ctx) => run(p, ctx.dir),
});

export default fs;
