/**
 * The policy file, `orchestra.policy.yaml` (or the file the `policyFile` setting names):
 * finding it, and reading it with positions so that every problem names file:line:col.
 *
 * ```yaml
 * # What no rule decides is allowed (allow, the default) or denied (deny).
 * default: allow
 * deny:
 *   - permissions: { run: true, ffi: true }
 *     reason: no subprocesses or native code on this host
 *   - plugin: "community/*"          # the plugin's name; "http@1.*" matches name@version
 *     permissions: { env: ["AWS_*"] }
 * allow:
 *   - flow: "etl-*"                 # a pattern or a list; leave out for every flow
 *     task: [extract, load]
 *     permissions:
 *       net: [api.example.com, "*.s3.amazonaws.com:443"]
 *       read: [./data]              # relative to this file
 * # Optional: no flow may opt out of its flow isolate (sandbox: false, --no-sandbox).
 * sandbox: required
 * # Optional: ask a service about each task's grant.
 * authorization:
 *   url: https://authz.example.com/orchestra
 *   timeout: 2s
 *   cacheTtl: 5m
 *   onError: deny
 * ```
 *
 * @module
 */

import { dirname, isAbsolute, resolve } from "node:path";
import { errorMessage, formatIssue, OrchestraError, type ValidationIssue } from "../core/errors.ts";
import { PERMISSION_NAMES, type PermissionName } from "../core/permissions.ts";
import { didYouMean } from "../core/suggest.ts";
import { FileReadError, readBoundedTextFile } from "../fs/read_bounded.ts";
import { type YamlPath, YamlSource } from "../loaders/yaml/source.ts";
import { AUTHORIZATION_KEYS, checkAuthorizationConfig } from "./authorization.ts";
import type { Policy, PolicyEffect, PolicyPatterns, PolicyRule } from "./policy.ts";
import { HOST_PERMISSIONS, PATH_PERMISSIONS, SYS_KINDS } from "./values.ts";

/** The file names searched for, in each directory from the working directory upwards. */
export const POLICY_FILE_NAMES: readonly string[] = [
  "orchestra.policy.yaml",
  "orchestra.policy.yml",
];

const TOP_KEYS = ["default", "allow", "deny", "authorization", "sandbox"];
const RULE_KEYS = ["flow", "task", "plugin", "permissions", "reason"];

/**
 * A policy file is missing or invalid. Holds every problem found, not just the first.
 *
 * @example
 * ```ts
 * import { PolicyError } from "./policy_file.ts";
 * const err = new PolicyError("p.yaml", [{ message: "Unknown key", location: { file: "p.yaml", line: 1, col: 1 } }]);
 * console.assert(err.message === 'Invalid policy file "p.yaml" (1 problem):\n  - p.yaml:1:1: Unknown key');
 * ```
 */
export class PolicyError extends OrchestraError {
  /** The policy file. */
  readonly file: string;
  /** Every problem found. */
  readonly issues: readonly ValidationIssue[];
  /** Creates the error from a non-empty list of issues. */
  constructor(file: string, issues: readonly ValidationIssue[], options?: ErrorOptions) {
    const n = issues.length;
    super(
      `Invalid policy file "${file}" (${n} problem${n === 1 ? "" : "s"}):\n` +
        issues.map((i) => `  - ${formatIssue(i)}`).join("\n"),
      options,
    );
    this.name = "PolicyError";
    this.file = file;
    this.issues = issues;
  }
}

/** Options of {@linkcode parsePolicy}. */
export interface ParsePolicyOptions {
  /** Relative path patterns resolve against it. @default the directory of `file` */
  baseDir?: string;
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** What is wrong with a value pattern, and how to fix it, if anything is. */
function patternProblem(name: PermissionName, p: string): [string, string?] | undefined {
  if (p === "") return ["is empty and matches nothing"];
  if (PATH_PERMISSIONS.has(name) && p.startsWith("~")) {
    return ["starts with ~, which is not expanded", "write the full path"];
  }
  if (HOST_PERMISSIONS.has(name)) {
    if (p.includes("://") || (p.includes("/") && !/^[\d.]+\/\d+$/.test(p))) {
      return ["is not a host", "write host[:port], e.g. api.example.com or *.example.com:443"];
    }
    if (!p.startsWith("[") && (p.match(/:/g) ?? []).length > 1) {
      return ["is an IPv6 address without brackets", `write [${p}]`];
    }
    const port = /^(?:\[[^\]]*\]|[^:]*):(.*)$/.exec(p)?.[1];
    if (port !== undefined && port !== "*" && !/^\d+$/.test(port)) {
      return [`has an invalid port "${port}"`, "write a number or *"];
    }
  }
  if (name === "sys" && !p.includes("*") && !SYS_KINDS.includes(p)) {
    return [
      `is not a kind of system information${didYouMean(p, SYS_KINDS)}`,
      `the kinds are ${SYS_KINDS.join(", ")}`,
    ];
  }
  return undefined;
}

