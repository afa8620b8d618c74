/** Helpers of the remote worker tests: `orchestra worker` processes and flows for them. */

import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT } from "../cli/_io.ts";

/** A running `orchestra worker` process. */
export interface WorkerProcess {
  /** Its process. */
  child: Deno.ChildProcess;
  /** Its pid. */
  pid: number;
  /** What it printed on stderr so far. */
  err(): string;
  /** Resolves with its exit code once it ended. */
  exited: Promise<number>;
  /** Kills it with `signal` (if still running). */
  kill(signal: Deno.Signal): void;
}

/**
 * Starts `orchestra worker --store URL …`; resolves once it is claiming. The lease is long by
 * default: on a loaded machine a worker's heartbeat may be late, and a lapsed lease gives its
 * task to another worker (correct, but not what most tests look at).
 */
export async function startWorker(
  url: string,
  args: string[] = [],
  lease: { heartbeatMs: number; leaseMs: number } = { heartbeatMs: 500, leaseMs: 5000 },
): Promise<WorkerProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--no-prompt",
      "--unstable-worker-options",
      join(ROOT, "main.ts"),
      "worker",
      "--store",
      url,
      "--heartbeat",
      String(lease.heartbeatMs),
      "--lease-timeout",
      String(lease.leaseMs),
      ...args,
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let text = "";
  let ended = false;
  let ready: () => void = () => {};
  const isReady = new Promise<void>((r) => (ready = r));
  const reading = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) {
      text += decoder.decode(chunk, { stream: true });
      if (/orchestra worker \S+ on /.test(text)) ready();
    }
  })();
  const exited = child.status.then(async (s) => {
    ended = true;
    await reading;
    ready();
    return s.code;
  });
  await isReady;
  if (ended && !/orchestra worker \S+ on /.test(text)) {
    throw new Error(`orchestra worker did not start:\n${text}`);
  }
  return {
    child,
    pid: child.pid,
    err: () => text,
    exited,
    kill(signal) {
      if (!ended) {
        try {
          child.kill(signal);
        } catch { /* it ended */ }
      }
    },
  };
}

/** Stops workers by SIGKILL and waits for them (clean-up). */
export async function killAll(workers: WorkerProcess[]): Promise<void> {
  for (const w of workers) w.kill("SIGKILL");
  await Promise.all(workers.map((w) => w.exited));
}

/** The repository's `mod.ts`, for flow fixtures outside it. */
export const MOD_URL: string = pathToFileURL(join(ROOT, "mod.ts")).href;

/** Polls `check` every 50 ms until it holds (bounded: throws after `ms`). */
export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  ms = 30_000,
): Promise<void> {
  const end = Date.now() + ms;
  while (!await check()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
