/**
 * The CLI's composition root: parses the command line, dispatches to a command and returns
 * the exit code (0 success, 1 run failed, 2 bad input, 130 cancelled with Ctrl-C).
 *
 * @module
 */

import denoJson from "../../deno.json" with { type: "json" };
import { errorMessage } from "../core/errors.ts";
import { didYouMean } from "../core/suggest.ts";
import { parseCommand, type Parsed, UsageError } from "./args.ts";
import {
  describeCommand,
  GRAPH_OPTIONS,
  graphCommand,
  INSPECT_OPTIONS,
  validateCommand,
} from "./commands/inspect.ts";
import { AUDIT_OPTIONS, auditCommand } from "./commands/audit.ts";
import { CACHE_OPTIONS, cacheCommand } from "./commands/cache.ts";
import { CONFIG_OPTIONS, configCommand } from "./commands/config.ts";
import { PLUGINS_OPTIONS, pluginsCommand } from "./commands/plugins.ts";
import { RUN_OPTIONS, runCommand } from "./commands/run.ts";
import {
  cancelCommand,
  logsCommand,
  RESUME_OPTIONS,
  resumeCommand,
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
import { type Io, processIo } from "./io.ts";

/** The version printed by `--version`. */
export const VERSION: string = denoJson.version;

type Command = {
  options: Parameters<typeof parseCommand>[2];
  run: (parsed: Parsed, io: Io) => Promise<number>;
};

const COMMANDS: Record<string, Command> = {
  run: { options: RUN_OPTIONS, run: runCommand },
  validate: { options: INSPECT_OPTIONS, run: validateCommand },
  describe: { options: INSPECT_OPTIONS, run: describeCommand },
  graph: { options: GRAPH_OPTIONS, run: graphCommand },
  schema: { options: SCHEMA_OPTIONS, run: schemaCommand },
  config: { options: CONFIG_OPTIONS, run: configCommand },
  audit: { options: AUDIT_OPTIONS, run: auditCommand },
  secret: { options: SECRET_OPTIONS, run: secretCommand },
  runs: { options: RUNS_OPTIONS, run: runsCommand },
  status: { options: RUN_ID_OPTIONS, run: statusCommand },
  logs: { options: RUN_ID_OPTIONS, run: logsCommand },
  cancel: { options: RUN_ID_OPTIONS, run: cancelCommand },
  resume: { options: RESUME_OPTIONS, run: resumeCommand },
  retry: { options: RESUME_OPTIONS, run: retryCommand },
  cache: { options: CACHE_OPTIONS, run: cacheCommand },
  store: { options: STORE_OPTIONS, run: storeCommand },
  plugins: { options: PLUGINS_OPTIONS, run: pluginsCommand },
  serve: { options: SERVE_OPTIONS, run: serveCommand },
  schedules: { options: SCHEDULES_OPTIONS, run: schedulesCommand },
  // Started by serve, one per flow folder; not for people (not in the help).
  "serve-runner": { options: SERVE_RUNNER_OPTIONS, run: serveRunnerCommand },
};

/**
 * Runs the CLI with `args` (without the program name) and returns the exit code.
 *
 * @example
 * ```ts ignore
 * import { main } from "./main.ts";
 * Deno.exit(await main(["validate", "examples/etl.ts"]));
 * ```
 */
export async function main(args: string[], io: Io = processIo()): Promise<number> {
  const [first, ...rest] = args;
  if (first === undefined) {
    io.stderr(MAIN_HELP);
    return 2;
  }
  if (first === "--help" || first === "-h") {
    io.stdout(MAIN_HELP);
    return 0;
  }
  if (first === "--version" || first === "-V") {
    io.stdout(`orchestra ${VERSION} (deno ${Deno.version.deno})\n`);
    return 0;
  }
  if (first === "help") {
    const topic = rest[0];
    if (topic === undefined) io.stdout(MAIN_HELP);
    else if (COMMAND_HELP[topic]) io.stdout(COMMAND_HELP[topic]);
    else {
      io.stderr(`error: unknown command "${topic}"${didYouMean(topic, Object.keys(COMMANDS))}\n`);
      return 2;
    }
    return 0;
  }
  const command = COMMANDS[first];
  if (!command) {
    io.stderr(
      `error: unknown command "${first}"${
        didYouMean(first, Object.keys(COMMANDS))
      }\nRun "orchestra --help" for the list of commands.\n`,
    );
    return 2;
  }
  try {
    const parsed = parseCommand(first, rest, command.options);
    if (parsed.values.help) {
      io.stdout(COMMAND_HELP[first]);
      return 0;
    }
    return await command.run(parsed, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`error: ${e.message}\nRun "orchestra ${e.command} --help" for usage.\n`);
      return 2;
    }
    io.stderr(`error: ${errorMessage(e)}\n${e instanceof Error && e.stack ? e.stack + "\n" : ""}`);
    return 1;
  }
}
