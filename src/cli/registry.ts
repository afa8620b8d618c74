/**
 * Every command of the CLI in one table: how its command line is parsed, its help, what it
 * runs, and what completions need (subcommands, operands). `main` dispatches from it, the
 * `completions` command generates scripts from it, and a test compares each command's help with
 * its options.
 *
 * @module
 */

import { didYouMean } from "../core/suggest.ts";
import type { Parsed } from "./args.ts";
import { AUDIT_OPTIONS, auditCommand } from "./commands/audit.ts";
import { CACHE_OPTIONS, cacheCommand } from "./commands/cache.ts";
import {
  type CompletedCommand,
  COMPLETIONS_OPTIONS,
  completionsCommand,
} from "./commands/completions.ts";
import { CONFIG_OPTIONS, configCommand } from "./commands/config.ts";
import { INIT_OPTIONS, initCommand } from "./commands/init.ts";
import {
  describeCommand,
  GRAPH_OPTIONS,
  graphCommand,
  INSPECT_OPTIONS,
  validateCommand,
} from "./commands/inspect.ts";
import { PLUGINS_OPTIONS, pluginsCommand } from "./commands/plugins.ts";
import { RUN_OPTIONS, runCommand } from "./commands/run.ts";
import {
  cancelCommand,
  LOGS_OPTIONS,
  logsCommand,
  RESUME_OPTIONS,
  resumeCommand,
  RETRY_OPTIONS,
  retryCommand,
  RUN_ID_OPTIONS,
  RUNS_OPTIONS,
  runsCommand,
  statusCommand,
} from "./commands/runs.ts";
import { SCHEDULES_OPTIONS, schedulesCommand } from "./commands/schedules.ts";
import { SCHEMA_OPTIONS, schemaCommand } from "./commands/schema.ts";
import { SERVE_OPTIONS, serveCommand } from "./commands/serve.ts";
import { SERVE_RUNNER_OPTIONS, serveRunnerCommand } from "./commands/serve_runner.ts";
import { SECRET_OPTIONS, secretCommand } from "./commands/secret.ts";
import { STORE_OPTIONS, storeCommand } from "./commands/store.ts";
import { COMMAND_HELP, MAIN_HELP } from "./help.ts";
import type { Io } from "./io.ts";

/** One command of the CLI. */
export interface CommandSpec extends CompletedCommand {
  /** Runs it; resolves with the exit code. */
  run(parsed: Parsed, io: Io): Promise<number>;
  /** It loads flows or plugins, which run in permission-scoped workers: it needs worker options. */
  workers?: boolean;
}

function spec(
  name: string,
  summary: string,
  options: CompletedCommand["options"],
  run: CommandSpec["run"],
  more: Partial<CommandSpec> = {},
): CommandSpec {
  return { summary, options, run, help: COMMAND_HELP[name], ...more };
}

const flowCommand = { workers: true, operand: "file" } as const;

/** `orchestra help [COMMAND]`. */
function helpCommand(parsed: Parsed, io: Io): Promise<number> {
  const [topic, extra] = parsed.positionals;
  if (extra !== undefined) {
    io.stderr(`error: unexpected argument "${extra}"\nUsage: orchestra help [COMMAND]\n`);
    return Promise.resolve(2);
  }
  if (topic === undefined) {
    io.stdout(MAIN_HELP);
    return Promise.resolve(0);
  }
  const command = COMMANDS[topic];
  if (!command) {
    io.stderr(`error: unknown command "${topic}"${didYouMean(topic, Object.keys(COMMANDS))}\n`);
    return Promise.resolve(2);
  }
  io.stdout(command.help);
  return Promise.resolve(0);
}

