/**
 * The CLI's contact with the outside world, injected so tests can call `main(args, io)`.
 *
 * @module
 */

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
 * The real process: stdio, `INIT_CWD` (set by `deno task`) or the working directory, SIGINT,
 * SIGTERM and SIGHUP.
 */
export function processIo(): Io {
  const isTerminal = Deno.stderr.isTerminal();
  let columns = 100, rows = 30;
  if (isTerminal) {
    try {
      ({ columns, rows } = Deno.consoleSize());
    } catch {
      // keep the defaults
    }
  }
  return {
    stdout: (t) => writeAll(Deno.stdout, t),
    stderr: (t) => writeQuietly(Deno.stderr, t),
    terminal: { isTerminal, columns, rows },
    cwd: Deno.env.get("INIT_CWD") || Deno.cwd(),
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
  };
}
