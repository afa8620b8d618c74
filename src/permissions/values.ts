/**
 * Permission values as Deno reads them: normalising a requested or allowed set against the
 * directory of the file that wrote it, and deciding whether one value covers another.
 *
 * After {@linkcode normalizePermissions}, a set holds only `true` or non-empty lists, and:
 * `read`, `write`, `ffi` and path-like `run` values are absolute paths without `.`, `..` or a
 * trailing slash (a `read`, `write` or `ffi` path that is or passes through a symbolic link is
 * followed by the link's target); `net` and `import` values are lower-case `host`,
 * `host:port`, `*.domain`, `[ipv6]:port` or an IPv4 CIDR range; `env` values are variable
 * names, optionally ending in `*`; `sys` values are Deno's kinds (`hostname`, `osRelease`, …).
 *
 * @module
 */

import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { ValidationIssue } from "../core/errors.ts";
import { PERMISSION_NAMES, type PermissionName, type PermissionSet } from "../core/permissions.ts";
import { didYouMean } from "../core/suggest.ts";

/** The kinds `sys` accepts (Deno's `SysPermissionDescriptor`). */
export const SYS_KINDS: readonly string[] = [
  "hostname",
  "osRelease",
  "osUptime",
  "loadavg",
  "networkInterfaces",
  "systemMemoryInfo",
  "uid",
  "gid",
  "username",
  "cpus",
  "homedir",
  "statfs",
  "getPriority",
  "setPriority",
  "ca",
  "umask",
];

/** The permissions whose values are file paths. */
export const PATH_PERMISSIONS: ReadonlySet<PermissionName> = new Set(["read", "write", "ffi"]);

/** The permissions whose values are hosts with optional ports. */
export const HOST_PERMISSIONS: ReadonlySet<PermissionName> = new Set(["net", "import"]);

/** A `net`/`import` value, parsed. */
export interface HostValue {
  /** `name` (incl. IPv4/IPv6 literals), `wildcard` (`*.domain`) or `cidr` (IPv4 range). */
  kind: "name" | "wildcard" | "cidr";
  /** Lower-case host; for `wildcard` the domain after `*.`; IPv6 in brackets. */
  host: string;
  /** The port, if one is given. */
  port?: string;
}