class Reader {
  readonly issues: ValidationIssue[] = [];
  constructor(readonly src: YamlSource, readonly baseDir: string) {}

  issue(path: YamlPath, message: string, hint?: string, key?: string): void {
    this.issues.push({
      message,
      location: key === undefined ? this.src.locate(path) : this.src.locateKey(path, key),
      ...(hint ? { hint } : {}),
    });
  }

  unknownKeys(path: YamlPath, o: Record<string, unknown>, known: string[], what: string): void {
    for (const k of Object.keys(o)) {
      if (known.includes(k)) continue;
      const near = didYouMean(k, known);
      this.issue(
        path,
        `Unknown key "${k}" in ${what}${near}`,
        near ? undefined : `the keys are ${known.join(", ")}`,
        k,
      );
    }
  }

  selector(path: YamlPath, value: unknown): string[] {
    if (value === undefined || value === null) return ["*"];
    const list = Array.isArray(value) ? value : [value];
    if (list.length && list.every((v) => typeof v === "string" && v !== "")) return list;
    this.issue(
      path,
      `"${path[path.length - 1]}" must be a pattern or a list of patterns, got ${
        JSON.stringify(value)
      }`,
      `write e.g. ${path[path.length - 1]}: "etl-*"`,
    );
    return ["*"];
  }

  pattern(path: YamlPath, name: PermissionName, p: string): string | undefined {
    const problem = patternProblem(name, p);
    if (problem) {
      this.issue(path, `The ${name} pattern "${p}" ${problem[0]}`, problem[1]);
      return undefined;
    }
    if (PATH_PERMISSIONS.has(name)) {
      return isAbsolute(p) || p.startsWith("*") ? p : resolve(this.baseDir, p);
    }
    return HOST_PERMISSIONS.has(name) ? p.toLowerCase() : p;
  }

  permissions(path: YamlPath, value: unknown): PolicyPatterns {
    const out: Record<string, true | string[]> = {};
    if (!isMapping(value) || Object.keys(value).length === 0) {
      this.issue(
        path,
        value === undefined
          ? "A rule needs permissions"
          : "A rule's permissions must be a mapping of permission names",
        "write e.g. permissions: { net: [api.example.com], run: true }",
      );
      return out;
    }
    for (const [k, v] of Object.entries(value)) {
      if (!(PERMISSION_NAMES as readonly string[]).includes(k)) {
        const near = didYouMean(k, PERMISSION_NAMES);
        this.issue(
          path,
          `Unknown permission "${k}"${near}`,
          near ? undefined : `the permissions are ${PERMISSION_NAMES.join(", ")}`,
          k,
        );
        continue;
      }
      const name = k as PermissionName;
      const at = [...path, name];
      if (v === true) {
        out[name] = true;
      } else if (typeof v === "string") {
        this.issue(
          at,
          `${name} must be true or a list of patterns, got a single string`,
          `write a list, even of one: ${name}: ["${v}"]`,
        );
      } else if (!Array.isArray(v) || v.length === 0) {
        this.issue(
          at,
          `${name} must be true or a non-empty list of patterns, got ${JSON.stringify(v)}`,
          v === false ? "a rule only allows or denies: remove the permission" : undefined,
        );
      } else {
        const patterns: string[] = [];
        v.forEach((item, i) => {
          if (typeof item !== "string") {
            this.issue([...at, i], `${name} patterns must be strings, got ${JSON.stringify(item)}`);
            return;
          }
          const p = this.pattern([...at, i], name, item);
          if (p !== undefined) patterns.push(p);
        });
        if (patterns.length === v.length) {
          out[name] = patterns.some((p) => p === "*" || p === "**") ? true : patterns;
        }
      }
    }
    return out;
  }

  rules(effect: PolicyEffect, value: unknown): PolicyRule[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) {
      this.issue(
        [effect],
        `"${effect}" must be a list of rules`,
        `write ${effect}:\n      - permissions: { … }`,
      );
      return [];
    }
    const rules: PolicyRule[] = [];
    value.forEach((item, i) => {
      const path = [effect, i];
      if (!isMapping(item)) {
        this.issue(
          path,
          `Each ${effect} rule must be a mapping`,
          "write - { flow: …, permissions: { … } }",
        );
        return;
      }
      this.unknownKeys(path, item, RULE_KEYS, `a${effect === "allow" ? "n" : ""} ${effect} rule`);
      if (item.reason !== undefined && typeof item.reason !== "string") {
        this.issue([...path, "reason"], `"reason" must be a string`);
      }
      rules.push({
        effect,
        flow: this.selector([...path, "flow"], item.flow),
        task: this.selector([...path, "task"], item.task),
        plugin: this.selector([...path, "plugin"], item.plugin),
        permissions: this.permissions([...path, "permissions"], item.permissions),
        ...(typeof item.reason === "string" ? { reason: item.reason } : {}),
        location: this.src.locate(path),
      });
    });
    return rules;
  }
}

