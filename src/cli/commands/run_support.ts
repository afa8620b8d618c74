/**
 * The parts of running a flow from the CLI around the engine: stop signals, the secrets
 * file, recording a run that failed before its first task, and the log file of a detached
 * run.
 *
 * @module
 */

import type { Settings } from "../../config/settings.ts";
import { errorMessage } from "../../core/errors.ts";
import { processGroups } from "../../executors/process_registry.ts";
import { readBoundedTextFile } from "../../fs/read_bounded.ts";
import { parseDotenv } from "../../permissions/secrets.ts";
import type { Store } from "../../store/store.ts";
import { type Io, SIGNAL_EXIT_CODES, type StopSignal } from "../io.ts";

/** What the stop-signal handler of a run knows. */
export interface StopSignals {
  /** The exit code of the first stop signal (130, 143, 129), once one came. */
  readonly code: number | undefined;
  /** Stops listening. */
  stop(): void;
}

/**
 * Handles SIGINT, SIGTERM and SIGHUP alike during a run: the first cancels it (through
 * `controller`: no new task starts, running tasks are aborted and their processes stopped,
 * hooks run, the run is recorded as cancelled); a second exits at once, after SIGKILL to
 * every process group the run's tasks started.
 */
export function handleStopSignals(
  io: Io,
  controller: AbortController,
  say: (note: string) => void,
): StopSignals {
  let code: number | undefined;
  const stop = io.onSignal((signal: StopSignal) => {
    if (code !== undefined) {
      processGroups.killAll();
      io.exit(SIGNAL_EXIT_CODES[signal]);
    }
    code = SIGNAL_EXIT_CODES[signal];
    const name = signal === "SIGINT" ? "Ctrl-C" : signal;
    say(
      `Cancelling (${name}): stopping new work, aborting running tasks and their processes ` +
        `(${signal === "SIGINT" ? "Ctrl-C" : "a signal"} again to exit now)`,
    );
    controller.abort(new Error(`interrupted with ${name}`));
  });
  return {
    get code() {
      return code;
    },
    stop,
  };
}

/** The secrets of the secrets file, or the one line that says why it cannot be read. */
export async function readSecretsFile(
  settings: Settings,
): Promise<{ secrets: Record<string, string> } | { error: string }> {
  if (!settings.secretsFile) return { secrets: {} };
  try {
    return {
      secrets: parseDotenv(
        await readBoundedTextFile(settings.secretsFile, { what: "secrets file" }),
        settings.secretsFile,
      ),
    };
  } catch (e) {
    return { error: `cannot read the secrets file: ${errorMessage(e)}` };
  }
}

/**
 * Records that a run failed before (or without) its engine recording an end: a run never stays
 * `running` because something went wrong before its first task.
 */
export async function recordRunFailure(
  store: Store,
  runId: string,
  flow: string,
  error: string,
): Promise<void> {
  const row = await store.getRun(runId).catch(() => undefined);
  if (row !== undefined && row.status !== "running" && row.status !== "interrupted") return;
  await store.append([{
    type: "run.finished",
    runId,
    time: Date.now(),
    flow,
    status: "failed",
    error,
  }]);
}

/**
 * An Io whose stderr goes to a file (appended): the detached process has no terminal, and
 * what it would have printed is kept for `orchestra logs RUN`.
 */
export async function ioWithLogFile(io: Io, path: string): Promise<Io> {
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true, mode: 0o700 });
  const file = await Deno.open(path, { append: true, create: true, mode: 0o600 });
  const encoder = new TextEncoder();
  return {
    ...io,
    stderr(text) {
      const bytes = encoder.encode(text);
      let done = 0;
      while (done < bytes.length) done += file.writeSync(bytes.subarray(done));
    },
  };
}
