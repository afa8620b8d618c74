/**
 * The permission model put together for one flow: a task's effective grant is what it
 * requests, limited by the flow's ceiling and the local policy (checked during validation),
 * and, where configured, approved by the external authorization service at launch. Every
 * decision at launch goes to the audit log.
 *
 * @module
 */

import type { SourceLocation, ValidationIssue } from "../core/errors.ts";
import type { PermissionSet } from "../core/permissions.ts";
import { type AuditLog, auditRecord } from "./audit.ts";
import type { AuthorizationClient } from "./authorization.ts";
import {
  type Denial,
  effectiveGrant,
  type GrantResult,
  normalizePermissions,
  PermissionDeniedError,
} from "./grant.ts";
import { evaluatePolicy, type Policy } from "./policy.ts";

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
}

/** A task, as the permission model sees it. */
export interface TaskPermissions {
  /** The task's id. */
  id: string;
  /** The plugin it runs, if any. */
  plugin?: string;
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

  /** Normalises the ceiling once. */
  constructor(options: AuthorizerOptions) {
    this.#o = options;
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
    const request = n.permissions;
    const policy = this.#o.policy
      ? evaluatePolicy(this.#o.policy, {
        flow: this.#o.flow,
        task: task.id,
        ...(task.plugin ? { plugin: task.plugin } : {}),
        request,
      })
      : undefined;
    const result = effectiveGrant({
      request,
      ...(this.#ceiling ? { ceiling: this.#ceiling } : {}),
      ...(policy ? { policy } : {}),
    });
    const issues = n.issues.map((i) => ({ ...i, taskId: task.id }));
    return { result, issues };
  }

  /**
   * What the task would be granted by the ceiling and the policy, and every problem as a
   * validation issue (a denial is one: an invalid flow never starts).
   */
  check(
    task: TaskPermissions,
  ): { grant: PermissionSet; denied: Denial[]; issues: ValidationIssue[] } {
    const { result, issues } = this.#static(task);
    for (const d of result.denied) {
      const issue: ValidationIssue = {
        message: new PermissionDeniedError(this.#o.flow, task.id, [d]).message,
        taskId: task.id,
        hint: d.by === "ceiling"
          ? "or narrow the task's request"
          : d.by === "policy"
          ? `the policy${
            this.#o.policy?.file ? ` in ${this.#o.policy.file}` : ""
          } refuses it; change the rule or the request`
          : "ask whoever runs the authorization service",
      };
      const at = d.location ?? task.location;
      if (at) issue.location = at;
      issues.push(issue);
    }
    return { grant: result.grant, denied: result.denied, issues };
  }

  /**
   * Decides at launch: ceiling, policy, then the external service. Records the decision in the
   * audit log and throws {@linkcode PermissionDeniedError} on a denial.
   */
  async authorize(task: TaskPermissions & { runId: string }): Promise<PermissionSet> {
    if (isEmpty(task.request)) return {};
    let { result } = this.#static(task);
    if (result.decision === "allow" && this.#o.client && !isEmpty(result.grant)) {
      const decision = await this.#o.client.authorize({
        flow: this.#o.flow,
        task: task.id,
        ...(task.plugin ? { plugin: task.plugin } : {}),
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
      user: this.#o.user,
      flow: this.#o.flow,
      task: task.id,
      ...(task.plugin ? { plugin: task.plugin } : {}),
      runId: task.runId,
      requested: normalizePermissions(task.request, this.#o.baseDir).permissions,
    }, result));
    if (result.decision === "deny") {
      throw new PermissionDeniedError(
        this.#o.flow,
        task.id,
        result.denied,
        task.plugin ? { plugin: task.plugin } : {},
      );
    }
    return result.grant;
  }
}
