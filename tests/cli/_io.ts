/** A fake {@linkcode Io} for calling `main(args, io)` in tests. */

import { fileURLToPath } from "node:url";
import type { Io, StopSignal } from "../../src/cli/io.ts";
import { main } from "../../src/cli/main.ts";

/** The repository root. */
// fileURLToPath, not .pathname: a clone in a folder named "a b" or "données" must test too.
export const ROOT: string = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");

/** Captured output and a way to press Ctrl-C. */
export interface FakeIo extends Io {
  /** Everything written to stdout. */
  out: string;
  /** Everything written to stderr. */
  err: string;
  /** Simulates Ctrl-C, or another stop signal. */
  interrupt(signal?: StopSignal): void;
  /** The exit code passed to `exit`, if any. */
  exitCode?: number;
}

/** A fake io rooted at the repository (or `cwd`), not a terminal unless asked. */
export function fakeIo(options: { cwd?: string; isTerminal?: boolean } = {}): FakeIo {
  const handlers = new Set<(signal: StopSignal) => void>();
  const io: FakeIo = {
    out: "",
    err: "",
    stdout(t) {
      io.out += t;
    },
    stderr(t) {
      io.err += t;
    },
    terminal: { isTerminal: options.isTerminal ?? false, columns: 120, rows: 40 },
    cwd: options.cwd ?? ROOT,
    env: (name) => name === "NO_COLOR" ? "1" : undefined,
    onSignal(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    interrupt(signal = "SIGINT") {
      for (const h of [...handlers]) h(signal);
    },
    exit(code): never {
      io.exitCode = code;
      throw new Error(`exit(${code})`);
    },
  };
  return io;
}

/** Runs the CLI with `args` on a fresh fake terminal: the exit code and what it wrote. */
export async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = fakeIo();
  const code = await main(args, io);
  return { code, out: io.out, err: io.err };
}

/** Runs `fn` with a fresh state directory, removed afterwards. */
export async function withState<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir();
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
