/**
 * A task's effective grant: what it requests, narrowed by the flow's ceiling, filtered by the
 * local policy and, where configured, approved by the external authorization service; and
 * that grant in the form a `Worker`'s `deno.permissions` option takes.
 *
 * Every set passed here is normalised first ({@linkcode normalizePermissions}), so paths are
 * absolute and hosts lower-case.
 *
 * @module
 */

import { OrchestraError, type SourceLocation } from "../core/errors.ts";
import { PERMISSION_NAMES, type PermissionName, type PermissionSet } from "../core/permissions.ts";
import { intersectValue, valueCovers } from "./values.ts";

export { normalizePermissions } from "./values.ts";

/** Which check refused a value: `protected` for a path no task may touch (see `protected.ts`). */
export type DeniedBy = "ceiling" | "policy" | "authorization" | "protected";

/** One requested value that was not granted, and why. */
export interface Denial {
  /** The permission. */
  name: PermissionName;
  /** The requested value, or `true` for "all". */
  value: string | true;
  /** Which check refused it. */
  by: DeniedBy;
  /** Why, as a sentence fragment that also says where to grant it. */
  reason: string;
  /** The policy rule that denied it, if one did. */
  location?: SourceLocation;
}

/** What the local policy decided about a request (see `evaluatePolicy`). */
export interface PolicyDecision {
  /** The requested values the policy allows. */
  allowed: PermissionSet;
  /** The requested values it denies. */
  denied: Denial[];
}

/** What the external authorization service decided about a whole request. */
export interface ExternalDecision {
  /** Whether the request is allowed. */
  allow: boolean;
  /** Why, as the service (or the error policy) said. */
  reason?: string;
}

/** Which check had the last word: `request` when nothing limited the request. */
export type GrantSource = "request" | DeniedBy;

/** The inputs of {@linkcode effectiveGrant}, all normalised. */
export interface GrantInput {
  /** What the task (or its plugin's manifest) requests. @default nothing */
  request?: PermissionSet;
  /** The flow's ceiling; `undefined` means the flow sets none. @default no ceiling */
  ceiling?: PermissionSet;
  /** The policy's decision on `request`; `undefined` when there is no policy. */
  policy?: PolicyDecision;
  /** The service's decision; `undefined` when none is configured. */
  authorization?: ExternalDecision;
}

/** What a task gets. */
export interface GrantResult {
  /** The permissions the task gets; `{}` when it requested nothing. */
  grant: PermissionSet;
  /** Every requested value refused, with the check that refused it. */
  denied: Denial[];
  /** `deny` when anything was refused: the task must not start. */
  decision: "allow" | "deny";
  /** The check that decided: the first refusal's, else the last check consulted. */
  source: GrantSource;
  /** Why, in one line: the refusals, or the service's reason for allowing. */
  reason?: string;
}

type Values = true | string[];

function valuesOf(set: PermissionSet | undefined, name: PermissionName): Values | undefined {
  const v = set?.[name];
  if (v === true) return true;
  return Array.isArray(v) && v.length ? [...v] : undefined;
}

interface Cut {
  kept: PermissionSet;
  lost: { name: PermissionName; value: string | true; left?: Values }[];
}

// The exact intersection: a value the limit does not cover is narrowed to what the limit
// does allow of it (e.g. "/data" under a limit of "/data/in"), and also reported as lost.
function cut(request: PermissionSet, limit: PermissionSet): Cut {
  const kept: Record<string, Values> = {};
  const lost: Cut["lost"] = [];
  for (const name of PERMISSION_NAMES) {
    const wanted = valuesOf(request, name);
    if (wanted === undefined) continue;
    const allowed = valuesOf(limit, name);
    if (allowed === true) {
      kept[name] = wanted;
      continue;
    }
    if (wanted === true) {
      if (allowed) kept[name] = allowed;
      lost.push({ name, value: true, ...(allowed ? { left: allowed } : {}) });
      continue;
    }
    const out: string[] = [];
    const add = (v: string) => out.includes(v) || out.push(v);
    for (const w of wanted) {
      if (allowed?.some((a) => valueCovers(name, a, w))) {
        add(w);
        continue;
      }
      const left: string[] = [];
      for (const a of allowed ?? []) {
        const both = intersectValue(name, a, w);
        if (both !== undefined) {
          add(both);
          left.push(both);
        }
      }
      lost.push({ name, value: w, ...(left.length ? { left } : {}) });
    }
    if (out.length) kept[name] = out;
  }
  return { kept, lost };
}

