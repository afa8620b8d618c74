/**
 * The permission model put together for one flow: a task's effective grant is what it
 * requests, limited by the protected paths (the state dir and the like, which no grant may
 * cover), the flow's ceiling and the local policy (checked during validation), and, where
 * configured, approved by the external authorization service at launch. Refusals found during
 * validation, every decision at launch (also for a task that requests nothing) and every
 * secret a task reads go to the audit log.
 *
 * @module
 */

import type { SourceLocation, ValidationIssue } from "../core/errors.ts";
import type { PermissionSet } from "../core/permissions.ts";
import { type AuditLog, type AuditRecord, auditRecord } from "./audit.ts";
import type { AuthorizationClient } from "./authorization.ts";
import {
  type Denial,
  effectiveGrant,
  formatValue,
  type GrantResult,
  normalizePermissions,
  PermissionDeniedError,
} from "./grant.ts";
import { evaluatePolicy, type Policy } from "./policy.ts";
import { type ProtectedPath, ProtectedPaths } from "./protected.ts";

/** Options of {@linkcode Authorizer}. */
export interface AuthorizerOptions {
  /** The flow's name. */
  flow: string;
  /** The directory relative paths in permissions resolve against (the flow file's). */
  baseDir: string;
  /** The flow's ceiling, as written. */
  ceiling?: PermissionSet;
  /** The local policy, if any. */
  policy?: Policy;
  /** The external authorization service, if configured. */
  client?: AuthorizationClient;
  /** Where decisions are recorded. */
  audit?: AuditLog;
  /** Who runs the flow. */
  user: string;
  /**
   * Paths no task may be granted to read or write, whatever the ceiling and the policy say
   * (see `protected.ts`: the state dir, lock files, the secrets file). @default none
   */
  protectedPaths?: readonly ProtectedPath[];
}

/** The plugin a task runs, as the permission model sees it. */
export interface PluginIdentity {
  /** The plugin's name. */
  name: string;
  /** Its version, when known. */
  version?: string;
}

/** A task, as the permission model sees it. */
export interface TaskPermissions {
  /** The task's id. */
  id: string;
  /** The plugin it runs, if any: its name, or its name and version. */
  plugin?: string | PluginIdentity;
  /** What it requests, as written. */
  request?: PermissionSet;
  /** Where, for messages. */
  location?: SourceLocation;
}

function isEmpty(set: PermissionSet | undefined): boolean {
  return !set || Object.values(set).every((v) =>
    v === false || v === undefined ||
    (Array.isArray(v) && v.length === 0)
  );
}

function pluginOf(task: TaskPermissions): PluginIdentity | undefined {
  const p = task.plugin;
  return typeof p === "string" ? { name: p } : p;
}

/** The plugin fields of an audit record, a policy context or a service request. */
function pluginFields(p: PluginIdentity | undefined): { plugin?: string; pluginVersion?: string } {
  if (!p) return {};
  return { plugin: p.name, ...(p.version ? { pluginVersion: p.version } : {}) };
}

/** The refusals of protected paths first: whatever the ceiling and policy say of the rest. */
function withDenials(result: GrantResult, first: Denial[]): GrantResult {
  if (first.length === 0) return result;
  const denied = [...first, ...result.denied];
  return {
    grant: result.grant,
    denied,
    decision: "deny",
    source: denied[0].by,
    reason: denied.map((d) => `${formatValue(d.name, d.value)}: ${d.reason}`).join("; "),
  };
}

const HINTS: Record<Denial["by"], string> = {
  ceiling: "or narrow the task's request",
  policy: "",
  authorization: "ask whoever runs the authorization service",
  protected: "grant only the paths the task needs, outside it, or keep the state dir elsewhere " +
    "(--state-dir)",
};

/**
 * Decides what each task of a flow may do.
 *
 * @example
 * ```ts
 * import { Authorizer } from "./authorizer.ts";
 * const auth = new Authorizer({ flow: "etl", baseDir: "/srv/etl", ceiling: { read: ["./data"] }, user: "ci" });
 * const { grant, issues } = auth.check({ id: "load", request: { read: ["./data/in"], net: true } });
 * console.assert(JSON.stringify(grant) === JSON.stringify({ read: ["/srv/etl/data/in"] }));
 * console.assert(issues.length === 1);
 * ```
 */
export class Authorizer {
  readonly #o: AuthorizerOptions;
  readonly #ceiling: PermissionSet | undefined;
  readonly #ceilingIssues: ValidationIssue[];
  readonly #protected: ProtectedPaths;
  /** Refusals found by `check`, written to the audit log by `flushAudit`. */
  #refusals: AuditRecord[] = [];
  /** `runId\0taskId` of every task decided at launch, so none is recorded twice. */
  readonly #launched = new Set<string>();
  /** `runId\0taskId\0name` of every secret read recorded. */
  readonly #secretsRead = new Set<string>();

  /** Normalises the ceiling and resolves the protected paths once. */
  constructor(options: AuthorizerOptions) {
    this.#o = options;
    this.#protected = new ProtectedPaths(options.protectedPaths ?? []);
    if (options.ceiling) {
      const n = normalizePermissions(options.ceiling, options.baseDir, {
        subject: `The ceiling of flow "${options.flow}"`,
      });
      this.#ceiling = n.permissions;
      this.#ceilingIssues = n.issues;
    } else {
      this.#ceiling = undefined;
      this.#ceilingIssues = [];
    }
  }

  /** Problems in the ceiling itself. */
  get ceilingIssues(): readonly ValidationIssue[] {
    return this.#ceilingIssues;
  }

