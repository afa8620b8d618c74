/**
 * The local permission policy: allow and deny rules that select tasks by flow, task and
 * plugin, and permissions by name and value pattern. Evaluated during validation, before
 * anything runs. The file format and its loading are in `policy_file.ts`.
 *
 * The semantics, exactly:
 *
 * - A rule applies to a task when its `flow`, `task` and `plugin` patterns all match (a rule
 *   without one matches every value; a task without a plugin matches only `*`). In these
 *   patterns `*` matches any run of characters. A plugin pattern with an `@` is matched
 *   against the plugin's `name@version` (`http@1.*`), one without against its name.
 * - Each requested value is decided on its own. A **deny** rule that applies and has a
 *   pattern for the permission that *overlaps* the value (could match anything the value
 *   grants) denies it: deny wins over any allow rule.
 * - Otherwise an **allow** rule that applies and has a pattern that *covers* the value
 *   (matches everything the value grants) allows it.
 * - Otherwise the value is denied if the policy has `default: deny`, or if any allow rule in
 *   the file, for any flow or task, names that permission: once a policy allow-lists a
 *   permission, it is allow-list-only everywhere. Else the policy has no opinion and allows
 *   it (the flow's ceiling still applies).
 * - Value patterns: `true` (or `*`) matches everything, including a request for all.
 *   Path patterns (`read`, `write`, `ffi`) match a path and everything below it, `*` stays
 *   within one path segment and `**` crosses segments; relative patterns are relative to the
 *   policy file; a pattern whose leading folders are (or pass through) a symbolic link also
 *   matches where the link leads. Host patterns (`net`, `import`) are `host[:port]`, `*` matching any run of
 *   characters (dots included); without a port they match every port, and `*.example.com`
 *   also matches `example.com`. `env`, `run` and `sys` patterns are globs on the name; a
 *   bare `run` deny pattern such as `curl` also denies any path ending in `/curl`.
 * - A request for all of a permission (`true`) is covered only by `true`, and overlapped by
 *   every pattern. A wildcard request such as `env: ["AWS_*"]` is covered only by a pattern
 *   matching every such name, and is denied by a deny pattern matching any of them.
 *
 * @module
 */

import type { SourceLocation } from "../core/errors.ts";
import { PERMISSION_NAMES, type PermissionName, type PermissionSet } from "../core/permissions.ts";
import {
  compileGlob,
  globMatches,
  globMatchesEveryExtension,
  globMatchesSomeExtension,
  matchesGlob,
} from "./_glob.ts";
import type { AuthorizationConfig } from "./authorization.ts";
import type { Denial, PolicyDecision } from "./grant.ts";
import {
  HOST_PERMISSIONS,
  hostCovers,
  type HostValue,
  linkTarget,
  parseHost,
  PATH_PERMISSIONS,
} from "./values.ts";

export type { PolicyDecision } from "./grant.ts";

/** Whether a rule allows or denies. */
export type PolicyEffect = "allow" | "deny";

/** Per permission, `true` for everything or a list of value patterns. */
export type PolicyPatterns = { [K in PermissionName]?: true | readonly string[] };

/** One rule of a policy. */
export interface PolicyRule {
  /** Allow or deny. */
  effect: PolicyEffect;
  /** Flow name patterns; `["*"]` matches every flow. */
  flow: readonly string[];
  /** Task id patterns. */
  task: readonly string[];
  /** Plugin name patterns; a task without a plugin matches only `*`. */
  plugin: readonly string[];
  /** The permissions the rule is about, with value patterns (paths absolute). */
  permissions: PolicyPatterns;
  /** Why, shown when the rule denies something. */
  reason?: string;
  /** Where the rule is written. */
  location?: SourceLocation;
}

/** A loaded policy. */
export interface Policy {
  /** The file it was read from, as shown in messages. */
  file?: string;
  /** What happens to a value no rule decides. @default "allow" */
  default: PolicyEffect;
  /** Every rule, in file order. */
  rules: readonly PolicyRule[];
  /** The external authorization service, if the policy names one. */
  authorization?: AuthorizationConfig;
  /**
   * `required`: no flow may opt out of its flow isolate (`sandbox: false` or `--no-sandbox`).
   * @default "optional"
   */
  sandbox?: "required" | "optional";
}

/** The task a policy is asked about. */
export interface PolicyContext {
  /** The flow's name. */
  flow: string;
  /** The task's id. */
  task: string;
  /** The plugin the task runs, if any. */
  plugin?: string;
  /** The version of that plugin, when known. */
  pluginVersion?: string;
  /** What the task requests, normalised. */
  request: PermissionSet;
}

function ancestorsOrSelf(path: string): string[] {
  const out = [path];
  for (let p = path; p.lastIndexOf("/") > 0;) out.push(p = p.slice(0, p.lastIndexOf("/")));
  if (path !== "/") out.push("/");
  return out;
}

function reverse(text: string): string {
  return [...text].reverse().join("");
}

