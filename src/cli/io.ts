/**
 * The CLI's contact with the outside world, injected so tests can call `main(args, io)`.
 *
 * @module
 */

import { workerOptionsAvailable } from "./worker_options.ts";

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
  /** Calls `handler` on each Ctrl-C until the returned function is called. */
  onInterrupt(handler: () => void): () => void;
  /** Ends the process at once (the second Ctrl-C). */
  exit(code: number): never;
  /**
   * Whether tasks can run in permission-scoped workers here (Deno's worker options); asked
   * before a command that loads flows or plugins. @default always yes
   */
  workerOptions?(): Promise<boolean>;
}

const encoder = new TextEncoder();

function writeAll(file: { writeSync(p: Uint8Array): number }, text: string): void {
  let bytes = encoder.encode(text);
  while (bytes.length) bytes = bytes.subarray(file.writeSync(bytes));
}

/** The real process: stdio, `INIT_CWD` (set by `deno task`) or the working directory, SIGINT. */
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
    stderr: (t) => writeAll(Deno.stderr, t),
    terminal: { isTerminal, columns, rows },
    cwd: Deno.env.get("INIT_CWD") || Deno.cwd(),
    env: (name) => Deno.env.get(name),
    onInterrupt(handler) {
      Deno.addSignalListener("SIGINT", handler);
      return () => Deno.removeSignalListener("SIGINT", handler);
    },
    exit: (code) => Deno.exit(code),
    workerOptions: () => workerOptionsAvailable(new URL("../../main.ts", import.meta.url).href),
  };
}
