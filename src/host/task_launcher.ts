/**
 * The host's side of a task that needs rights: the flow isolate asks, the host decides. The
 * isolate is untrusted — the user's code runs there — so each request is checked again:
 *
 * - the module must be one of the flow's own (or one of Orchestra's built-in plugins): a
 *   worker started from any other file would show its contents in a syntax error;
 * - a task the plan knows must ask for what the plan said (permissions, secrets, plugin);
 * - the grant is what the host's authorization gives for the request (ceiling ∩ policy ∩
 *   the authorization service, never a protected path), never what the isolate claims;
 * - every remote module the worker's module graph imports must be covered by that grant;
 * - secrets are looked up, and `enc:v1:` arguments decrypted, here: their values reach the
 *   task worker, never the isolate.
 *
 * @module
 */

import { OrchestraError } from "../core/errors.ts";
import type { LogLevel } from "../core/events.ts";
import type { PermissionSet } from "../core/permissions.ts";
import { PROTOCOL_VERSION, TASK_BRAND, type TaskDefinition } from "../core/protocol.ts";
import { stableJson } from "../engine/cache.ts";
import { requestsAny } from "../engine/calls.ts";
import type { WorkerRunner } from "../executors/worker_executor.ts";
import { decryptDeep, holdsEncrypted } from "../permissions/encrypted.ts";
import type { AuthorizeRequest, LaunchRequest } from "./isolate_protocol.ts";
import { isOrchestraModule, type ModuleGraph } from "./module_graph.ts";
import { uncoveredImports } from "./remote_imports.ts";

/** A launch the host refused: the isolate asked for what the flow does not hold. */
export class LaunchRefusedError extends OrchestraError {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "LaunchRefusedError";
  }
}

/** What the plan said of a task (before the host narrowed its request to a grant). */
export interface PlannedTask {
  /** What it requests. */
  permissions?: PermissionSet;
  /** The secrets it declares. */
  secrets: readonly string[];
  /** The plugin it runs. */
  plugin?: { name: string; version: string };
}

/** What a {@linkcode TaskLauncher} works with. */
export interface TaskLauncherOptions {
  /** The run. */
  runId: string;
  /** The flow's name. */
  flow: string;
  /** The run's params. */
  params: Record<string, unknown>;
  /** The planned tasks, by call id (a map group's id stands for its items). */
  planned: ReadonlyMap<string, PlannedTask>;
  /** The flow's module graph. */
  modules: ModuleGraph;
  /** The grant of a task that requests permissions (throws to deny). */
  authorize(task: {
    taskId: string;
    name: string;
    request: PermissionSet;
    plugin?: { name: string; version: string };
  }): PermissionSet | Promise<PermissionSet>;
  /** A secret's value for a task that declared it. */
  secret(name: string, taskId: string): string | undefined;
  /** Decrypts an `enc:v1:` value. */
  decrypt(value: string): Promise<string>;
  /** Masks the secret values handed out in text going back to the isolate. */
  mask(text: string): string;
  /** Runs task workers. */
  pool: WorkerRunner;
}

function plannedFor(planned: ReadonlyMap<string, PlannedTask>, taskId: string) {
  const direct = planned.get(taskId);
  if (direct !== undefined) return direct;
  const group = /^(.*)\[\d+\]$/.exec(taskId)?.[1];
  return group === undefined ? undefined : planned.get(group);
}

function same(a: unknown, b: unknown): boolean {
  return stableJson(a ?? null) === stableJson(b ?? null);
}

/** Launches the task workers of one run, on the isolate's request. */
export class TaskLauncher {
  readonly #o: TaskLauncherOptions;
  /** The grant given to each task before its first attempt, with the request it answered. */
  readonly #grants = new Map<string, { request: string; grant: PermissionSet }>();

  /** A launcher for one run. */
  constructor(options: TaskLauncherOptions) {
    this.#o = options;
  }

