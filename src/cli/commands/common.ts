/**
 * What every command that reads a flow file does first: load the file, read the params,
 * validate them, plan and validate the flow.
 *
 * @module
 */

import { parse as parseYaml } from "yaml";
import {
  errorMessage,
  FlowValidationError,
  isError,
  ParamsValidationError,
  type ValidationIssue,
} from "../../core/errors.ts";
import type { FlowGraph } from "../../core/model.ts";
import type { ParamsSchema } from "../../core/params.ts";
import { FileReadError, readBoundedFile, readBoundedTextFile } from "../../fs/read_bounded.ts";
import type { FlowDefinition } from "../../core/protocol.ts";
import { prepareParams } from "../../engine/execute.ts";
import { planFlow } from "../../engine/plan.ts";
import { FlowLoadError } from "../../loaders/ts_loader.ts";
import { type LoadedTsFlow, loadTsFlow } from "../../host/sandboxed_flow.ts";
import { dynamicImportIssues } from "../../host/remote_imports.ts";
import type { PlannedTask } from "../../host/task_launcher.ts";
import { isYamlFile, loadYamlFlow } from "../../loaders/yaml_loader.ts";
import { keyValues, type Parsed, UsageError } from "../args.ts";
import type { Io } from "../io.ts";
import type { Settings } from "../../config/settings.ts";
import { AuditLog, auditLogPath, currentUser } from "../../permissions/audit.ts";
import { Authorizer } from "../../permissions/authorizer.ts";
import type { Policy } from "../../permissions/policy.ts";
import { PolicyError, resolvePolicy } from "../../permissions/policy_file.ts";
import { hostPaths, type ProtectedPath } from "../../permissions/protected.ts";
import { secureStateDir, StateDirError } from "../../permissions/state_dir.ts";
import { withPlaceholders } from "../placeholders.ts";
import { renderIssues, renderProblems } from "../render.ts";
import { commandSettings } from "./config.ts";

/** Options every flow command accepts. */
export const FLOW_OPTIONS = {
  config: { type: "string" },
  // The state dir decides which paths no task may be granted, so validation needs it too.
  "state-dir": { type: "string" },
  "policy-file": { type: "string" },
  "secrets-file": { type: "string" },
  param: { type: "string", short: "p", multiple: true },
  "params-file": { type: "string" },
  flow: { type: "string" },
  json: { type: "boolean" },
  // Imports the flow's module into the orchestrator instead of its flow isolate.
  "no-sandbox": { type: "boolean" },
} as const;

/** A loaded, validated flow ready for a command. */
export interface Prepared {
  /** The flow. */
  def: FlowDefinition;
  /** Params with defaults applied and types converted. */
  params: Record<string, unknown>;
  /** The planned graph (issues empty unless `allowInvalid`); permissions are effective grants. */
  graph: FlowGraph;
  /** The effective settings. */
  settings: Settings;
  /** The local policy, if any. */
  policy: Policy | undefined;
  /** The flow file's directory: relative paths in permissions resolve against it. */
  baseDir: string;
  /** The flow file, absolute. */
  file: string;
  /** The paths no task may be granted (the state dir, lock files, the secrets file, …). */
  protectedPaths: ProtectedPath[];
  /** Required params planned with placeholder values (only when inspecting, never to run). */
  placeholders: string[];
  /** The flow file's SHA-256, when the caller knows it already. @default read when recorded */
  flowHash?: string;
  /** A TypeScript flow: its module graph, and its flow isolate while a run may use it. */
  ts?: LoadedTsFlow;
  /** What each planned task requests, before it was narrowed to its grant. */
  planned: Map<string, PlannedTask>;
}

