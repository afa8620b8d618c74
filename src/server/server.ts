/**
 * `orchestra serve` put together: the flows (catalog, watched), their runners, the runs, the
 * schedules, the HTTP API; a lease in the state store so that one server at a time acts as
 * this server (and resumes what the previous one left); and a stop that drains.
 *
 * @module
 */

import { OrchestraError } from "../core/errors.ts";
import type { Store } from "../store/store.ts";
import { type ApiContext } from "./api_context.ts";
import { createApp } from "./app.ts";
import { Catalog, type CatalogEntry } from "./catalog.ts";
import { Metrics } from "./metrics.ts";
import { RunnerPool } from "./runner_pool.ts";
import type { FlowInfo } from "./runner_protocol.ts";
import { RunService } from "./run_service.ts";
import { Scheduler, type SchedulerClock } from "./scheduler.ts";
import type { TokenEntry, WebhookEntry } from "./tokens.ts";

/** Log lines of the server. */
export type ServeLog = (
  level: "debug" | "info" | "warning" | "error",
  message: string,
  props?: Record<string, unknown>,
) => void;

/** What {@linkcode ServeServer} needs. */
export interface ServeOptions {
  /** The files and folders to serve, absolute. */
  roots: string[];
  /** The address to listen on. */
  hostname: string;
  /** The port (0: any free one). */
  port: number;
  /** The state store, open; the server closes it when it stops. */
  store: Store;
  /** The command line of a runner for a folder. */
  runner(folder: string): { cmd: string; args: string[]; env?: Record<string, string> };
  /** This server's identity in the store (its runs, its lease). */
  serverId: string;
  /** API tokens; none: open on loopback only. */
  tokens: readonly TokenEntry[];
  /** Webhook secrets by flow. */
  webhooks: Record<string, WebhookEntry>;
  /** A secret's value. */
  secret(name: string): string | undefined;
  /** Log lines. */
  log: ServeLog;
  /** A runner's output line (its JSON logs). */
  output?(line: string): void;
  /** The clock of the schedules. */
  clock?: SchedulerClock;
  /** How long the lease lasts without renewal, in ms. @default 15000 */
  leaseMs?: number;
  /** The largest request body, in bytes. @default 1048576 */
  maxBodyBytes?: number;
  /** Whether files are watched. @default true */
  watch?: boolean;
}

const LEASE_SCOPE = "serve.lease";

/** Another live server acts as this one (same state store and identity). */
export class ServeLeaseError extends OrchestraError {
  /** Creates the error. */
  constructor(serverId: string, holder: { pid: number; host: string; since: string }) {
    super(
      `Another orchestra serve runs as "${serverId}" (process ${holder.pid} on host ` +
        `"${holder.host}" since ${holder.since}); stop it first, or give this one its own ` +
        `--state-dir`,
    );
    this.name = "ServeLeaseError";
  }
}

/** A running server. */
export class ServeServer {
  readonly metrics = new Metrics();
  readonly pool: RunnerPool;
  readonly runs: RunService;
  readonly catalog: Catalog;
  readonly scheduler: Scheduler;
  readonly #o: ServeOptions;
  #http: Deno.HttpServer<Deno.NetAddr> | undefined;
  #schedulesLoaded = false;
  #lease: ReturnType<typeof setInterval> | undefined;
  #stopping: Promise<string[]> | undefined;

  /** Wires the parts; {@linkcode start} starts them. */
  constructor(options: ServeOptions) {
    this.#o = options;
    const log = (level: "info" | "warning", message: string, props: Record<string, unknown>) =>
      options.log(level, message, props);
    this.pool = new RunnerPool({
      command: options.runner,
      onNotice: (n) => this.runs.onNotice(n),
      onOutput: (line) => options.output?.(line),
      onExit: (folder, code, runs) => {
        log("warning", "The runner of {folder} ended (exit {code}) with runs going: {runs}", {
          folder,
          code,
          runs,
        });
        this.runs.onRunnerExit(runs);
      },
    });
    this.runs = new RunService({
      store: options.store,
      pool: this.pool,
      metrics: this.metrics,
      serverId: options.serverId,
      log,
      onEnded: (runId) => this.scheduler.runEnded(runId),
    });
    this.catalog = new Catalog({
      roots: options.roots,
      describe: async (file, folder) => {
        const reply = await this.pool.request(folder, { op: "describe", file });
        if (!reply.ok) throw new Error(reply.error);
        return reply.flows ?? [] as FlowInfo[];
      },
      retire: (inside) => this.pool.retire(inside),
      onChange: (entries) => this.#schedulesChanged(entries),
      warn: (message, props) => log("warning", message, props),
    });
    this.scheduler = new Scheduler({
      store: options.store,
      metrics: this.metrics,
      ...(options.clock ? { clock: options.clock } : {}),
      log,
      isRunning: (runId) => this.runs.isRunning(runId),
      cancel: (runId) => this.runs.cancel(runId),
      start: async (schedule, tick, manual) => {
        const entry = this.catalog.get(schedule.flow);
        if (!entry) return { error: `flow "${schedule.flow}" is no longer served` };
        const r = await this.runs.start(entry, { ...schedule.params }, {
          kind: "schedule",
          schedule: schedule.id,
          tick: tick.toISOString(),
          ...(manual ? { by: "trigger" } : {}),
        });
        return "runId" in r ? r : { error: r.error };
      },
    });
  }