  /** Checks the request against what the host knows of the flow; throws if it does not hold. */
  #check(r: LaunchRequest): void {
    const o = this.#o;
    if (!o.modules.modules.has(r.moduleUrl) && !isOrchestraModule(r.moduleUrl)) {
      throw new LaunchRefusedError(
        `Task "${r.taskId}" was refused: the flow isolate asked to run it from ${r.moduleUrl}, ` +
          `which is not one of the flow's modules`,
      );
    }
    this.#checkPlan(r);
  }

  /** A task the plan knows asks for what the plan said. */
  #checkPlan(
    r: {
      taskId: string;
      permissions?: PermissionSet;
      secrets?: readonly string[];
      plugin?: { name: string; version: string };
    },
  ): void {
    const plan = plannedFor(this.#o.planned, r.taskId);
    if (plan === undefined) return;
    const plugin = r.plugin ? { name: r.plugin.name, version: r.plugin.version } : undefined;
    const mismatch = !same(plan.permissions, r.permissions)
      ? `permissions ${stableJson(r.permissions ?? {})} where its plan requests ${
        stableJson(plan.permissions ?? {})
      }`
      : r.secrets !== undefined && !same([...plan.secrets].sort(), [...r.secrets].sort())
      ? `secrets ${JSON.stringify(r.secrets)} where its plan declares ${
        JSON.stringify(plan.secrets)
      }`
      : !same(plan.plugin, plugin)
      ? "another plugin than its plan runs"
      : undefined;
    if (mismatch !== undefined) {
      throw new LaunchRefusedError(
        `Task "${r.taskId}" was refused: the flow isolate asked for ${mismatch}`,
      );
    }
  }

  /**
   * What a task that requests permissions may have, before its first attempt: its request
   * narrowed by the host's authorization (throws to deny: the task then never starts).
   */
  async authorize(r: AuthorizeRequest): Promise<PermissionSet> {
    this.#checkPlan(r);
    const grant = await this.#o.authorize({
      taskId: r.taskId,
      name: r.name,
      request: r.permissions,
      ...(r.plugin ? { plugin: r.plugin } : {}),
    });
    this.#grants.set(r.taskId, { request: stableJson(r.permissions), grant });
    return grant;
  }

  #grant(r: LaunchRequest): PermissionSet | Promise<PermissionSet> {
    if (!requestsAny(r.permissions)) return {};
    const given = this.#grants.get(r.taskId);
    if (given !== undefined && given.request === stableJson(r.permissions)) return given.grant;
    return this.authorize({
      taskId: r.taskId,
      name: r.name,
      permissions: r.permissions!,
      ...(r.plugin ? { plugin: r.plugin } : {}),
    });
  }

  /** Runs the task the isolate asked for in a worker with exactly its grant. */
  async launch(
    r: LaunchRequest,
    signal: AbortSignal,
    onLog: (level: LogLevel, message: string, props?: Record<string, unknown>) => void,
  ): Promise<unknown> {
    const o = this.#o;
    this.#check(r);
    const grant = await this.#grant(r);
    const fetched = uncoveredImports(o.modules, r.moduleUrl, grant);
    if (fetched.length) {
      const hosts = [...new Set(fetched.map((f) => f.host.replace(/:(443|80)$/, "")))];
      throw new LaunchRefusedError(
        `Task "${r.taskId}" was refused: its worker would load ${fetched[0].specifier} ` +
          `(imported at ${fetched[0].location.file}:${fetched[0].location.line}), and it is ` +
          `not granted import of ${hosts.map((h) => `"${h}"`).join(", ")}; give it ` +
          `permissions: { import: ${JSON.stringify(hosts)} }, or define it in another module`,
      );
    }
    const secrets: Record<string, string> = {};
    for (const name of r.secrets) {
      const value = o.secret(name, r.taskId);
      if (value === undefined) {
        throw new OrchestraError(
          `Secret "${name}" of task "${r.taskId}" is not set: set it in the environment or in ` +
            `the secrets file`,
        );
      }
      secrets[name] = value;
    }
    const args = holdsEncrypted(r.args)
      ? await decryptDeep(r.args, o.decrypt, () => {}) as unknown[]
      : r.args;
    const task = {
      [TASK_BRAND]: PROTOCOL_VERSION,
      options: { name: r.workerName },
      fn: () => undefined,
      moduleUrl: r.moduleUrl,
      workerName: r.workerName,
    } as TaskDefinition;
    return await o.pool.run({
      task,
      args,
      info: {
        runId: o.runId,
        flow: o.flow,
        taskId: r.taskId,
        attempt: r.attempt,
        params: o.params,
      },
      grant,
      secrets,
      signal,
      onLog: (level, message, props) => onLog(level, o.mask(message), props),
    });
  }
}