/** The SHA-256 of a flow file, hex: how a changed flow file is detected on resume. */
export async function hashFile(path: string): Promise<string> {
  const bytes = await readBoundedFile(path, { what: "flow file" });
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

function resolvePath(io: Io, path: string): string {
  return path.startsWith("/") ? path : `${io.cwd.replace(/\/+$/, "")}/${path}`;
}

/** The params of a `--params-file` (JSON or YAML): an object, or a usage error. */
export async function readParamsFile(
  command: string,
  io: Io,
  path: string,
): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readBoundedTextFile(resolvePath(io, path), { what: "params file", shown: path });
  } catch (e) {
    if (e instanceof FileReadError) throw new UsageError(command, e.message);
    throw new UsageError(command, `cannot read --params-file "${path}": ${errorMessage(e)}`);
  }
  let value: unknown;
  try {
    value = /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text);
  } catch (e) {
    throw new UsageError(command, `--params-file "${path}" is not valid: ${errorMessage(e)}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new UsageError(command, `--params-file "${path}" must hold an object of params`);
  }
  return value as Record<string, unknown>;
}

/** What reading a flow needs: the command's settings and local policy. */
export interface FlowContext {
  /** The command (`run`, `validate`, …): inspecting commands plan with placeholders. */
  command: string;
  /** The effective settings. */
  settings: Settings;
  /** The local policy, if any. */
  policy: Policy | undefined;
}

/** A flow file loaded, not yet given params nor planned. */
export interface FlowSource extends FlowContext {
  /** The flow. */
  def: FlowDefinition;
  /** A YAML flow's graph (static); a TypeScript flow's comes from planning its body. */
  yamlGraph: FlowGraph | undefined;
  /** The flow file, absolute. */
  file: string;
  /** The flow file's directory: relative paths in permissions resolve against it. */
  baseDir: string;
  /** The paths no task may be granted, once the state dir was secured (see planSource). */
  protectedPaths?: ProtectedPath[];
  /** A TypeScript flow: its module graph, and the flow isolate that plans it. */
  ts?: LoadedTsFlow;
}

/**
 * The settings (defaults < orchestra.yaml < ORCHESTRA_* < flags) and the local policy of a
 * command; the exit code 2 (after printing why) when either is wrong.
 */
export async function flowContext(
  command: string,
  parsed: Parsed,
  io: Io,
): Promise<FlowContext | number> {
  const settings = await commandSettings(parsed, io);
  if (typeof settings === "number") return settings;
  try {
    const policy = await resolvePolicy({
      cwd: io.cwd,
      ...(settings.policyFile ? { policyFile: settings.policyFile } : {}),
    });
    return { command, settings, policy };
  } catch (e) {
    if (e instanceof PolicyError) {
      io.stderr(renderProblems(`the policy`, e.issues));
      return 2;
    }
    throw e;
  }
}

/**
 * Loads a flow file (TS or YAML; `flow` picks one of a module's flows). The one place the
 * CLI and serve's runners load a flow. Returns the exit code 2 (after printing why) when it
 * cannot be loaded, or when a YAML flow is invalid unless `allowInvalid`.
 */
export async function loadSource(
  file: string,
  context: FlowContext,
  io: Io,
  options: { flow?: string; noSandbox?: boolean; allowInvalid?: boolean } = {},
): Promise<FlowSource | number> {
  const { settings, policy } = context;
  let def: FlowDefinition;
  let yamlGraph: FlowGraph | undefined;
  let ts: LoadedTsFlow | undefined;
  try {
    if (isYamlFile(file)) {
      const compiled = await loadYamlFlow(file, io.cwd, {
        env: io.env,
        plugins: { dirs: settings.pluginDirs, stateDir: settings.stateDir },
      });
      def = compiled.def;
      yamlGraph = compiled.graph;
    } else {
      ts = await loadTsFlow(file, io.cwd, {
        ...(options.flow !== undefined ? { flow: options.flow } : {}),
        noSandbox: options.noSandbox === true,
        ...(policy ? { policy } : {}),
      });
      def = ts.def;
    }
  } catch (e) {
    if (e instanceof FlowLoadError) {
      io.stderr(`error: ${e.message}\n`);
      return 2;
    }
    if (e instanceof FlowValidationError) {
      io.stderr(renderIssues(e.flow, e.issues));
      return 2;
    }
    throw e;
  }
  if (yamlGraph && yamlGraph.issues.some(isError) && !options.allowInvalid) {
    io.stderr(renderIssues(yamlGraph.name, yamlGraph.issues));
    return 2;
  }
  // Relative paths in permissions are relative to the flow file's directory.
  const absolute = resolvePath(io, file);
  const baseDir = absolute.slice(0, absolute.lastIndexOf("/")) || "/";
  return { ...context, def, yamlGraph, file: absolute, baseDir, ...(ts ? { ts } : {}) };
}

/**
 * Loads the flow named on the command line and validates params and flow. Returns the exit
 * code 2 (after printing why) when anything is wrong, unless `allowInvalid` keeps an invalid
 * graph for the caller to report.
 */
export async function prepare(
  command: string,
  parsed: Parsed,
  io: Io,
  options: { allowInvalid?: boolean; params?: Record<string, unknown> } = {},
): Promise<Prepared | number> {
  const file = parsed.positionals[0];
  if (!file) throw new UsageError(command, `missing FILE: orchestra ${command} FILE`);
  if (parsed.positionals.length > 1) {
    throw new UsageError(
      command,
      `unexpected argument "${parsed.positionals[1]}"; params go as --param NAME=VALUE`,
    );
  }
  // Settings and the local policy first: a bad setting is a usage error, whatever the flow.
  const context = await flowContext(command, parsed, io);
  if (typeof context === "number") return context;
  const fileParams = parsed.values["params-file"]
    ? await readParamsFile(command, io, parsed.values["params-file"] as string)
    : {};
  const cliParams = keyValues(command, parsed.values.param as string[] | undefined);
  const source = await loadSource(file, context, io, {
    flow: parsed.values.flow as string | undefined,
    ...(parsed.values["no-sandbox"] === true ? { noSandbox: true } : {}),
    ...(options.allowInvalid ? { allowInvalid: true } : {}),
  });
  if (typeof source === "number") return source;
  // A TS flow's isolate stays for a run to use; every other way out of here stops it.
  let keep = false;
  try {
    const prepared = await planSource(
      source,
      options.params ?? { ...fileParams, ...cliParams },
      io,
      {
        ...options,
        handOver: true,
      },
    );
    keep = typeof prepared !== "number" && command === "run";
    return prepared;
  } finally {
    if (!keep) source.ts?.isolate?.terminate();
  }
}

/**
 * Gives a loaded flow its params and plans it: params validated (with placeholders for
 * required ones when inspecting), the state dir secured, each task's permissions checked
 * against the ceiling and the policy. `source` is not changed but for its protected paths,
 * found once: a loaded flow can be planned again and again (serve's runners do). A TS flow's
 * isolate goes with the result only when `handOver` (the source is not planned again): a run
 * of a result without it opens its own.
 */
export async function planSource(
  source: FlowSource,
  given: Record<string, unknown>,
  io: Io,
  options: { allowInvalid?: boolean; handOver?: boolean } = {},
): Promise<Prepared | number> {
  const { command, settings, policy, def, baseDir, ts } = source;
  // Inspecting a flow needs no values for its required params: placeholders stand in.
  const { params: input, filled: placeholders } = command === "run"
    ? { params: given, filled: [] }
    : withPlaceholders((def.options as { params?: ParamsSchema }).params, given);
  const { params, issues: paramIssues } = checkGivenParams(def, input);
  if (paramIssues.length && !options.allowInvalid) {
    io.stderr(
      `error: invalid params for flow "${def.options.name}":\n${
        paramIssues.map((i) => `  ${i.message}${i.hint ? `\n    hint: ${i.hint}` : ""}`).join("\n")
      }\n`,
    );
    return 2;
  }
  const protectedPaths = source.protectedPaths ?? await securedPaths(source, io);
  if (typeof protectedPaths === "number") return protectedPaths;
  source.protectedPaths = protectedPaths;
  // A YAML flow's graph is static (copied: it is planned again with other params); a
  // TypeScript flow's comes from planning its body.
  const graph = source.yamlGraph
    ? { ...source.yamlGraph, nodes: source.yamlGraph.nodes.map((n) => ({ ...n })) }
    : ts?.isolate
    // In its flow isolate unless it opted out.
    ? await ts.isolate.plan(ts.exportName, params, baseDir)
    : await planFlow(def, params, { baseDir });
  if (ts) graph.sandboxed = ts.sandboxed;
  graph.issues = [...paramIssues, ...graph.issues];
  const planned = await checkGrants(graph, source, protectedPaths, io);
  if (graph.issues.length && !options.allowInvalid) {
    // Warnings are said, and the command goes on; errors stop it.
    io.stderr(renderIssues(graph.name, graph.issues));
    if (graph.issues.some(isError)) return 2;
  }
  return {
    def,
    params,
    graph,
    settings,
    policy,
    baseDir,
    file: source.file,
    protectedPaths,
    placeholders,
    ...(ts ? { ts: options.handOver ? ts : { ...ts, isolate: undefined } } : {}),
    planned,
  };
}

/** The params given to a flow, with defaults and types applied, and every problem of them. */
function checkGivenParams(
  def: FlowDefinition,
  input: Record<string, unknown>,
): { params: Record<string, unknown>; issues: ValidationIssue[] } {
  const issues: ValidationIssue[] = [];
  let params = input;
  try {
    params = prepareParams(def, input, true);
  } catch (e) {
    if (e instanceof ParamsValidationError) issues.push(...e.issues);
    else if (!(e instanceof FlowValidationError)) throw e;
    // The flow's own problems are reported by the plan.
  }
  if ((def.options as { params?: unknown }).params === undefined) {
    // Without a schema the library passes params through; from the command line a param the
    // flow does not declare is a typo or a wrong flow.
    for (const name of Object.keys(input)) {
      issues.push({
        message: `Unknown param "${name}": flow "${def.options.name}" declares no params`,
        hint: "declare it in the flow's params (params: { " + name + ': { type: "string" } }), ' +
          "or leave it out",
      });
    }
  }
  return { params, issues };
}

/** Secures the state dir and finds the paths no task may be granted; 2 when it cannot. */
async function securedPaths(source: FlowSource, io: Io): Promise<ProtectedPath[] | number> {
  const { settings, policy } = source;
  // The state dir is the orchestrator's: 0700, its files 0600, never a directory all share.
  try {
    await secureStateDir(settings.stateDir);
  } catch (e) {
    if (!(e instanceof StateDirError)) throw e;
    io.stderr(`error: ${e.message}\n`);
    return 2;
  }
  return await hostPaths({
    stateDir: settings.stateDir,
    flowDir: source.baseDir,
    ...(settings.secretsFile ? { secretsFile: settings.secretsFile } : {}),
    ...(policy?.file ? { policyFile: policy.file } : {}),
    // Under `deno run` the orchestrator reads the deno.json found from its working directory;
    // a compiled binary reads none.
    ...(runsFromSource() ? { denoCwd: Deno.cwd() } : {}),
  });
}

/** Checks each task's permissions against the ceiling and the policy; its grant replaces them. */
async function checkGrants(
  graph: FlowGraph,
  source: FlowSource,
  protectedPaths: ProtectedPath[],
  io: Io,
): Promise<Map<string, PlannedTask>> {
  const { settings, policy, baseDir, ts } = source;
  // What each task requests, before it is narrowed to its grant.
  const planned = new Map<string, PlannedTask>();
  const authorizer = new Authorizer({
    flow: graph.name,
    baseDir,
    ...(graph.permissions ? { ceiling: graph.permissions } : {}),
    ...(policy ? { policy } : {}),
    protectedPaths,
    audit: new AuditLog(auditLogPath(settings.stateDir)),
    user: currentUser(io.env),
  });
  graph.issues.push(...authorizer.ceilingIssues);
  for (const node of graph.nodes) {
    planned.set(node.id, {
      ...(node.config.permissions ? { permissions: node.config.permissions } : {}),
      secrets: node.config.secrets,
      ...(node.plugin ? { plugin: { name: node.plugin.name, version: node.plugin.version } } : {}),
    });
    if (!node.config.permissions) continue;
    const { grant, issues } = authorizer.check({
      id: node.id,
      request: node.config.permissions,
      ...(node.plugin ? { plugin: { name: node.plugin.name, version: node.plugin.version } } : {}),
      ...(node.location ? { location: node.location } : {}),
    });
    // The ceiling check of the graph says the same thing less exactly: keep the model's.
    graph.issues = graph.issues.filter((i) =>
      !(i.taskId === node.id && /beyond the flow's ceiling/.test(i.message))
    );
    graph.issues.push(...issues);
    node.config = { ...node.config, permissions: grant };
  }
  // Remote code only where a task that runs in a worker is granted it (after narrowing).
  if (ts?.sandboxed) graph.issues.push(...dynamicImportIssues(ts.modules, graph));
  // Refusals are audited whether or not the command goes on to run anything.
  try {
    await authorizer.flushAudit();
  } catch (e) {
    io.stderr(`warning: cannot write the audit log: ${errorMessage(e)}\n`);
  }
  return planned;
}

/** Whether this process is `deno run` of the sources (not a compiled binary). */
function runsFromSource(): boolean {
  return /^deno(\.exe)?$/i.test(Deno.execPath().split(/[\\/]/).pop() ?? "");
}
