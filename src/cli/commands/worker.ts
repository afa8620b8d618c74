/**
 * `orchestra worker` (claim and run the tasks that runs send to remote workers, from the
 * PostgreSQL store's task queue) and `orchestra workers` (list the live ones). A worker is a
 * host: it never imports a task's module; each task runs in a task worker granted what the
 * orchestrating run authorized for it.
 *
 * @module
 */

import { maskPassword } from "../../core/connection_url.ts";
import { errorMessage } from "../../core/errors.ts";
import { WorkerPool } from "../../executors/worker_pool.ts";
import { decryptValue, SECRET_KEY_VARIABLE } from "../../permissions/encrypted.ts";
import { REMOTE_NEEDS_POSTGRES } from "../../remote/remote_executor.ts";
import { TaskQueue } from "../../remote/task_queue.ts";
import { TaskWorker } from "../../remote/task_worker.ts";
import { type Parsed, UsageError } from "../args.ts";
import type { Io } from "../io.ts";
import { renderTable } from "../render.ts";
import { storeErrorLine } from "../open_store.ts";
import { commandSettings } from "./config.ts";
import { readSecretsFile } from "./run_support.ts";

/** Options of `worker`. */
export const WORKER_OPTIONS = {
  config: { type: "string" },
  store: { type: "string" },
  concurrency: { type: "string" },
  tags: { type: "string" },
  heartbeat: { type: "string" },
  "lease-timeout": { type: "string" },
  "secrets-file": { type: "string" },
} as const;

/** Options of `workers`. */
export const WORKERS_OPTIONS = {
  config: { type: "string" },
  store: { type: "string" },
  json: { type: "boolean" },
} as const;

/** Help of `worker`. */
export const WORKER_HELP = `Usage: orchestra worker --store URL [--concurrency N] [--tags a,b]

Claim tasks that runs send to remote workers (executor: remote on a task, or run
--executor remote) from the PostgreSQL store's queue, and run each in a task worker
with exactly the permissions its run granted it. Start as many workers, on as many
machines, as you like: each claims ready tasks in batches (FOR UPDATE SKIP LOCKED) and
wakes on LISTEN/NOTIFY. Task modules are loaded from the URL the run gives (a file: path
must exist on the worker's machine too).

A claimed task holds a lease the worker renews every --heartbeat; when a worker dies,
its tasks go back to the queue once their lease lapses (--lease-timeout) and run
elsewhere; the late result of a worker presumed dead is discarded.

Ctrl-C or SIGTERM stops claiming and waits for the running tasks (a drain); a second
one stops them at once and gives them back to the queue.

Options:
      --store URL           The PostgreSQL store (postgres://user@host:port/db)
      --concurrency N       Tasks run at once at most (default: 4)
      --tags a,b            Take only tasks whose tags are all among these (a task
                            without tags goes to any worker; default: none)
      --heartbeat MS        How often leases are renewed, in ms (default: 1000)
      --lease-timeout MS    How long a lease lasts without a heartbeat, in ms
                            (default: twice the heartbeat)
      --secrets-file FILE   Secrets for the tasks that declare them (then the environment)
      --config FILE         Use this configuration file instead of searching for one
  -h, --help                Show this help

Examples:
  orchestra worker --store postgres://orchestra@db.internal:5432/orchestra
  orchestra worker --store postgres://orchestra@db.internal:5432/orchestra --tags gpu --concurrency 2
`;

/** Help of `workers`. */
export const WORKERS_HELP = `Usage: orchestra workers --store URL [--json]

List the live workers of a PostgreSQL store: their machine, tags, how many tasks each
runs now (of how many at most) and their last heartbeat.

Options:
      --store URL           The PostgreSQL store (postgres://user@host:port/db)
      --json                Print them as JSON
      --config FILE         Use this configuration file instead of searching for one
  -h, --help                Show this help
`;

function positiveInt(command: string, flag: string, raw: unknown, fallback?: number) {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    throw new UsageError(command, `--${flag} must be a whole number ≥ 1, got "${raw}"`);
  }
  return n;
}

async function storeUrl(command: string, parsed: Parsed, io: Io) {
  if (parsed.positionals.length) {
    throw new UsageError(command, `unexpected argument "${parsed.positionals[0]}"`);
  }
  const settings = await commandSettings(parsed, io);
  if (typeof settings === "number") return settings;
  if (settings.store === undefined) {
    io.stderr(
      `error: orchestra ${command}: ${REMOTE_NEEDS_POSTGRES} (or ORCHESTRA_STORE, or store: in ` +
        `orchestra.yaml)\n`,
    );
    return 2;
  }
  return settings;
}