function splitHostPattern(pattern: string): { host: string; port?: string } {
  const v6 = /^(\[[^\]]*\])(?::(.*))?$/.exec(pattern);
  if (v6) return { host: v6[1], ...(v6[2] !== undefined ? { port: v6[2] } : {}) };
  const colon = pattern.lastIndexOf(":");
  if (colon < 0) return { host: pattern };
  return { host: pattern.slice(0, colon), port: pattern.slice(colon + 1) };
}

function hostGlobMatches(pattern: string, host: string): boolean {
  return matchesGlob(pattern, host) ||
    (pattern.startsWith("*.") && matchesGlob(pattern.slice(2), host));
}

function hostPatternTest(pattern: string, v: HostValue, mode: "covers" | "overlaps"): boolean {
  const { host: ph, port: pp } = splitHostPattern(pattern);
  if (pp !== undefined && pp !== "*") {
    // A value without a port stands for every port: a port pattern overlaps it, never covers.
    if (v.port === undefined ? mode === "covers" : v.port !== pp) return false;
  }
  if (ph === "*") return true;
  const host: HostValue = { kind: v.kind, host: v.host };
  if (!ph.includes("*")) {
    // A literal host or CIDR range: Deno's own rules. Two hosts overlap when one covers the
    // other (CIDR ranges nest or are disjoint).
    const literal = parseHost(ph);
    if (typeof literal === "string") return false;
    return hostCovers(literal, host) || (mode === "overlaps" && hostCovers(host, literal));
  }
  switch (v.kind) {
    case "name":
      return hostGlobMatches(ph, v.host);
    case "wildcard":
      // "*.q" matching the domain also matches every name below it.
      if (mode === "covers") return ph.startsWith("*.") && hostGlobMatches(ph, v.host);
      return hostGlobMatches(ph, v.host) ||
        globMatchesSomeExtension(compileGlob(reverse(ph)), reverse(`.${v.host}`));
    case "cidr":
      // A glob could match some address of the range: overlapping, never covering.
      return mode === "overlaps";
  }
}

/**
 * A path pattern, and the same pattern with its leading folders (those before the first `*`)
 * replaced by where they lead when they are or pass through a symbolic link: a rule naming
 * a link is about the files it reaches, as a request naming one is judged by them.
 */
function pathPatterns(pattern: string): string[] {
  if (!pattern.startsWith("/")) return [pattern];
  const names = pattern.split("/");
  const literal = names.findIndex((n) => n.includes("*"));
  const head = literal < 0 ? pattern : names.slice(0, literal).join("/") || "/";
  const target = linkTarget(head);
  if (target === undefined) return [pattern];
  const rest = literal < 0 ? "" : names.slice(literal).join("/");
  return [pattern, rest ? `${target.replace(/\/$/, "")}/${rest}` : target];
}

function pathPatternTest(pattern: string, value: string, mode: "covers" | "overlaps"): boolean {
  const glob = compileGlob(pattern, "/");
  if (ancestorsOrSelf(value).some((a) => globMatches(glob, a))) return true;
  return mode === "overlaps" &&
    globMatchesSomeExtension(glob, value.endsWith("/") ? value : `${value}/`);
}

function patternTest(
  name: PermissionName,
  pattern: string,
  value: string,
  mode: "covers" | "overlaps",
): boolean {
  if (PATH_PERMISSIONS.has(name)) {
    return pathPatterns(pattern).some((p) => pathPatternTest(p, value, mode));
  }
  if (HOST_PERMISSIONS.has(name)) {
    const v = parseHost(value);
    return typeof v !== "string" && hostPatternTest(pattern, v, mode);
  }
  const glob = compileGlob(pattern);
  if (name === "env" && value.endsWith("*")) {
    const prefix = value.slice(0, -1);
    return mode === "covers"
      ? globMatchesEveryExtension(glob, prefix)
      : globMatchesSomeExtension(glob, prefix);
  }
  if (globMatches(glob, value)) return true;
  if (name === "run" && mode === "overlaps") {
    // The same program by name and by path: "curl" and "/usr/bin/curl".
    const base = (p: string) => p.slice(p.lastIndexOf("/") + 1);
    if (value.includes("/") && !pattern.includes("/")) return globMatches(glob, base(value));
    if (!value.includes("/") && pattern.includes("/")) return matchesGlob(base(pattern), value);
  }
  return false;
}

/**
 * Whether value pattern `pattern` of a policy rule matches everything `value` (a normalised
 * requested value, or `true` for all) grants: what an allow rule needs.
 *
 * @example
 * ```ts
 * import { patternCovers } from "./policy.ts";
 * console.assert(patternCovers("read", "/data", "/data/in.csv"));
 * console.assert(patternCovers("net", "*.example.com", "api.example.com:443"));
 * console.assert(!patternCovers("env", "AWS_REGION", "AWS_*"));
 * ```
 */
export function patternCovers(
  name: PermissionName,
  pattern: string | true,
  value: string | true,
): boolean {
  if (pattern === true) return true;
  if (value === true) return false;
  return patternTest(name, pattern, value, "covers");
}

