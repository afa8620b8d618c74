/**
 * `orchestra serve-runner` (started by `orchestra serve`, not by people): runs the flows of one
 * folder, in that folder, for the server. It reads requests on stdin and answers on stdout
 * (`src/server/runner_protocol.ts`); every run goes through {@linkcode startHostRun}, as
 * `orchestra run`'s do, sharing one store and one worker pool. When stdin closes (the server is
 * gone) or the server says `interrupt`, it stops recording, stops its runs and exits: their
 * leases end with it, so they read `interrupted`, and the next server resumes them.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import { errorMessage, type ValidationIssue } from "../../core/errors.ts";
import { WorkerPool } from "../../executors/worker_pool.ts";
import { SecretValues } from "../../permissions/secret_values.ts";
import {
  encodeMessage,
  lineReader,
  type RunnerMessage,
  type RunnerReply,
  type RunnerRequest,
} from "../../server/runner_protocol.ts";
import { describeOwner } from "../../store/ownership.ts";
import type { Store } from "../../store/store.ts";
import type { Parsed } from "../args.ts";
import { startHostRun } from "../host_run.ts";
import type { Io } from "../io.ts";
import { setupLogging } from "../logging.ts";
import { commandStore } from "../open_store.ts";
import type { Prepared } from "./common.ts";
import { commandSettings, SETTINGS_OPTIONS } from "./config.ts";
import { continuationPlan, type ContinueCommand, refuseContinuing } from "./continue.ts";
import { captureTaskConsole } from "./run.ts";
import type { Continuation } from "./run_setup.ts";
import { runSecrets } from "./run_setup.ts";
import { describeFile } from "./serve_describe.ts";
import { PreparedFlows } from "./serve_prepared.ts";

/** Options of `serve-runner`: the settings the server runs under. */
export const SERVE_RUNNER_OPTIONS = { ...SETTINGS_OPTIONS } as const;

type Reply = Omit<Extract<RunnerReply, { ok: true }>, "type" | "id"> | Failure;
type Failure = { ok: false; status: number; error: string; issues?: ValidationIssue[] };

const fail = (status: number, error: string, issues?: ValidationIssue[]): Failure => ({
  ok: false,
  status,
  error,
  ...(issues ? { issues } : {}),
});

/** An API message starts with a capital, as problem documents do; the CLI's start lower case. */
const sentence = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/** The runner's state: its runs, and whether it is stopping. */
class Runner {
  readonly active = new Map<string, { controller: AbortController; done: Promise<unknown> }>();
  interrupted = false;
  /** The secrets of runs that ended; those of running runs are in {@linkcode running}. */
  readonly #ended = new SecretValues();
  readonly #running = new Set<SecretValues>();
  readonly #stop = Promise.withResolvers<undefined>();
  /** Resolves (with nothing to read) once the runner is interrupted. */
  readonly stopped: Promise<undefined> = this.#stop.promise;
  readonly flows: PreparedFlows;
  constructor(
    readonly parsed: Parsed,
    readonly io: Io,
    readonly store: Store,
    readonly pool: WorkerPool,
    readonly send: (m: RunnerMessage) => void,
  ) {
    this.flows = new PreparedFlows(parsed, io);
  }

  /** Masks a log line with every value any run of this runner was handed. */
  mask(line: string): string {
    let out = this.#ended.mask(line);
    for (const s of this.#running) out = s.mask(out);
    return out;
  }

  /** Starts a prepared run and reports its events and its end. */
  async launch(
    prepared: Prepared,
    runId: string,
    continuation?: Omit<Continuation, "store">,
  ): Promise<Reply> {
    const secrets = await runSecrets(prepared, this.io);
    if (typeof secrets === "string") return fail(409, sentence(secrets));
    const controller = new AbortController();
    const logger = getLogger(["orchestra", "serve", "run"]).with({ runId });
    this.#running.add(secrets.values);
    let started;
    try {
      started = await startHostRun(prepared, {
        store: this.store,
        secrets,
        pool: this.pool,
        io: this.io,
        logger,
        runId,
        ...(continuation ? { continuation } : {}),
        signal: controller.signal,
        // Interrupted: nothing more is recorded; once this process ends, so does the run's
        // lease, and the run reads interrupted, to be resumed by the next server.
        journal: (j) => ({ append: (e) => this.interrupted ? Promise.resolve() : j.append(e) }),
        onEvent: (event) => {
          if (!this.interrupted) this.send({ type: "event", event });
        },
      });
    } catch (e) {
      this.#retire(secrets.values);
      return fail(500, `Cannot record run "${runId}": ${errorMessage(e)}`);
    }
    if (typeof started === "string") {
      this.#retire(secrets.values);
      return fail(409, sentence(started));
    }
    const done = started.done.then(
      (record) =>
        this.send({
          type: "ended",
          runId,
          status: this.interrupted ? "interrupted" : record.status,
          ...(record.error ? { error: record.error } : {}),
        }),
      (e) => this.send({ type: "ended", runId, status: "failed", error: errorMessage(e) }),
    ).finally(() => {
      this.active.delete(runId);
      this.#retire(secrets.values);
    });
    this.active.set(runId, { controller, done });
    return { ok: true, runId };
  }

  #retire(values: SecretValues): void {
    this.#running.delete(values);
    for (const v of values.values()) this.#ended.add(v);
  }

