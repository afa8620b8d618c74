/**
 * The CLI's composition root: parses the command line, dispatches to a command and returns
 * the exit code (0 success, 1 run failed, 2 bad input, 130/143/129 cancelled by SIGINT, SIGTERM
 * or SIGHUP).
 *
 * @module
 */

import denoJson from "../../deno.json" with { type: "json" };
import { errorMessage } from "../core/errors.ts";
import { didYouMean } from "../core/suggest.ts";
import { parseCommand, UsageError } from "./args.ts";
import { MAIN_HELP } from "./help.ts";
import { escapingIo, type Io, OutputClosedError, processIo } from "./io.ts";
import { COMMANDS, HIDDEN_COMMANDS } from "./registry.ts";
import { WORKER_OPTIONS_MISSING } from "./worker_options.ts";

/** The version printed by `--version`. */
export const VERSION: string = denoJson.version;

/** Whether the command line asks for debug logs (`--log-level debug`). */
function debugLevel(args: string[]): boolean {
  return args.some((a, i) =>
    a === "--log-level=debug" || (a === "--log-level" && args[i + 1] === "debug")
  );
}

/**
 * Runs the CLI with `args` (without the program name) and returns the exit code.
 *
 * @example
 * ```ts ignore
 * import { main } from "./main.ts";
 * Deno.exit(await main(["validate", "examples/etl.ts"]));
 * ```
 */
export async function main(args: string[], terminal: Io = processIo()): Promise<number> {
  // Flow names, task ids, errors and log lines are shown, never obeyed, wherever they print.
  const io = escapingIo(terminal);
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
  const command = COMMANDS[first] ?? HIDDEN_COMMANDS[first];
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
      io.stdout(command.help);
      return 0;
    }
    // Before anything is loaded or recorded: without worker options Deno would end the
    // process (exit 70) at the first worker, leaving a run "running".
    if (command.workers && io.workerOptions && !await io.workerOptions()) {
      io.stderr(`error: ${WORKER_OPTIONS_MISSING}`);
      return 2;
    }
    return await command.run(parsed, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`error: ${e.message}\nRun "orchestra ${e.command} --help" for usage.\n`);
      return 2;
    }
    // `orchestra logs RUN | head`: the reader has all it wanted.
    if (e instanceof OutputClosedError) return 0;
    // A stack trace is for whoever debugs Orchestra, not for its users.
    const debug = io.env("ORCHESTRA_DEBUG") === "1" || io.env("ORCHESTRA_LOG_LEVEL") === "debug" ||
      debugLevel(rest);
    io.stderr(
      `error: ${errorMessage(e)}\n${debug && e instanceof Error && e.stack ? e.stack + "\n" : ""}`,
    );
    return 1;
  }
}