  /** The address it listens on (once started). */
  get addr(): Deno.NetAddr {
    if (!this.#http) throw new Error("The server is not started");
    return this.#http.addr;
  }

  /** The API's view of the server. */
  get api(): ApiContext {
    const { store } = this.#o;
    return {
      store,
      catalog: this.catalog,
      runs: this.runs,
      scheduler: this.scheduler,
      metrics: this.metrics,
      webhooks: this.#o.webhooks,
      secret: this.#o.secret,
      ready: async () => {
        const checks: Record<string, string> = {};
        try {
          await store.listRuns({ limit: 1 });
          checks.store = "ok";
        } catch (e) {
          checks.store = `cannot read the state store: ${e instanceof Error ? e.message : e}`;
        }
        checks.schedules = this.#schedulesLoaded ? "ok" : "loading";
        checks.draining = this.runs.draining ? "the server is stopping" : "no";
        const ok = checks.store === "ok" && this.#schedulesLoaded && !this.runs.draining;
        return { ok, checks };
      },
    };
  }

  /**
   * Takes the lease, reads the flows, arms the schedules (catching up missed ticks), resumes
   * the runs the previous server left interrupted, and listens.
   */
  async start(): Promise<void> {
    await this.#takeLease();
    this.#http = Deno.serve(
      {
        hostname: this.#o.hostname,
        port: this.#o.port,
        onListen: () => {},
      },
      createApp(this.api, {
        tokens: this.#o.tokens,
        ...(this.#o.maxBodyBytes ? { maxBodyBytes: this.#o.maxBodyBytes } : {}),
        onError: (e, path) =>
          this.#o.log("error", "{path}: {error}", {
            path,
            error: e instanceof Error ? e.stack : e,
          }),
      }).fetch,
    );
    await this.catalog.load();
    await this.scheduler.idle();
    this.#schedulesLoaded = true;
    const resumed = await this.runs.resumeInterrupted();
    if (resumed.length) {
      this.#o.log("info", "Resumed {count} runs the previous server left: {runs}", {
        count: resumed.length,
        runs: resumed,
      });
    }
    if (this.#o.watch !== false) this.catalog.watch();
  }

  /**
   * Stops: no new runs (503), running ones get `graceMs` to end, then they stop and stay
   * recorded as running, owned by this server, to be resumed by the next one. Resolves with
   * the runs that were interrupted.
   */
  stop(graceMs = 30_000): Promise<string[]> {
    this.#stopping ??= (async () => {
      this.scheduler.stop();
      this.catalog.close();
      const interrupted = await this.runs.drain(graceMs);
      await this.#http?.shutdown();
      clearInterval(this.#lease);
      await this.#o.store.stateDelete(LEASE_SCOPE, this.#o.serverId).catch(() => {});
      await this.#o.store.close();
      return interrupted;
    })();
    return this.#stopping;
  }

  #schedulesChanged(entries: readonly CatalogEntry[]): void {
    this.scheduler.sync(entries.flatMap((e) => e.schedules)).catch((e) =>
      this.#o.log("error", "Cannot arm the schedules: {error}", { error: String(e) })
    );
  }

  /** One server acts as `serverId` at a time: a lease in the store, renewed while it runs. */
  async #takeLease(): Promise<void> {
    const { store, serverId } = this.#o;
    const ttl = this.#o.leaseMs ?? 15_000;
    const holder = { pid: Deno.pid, host: Deno.hostname(), since: new Date().toISOString() };
    let firstExpiry: number | undefined;
    for (;;) {
      const now = Date.now();
      const there = await store.statePutNew(LEASE_SCOPE, serverId, holder, {
        expiresAt: now + ttl,
        now,
      });
      if (!there) break;
      const h = there.value as typeof holder;
      const expiry = there.expiresAt ?? now;
      if (firstExpiry !== undefined && expiry > firstExpiry) {
        // Renewed while this one waited: that server is alive.
        throw new ServeLeaseError(serverId, h);
      }
      if (firstExpiry === undefined) {
        firstExpiry = expiry;
        this.#o.log(
          "warning",
          "Waiting for the lease of server {server}, held by process {pid} on {host}: it ends within {seconds} s if that server is gone",
          {
            server: serverId,
            pid: h.pid,
            host: h.host,
            seconds: Math.ceil((expiry - now) / 1000),
          },
        );
      }
      await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(20, expiry - now + 5))));
    }
    this.#lease = setInterval(() => {
      store.statePut(LEASE_SCOPE, serverId, holder, { expiresAt: Date.now() + ttl }).catch((e) =>
        this.#o.log("error", "Cannot renew the server's lease: {error}", { error: String(e) })
      );
    }, Math.max(100, ttl / 3));
  }
}