  async handle(r: RunnerRequest): Promise<Reply> {
    if (this.interrupted && r.op !== "interrupt") return fail(503, "The server is stopping");
    switch (r.op) {
      case "describe":
        // The catalog describes a file when it appears or changes: what was prepared of it
        // before is stale.
        this.flows.forget(r.file);
        return { ok: true, flows: await describeFile(r.file, this.parsed, this.io) };
      case "start": {
        const prepared = await this.flows.prepare(r.file, r.flow, r.params);
        return "ok" in prepared ? prepared : await this.launch(prepared, r.runId);
      }
      case "cancel": {
        const run = this.active.get(r.runId);
        if (!run) return fail(404, `Run "${r.runId}" is not running here`);
        run.controller.abort(new Error("cancelled through the API"));
        return { ok: true, runId: r.runId };
      }
      case "resume":
        return await this.continue("resume", r.runId, r.runId);
      case "retry":
        return await this.continue("retry", r.runId, r.newRunId, r.from || undefined, r.params);
      case "interrupt":
        await this.interrupt();
        return { ok: true };
    }
  }

  /**
   * Resumes `runId` (then `id` is `runId`) or retries it as the new run `id`, as `orchestra
   * resume` and `orchestra retry` do: claimed before anything is read or decided, refused for
   * the same reasons, the same tasks restored.
   */
  async continue(
    command: ContinueCommand,
    runId: string,
    id: string,
    from?: string,
    params?: Record<string, unknown>,
  ): Promise<Reply> {
    const claim = await this.store.claimRun(id);
    if (claim.heldBy) {
      return fail(409, `Run "${id}" is already being run by ${describeOwner(claim.heldBy)}`);
    }
    let handedOver = false;
    try {
      const run = await this.store.getRun(runId);
      if (!run) return fail(404, `No run "${runId}"; GET /api/v1/runs lists them`);
      const refused = await refuseContinuing(command, run);
      if (refused) return fail(refused.status, sentence(refused.message));
      const tasks = await this.store.getTasks(runId);
      const chosen = continuationPlan(command, run, tasks, from);
      if ("message" in chosen) {
        return fail(chosen.status, sentence(chosen.message), [{
          message: `Unknown task "${from}"`,
          hint: `its tasks: ${tasks.map((t) => t.taskId).join(", ")}`,
        }]);
      }
      const prepared = await this.flows.prepare(
        run.flowFile!,
        run.flow,
        command === "retry" ? { ...run.params, ...params } : run.params,
      );
      if ("ok" in prepared) return prepared;
      const reply = await this.launch(prepared, id, {
        runId: id,
        restore: chosen.restore,
        resetTasks: chosen.reset,
        ...(command === "retry" ? { retryOf: { runId, kept: chosen.kept } } : {}),
      });
      handedOver = reply.ok;
      return reply;
    } finally {
      if (!handedOver) await claim.lease.release();
    }
  }

  async interrupt(): Promise<void> {
    this.interrupted = true;
    this.#stop.resolve(undefined);
    for (const run of this.active.values()) run.controller.abort(new Error("interrupted"));
    await Promise.allSettled([...this.active.values()].map((r) => r.done));
  }
}

/** Runs `orchestra serve-runner`: until stdin closes or the server says `interrupt`. */
export async function serveRunnerCommand(parsed: Parsed, io: Io): Promise<number> {
  const settings = await commandSettings(parsed, io);
  if (typeof settings === "number") return settings;
  const store = await commandStore(settings, io);
  if (typeof store === "number") return store;
  // Protocol lines hold a control character (the mark): they go out unescaped.
  const raw = io.raw ?? io;
  const out = (m: RunnerMessage) => raw.stdout(encodeMessage(m));
  const runner = new Runner(parsed, io, store, new WorkerPool({ size: settings.workers }), out);
  // Logs are JSON lines on stderr, which the server passes on; masked like a run's.
  await setupLogging({
    level: settings.logLevel as "info",
    format: "json",
    write: (line) => raw.stderr(runner.mask(line)),
  });
  const releaseConsole = captureTaskConsole();
  // The requests being answered (a runner lives as long as the server: answered ones go).
  const requests = new Set<Promise<void>>();
  const feed = lineReader<RunnerRequest>((r) => {
    const answer: Promise<void> = (async () => {
      let reply: Reply;
      try {
        reply = await runner.handle(r);
      } catch (e) {
        reply = fail(500, errorMessage(e));
      }
      out({ type: "reply", id: r.id, ...reply } as RunnerReply);
    })().finally(() => requests.delete(answer));
    requests.add(answer);
  }, () => {});
  out({ type: "ready", pid: Deno.pid });
  const reader = Deno.stdin.readable.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), runner.stopped]);
      if (!next || next.done) break;
      feed(next.value);
    }
    // stdin closed (the server is gone) or interrupted: its runs are left to the next server.
    await runner.interrupt();
    await Promise.allSettled(requests);
  } finally {
    reader.cancel().catch(() => {});
    releaseConsole();
    await runner.pool.close();
    // Closing the store ends the leases of the runs it interrupted: they read interrupted.
    await store.close();
  }
  return 0;
}
