/**
 * The CLI's contact with the outside world, injected so tests can call `main(args, io)`.
 *
 * @module
 */

import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { escapeControl } from "./view/format.ts";
import { workerOptionsAvailable } from "./worker_options.ts";

/** The signals that stop a run: Ctrl-C, `kill`, a closed terminal. */
export type StopSignal = "SIGINT" | "SIGTERM" | "SIGHUP";

/** The signals a run stops on, in the order they are listened to. */
export const STOP_SIGNALS: readonly StopSignal[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/**
 * The exit code of a command stopped by a signal: 128 + the signal's number, as a shell
 * reports a process the signal killed (130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP).
 */
export const SIGNAL_EXIT_CODES: Readonly<Record<StopSignal, number>> = {
  SIGINT: 130,
  SIGTERM: 143,
  SIGHUP: 129,
};

/** What the CLI reads from and writes to. */
export interface Io {
  /** Writes to standard output. */
  stdout(text: string): void;
  /** Writes to standard error. */
  stderr(text: string): void;
  /** Whether standard error is a terminal (live view) and its size. */
  terminal: { isTerminal: boolean; columns: number; rows: number };
  /** The directory relative paths resolve against. */
  cwd: string;
  /** Reads an environment variable. */
  env(name: string): string | undefined;
  /**
   * Calls `handler` on each SIGINT (Ctrl-C), SIGTERM or SIGHUP, with the signal's name, until
   * the returned function is called. While a handler is registered the signal does not end
   * the process.
   */
  onSignal(handler: (signal: StopSignal) => void): () => void;
  /** Ends the process at once (a second signal). */
  exit(code: number): never;
  /**
   * Whether tasks can run in permission-scoped workers here (Deno's worker options); asked
   * before a command that loads flows or plugins. @default always yes
   */
  workerOptions?(): Promise<boolean>;
  /**
   * The io underneath an {@linkcode escapingIo}: only the live view writes to it, since it
   * draws with control sequences of its own (and escapes the text it shows).
   */
  raw?: Io;
}

/**
 * The same io, with control characters in everything written shown as escapes
 * (`\u001b[31m`): a flow name, task id, error or log line cannot drive the terminal.
 * Newlines and tabs pass; JSON stays valid JSON.
 *
 * @example
 * ```ts
 * import { escapingIo, type Io } from "./io.ts";
 * let out = "";
 * const io = { stdout: (t: string) => (out += t) } as unknown as Io;
 * escapingIo(io).stdout("flow \x1b[2Jetl\n");
 * console.assert(out === "flow \\u001b[2Jetl\n");
 * ```
 */
export function escapingIo(io: Io): Io {
  if (io.raw) return io;
  return {
    ...io,
    stdout: (text) => io.stdout(escapeControl(text)),
    stderr: (text) => io.stderr(escapeControl(text)),
    raw: io,
  };
}

const encoder = new TextEncoder();

/**
 * Standard output was closed by its reader (`orchestra logs RUN | head`): the command has
 * nothing more to say to anyone and ends quietly with exit 0.
 */
export class OutputClosedError extends Error {
  /** Creates the error. */
  constructor(options?: ErrorOptions) {
    super("standard output was closed", options);
    this.name = "OutputClosedError";
  }
}

function writeAll(file: { writeSync(p: Uint8Array): number }, text: string): void {
  let bytes = encoder.encode(text);
  try {
    while (bytes.length) bytes = bytes.subarray(file.writeSync(bytes));
  } catch (e) {
    if (e instanceof Deno.errors.BrokenPipe) throw new OutputClosedError({ cause: e });
    throw e;
  }
}

function writeQuietly(file: { writeSync(p: Uint8Array): number }, text: string): void {
  try {
    writeAll(file, text);
  } catch (e) {
    // Nobody reads stderr any more: nothing to tell anyone, and the work goes on.
    if (!(e instanceof OutputClosedError)) throw e;
  }
}

/**
 * A terminal's size: what it reports, else `COLUMNS` and `LINES`, else 100 × 30. A terminal
 * may report 0 × 0 (under `script`, on some CI runners): that is no size at all.
 *
 * @example
 * ```ts
 * import { terminalSize } from "./io.ts";
 * const none = () => undefined;
 * console.assert(terminalSize({ columns: 0, rows: 0 }, none).columns === 100);
 * console.assert(terminalSize(undefined, (n) => n === "COLUMNS" ? "132" : undefined).columns === 132);
 * console.assert(terminalSize({ columns: 80, rows: 24 }, none).rows === 24);
 * ```
 */
export function terminalSize(
  reported: { columns: number; rows: number } | undefined,
  env: (name: string) => string | undefined,
): { columns: number; rows: number } {
  const pick = (value: number | undefined, variable: string, fallback: number) => {
    if (value !== undefined && Number.isInteger(value) && value > 0) return value;
    const n = Number(env(variable));
    return Number.isInteger(n) && n > 0 ? n : fallback;
  };
  return {
    columns: pick(reported?.columns, "COLUMNS", 100),
    rows: pick(reported?.rows, "LINES", 30),
  };
}

/**
 * The directory the user ran the command from. `deno task orchestra` runs `main.ts` in the
 * folder of the `deno.json` that defines the task and says where it was typed in `INIT_CWD`; but
 * `INIT_CWD` is inherited by every process below (npm sets it too), so it counts only while this
 * process runs in its entry point's folder, as under `deno task`.
 *
 * @example
 * ```ts
 * import { commandDir } from "./io.ts";
 * const main = "file:///repo/main.ts";
 * console.assert(commandDir("/repo", "/repo/examples", main) === "/repo/examples");
 * console.assert(commandDir("/work/project", "/repo", main) === "/work/project");
 * console.assert(commandDir("/work/project", undefined, main) === "/work/project");
 * ```
 */
export function commandDir(cwd: string, initCwd: string | undefined, mainModule: string): string {
  if (!initCwd || !mainModule.startsWith("file:")) return cwd;
  return dirname(fileURLToPath(mainModule)) === cwd ? initCwd : cwd;
}

/**
 * The real process: stdio, the command's directory (see `commandDir`), SIGINT, SIGTERM and
 * SIGHUP.
 */
export function processIo(): Io {
  const isTerminal = Deno.stderr.isTerminal();
  let reported: { columns: number; rows: number } | undefined;
  if (isTerminal) {
    try {
      reported = Deno.consoleSize();
    } catch {
      // no size: the variables or the defaults
    }
  }
  const { columns, rows } = terminalSize(reported, (name) => Deno.env.get(name));
  return {
    stdout: (t) => writeAll(Deno.stdout, t),
    stderr: (t) => writeQuietly(Deno.stderr, t),
    terminal: { isTerminal, columns, rows },
    cwd: commandDir(Deno.cwd(), Deno.env.get("INIT_CWD"), Deno.mainModule),
    env: (name) => Deno.env.get(name),
    onSignal(handler) {
      const listeners: [StopSignal, () => void][] = [];
      for (const signal of STOP_SIGNALS) {
        const listener = () => handler(signal);
        try {
          Deno.addSignalListener(signal, listener);
          listeners.push([signal, listener]);
        } catch {
          // not a signal of this OS (Windows has only SIGINT and SIGBREAK)
        }
      }
      return () => {
        for (const [signal, listener] of listeners) Deno.removeSignalListener(signal, listener);
      };
    },
    exit: (code) => Deno.exit(code),
    workerOptions: () => workerOptionsAvailable(new URL("../../main.ts", import.meta.url).href),
  };
}