/**
 * The intersection of `request` and `ceiling`: what the request asks for that the ceiling
 * also allows. An undefined ceiling limits nothing; a permission the ceiling does not name is
 * not allowed.
 *
 * @example
 * ```ts
 * import { narrow } from "./grant.ts";
 * const n = narrow(
 *   { read: ["/data/in", "/etc"], net: true, env: ["AWS_*"] },
 *   { read: ["/data"], net: ["api.example.com"], env: ["AWS_REGION"] },
 * );
 * console.assert(JSON.stringify(n) ===
 *   '{"read":["/data/in"],"net":["api.example.com"],"env":["AWS_REGION"]}');
 * ```
 */
export function narrow(request: PermissionSet, ceiling: PermissionSet | undefined): PermissionSet {
  return cut(request, ceiling ?? allOf(request)).kept;
}

function allOf(set: PermissionSet): PermissionSet {
  return Object.fromEntries(PERMISSION_NAMES.filter((n) => set[n]).map((n) => [n, true]));
}

/** Formats a requested value for messages: `net "evil.com"`, `read (all)`. */
export function formatValue(name: PermissionName, value: string | true): string {
  return value === true ? `${name} (all)` : `${name} "${value}"`;
}

function ceilingReason(name: PermissionName, ceiling: PermissionSet, left?: Values): string {
  const allowed = valuesOf(ceiling, name);
  const what = allowed === undefined
    ? `the flow's ceiling allows no ${name}`
    : `the flow's ceiling allows ${name} only for ${
      (allowed as string[]).map((v) => `"${v}"`).join(", ")
    }`;
  const narrowed = left && left !== true ? ` (narrowed to ${left.join(", ")})` : "";
  return `${what}${narrowed}; add it to the flow's permissions to grant it`;
}

const key = (name: string, value: string | true) => `${name}\0${value === true ? "" : value}`;

/**
 * Computes a task's effective grant: the request, narrowed by the ceiling, limited to what the
 * policy allows, and emptied if the authorization service says no. A task that requests
 * nothing gets nothing. Each refused value is listed once, with the first check that refused
 * it. Ask the authorization service about the grant left after ceiling and policy (call this
 * once without `authorization` to get it), and only when that grant is not empty.
 *
 * @example
 * ```ts
 * import { effectiveGrant } from "./grant.ts";
 * const r = effectiveGrant({
 *   request: { net: ["api.example.com", "evil.com"] },
 *   ceiling: { net: ["api.example.com"] },
 * });
 * console.assert(r.decision === "deny" && r.denied[0].value === "evil.com");
 * console.assert(r.denied[0].by === "ceiling" && r.source === "ceiling");
 * console.assert(JSON.stringify(r.grant) === '{"net":["api.example.com"]}');
 * ```
 */