/** Runs `orchestra worker`. */
export async function workerCommand(parsed: Parsed, io: Io): Promise<number> {
  const settings = await storeUrl("worker", parsed, io);
  if (typeof settings === "number") return settings;
  const v = parsed.values;
  const concurrency = positiveInt("worker", "concurrency", v.concurrency, 4)!;
  const heartbeatMs = positiveInt("worker", "heartbeat", v.heartbeat, 1000)!;
  const leaseMs = positiveInt("worker", "lease-timeout", v["lease-timeout"], 2 * heartbeatMs)!;
  if (leaseMs <= heartbeatMs) {
    throw new UsageError(
      "worker",
      `--lease-timeout (${leaseMs}) must be longer than --heartbeat (${heartbeatMs})`,
    );
  }
  const tags = typeof v.tags === "string"
    ? v.tags.split(",").map((t) => t.trim()).filter((t) => t !== "")
    : [];
  const file = await readSecretsFile(settings);
  if ("error" in file) {
    io.stderr(`error: ${file.error}\n`);
    return 2;
  }
  const secretKey = io.env(SECRET_KEY_VARIABLE) ?? "";
  const say = (level: "info" | "warn", message: string) =>
    io.stderr(`${level === "warn" ? "warning: " : ""}${message}\n`);
  const pool = new WorkerPool({ size: concurrency });
  const worker = new TaskWorker({
    url: settings.store!,
    concurrency,
    tags,
    heartbeatMs,
    leaseMs,
    pool,
    secret: (name) => Object.hasOwn(file.secrets, name) ? file.secrets[name] : io.env(name),
    log: say,
    ...(secretKey ? { decrypt: (value: string) => decryptValue(value, secretKey) } : {}),
  });
  let signals = 0;
  const stopSignals = io.onSignal((signal) => {
    signals++;
    if (signals === 1) {
      say("info", `${signal}: draining (${worker.running} running); again to stop at once`);
      void worker.stop();
    } else void worker.stop(true);
  });
  try {
    await worker.run(() =>
      say(
        "info",
        `orchestra worker ${worker.workerId} on ${maskPassword(settings.store!)}: concurrency ` +
          `${concurrency}, tags ${tags.length ? tags.join(",") : "none"}, heartbeat ` +
          `${heartbeatMs} ms, lease ${leaseMs} ms`,
      )
    );
    say("info", `orchestra worker stopped (${worker.completed} tasks done)`);
    return signals > 0 ? 0 : 0;
  } catch (e) {
    io.stderr(storeErrorLine(settings, e));
    return 2;
  } finally {
    stopSignals();
    await pool.close();
  }
}

/** Runs `orchestra workers`. */
export async function workersCommand(parsed: Parsed, io: Io): Promise<number> {
  const settings = await storeUrl("workers", parsed, io);
  if (typeof settings === "number") return settings;
  let queue: TaskQueue;
  try {
    queue = await TaskQueue.open(settings.store!, { maxConnections: 1 });
  } catch (e) {
    io.stderr(storeErrorLine(settings, e));
    return 2;
  }
  try {
    const [workers, depth] = [await queue.workers(), await queue.depth()];
    if (parsed.values.json) {
      io.stdout(JSON.stringify({ workers, queued: depth }, null, 2) + "\n");
      return 0;
    }
    if (workers.length === 0) {
      io.stdout(
        `No live workers (${depth} tasks queued). Start one: orchestra worker --store URL\n`,
      );
      return 0;
    }
    const now = Date.now();
    const rows = [["WORKER", "HOST", "PID", "TAGS", "RUNNING", "LAST HEARTBEAT"]];
    for (const w of workers) {
      rows.push([
        w.workerId.slice(0, 8),
        w.host,
        String(w.pid),
        w.tags.length ? w.tags.join(",") : "-",
        `${w.running}/${w.concurrency}`,
        `${((now - Date.parse(w.heartbeatAt)) / 1000).toFixed(1)}s ago`,
      ]);
    }
    io.stdout(`${renderTable(rows)}\n${depth} tasks queued\n`);
    return 0;
  } catch (e) {
    io.stderr(`error: ${errorMessage(e)}\n`);
    return 2;
  } finally {
    await queue.close();
  }
}
