/**
 * Running a shell command for a task: its own process group, an environment limited to what
 * was declared, output captured and streamed line by line, and on timeout or cancellation
 * SIGTERM to the whole group, then SIGKILL after a grace period.
 *
 * @module
 */

import { OrchestraError } from "../core/errors.ts";

/** Options of {@linkcode runShell}. */
export interface ShellOptions {
  /** Working directory. */
  cwd: string;
  /** The whole environment of the command (nothing else is inherited). */
  env: Record<string, string>;
  /** Aborting it stops the command. */
  signal?: AbortSignal;
  /** Receives each line of output as it arrives. */
  onLine?: (stream: "stdout" | "stderr", line: string) => void;
  /** Time between SIGTERM and SIGKILL. @default 5000 */
  graceMs?: number;
}

/** A command exited with a non-zero code. */
export class CommandFailedError extends OrchestraError {
  /** The exit code. */
  readonly code: number;
  /** The last lines of stderr. */
  readonly stderrTail: string;
  /** Creates the error. */
  constructor(code: number, stderrTail: string) {
    super(
      `command exited with code ${code}${
        stderrTail ? `: ${stderrTail}` : " (no output on stderr)"
      }`,
    );
    this.name = "CommandFailedError";
    this.code = code;
    this.stderrTail = stderrTail;
  }
}

/** The variables passed through from the host when a command's environment is built. */
export const BASE_ENV_NAMES: readonly string[] = ["PATH", "HOME", "LANG", "TZ", "TMPDIR"];

const MAX_CAPTURE = 16 * 1024 * 1024;

async function pump(
  stream: ReadableStream<Uint8Array>,
  name: "stdout" | "stderr",
  onLine: ShellOptions["onLine"],
): Promise<string> {
  let text = "";
  let pending = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    if (text.length < MAX_CAPTURE) text += chunk;
    if (onLine) {
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const l of lines) onLine(name, l);
    }
  }
  if (onLine && pending) onLine(name, pending);
  return text;
}

function killGroup(pid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(-pid, signal); // the whole group: sh and everything it started
  } catch {
    try {
      Deno.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/**
 * Runs `command` with `sh -c` in a new session. Resolves with stdout; rejects with
 * {@linkcode CommandFailedError} on a non-zero exit, or with the signal's reason when aborted.
 *
 * @example
 * ```ts
 * import { runShell } from "./process.ts";
 * const out = await runShell("echo hello", { cwd: ".", env: { PATH: Deno.env.get("PATH")! } });
 * console.assert(out === "hello\n");
 * ```
 */
export async function runShell(command: string, options: ShellOptions): Promise<string> {
  const { signal } = options;
  signal?.throwIfAborted();
  // setsid puts sh in its own process group, so a timeout can stop what it started too.
  const useSetsid = Deno.build.os === "linux";
  const child = new Deno.Command(useSetsid ? "setsid" : "sh", {
    args: useSetsid ? ["sh", "-c", command] : ["-c", command],
    cwd: options.cwd,
    env: options.env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  const onAbort = () => {
    killGroup(child.pid, "SIGTERM");
    killTimer = setTimeout(() => killGroup(child.pid, "SIGKILL"), options.graceMs ?? 5000);
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const [stdout, stderr, status] = await Promise.all([
      pump(child.stdout, "stdout", options.onLine),
      pump(child.stderr, "stderr", options.onLine),
      child.status,
    ]);
    if (signal?.aborted) throw signal.reason;
    if (status.code !== 0) {
      const tail = stderr.trimEnd().split("\n").slice(-5).join("\n").slice(-2000);
      throw new CommandFailedError(status.code, tail);
    }
    return stdout;
  } finally {
    signal?.removeEventListener("abort", onAbort);
    if (killTimer !== undefined) clearTimeout(killTimer);
  }
}

/** How many lines of a command's output go to its task's log. */
export const LOGGED_LINES = 200;

/**
 * An `onLine` that logs a command's output lines into a task's log, the first
 * {@linkcode LOGGED_LINES} of them, then says that more was not logged.
 */
export function logOutputLines(
  log: { info(message: string, props?: Record<string, unknown>): void },
): NonNullable<ShellOptions["onLine"]> {
  let lines = 0;
  return (stream, line) => {
    if (++lines <= LOGGED_LINES) log.info(line, { stream });
    else if (lines === LOGGED_LINES + 1) log.info("(more output not logged)", { stream });
  };
}

/** A command's result: stdout trimmed, parsed as JSON when it parses, else the text; empty → null. */
export function parseOutput(stdout: string): unknown {
  const text = stdout.trim();
  if (text === "") return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