const LABEL = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?$/;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function ipv4(text: string): number | undefined {
  const m = IPV4.exec(text);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

/**
 * Parses a `net`/`import` value; returns a sentence saying what is wrong instead when it is
 * not one.
 *
 * @example
 * ```ts
 * import { parseHost } from "./values.ts";
 * const h = parseHost("API.example.com:443");
 * console.assert(typeof h !== "string" && h.host === "api.example.com" && h.port === "443");
 * console.assert(typeof parseHost("https://example.com") === "string");
 * ```
 */
export function parseHost(value: string): HostValue | string {
  if (value.includes("://")) return "is a URL, not a host";
  if (value === "" || /\s/.test(value)) return "is not a host";
  const text = value.toLowerCase();
  const cidr = /^([\d.]+)\/(\d{1,2})$/.exec(text);
  if (cidr) {
    if (ipv4(cidr[1]) === undefined || Number(cidr[2]) > 32) return "is not an IPv4 range";
    return { kind: "cidr", host: text };
  }
  let host = text;
  let port: string | undefined;
  const v6 = /^\[([0-9a-f:.]+)\](?::(\d+))?$/.exec(text);
  if (v6) {
    host = `[${v6[1]}]`;
    port = v6[2];
  } else if ((text.match(/:/g) ?? []).length >= 2) {
    // Deno refuses a bare IPv6 address; in brackets it is the same host.
    if (!/^[0-9a-f:.]+$/.test(text)) return "is not a host";
    host = `[${text}]`;
  } else {
    const colon = text.lastIndexOf(":");
    if (colon >= 0) {
      host = text.slice(0, colon);
      port = text.slice(colon + 1);
      if (!/^\d+$/.test(port)) return `has an invalid port "${value.slice(colon + 1)}"`;
    }
  }
  if (port !== undefined && Number(port) > 65535) return `has an invalid port "${port}"`;
  if (port !== undefined) port = String(Number(port));
  const withPort = (h: HostValue): HostValue => port === undefined ? h : { ...h, port };
  if (host.startsWith("[")) return withPort({ kind: "name", host });
  if (host.startsWith("*.")) {
    const domain = host.slice(2);
    if (!domain.split(".").every((l) => LABEL.test(l))) return "is not a host";
    return withPort({ kind: "wildcard", host: domain });
  }
  if (host.includes("/") || !host.split(".").every((l) => LABEL.test(l))) return "is not a host";
  return withPort({ kind: "name", host });
}

/** Formats a parsed host back into Deno's form. */
export function formatHost(h: HostValue): string {
  const host = h.kind === "wildcard" ? `*.${h.host}` : h.host;
  return h.port === undefined ? host : `${host}:${h.port}`;
}

function cidrRange(text: string): [number, number] | undefined {
  const [addr, bits] = text.split("/");
  const ip = ipv4(addr);
  if (ip === undefined) return undefined;
  const n = bits === undefined ? 32 : Number(bits);
  const size = 2 ** (32 - n);
  const start = Math.floor(ip / size) * size;
  return [start, start + size - 1];
}

function hostPartCovers(a: HostValue, w: HostValue): boolean {
  if (a.kind === "cidr") {
    const outer = cidrRange(a.host)!;
    // An IPv4 literal is a range of one.
    const inner = w.kind === "wildcard" ? undefined : cidrRange(w.host);
    return !!inner && inner[0] >= outer[0] && inner[1] <= outer[1];
  }
  if (a.kind === "wildcard") {
    // Deno's "*.example.com" allows example.com itself and every name below it.
    return w.kind !== "cidr" && (w.host === a.host || w.host.endsWith(`.${a.host}`));
  }
  return w.kind === "name" && w.host === a.host;
}

/** Whether host value `a` allows everything host value `w` allows. */
export function hostCovers(a: HostValue, w: HostValue): boolean {
  if (a.port !== undefined && a.port !== w.port) return false;
  return hostPartCovers(a, w);
}

/** Whether path `a` is `w` or a directory above it. */
export function pathCovers(a: string, w: string): boolean {
  if (a === w) return true;
  const rel = relative(a, w);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

/**
 * Whether normalised value `a` of permission `name` allows everything normalised value `w`
 * allows, by Deno's rules: a directory covers the paths below it, a host without a port
 * covers every port, `*.domain` covers the domain and its subdomains, a CIDR range covers
 * the addresses in it, `PREFIX*` covers the variables starting with `PREFIX`.
 *
 * @example
 * ```ts
 * import { valueCovers } from "./values.ts";
 * console.assert(valueCovers("read", "/data", "/data/in.csv"));
 * console.assert(valueCovers("net", "*.example.com", "api.example.com:443"));
 * console.assert(!valueCovers("env", "AWS_KEY", "AWS_*"));
 * ```
 */
export function valueCovers(name: PermissionName, a: string, w: string): boolean {
  if (a === w) return true;
  if (PATH_PERMISSIONS.has(name)) return pathCovers(a, w);
  if (HOST_PERMISSIONS.has(name)) {
    const ah = parseHost(a);
    const wh = parseHost(w);
    return typeof ah !== "string" && typeof wh !== "string" && hostCovers(ah, wh);
  }
  if (name === "env") return a.endsWith("*") && w.startsWith(a.slice(0, -1));
  return false;
}

/**
 * What values `a` and `w` of permission `name` both allow, as one value, or `undefined` if
 * nothing (or nothing expressible as one value).
 */
export function intersectValue(name: PermissionName, a: string, w: string): string | undefined {
  if (valueCovers(name, a, w)) return w;
  if (valueCovers(name, w, a)) return a;
  if (!HOST_PERMISSIONS.has(name)) return undefined;
  // Host and port narrow independently: "*.example.com" ∩ "api.example.com:443".
  const ah = parseHost(a);
  const wh = parseHost(w);
  if (typeof ah === "string" || typeof wh === "string") return undefined;
  if (ah.port !== undefined && wh.port !== undefined && ah.port !== wh.port) return undefined;
  const port = ah.port ?? wh.port;
  const host = hostPartCovers(ah, wh) ? wh : hostPartCovers(wh, ah) ? ah : undefined;
  if (!host) return undefined;
  return formatHost({ kind: host.kind, host: host.host, ...(port ? { port } : {}) });
}

/**
 * Where an absolute path leads once symbolic links are followed, if that is somewhere else;
 * `undefined` when it leads nowhere else or cannot be told (e.g. without read permission).
 * A name that does not exist yet leads where its parent leads; a dangling link, where it points.
 *
 * Deno checks a path as written and the system then follows links, so a grant of `/data/link`
 * reaches the link's target: the ceiling and the policy must judge the target too.
 *
 * @example
 * ```ts
 * import { linkTarget } from "./values.ts";
 * const dir = Deno.realPathSync(Deno.makeTempDirSync());
 * Deno.mkdirSync(`${dir}/real`);
 * Deno.symlinkSync(`${dir}/real`, `${dir}/link`);
 * console.assert(linkTarget(`${dir}/link/in.csv`) === `${dir}/real/in.csv`);
 * console.assert(linkTarget(`${dir}/real/in.csv`) === undefined);
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function linkTarget(path: string): string | undefined {
  let head = path;
  let rest = "";
  for (let links = 0; links < 40;) {
    try {
      const real = Deno.realPathSync(head);
      const target = rest ? join(real, rest) : real;
      return target === path ? undefined : target;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) return undefined;
    }
    let link: string | undefined;
    try {
      link = Deno.readLinkSync(head);
    } catch {
      // not a link: it does not exist
    }
    if (link !== undefined) {
      head = resolve(dirname(head), link);
      links++;
    } else if (head === dirname(head)) {
      return undefined;
    } else {
      rest = rest ? join(basename(head), rest) : basename(head);
      head = dirname(head);
    }
  }
  return undefined;
}

/** What {@linkcode normalizePermissions} returns. */
export interface NormalizedPermissions {
  /** The set in normal form; invalid values are left out. */
  permissions: PermissionSet;
  /** One issue per invalid value or name. */
  issues: ValidationIssue[];
}

/** Options of {@linkcode normalizePermissions}. */
export interface NormalizeOptions {
  /** Starts each issue's message, e.g. `Task "load" requests`. @default "Permission" */
  subject?: string;
}

function normalizeValue(
  name: PermissionName,
  value: string,
  baseDir: string,
): { value: string } | { problem: string; hint?: string } {
  if (value === "") return { problem: "is empty" };
  if (PATH_PERMISSIONS.has(name) || (name === "run" && /[\\/]/.test(value))) {
    if (value.startsWith("~")) {
      return { problem: "starts with ~, which is not expanded", hint: "write the full path" };
    }
    if (value.startsWith("file:")) {
      try {
        return { value: fileURLToPath(value) };
      } catch {
        return { problem: "is not a file URL" };
      }
    }
    return { value: resolve(baseDir, value) };
  }
  if (HOST_PERMISSIONS.has(name)) {
    const h = parseHost(value);
    if (typeof h !== "string") return { value: formatHost(h) };
    let hint = value === "*"
      ? `write ${name}: true for every host`
      : "write a host with an optional port: example.com, example.com:443, *.example.com";
    try {
      hint = `write the host, not a URL: ${new URL(value).host}`;
    } catch {
      // not a URL: keep the general hint
    }
    return { problem: h, hint };
  }
  if (name === "env") {
    if (/^[^=*\0]+\*?$/.test(value) || value === "*") return { value };
    return {
      problem: "is not a variable name",
      hint: "write a name such as HOME, or a prefix ending in * such as AWS_*",
    };
  }
  if (name === "sys") {
    if (SYS_KINDS.includes(value)) return { value };
    return {
      problem: `is not a kind of system information${didYouMean(value, SYS_KINDS)}`,
      hint: `the kinds are ${SYS_KINDS.join(", ")}`,
    };
  }
  return { value };
}

/**
 * Normalises a permission set written in a file in `baseDir`: relative paths become absolute
 * (against `baseDir`), and a `read`, `write` or `ffi` path that leads elsewhere through a
 * symbolic link is followed by its target ({@linkcode linkTarget}); hosts become lower-case
 * with IPv6 in brackets; `false` and empty lists are dropped, duplicates removed. Invalid names
 * and values are reported, every one, and left out of the result, so they grant nothing.
 *
 * @example
 * ```ts
 * import { normalizePermissions } from "./values.ts";
 * const { permissions, issues } = normalizePermissions(
 *   { read: ["./data", "/tmp/../etc"], net: ["API.example.com:443"], env: false },
 *   "/flows",
 * );
 * console.assert(JSON.stringify(permissions) ===
 *   '{"read":["/flows/data","/etc"],"net":["api.example.com:443"]}');
 * console.assert(issues.length === 0);
 * ```
 */
export function normalizePermissions(
  set: PermissionSet | undefined,
  baseDir: string,
  options: NormalizeOptions = {},
): NormalizedPermissions {
  const subject = options.subject ?? "Permission";
  const permissions: Record<string, true | string[]> = {};
  const issues: ValidationIssue[] = [];
  if (!set) return { permissions, issues };
  for (const [key, raw] of Object.entries(set)) {
    if (!(PERMISSION_NAMES as readonly string[]).includes(key)) {
      issues.push({
        message: `${subject} unknown permission "${key}"${didYouMean(key, PERMISSION_NAMES)}`,
        hint: `the permissions are ${PERMISSION_NAMES.join(", ")}`,
      });
      continue;
    }
    const name = key as PermissionName;
    if (raw === true) {
      permissions[name] = true;
      continue;
    }
    if (raw === false || raw === undefined) continue;
    if (!Array.isArray(raw)) {
      issues.push({
        message: `${subject} ${name} as ${JSON.stringify(raw)}, not true or a list of strings`,
        hint: `write ${name}: true for all, or ${name}: [...] for some`,
      });
      continue;
    }
    const values: string[] = [];
    for (const item of raw as unknown[]) {
      if (typeof item !== "string") {
        issues.push({ message: `${subject} ${name} value ${JSON.stringify(item)}, not a string` });
        continue;
      }
      const n = normalizeValue(name, item, baseDir);
      if ("problem" in n) {
        issues.push({
          message: `${subject} ${name} "${item}", which ${n.problem}`,
          ...(n.hint ? { hint: n.hint } : {}),
        });
      } else {
        if (!values.includes(n.value)) values.push(n.value);
        // The target joins the path, so ceiling and policy judge where it leads as well.
        const target = PATH_PERMISSIONS.has(name) ? linkTarget(n.value) : undefined;
        if (target !== undefined && !values.includes(target)) values.push(target);
      }
    }
    if (values.length) permissions[name] = values;
  }
  return { permissions, issues };
}
