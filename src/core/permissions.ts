/**
 * The permission vocabulary, in Deno's own terms: the same names and value forms as the
 * `--allow-*` flags. Enforcement lives with the executors; this module only describes
 * requests and checks them against a ceiling.
 *
 * @module
 */

/** The permission names Deno knows. */
export const PERMISSION_NAMES = [
  "read",
  "write",
  "net",
  "env",
  "run",
  "ffi",
  "sys",
  "import",
] as const;

/** One of Deno's permission names. */
export type PermissionName = typeof PERMISSION_NAMES[number];

/**
 * What a task requests or a flow allows: per permission, `true` for everything, or a list of
 * values in the form of the matching `--allow-*` flag (paths, hosts, variable names, …).
 */
export type PermissionSet = { [K in PermissionName]?: boolean | readonly string[] };

/** One requested value that a ceiling does not cover. */
export interface PermissionExcess {
  /** The permission. */
  name: PermissionName;
  /** The requested value, or `true` for "all". */
  value: string | true;
}

// Resolves "." and ".." and repeated slashes, so "./data/../../etc" cannot pass for "./data".
function normalizePath(path: string): string {
  const absolute = path.startsWith("/");
  const out: string[] = [];
  for (const seg of path.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg !== "..") out.push(seg);
    else if (out.length && out[out.length - 1] !== "..") out.pop();
    else if (!absolute) out.push("..");
  }
  return (absolute ? "/" : "") + out.join("/") || ".";
}

// A relative path resolved against `baseDir` (pure: no file system access), else as written.
function absolute(path: string, baseDir: string | undefined): string {
  if (path.startsWith("file://")) {
    try {
      path = decodeURIComponent(new URL(path).pathname);
    } catch {
      // not a URL after all: compared as written
    }
  }
  if (baseDir === undefined || path.startsWith("/")) return path;
  return `${baseDir.replace(/\/+$/, "")}/${path}`;
}

function pathCovers(allowed: string, wanted: string, baseDir: string | undefined): boolean {
  const a = normalizePath(absolute(allowed, baseDir));
  const w = normalizePath(absolute(wanted, baseDir));
  if (a === "/" || a === w) return true;
  // The working directory covers relative paths that stay inside it.
  if (a === ".") return !w.startsWith("/") && w !== ".." && !w.startsWith("../");
  return w.startsWith(a + "/");
}

function valueCovers(
  name: PermissionName,
  allowed: string,
  wanted: string,
  baseDir: string | undefined,
): boolean {
  if (allowed === wanted) return true;
  switch (name) {
    case "read":
    case "write":
    case "ffi":
      return pathCovers(allowed, wanted, baseDir);
    case "net":
      // "example.com" covers "example.com:443"; a port in the ceiling must match exactly.
      return !allowed.includes(":") && wanted.split(":")[0] === allowed;
    case "env":
      return allowed.endsWith("*") && wanted.startsWith(allowed.slice(0, -1));
    default:
      return false;
  }
}

/** Options of {@linkcode exceedsCeiling}. */
export interface CeilingOptions {
  /**
   * The absolute directory relative paths (of the request and the ceiling) resolve against, so
   * `./data` and `/flows/data` compare as the same folder. Without it, a relative path only
   * compares with relative paths. @default none
   */
  baseDir?: string;
}

/**
 * Lists what `request` asks for beyond `ceiling`. An undefined ceiling allows everything.
 * Paths are compared lexically (`.` and `..` resolved), relative ones against
 * `options.baseDir`; where links lead is for the permission model (`src/permissions`) to judge.
 *
 * @example
 * ```ts
 * import { exceedsCeiling } from "./permissions.ts";
 * const excess = exceedsCeiling({ net: ["api.example.com", "evil.com"] }, { net: ["api.example.com"] });
 * console.assert(excess.length === 1 && excess[0].value === "evil.com");
 * const same = exceedsCeiling({ read: ["/flows/data/in.csv"] }, { read: ["./data"] }, { baseDir: "/flows" });
 * console.assert(same.length === 0);
 * ```
 */
export function exceedsCeiling(
  request: PermissionSet | undefined,
  ceiling: PermissionSet | undefined,
  options: CeilingOptions = {},
): PermissionExcess[] {
  if (!request || !ceiling) return [];
  const out: PermissionExcess[] = [];
  for (const name of PERMISSION_NAMES) {
    const wanted = request[name];
    if (wanted === undefined || wanted === false) continue;
    const allowed = ceiling[name];
    if (allowed === true) continue;
    if (wanted === true) {
      out.push({ name, value: true });
      continue;
    }
    for (const w of wanted) {
      if (
        !Array.isArray(allowed) || !allowed.some((a) => valueCovers(name, a, w, options.baseDir))
      ) {
        out.push({ name, value: w });
      }
    }
  }
  return out;
}

/** Checks the shape of a permission set; returns problems as sentences. */
export function checkPermissionSet(value: unknown, what: string): string[] {
  if (value === undefined) return [];
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return [`${what} must be an object such as { read: ["./data"], net: ["api.example.com"] }`];
  }
  const problems: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    if (!(PERMISSION_NAMES as readonly string[]).includes(k)) {
      problems.push(
        `${what} has unknown permission "${k}" (known: ${PERMISSION_NAMES.join(", ")})`,
      );
    } else if (
      typeof v !== "boolean" && !(Array.isArray(v) && v.every((x) => typeof x === "string"))
    ) {
      problems.push(`${what}.${k} must be true, false or a list of strings`);
    }
  }
  return problems;
}

/** Formats a permission set like Deno's flags: `--allow-read=./data --allow-net`. */
export function formatPermissions(set: PermissionSet | undefined): string {
  if (!set) return "none";
  const parts: string[] = [];
  for (const name of PERMISSION_NAMES) {
    const v = set[name];
    if (v === true) parts.push(`${name}`);
    else if (Array.isArray(v) && v.length) parts.push(`${name}=${v.join(",")}`);
  }
  return parts.length ? parts.join(" ") : "none";
}

/** Whether a grant lets the task escape Deno's sandbox (`run` or `ffi`). */
export function isUnsandboxed(set: PermissionSet | undefined): boolean {
  return !!set && (!!set.run || !!set.ffi);
}
