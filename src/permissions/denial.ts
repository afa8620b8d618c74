/**
 * What a task is told when Deno denies it a permission: what it asked for (a relative path
 * resolved, so the folder it was relative to shows), what it was granted, and how to fix it.
 * "Add it to the task's permissions" is only said when the grant does not already hold it.
 *
 * @module
 */

import { isAbsolute, resolve } from "node:path";
import type { PermissionName, PermissionSet } from "../core/permissions.ts";

const PATH_PERMISSIONS: ReadonlySet<string> = new Set(["read", "write", "ffi"]);

/**
 * Explains one of Deno's `Requires … access to "…"` messages for task `taskId`, which was
 * granted `grant` and runs with `cwd` as its working directory. Other permission errors get
 * the same hint; messages of another kind come back as they were.
 *
 * @example
 * ```ts
 * import { explainDenial } from "./denial.ts";
 * const text = explainDenial(
 *   'Requires read access to "../secret.txt", run again with the --allow-read flag',
 *   "load",
 *   { read: ["/srv/etl/data"] },
 *   "/srv/etl",
 * );
 * console.assert(text.includes('task "load" was not granted it'));
 * console.assert(text.includes("asked for read of /srv/secret.txt"));
 * console.assert(text.includes("was granted read: /srv/etl/data"));
 * console.assert(text.includes("add it to the task's permissions"));
 * ```
 */
export function explainDenial(
  message: string,
  taskId: string,
  grant: PermissionSet | undefined,
  cwd: string,
): string {
  const m = /^Requires (\w+) access(?: to "?(.*?)"?)?, run again/.exec(message) ??
    /^Requires (\w+) access(?: to "?(.*?)"?)?$/.exec(message);
  if (!m) {
    // Another denial (a worker asking for more than its task has, …): what was asked is in
    // Deno's words already.
    return /NotCapable|escalate|permission/i.test(message)
      ? `${message} (task "${taskId}" was not granted it: add it to the task's permissions, ` +
        `within the flow's ceiling)`
      : message;
  }
  const name = m[1] as PermissionName;
  const asked = m[2];
  const held = grant?.[name];
  const granted = held === true
    ? `all of ${name}`
    : Array.isArray(held) && held.length
    ? `${name}: ${held.join(", ")}`
    : `no ${name} access`;
  const isPath = asked !== undefined && PATH_PERMISSIONS.has(name);
  const target = asked === undefined ? name : `${name} of ${isPath ? resolve(cwd, asked) : asked}`;
  const relative = isPath && !isAbsolute(asked)
    ? ` ("${asked}" is relative to the task's working directory, ${cwd})`
    : "";
  const covered = isPath && Array.isArray(held) &&
    held.some((g) => within(resolve(cwd, asked), resolve(cwd, g)));
  if (covered) {
    return `${message} (task "${taskId}" asked for ${target}${relative}, which its grant ` +
      `(${granted}) holds, so Deno judged another path: a symbolic link on the way, or a ` +
      `working directory changed after the worker started; use the path as granted)`;
  }
  return `${message} (task "${taskId}" was not granted it: it asked for ${target}${relative} ` +
    `and was granted ${granted}; add it to the task's permissions, within the flow's ceiling)`;
}

function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith("/") ? dir : `${dir}/`);
}