/** Every command, in the order the main help lists them. */
export const COMMANDS: Readonly<Record<string, CommandSpec>> = {
  init: spec("init", "Write a starter flow that runs at once", INIT_OPTIONS, initCommand),
  run: spec("run", "Run a flow, with a live view of its tasks", RUN_OPTIONS, runCommand, {
    ...flowCommand,
    hidden: ["run-id"],
  }),
  validate: spec(
    "validate",
    "Check a flow without running it",
    INSPECT_OPTIONS,
    validateCommand,
    flowCommand,
  ),
  describe: spec(
    "describe",
    "Show a flow's tasks, dependencies, executors and permissions",
    INSPECT_OPTIONS,
    describeCommand,
    flowCommand,
  ),
  graph: spec("graph", "Print a flow's graph", GRAPH_OPTIONS, graphCommand, flowCommand),
  runs: spec("runs", "List recorded runs", RUNS_OPTIONS, runsCommand, {
    subcommands: ["prune"],
  }),
  status: spec("status", "Show a run's tasks and timings", RUN_ID_OPTIONS, statusCommand),
  logs: spec("logs", "Print what a run's tasks logged", LOGS_OPTIONS, logsCommand),
  cancel: spec(
    "cancel",
    "Stop a run (an interrupted one is marked cancelled)",
    RUN_ID_OPTIONS,
    cancelCommand,
  ),
  resume: spec("resume", "Run again what did not succeed", RESUME_OPTIONS, resumeCommand, {
    workers: true,
  }),
  retry: spec("retry", "Run it again as a new run linked to it", RETRY_OPTIONS, retryCommand, {
    workers: true,
  }),
  cache: spec(
    "cache",
    "Remove cached task results and authorization decisions",
    CACHE_OPTIONS,
    cacheCommand,
    {
      subcommands: ["clear"],
    },
  ),
  store: spec(
    "store",
    "Migrate a PostgreSQL store, or copy a SQLite history into it",
    STORE_OPTIONS,
    storeCommand,
    { subcommands: ["migrate", "copy"] },
  ),
  plugins: spec(
    "plugins",
    "List, show, scaffold or re-pin plugins",
    PLUGINS_OPTIONS,
    pluginsCommand,
    {
      workers: true,
      subcommands: ["list", "info", "new", "update"],
    },
  ),
  schema: spec("schema", "Print the JSON Schema of YAML flow files", SCHEMA_OPTIONS, schemaCommand),
  config: spec("config", "Show the effective settings", CONFIG_OPTIONS, configCommand),
  audit: spec(
    "audit",
    "Show the permission decisions in the audit log",
    AUDIT_OPTIONS,
    auditCommand,
  ),
  secret: spec("secret", "Encrypt a param value", SECRET_OPTIONS, secretCommand, {
    subcommands: ["encrypt"],
  }),
  serve: spec(
    "serve",
    "Serve flows: schedules, an HTTP API, webhooks, metrics",
    SERVE_OPTIONS,
    serveCommand,
    { workers: true, operand: "file", subcommands: ["token"] },
  ),
  schedules: spec(
    "schedules",
    "List the schedules of flows with their next times",
    SCHEDULES_OPTIONS,
    schedulesCommand,
    { workers: true, operand: "file" },
  ),
  completions: spec(
    "completions",
    "Print a completion script for bash, zsh or fish",
    COMPLETIONS_OPTIONS,
    (parsed, io) => completionsCommand(parsed, io, COMMANDS),
    { operand: "shell" },
  ),
  help: spec("help", "Show help for a command", {}, helpCommand, { operand: "command" }),
};

/**
 * Commands no one types: dispatched like the others, never listed in the help or completed.
 * `serve-runner` is started by `orchestra serve`, one per flow folder.
 */
export const HIDDEN_COMMANDS: Readonly<Record<string, CommandSpec>> = {
  "serve-runner": {
    summary: "Run the flows of one folder for orchestra serve",
    options: SERVE_RUNNER_OPTIONS,
    run: serveRunnerCommand,
    help: "orchestra serve-runner is started by orchestra serve; it is not run by hand.\n",
    workers: true,
  },
};