  #static(task: TaskPermissions): { result: GrantResult; issues: ValidationIssue[] } {
    const n = normalizePermissions(task.request, this.#o.baseDir, {
      subject: `Task "${task.id}"`,
    });
    // Protected paths are refused before the ceiling and the policy see the request: no
    // rule can allow them.
    const guarded = this.#protected.check(n.permissions);
    const request = guarded.rest;
    const policy = this.#o.policy
      ? evaluatePolicy(this.#o.policy, {
        flow: this.#o.flow,
        task: task.id,
        ...pluginFields(pluginOf(task)),
        request,
      })
      : undefined;
    const result = effectiveGrant({
      request,
      ...(this.#ceiling ? { ceiling: this.#ceiling } : {}),
      ...(policy ? { policy } : {}),
    });
    const issues = n.issues.map((i) => ({ ...i, taskId: task.id }));
    return { result: withDenials(result, guarded.denied), issues };
  }

  /**
   * What the task would be granted by the protected paths, the ceiling and the policy, and
   * every problem as a validation issue (a denial is one: an invalid flow never starts). A
   * refusal is also kept for the audit log: {@linkcode Authorizer.flushAudit} writes it.
   */
  check(
    task: TaskPermissions,
  ): { grant: PermissionSet; denied: Denial[]; issues: ValidationIssue[] } {
    const { result, issues } = this.#static(task);
    const plugin = pluginOf(task);
    for (const d of result.denied) {
      const issue: ValidationIssue = {
        message: new PermissionDeniedError(this.#o.flow, task.id, [d], {
          ...(plugin ? { plugin: plugin.name } : {}),
        }).message,
        taskId: task.id,
        hint: d.by === "policy"
          ? `the policy${
            this.#o.policy?.file ? ` in ${this.#o.policy.file}` : ""
          } refuses it; change the rule or the request`
          : HINTS[d.by],
      };
      const at = d.location ?? task.location;
      if (at) issue.location = at;
      issues.push(issue);
    }
    if (result.decision === "deny" && this.#o.audit) {
      this.#refusals.push(auditRecord({
        user: this.#o.user,
        flow: this.#o.flow,
        task: task.id,
        ...pluginFields(plugin),
        phase: "validation",
        requested: normalizePermissions(task.request, this.#o.baseDir).permissions,
      }, result));
    }
    return { grant: result.grant, denied: result.denied, issues };
  }

  /** Writes the refusals found by {@linkcode Authorizer.check} to the audit log. */
  async flushAudit(): Promise<void> {
    const records = this.#refusals;
    this.#refusals = [];
    if (!this.#o.audit) return;
    for (const r of records) await this.#o.audit.append(r);
  }

  /** Whether the task was decided at launch in this run (so it has its audit record). */
  launched(runId: string, taskId: string): boolean {
    return this.#launched.has(`${runId}\0${taskId}`);
  }

  /**
   * Decides at launch: protected paths, ceiling, policy, then the external service. Records
   * the decision in the audit log, also for a task that requests nothing, and throws
   * {@linkcode PermissionDeniedError} on a denial.
   */
  async authorize(task: TaskPermissions & { runId: string }): Promise<PermissionSet> {
    this.#launched.add(`${task.runId}\0${task.id}`);
    const plugin = pluginOf(task);
    const context = {
      user: this.#o.user,
      flow: this.#o.flow,
      task: task.id,
      ...pluginFields(plugin),
      runId: task.runId,
      phase: "launch" as const,
    };
    if (isEmpty(task.request)) {
      await this.#o.audit?.append(auditRecord({ ...context, requested: {} }, {
        grant: {},
        denied: [],
        decision: "allow",
        source: "request",
        reason: "requested no permissions",
      }));
      return {};
    }
    let { result } = this.#static(task);
    if (result.decision === "allow" && this.#o.client && !isEmpty(result.grant)) {
      const decision = await this.#o.client.authorize({
        flow: this.#o.flow,
        task: task.id,
        ...pluginFields(plugin),
        permissions: result.grant,
        user: this.#o.user,
        runId: task.runId,
      });
      const again = this.#static(task).result;
      result = effectiveGrant({
        request: again.grant,
        authorization: decision,
      });
      if (result.decision === "allow" && decision.reason) result.reason = decision.reason;
    }
    await this.#o.audit?.append(auditRecord({
      ...context,
      requested: normalizePermissions(task.request, this.#o.baseDir).permissions,
    }, result));
    if (result.decision === "deny") {
      throw new PermissionDeniedError(
        this.#o.flow,
        task.id,
        result.denied,
        plugin ? { plugin: plugin.name } : {},
      );
    }
    return result.grant;
  }

  /**
   * Records that a task read a secret: its name, never its value. A task that reads the same
   * secret again in the same run is recorded once.
   */
  async secretRead(
    task: { id: string; runId: string; plugin?: string | PluginIdentity },
    name: string,
  ): Promise<void> {
    const key = `${task.runId}\0${task.id}\0${name}`;
    if (this.#secretsRead.has(key)) return;
    this.#secretsRead.add(key);
    await this.#o.audit?.append({
      ...auditRecord({
        user: this.#o.user,
        flow: this.#o.flow,
        task: task.id,
        ...pluginFields(pluginOf(task)),
        runId: task.runId,
        phase: "launch",
        requested: {},
      }, {
        grant: {},
        denied: [],
        decision: "allow",
        source: "request",
        reason: `read secret ${name}, which it declares`,
      }),
      secret: name,
      source: "secret",
    });
  }
}