/**
 * Parses a policy file's text. Throws a {@linkcode PolicyError} listing every problem, each
 * with file:line:col and, for a misspelled key, a suggestion.
 *
 * @example
 * ```ts
 * import { parsePolicy } from "./policy_file.ts";
 * const policy = parsePolicy("deny:\n  - permissions: { run: true }\n", "/etc/orchestra/p.yaml");
 * console.assert(policy.rules.length === 1 && policy.rules[0].location?.line === 2);
 * try {
 *   parsePolicy("alow: []\n", "p.yaml");
 * } catch (e) {
 *   console.assert((e as Error).message.includes('p.yaml:1:1: Unknown key "alow" in the policy (did you mean "allow"?)'));
 * }
 * ```
 */
export function parsePolicy(text: string, file: string, options: ParsePolicyOptions = {}): Policy {
  const src = new YamlSource(file, text);
  if (src.syntaxIssues.length) throw new PolicyError(file, src.syntaxIssues);
  const r = new Reader(src, options.baseDir ?? dirname(resolve(file)));
  const data = src.data ?? {};
  if (!isMapping(data)) {
    r.issue([], "A policy file must be a mapping with allow, deny, default or authorization");
    throw new PolicyError(file, r.issues);
  }
  r.unknownKeys([], data, TOP_KEYS, "the policy");
  let defaultEffect: PolicyEffect = "allow";
  if (data.default === "deny" || data.default === "allow") defaultEffect = data.default;
  else if (data.default !== undefined && data.default !== null) {
    r.issue(["default"], `"default" must be allow or deny, got ${JSON.stringify(data.default)}`);
  }
  // Deny rules first: file order within each effect is kept for messages.
  const rules = [...r.rules("deny", data.deny), ...r.rules("allow", data.allow)];
  const policy: Policy = { file, default: defaultEffect, rules };
  if (data.sandbox === "required") policy.sandbox = "required";
  else if (data.sandbox !== undefined && data.sandbox !== null && data.sandbox !== "optional") {
    r.issue(
      ["sandbox"],
      `"sandbox" must be required or optional, got ${JSON.stringify(data.sandbox)}`,
      "sandbox: required refuses flows that opt out of their flow isolate",
    );
  }
  if (data.authorization !== undefined && data.authorization !== null) {
    const { config, problems } = checkAuthorizationConfig(data.authorization);
    if (isMapping(data.authorization)) {
      r.unknownKeys(
        ["authorization"],
        data.authorization,
        [...AUTHORIZATION_KEYS],
        "authorization",
      );
    }
    for (const p of problems) {
      if (p.key !== undefined && !AUTHORIZATION_KEYS.includes(p.key)) continue; // reported above
      r.issue(
        p.key === undefined ? ["authorization"] : ["authorization", p.key],
        p.message,
        p.hint,
      );
    }
    if (config) policy.authorization = config;
  }
  if (r.issues.length) throw new PolicyError(file, r.issues);
  return policy;
}

/** Reads and parses the policy file at `path` (see {@linkcode parsePolicy}). */
export async function loadPolicy(path: string): Promise<Policy> {
  let text: string;
  try {
    text = await readBoundedTextFile(path, { what: "policy file" });
  } catch (e) {
    if (e instanceof FileReadError) {
      throw new PolicyError(path, [{ message: e.message }], { cause: e });
    }
    const missing = e instanceof Deno.errors.NotFound;
    throw new PolicyError(path, [{
      message: missing
        ? `Policy file "${path}" does not exist`
        : `Cannot read policy file "${path}": ${errorMessage(e)}`,
      ...(missing ? { hint: "create it, or remove policyFile from the configuration" } : {}),
    }], { cause: e });
  }
  return parsePolicy(text, path);
}

/** The first `orchestra.policy.yaml` (or `.yml`) from `dir` upwards, if any. */
export async function findPolicyFile(dir: string): Promise<string | undefined> {
  for (let d = resolve(dir);; d = dirname(d)) {
    for (const name of POLICY_FILE_NAMES) {
      const path = resolve(d, name);
      try {
        if ((await Deno.stat(path)).isFile) return path;
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
    }
    if (dirname(d) === d) return undefined;
  }
}

/** Options of {@linkcode resolvePolicy}. */
export interface ResolvePolicyOptions {
  /** The directory the search starts from. */
  cwd: string;
  /** The `policyFile` setting: when set, that file must exist and no search is made. */
  policyFile?: string;
}

/**
 * The policy in force: the configured `policyFile` if set (an error if missing), else the
 * first `orchestra.policy.yaml` from `cwd` upwards, else none.
 *
 * @example
 * ```ts
 * import { resolvePolicy } from "./policy_file.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/orchestra.policy.yaml`, "default: deny\n");
 * const policy = await resolvePolicy({ cwd: dir });
 * console.assert(policy?.default === "deny" && policy.rules.length === 0);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function resolvePolicy(options: ResolvePolicyOptions): Promise<Policy | undefined> {
  const path = options.policyFile !== undefined
    ? resolve(options.cwd, options.policyFile)
    : await findPolicyFile(options.cwd);
  return path === undefined ? undefined : await loadPolicy(path);
}
