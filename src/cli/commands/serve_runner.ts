/**
 * `orchestra serve-runner` (started by `orchestra serve`, not by people): runs the flows of one
 * folder, in that folder, for the server. It reads requests on stdin and answers on stdout
 * (`src/server/runner_protocol.ts`); every run goes through {@linkcode startHostRun}, sharing
 * one store and one worker pool. When stdin closes (the server is gone) or the server says
 * `interrupt`, it stops recording, stops its runs and exits: they stay `running` in the store,
 * and the next server resumes them.
 *
 * @module
 */

import { getLogger } from "@logtape/logtape";
import {
  errorMessage,
  isError,
  ParamsValidationError,
  type ValidationIssue,
} from "../../core/errors.ts";
import type { Settings } from "../../config/settings.ts";
import { prepareParams } from "../../engine/execute.ts";
import type { RestoredTask } from "../../engine/types.ts";
import { WorkerPool } from "../../executors/worker_pool.ts";
import { SecretValues } from "../../permissions/secret_values.ts";
import {
  encodeMessage,
  lineReader,
  type RunnerMessage,
  type RunnerReply,
  type RunnerRequest,
} from "../../server/runner_protocol.ts";
import type { Store } from "../../store/store.ts";
import type { Parsed } from "../args.ts";
import { startHostRun } from "../host_run.ts";
import type { Io } from "../io.ts";
import { setupLogging } from "../logging.ts";
import { commandStore } from "../open_store.ts";
import { prepare, type Prepared } from "./common.ts";
import { commandSettings, SETTINGS_OPTIONS } from "./config.ts";
import { captureTaskConsole } from "./run.ts";
import { downstream } from "./runs.ts";
import type { Continuation } from "./run_setup.ts";
import { describeFile } from "./serve_describe.ts";

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

/** The runner's state: its runs, and whether it is stopping. */
class Runner {
  readonly active = new Map<string, { controller: AbortController; done: Promise<unknown> }>();
  interrupted = false;
  readonly shown = new SecretValues();
  readonly #stop = Promise.withResolvers<undefined>();
  /** Resolves (with nothing to read) once the runner is interrupted. */
  readonly stopped: Promise<undefined> = this.#stop.promise;
  constructor(
    readonly parsed: Parsed,
    readonly io: Io,
    readonly settings: Settings,
    readonly store: Store,
    readonly pool: WorkerPool,
    readonly send: (m: RunnerMessage) => void,
  ) {}

  /** A flow prepared to run with `params`, or why not (422 with every param problem). */
  async prepare(file: string, flow: string, params: Record<string, unknown>) {
    let err = "";
    const quiet: Io = { ...this.io, stdout: () => {}, stderr: (t) => void (err += t) };
    const values = { ...this.parsed.values, flow, param: undefined, "params-file": undefined };
    const prepared = await prepare("run", { values, positionals: [file] }, quiet, {
      params,
      allowInvalid: true,
    });
    if (typeof prepared === "number") return fail(409, err.replace(/^error: /, "").trim());
    try {
      // JSON params are taken as given: no conversion from text, unlike --param.
      prepareParams(prepared.def, params, false);
    } catch (e) {
      if (e instanceof ParamsValidationError) {
        return fail(422, `Invalid params for flow "${flow}"`, [...e.issues]);
      }
    }
    const errors = prepared.graph.issues.filter(isError);
    if (errors.length) return fail(409, `Flow "${flow}" is invalid`, errors);
    return prepared;
  }

  /** Starts a prepared run and reports its events and its end. */
  async launch(prepared: Prepared, runId: string, continuation?: Continuation): Promise<Reply> {
    const controller = new AbortController();
    const logger = getLogger(["orchestra", "serve", "run"]).with({ runId });
    const started = await startHostRun(prepared, {
      store: this.store,
      pool: this.pool,
      io: this.io,
      logger,
      runId,
      ...(continuation ? { continuation } : {}),
      signal: controller.signal,
      // Interrupted: nothing more is recorded, so the run stays running, to be resumed.
      journal: (j) => ({ append: (e) => this.interrupted ? Promise.resolve() : j.append(e) }),
      onEvent: (event) => {
        if (!this.interrupted) this.send({ type: "event", event });
      },
    });
    if (typeof started === "string") return fail(409, started);
    for (const v of started.secrets.values()) this.shown.add(v);
    const done = started.done.then(
      (record) => {
        for (const v of started.secrets.values()) this.shown.add(v);
        this.send({
          type: "ended",
          runId,
          status: this.interrupted ? "interrupted" : record.status,
          ...(record.error ? { error: record.error } : {}),
        });
      },
      (e) => this.send({ type: "ended", runId, status: "failed", error: errorMessage(e) }),
    ).finally(() => this.active.delete(runId));
    this.active.set(runId, { controller, done });
    return { ok: true, runId };
  }