/**
 * Whether value pattern `pattern` matches anything `value` grants: what a deny rule needs.
 *
 * @example
 * ```ts
 * import { patternOverlaps } from "./policy.ts";
 * console.assert(patternOverlaps("env", "AWS_SECRET*", "AWS_*"));
 * console.assert(patternOverlaps("read", "/etc/shadow", "/"));
 * console.assert(patternOverlaps("run", "curl", "/usr/bin/curl"));
 * ```
 */
export function patternOverlaps(
  name: PermissionName,
  pattern: string | true,
  value: string | true,
): boolean {
  if (pattern === true || value === true) return true;
  return patternTest(name, pattern, value, "overlaps");
}

function selects(rule: PolicyRule, ctx: PolicyContext): boolean {
  const any = (patterns: readonly string[], text: string) =>
    patterns.some((p) => matchesGlob(p, text));
  const plugin = (p: string) =>
    p.includes("@")
      ? ctx.plugin !== undefined && matchesGlob(p, `${ctx.plugin}@${ctx.pluginVersion ?? ""}`)
      : matchesGlob(p, ctx.plugin ?? "");
  return any(rule.flow, ctx.flow) && any(rule.task, ctx.task) && rule.plugin.some(plugin);
}

function ruleMatches(
  rule: PolicyRule,
  name: PermissionName,
  value: string | true,
  test: typeof patternCovers,
): boolean {
  const patterns = rule.permissions[name];
  if (patterns === undefined) return false;
  if (patterns === true) return true;
  return patterns.some((p) => test(name, p, value));
}

function where(policy: Policy, rule: PolicyRule): string {
  const l = rule.location;
  return l ? `${l.file}:${l.line}:${l.col}` : policy.file ?? "the policy";
}

function example(ctx: PolicyContext, name: PermissionName, value: string | true): string {
  const v = value === true ? "true" : `[${JSON.stringify(value)}]`;
  const plugin = ctx.plugin ? `, plugin: ${JSON.stringify(ctx.plugin)}` : "";
  return `{ flow: ${JSON.stringify(ctx.flow)}, task: ${
    JSON.stringify(ctx.task)
  }${plugin}, permissions: { ${name}: ${v} } }`;
}

/**
 * Decides every value a task requests: which the policy allows, which it denies and why.
 * See the module documentation for the exact rules.
 *
 * @example
 * ```ts
 * import { evaluatePolicy, type Policy } from "./policy.ts";
 * const policy: Policy = {
 *   default: "allow",
 *   rules: [
 *     { effect: "deny", flow: ["*"], task: ["*"], plugin: ["*"], permissions: { run: true } },
 *     { effect: "allow", flow: ["etl"], task: ["*"], plugin: ["*"], permissions: { net: ["*.example.com"] } },
 *   ],
 * };
 * const d = evaluatePolicy(policy, {
 *   flow: "etl",
 *   task: "load",
 *   request: { net: ["api.example.com", "evil.com"], run: ["git"], env: ["HOME"] },
 * });
 * console.assert(JSON.stringify(d.allowed) === '{"net":["api.example.com"],"env":["HOME"]}');
 * console.assert(d.denied.map((x) => x.value).join() === "evil.com,git");
 * ```
 */
export function evaluatePolicy(policy: Policy, context: PolicyContext): PolicyDecision {
  const applicable = policy.rules.filter((r) => selects(r, context));
  const allowed: Record<string, true | string[]> = {};
  const denied: Denial[] = [];
  for (const name of PERMISSION_NAMES) {
    const requested = context.request[name];
    if (requested === undefined || requested === false) continue;
    const values: (string | true)[] = requested === true ? [true] : [...requested];
    const listed = policy.rules.some((r) => r.effect === "allow" && r.permissions[name]);
    for (const value of values) {
      const deny = applicable.find((r) =>
        r.effect === "deny" && ruleMatches(r, name, value, patternOverlaps)
      );
      if (deny) {
        denied.push({
          name,
          value,
          by: "policy",
          reason: `denied by the policy rule at ${where(policy, deny)}${
            deny.reason ? ` (${deny.reason})` : ""
          }; remove or narrow that rule to grant it`,
          ...(deny.location ? { location: deny.location } : {}),
        });
        continue;
      }
      const allow = applicable.some((r) =>
        r.effect === "allow" && ruleMatches(r, name, value, patternCovers)
      );
      if (allow || (policy.default === "allow" && !listed)) {
        const sofar = allowed[name];
        if (value === true) allowed[name] = true;
        else if (sofar === undefined) allowed[name] = [value];
        else if (sofar !== true) sofar.push(value);
        continue;
      }
      denied.push({
        name,
        value,
        by: "policy",
        reason: `no allow rule of the policy${policy.file ? ` (${policy.file})` : ""} covers it${
          listed ? ` (the policy allow-lists ${name})` : " (default: deny)"
        }; add an allow rule such as ${example(context, name, value)}`,
      });
    }
  }
  return { allowed, denied };
}
