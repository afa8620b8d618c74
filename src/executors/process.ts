/**
 * Running a shell command for a task: its own process group, an environment limited to what
 * was declared, output captured and streamed line by line, and on timeout or cancellation
 * SIGTERM to the whole group, then SIGKILL after a grace period.
 *
 * @module
 */

import { OrchestraError } from "../core/errors.ts";
import { type ProcessGroups, processGroups } from "./process_registry.ts";

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
  /** Time between SIGTERM and SIGKILL. @default processSettings().graceMs (5000) */
  graceMs?: number;
  /**
   * The most bytes of stdout kept (the task's result); a command that prints more fails with
   * {@linkcode OutputLimitError}. @default processSettings().maxOutput (16 MiB)
   */
  maxOutput?: number;
  /** The run and task the command belongs to: its process group is recorded under them. */
  owner?: { runId: string; taskId: string };
  /** The registry its process group joins. @default processGroups */
  groups?: ProcessGroups;
}

/** The settings of every command a task runs, as the host configured them. */
export interface ProcessSettings {
  /** The most bytes of stdout kept (the `maxOutput` setting). */
  maxOutput: number;
  /** Time between SIGTERM and SIGKILL when a command is stopped. */
  graceMs: number;
}

/** 16 MiB: the default of the `maxOutput` setting. */
export const DEFAULT_MAX_OUTPUT: number = 16 * 1024 * 1024;

const settings: ProcessSettings = { maxOutput: DEFAULT_MAX_OUTPUT, graceMs: 5000 };

/**
 * Sets the defaults of {@linkcode runShell} for this process (the CLI passes the `maxOutput`
 * setting here), and returns the settings now in force.
 *
 * @example
 * ```ts
 * import { configureProcesses, DEFAULT_MAX_OUTPUT } from "./process.ts";
 * console.assert(configureProcesses({}).maxOutput === DEFAULT_MAX_OUTPUT);
 * ```
 */
export function configureProcesses(change: Partial<ProcessSettings>): ProcessSettings {
  if (change.maxOutput !== undefined) settings.maxOutput = change.maxOutput;
  if (change.graceMs !== undefined) settings.graceMs = change.graceMs;
  return { ...settings };
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

/**
 * A command printed more than the `maxOutput` limit on stdout: it was stopped rather than its
 * result cut short.
 *
 * @example
 * ```ts
 * import { OutputLimitError } from "./process.ts";
 * const err = new OutputLimitError(1024);
 * console.assert(err.message.includes("1 KiB") && err.message.includes("--max-output"));
 * ```
 */
export class OutputLimitError extends OrchestraError {
  /** The limit, in bytes. */
  readonly limit: number;
  /** Creates the error. */
  constructor(limit: number) {
    super(
      `the command printed more than ${formatBytes(limit)} on stdout, the maxOutput limit, so ` +
        `it was stopped rather than have its result cut short; raise the limit (maxOutput in ` +
        `orchestra.yaml, ORCHESTRA_MAX_OUTPUT or --max-output, e.g. 64MiB), or write large ` +
        `results to a file and print its path`,
    );
    this.name = "OutputLimitError";
    this.limit = limit;
  }
}

/** `16 MiB`, `512 KiB`, `100 bytes`. */
export function formatBytes(n: number): string {
  for (const [unit, size] of [["GiB", 2 ** 30], ["MiB", 2 ** 20], ["KiB", 2 ** 10]] as const) {
    if (n >= size && n % (size / 1024) === 0) {
      return `${Number((n / size).toFixed(2))} ${unit}`;
    }
  }
  return `${n} bytes`;
}

/** The variables passed through from the host when a command's environment is built. */
export const BASE_ENV_NAMES: readonly string[] = ["PATH", "HOME", "LANG", "TZ", "TMPDIR"];

/** What `sh` runs first: wait for the go-ahead, then become the command (stdin: nothing). */
const GATE = 'read -r go || exit 125; exec sh -c "$1" </dev/null';

// Only the end of stderr is used (in the error of a failed command): keep that much.
const STDERR_TAIL = 64 * 1024;
// A line longer than this is logged in pieces rather than held whole.
const MAX_LINE = 64 * 1024;

/** Reads a stream to its end (or until cancelled): the text kept, and whether it overflowed. */
async function pump(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  name: "stdout" | "stderr",
  options: { onLine: ShellOptions["onLine"]; keep: number; tail: boolean; overflow(): void },
): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  let bytes = 0;
  let full = false;
  let pending = "";
  for (;;) {
    let chunk: Uint8Array | undefined;
    try {
      const r = await reader.read();
      if (r.done) break;
      chunk = r.value;
    } catch {
      break; // cancelled: the command is gone but something it started kept the pipe
    }
    const part = decoder.decode(chunk, { stream: true });
    bytes += chunk.length;
    if (options.tail) {
      text = (text + part).slice(-STDERR_TAIL);
    } else if (!full) {
      if (bytes > options.keep) {
        full = true;
        options.overflow();
      } else text += part;
    }
    if (options.onLine) {
      pending += part;
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const l of lines) options.onLine(name, l);
      if (pending.length > MAX_LINE) {
        options.onLine(name, pending);
        pending = "";
      }
    }
  }
  const rest = decoder.decode();
  if (!full) text += rest;
  pending += rest;
  if (options.onLine && pending) options.onLine(name, pending);
  return text;
}

