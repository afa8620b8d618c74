/**
 * The server's runners: one `orchestra serve-runner` process per flow folder, started on
 * first use and reused for every run of the flows in that folder. A runner works in its
 * folder, so a task's relative paths mean the flow file's folder, as under `orchestra run`,
 * while the server runs flows of many folders at once (a process has one working directory;
 * the Web Workers that run tasks share it). A runner that loaded a TS module that changed is
 * retired: it gets no new work and ends once its runs have; the next request starts a fresh
 * one.
 *
 * @module
 */

import {
  encodeMessage,
  lineReader,
  type RunnerMessage,
  type RunnerNotice,
  type RunnerReply,
  type RunnerRequest,
} from "./runner_protocol.ts";

/** What starting a runner needs. */
export interface RunnerPoolOptions {
  /** The command line of a runner for `folder` (the executable first). */
  command(folder: string): { cmd: string; args: string[]; env?: Record<string, string> };
  /** Every notice (events, ends) of every runner. */
  onNotice(notice: RunnerNotice, folder: string): void;
  /** A runner's stray output and its log lines. */
  onOutput(line: string, folder: string): void;
  /** A runner ended unexpectedly (its runs are interrupted). */
  onExit?(folder: string, code: number, runs: readonly string[]): void;
}

type Pending = { resolve(r: RunnerReply): void };
type RequestBody = RunnerRequest extends infer R ? R extends unknown ? Omit<R, "id"> : never
  : never;

/** One runner process. */
class RunnerProcess {
  readonly folder: string;
  readonly child: Deno.ChildProcess;
  readonly exited: Promise<number>;
  /** Runs it holds (started, not ended). */
  readonly runs = new Set<string>();
  retired = false;
  #next = 1;
  readonly #pending = new Map<number, Pending>();
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #encoder = new TextEncoder();

  constructor(folder: string, options: RunnerPoolOptions, onGone: (p: RunnerProcess) => void) {
    this.folder = folder;
    const { cmd, args, env } = options.command(folder);
    this.child = new Deno.Command(cmd, {
      args,
      cwd: folder,
      ...(env ? { env } : {}),
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#writer = this.child.stdin.getWriter();
    const feed = lineReader<RunnerMessage>((m) => {
      if (m.type === "reply") {
        this.#pending.get(m.id)?.resolve(m);
        this.#pending.delete(m.id);
        return;
      }
      if (m.type === "ended") this.runs.delete(m.runId);
      options.onNotice(m, folder);
      if (this.retired && this.runs.size === 0) this.close();
    }, (line) => options.onOutput(line, folder));
    const pump = async (stream: ReadableStream<Uint8Array>, each: (t: string) => void) => {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) each(chunk);
    };
    const errFeed = lineReader<never>(() => {}, (line) => options.onOutput(line, folder));
    const out = pump(this.child.stdout, feed);
    const err = pump(this.child.stderr, errFeed);
    this.exited = Promise.all([this.child.status, out, err]).then(([s]) => {
      onGone(this);
      for (const p of this.#pending.values()) {
        p.resolve({ type: "reply", id: 0, ok: false, status: 503, error: "The runner ended" });
      }
      this.#pending.clear();
      if (this.runs.size && !this.closing) options.onExit?.(folder, s.code, [...this.runs]);
      return s.code;
    });
  }

  closing = false;

  /** Sends a request; resolves with the reply (a 503 if the runner ends first). */
  request(body: RequestBody): Promise<RunnerReply> {
    const id = this.#next++;
    const { promise, resolve } = Promise.withResolvers<RunnerReply>();
    this.#pending.set(id, { resolve });
    this.#writer.write(this.#encoder.encode(encodeMessage({ ...body, id } as RunnerRequest)))
      .catch(() =>
        resolve({ type: "reply", id, ok: false, status: 503, error: "The runner ended" })
      );
    return promise;
  }

  /** Closes its stdin: the runner stops and exits (runs still going stay running). */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.#writer.close().catch(() => {});
  }
}

/**
 * The runners by folder.
 *
 * @example
 * ```ts ignore
 * const pool = new RunnerPool({ command, onNotice, onOutput });
 * const reply = await pool.request("/flows", { op: "describe", file: "/flows/etl.yaml" });
 * ```
 */
export class RunnerPool {
  readonly #options: RunnerPoolOptions;
  readonly #live = new Map<string, RunnerProcess>();
  readonly #all = new Set<RunnerProcess>();

  /** Creates an empty pool. */
  constructor(options: RunnerPoolOptions) {
    this.#options = options;
  }

  /** Sends a request to the runner of `folder`, starting one if there is none. */
  async request(folder: string, body: RequestBody): Promise<RunnerReply> {
    let runner = this.#live.get(folder);
    if (!runner) {
      runner = new RunnerProcess(folder, this.#options, (p) => {
        if (this.#live.get(folder) === p) this.#live.delete(folder);
        this.#all.delete(p);
      });
      this.#live.set(folder, runner);
      this.#all.add(runner);
    }
    // Held from the request on: its end may come before the reply does.
    const runId = body.op === "start" || body.op === "resume"
      ? body.runId
      : body.op === "retry"
      ? body.newRunId
      : undefined;
    if (runId) runner.runs.add(runId);
    const reply = await runner.request(body);
    if (runId && !reply.ok) runner.runs.delete(runId);
    return reply;
  }

  /** The runner holding `runId`, if a live one does. */
  holder(runId: string): string | undefined {
    for (const r of this.#all) if (r.runs.has(runId)) return r.folder;
    return undefined;
  }

  /** Sends `body` to the runner that holds `runId`, if any. */
  async requestHolder(runId: string, body: RequestBody): Promise<RunnerReply | undefined> {
    for (const r of this.#all) if (r.runs.has(runId)) return await r.request(body);
    return undefined;
  }

  /** Runs held by every runner. */
  get running(): number {
    let n = 0;
    for (const r of this.#all) n += r.runs.size;
    return n;
  }

  /**
   * Retires the runners of folders `inside` (a TS module there changed): they get no new work
   * and end once their runs have.
   */
  retire(inside: (folder: string) => boolean): void {
    for (const [folder, r] of this.#live) {
      if (!inside(folder)) continue;
      this.#live.delete(folder);
      r.retired = true;
      if (r.runs.size === 0) r.close();
    }
  }

  /**
   * Stops every runner: `interrupt` (their runs stop and stay running in the store) and waits
   * for them to exit; one that does not within `timeoutMs` is killed.
   */
  async stop(timeoutMs = 10_000): Promise<void> {
    const all = [...this.#all];
    this.#live.clear();
    await Promise.all(all.map(async (r) => {
      r.closing = true;
      await Promise.race([r.request({ op: "interrupt" }), r.exited]);
      r.close();
      const timer = setTimeout(() => {
        try {
          r.child.kill("SIGKILL");
        } catch { /* gone */ }
      }, timeoutMs);
      await r.exited;
      clearTimeout(timer);
    }));
  }
}