export function effectiveGrant(input: GrantInput): GrantResult {
  let grant = narrow(input.request ?? {}, undefined);
  const denied: Denial[] = [];
  const seen = new Set<string>();
  const deny = (d: Denial) => {
    if (seen.has(key(d.name, d.value))) return;
    seen.add(key(d.name, d.value));
    denied.push(d);
  };
  let source: GrantSource = "request";
  if (input.ceiling) {
    const { kept, lost } = cut(grant, input.ceiling);
    for (const l of lost) {
      deny({
        name: l.name,
        value: l.value,
        by: "ceiling",
        reason: ceilingReason(l.name, input.ceiling, l.left),
      });
    }
    grant = kept;
    source = "ceiling";
  }
  if (input.policy) {
    for (const d of input.policy.denied) deny({ ...d, by: "policy" });
    const { kept, lost } = cut(grant, input.policy.allowed);
    for (const l of lost) {
      deny({ name: l.name, value: l.value, by: "policy", reason: "not allowed by the policy" });
    }
    grant = kept;
    source = "policy";
  }
  if (input.authorization) {
    source = "authorization";
    if (!input.authorization.allow) {
      const reason = `the authorization service refused it${
        input.authorization.reason ? `: ${input.authorization.reason}` : ""
      }`;
      for (const name of PERMISSION_NAMES) {
        const v = valuesOf(grant, name);
        if (v === true) deny({ name, value: true, by: "authorization", reason });
        else for (const value of v ?? []) deny({ name, value, by: "authorization", reason });
      }
      grant = {};
    }
  }
  if (denied.length) {
    return {
      grant,
      denied,
      decision: "deny",
      source: denied[0].by,
      reason: denied.map((d) => `${formatValue(d.name, d.value)}: ${d.reason}`).join("; "),
    };
  }
  const reason = input.authorization?.reason;
  return { grant, denied, decision: "allow", source, ...(reason ? { reason } : {}) };
}

/**
 * The grant as the `deno.permissions` option of a `Worker`: every permission named, `false`
 * where nothing was granted, never `"inherit"`.
 *
 * @example
 * ```ts
 * import { toDenoPermissions } from "./grant.ts";
 * const p = toDenoPermissions({ read: ["/data"], net: true });
 * console.assert(JSON.stringify(p) === JSON.stringify({
 *   read: ["/data"], write: false, net: true, env: false,
 *   run: false, ffi: false, sys: false, import: false,
 * }));
 * ```
 */
export function toDenoPermissions(grant: PermissionSet): Deno.PermissionOptionsObject {
  const out: Record<string, boolean | string[]> = {};
  for (const name of PERMISSION_NAMES) {
    const v = grant[name];
    // Anything but `true` or a list of strings (e.g. "inherit" from untyped code) is nothing.
    out[name] = v === true
      ? true
      : Array.isArray(v) && v.length && v.every((x) => typeof x === "string")
      ? [...v]
      : false;
  }
  return out as Deno.PermissionOptionsObject;
}

/** Options of {@linkcode PermissionDeniedError}. */
export interface PermissionDeniedOptions extends ErrorOptions {
  /** The plugin the task runs, if any. */
  plugin?: string;
}

/**
 * A task was refused permissions it requested. The message names the task, each permission
 * and value, and where to grant it.
 *
 * @example
 * ```ts
 * import { PermissionDeniedError } from "./grant.ts";
 * const err = new PermissionDeniedError("etl", "load", [
 *   { name: "read", value: "/etc", by: "ceiling", reason: "the flow's ceiling allows no read" },
 * ]);
 * console.assert(err.message === 'Task "load" of flow "etl" is denied read "/etc": ' +
 *   "the flow's ceiling allows no read");
 * ```
 */
export class PermissionDeniedError extends OrchestraError {
  /** The flow's name. */
  readonly flow: string;
  /** The task's id. */
  readonly taskId: string;
  /** The plugin, if any. */
  readonly plugin?: string;
  /** Every refused value. */
  readonly denied: readonly Denial[];
  /** Creates the error from a non-empty list of refusals. */
  constructor(
    flow: string,
    taskId: string,
    denied: readonly Denial[],
    options: PermissionDeniedOptions = {},
  ) {
    const who = `Task "${taskId}"${options.plugin ? ` (plugin "${options.plugin}")` : ""}`;
    const line = (d: Denial) => `${formatValue(d.name, d.value)}: ${d.reason}`;
    super(
      denied.length === 1
        ? `${who} of flow "${flow}" is denied ${line(denied[0])}`
        : `${who} of flow "${flow}" is denied ${denied.length} permissions:\n` +
          denied.map((d) => `  - ${line(d)}`).join("\n"),
      options,
    );
    this.name = "PermissionDeniedError";
    this.flow = flow;
    this.taskId = taskId;
    if (options.plugin) this.plugin = options.plugin;
    this.denied = denied;
  }
}