/**
 * Runs `command` with `sh -c` in a new session (its own process group). Resolves with stdout;
 * rejects with {@linkcode CommandFailedError} on a non-zero exit, with
 * {@linkcode OutputLimitError} when stdout passes `maxOutput`, or with the signal's reason
 * when aborted. It settles only once no process of its group is left: on abort (or overflow)
 * the group gets SIGTERM, then SIGKILL after `graceMs`; what the command left running when it
 * exited is stopped the same way. While it runs, the group is in `groups` (the supervisor
 * stops it should this process die).
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
  const groups = options.groups ?? processGroups;
  const graceMs = options.graceMs ?? settings.graceMs;
  // setsid puts sh in its own process group, so a timeout can stop what it started too. The
  // shell waits for a line on stdin before it becomes the command: the group is watched and
  // recorded first, so a crash at any moment leaves no group that nobody knows of.
  const useSetsid = Deno.build.os === "linux";
  const child = new Deno.Command(useSetsid ? "setsid" : "sh", {
    args: [...(useSetsid ? ["sh"] : []), "-c", GATE, "sh", command],
    cwd: options.cwd,
    env: options.env,
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const group = groups.add(child.pid, {
    graceMs,
    ...(options.owner ? { owner: options.owner } : {}),
  });
  const gate = child.stdin.getWriter();
  void group.known.then(async () => {
    // Aborted meanwhile: end of file instead of the line, and the command never starts.
    if (!signal?.aborted) await gate.write(new TextEncoder().encode("go\n"));
    await gate.close();
  }).catch(() => {});
  let overflowed = false;
  const stop = () => void groups.stop(group);
  signal?.addEventListener("abort", stop, { once: true });
  const out = child.stdout.getReader();
  const err = child.stderr.getReader();
  const stdout = pump(out, "stdout", {
    onLine: options.onLine,
    keep: options.maxOutput ?? settings.maxOutput,
    tail: false,
    overflow: () => {
      overflowed = true;
      stop();
    },
  });
  const stderr = pump(err, "stderr", {
    onLine: options.onLine,
    keep: 0,
    tail: true,
    overflow: () => {},
  });
  try {
    const status = await child.status;
    // The shell is gone; whatever it left running in its group goes too.
    await groups.stopLeftovers(group);
    await groups.stopped(group);
    // The group is gone: a process that left it (a daemon) may still hold the pipes.
    const drained = await Promise.race([
      Promise.all([stdout, stderr]),
      new Promise<undefined>((r) => setTimeout(r, 1000, undefined)),
    ]);
    if (drained === undefined) {
      await Promise.all([out.cancel(), err.cancel()]).catch(() => {});
    }
    const [text, errText] = drained ?? await Promise.all([stdout, stderr]);
    if (overflowed) throw new OutputLimitError(options.maxOutput ?? settings.maxOutput);
    if (signal?.aborted) throw signal.reason;
    if (status.code !== 0) {
      const tail = errText.trimEnd().split("\n").slice(-5).join("\n").slice(-2000);
      throw new CommandFailedError(status.code, tail);
    }
    return text;
  } finally {
    signal?.removeEventListener("abort", stop);
    await groups.remove(group);
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