  async handle(r: RunnerRequest): Promise<Reply> {
    if (this.interrupted && r.op !== "interrupt") return fail(503, "The server is stopping");
    switch (r.op) {
      case "describe":
        return { ok: true, flows: await describeFile(r.file, this.parsed, this.io) };
      case "start": {
        const prepared = await this.prepare(r.file, r.flow, r.params);
        return "ok" in prepared ? prepared : await this.launch(prepared, r.runId);
      }
      case "cancel": {
        const run = this.active.get(r.runId);
        if (!run) return fail(404, `Run "${r.runId}" is not running here`);
        run.controller.abort(new Error("cancelled through the API"));
        return { ok: true, runId: r.runId };
      }
      case "resume":
        return await this.resume(r.runId);
      case "retry":
        return await this.retry(r.runId, r.newRunId, r.from, r.params);
      case "interrupt":
        await this.interrupt();
        return { ok: true };
    }
  }

  async resume(runId: string): Promise<Reply> {
    const run = await this.store.getRun(runId);
    if (!run?.flowFile) return fail(404, `Run "${runId}" is not known, or records no flow file`);
    if (run.status === "succeeded") {
      return fail(409, `Run "${runId}" already succeeded; retry it from a task instead`);
    }
    const tasks = await this.store.getTasks(runId);
    const reset = tasks.filter((t) => t.status !== "succeeded" && t.status !== "cached");
    const restore = restoreOf(tasks, new Set(reset.map((t) => t.taskId)));
    const prepared = await this.prepare(run.flowFile, run.flow, run.params);
    if ("ok" in prepared) return prepared;
    return await this.launch(prepared, runId, {
      runId,
      restore,
      resetTasks: reset.map((t) => t.taskId),
    });
  }

  async retry(
    runId: string,
    newRunId: string,
    from: string,
    params: Record<string, unknown> | undefined,
  ): Promise<Reply> {
    const run = await this.store.getRun(runId);
    if (!run?.flowFile) return fail(404, `Run "${runId}" is not known, or records no flow file`);
    if (run.status === "running") return fail(409, `Run "${runId}" is still running`);
    const tasks = await this.store.getTasks(runId);
    let reset: Set<string>;
    if (from) {
      if (!tasks.some((t) => t.taskId === from)) {
        return fail(422, `Run "${runId}" has no task "${from}"`, [{
          message: `Unknown task "${from}"`,
          hint: `its tasks: ${tasks.map((t) => t.taskId).join(", ")}`,
        }]);
      }
      reset = downstream(tasks, from);
    } else {
      reset = new Set(
        tasks.filter((t) => t.status !== "succeeded" && t.status !== "cached").map((t) => t.taskId),
      );
    }
    const restore = restoreOf(tasks, reset);
    const prepared = await this.prepare(run.flowFile, run.flow, { ...run.params, ...params });
    if ("ok" in prepared) return prepared;
    const kept = tasks.filter((t) => restore.has(t.taskId));
    return await this.launch(prepared, newRunId, {
      runId: newRunId,
      restore,
      resetTasks: [],
      retryOf: { runId, kept },
    });
  }

  async interrupt(): Promise<void> {
    this.interrupted = true;
    this.#stop.resolve(undefined);
    for (const run of this.active.values()) run.controller.abort(new Error("interrupted"));
    await Promise.allSettled([...this.active.values()].map((r) => r.done));
  }
}

function restoreOf(
  tasks: Awaited<ReturnType<Store["getTasks"]>>,
  reset: Set<string>,
): Map<string, RestoredTask> {
  const restore = new Map<string, RestoredTask>();
  for (const t of tasks) {
    if (reset.has(t.taskId) || t.kind === "map") continue;
    if (t.status === "succeeded" || t.status === "cached") {
      restore.set(t.taskId, { name: t.name, value: t.result ?? null, attempts: t.attempts });
    }
  }
  return restore;
}

/** Runs `orchestra serve-runner`: until stdin closes or the server says `interrupt`. */
export async function serveRunnerCommand(parsed: Parsed, io: Io): Promise<number> {
  const settings = await commandSettings(parsed, io);
  if (typeof settings === "number") return settings;
  const store = await commandStore(settings, io);
  if (typeof store === "number") return store;
  const out = (m: RunnerMessage) => io.stdout(encodeMessage(m));
  const runner = new Runner(
    parsed,
    io,
    settings,
    store,
    new WorkerPool({
      size: settings.workers,
    }),
    out,
  );
  // Logs are JSON lines on stderr, which the server passes on; masked like a run's.
  await setupLogging({
    level: settings.logLevel as "info",
    format: "json",
    write: (line) => io.stderr(runner.shown.mask(line)),
  });
  const releaseConsole = captureTaskConsole();
  const requests: Promise<void>[] = [];
  const feed = lineReader<RunnerRequest>((r) => {
    requests.push((async () => {
      let reply: Reply;
      try {
        reply = await runner.handle(r);
      } catch (e) {
        reply = fail(500, errorMessage(e));
      }
      out({ type: "reply", id: r.id, ...reply } as RunnerReply);
    })());
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
    await store.close();
  }
  return 0;
}
