/**
 * The flows a serve runner prepares to run, as `orchestra run` prepares them (loaded, given
 * params, planned, checked against the ceiling and the policy), with what does not change
 * from one run to the next kept: the runner's settings, its policy (read again when the file
 * changes), and each flow file loaded (again when its content changes, or when the server
 * says a file under the runner changed). Only the params and the plan are made per run.
 *
 * @module
 */

import { isError, ParamsValidationError, type ValidationIssue } from "../../core/errors.ts";
import { prepareParams } from "../../engine/execute.ts";
import { PolicyError, resolvePolicy } from "../../permissions/policy_file.ts";
import type { Parsed } from "../args.ts";
import type { Io } from "../io.ts";
import {
  type FlowContext,
  flowContext,
  type FlowSource,
  hashFile,
  loadSource,
  planSource,
  type Prepared,
} from "./common.ts";

/** Why a run cannot be prepared: the HTTP status, what to fix, every problem. */
export interface PrepareFailure {
  /** Always false. */
  ok: false;
  /** 409: the flow cannot run; 422: the params are invalid. */
  status: number;
  /** What failed. */
  error: string;
  /** Every problem, when there are several. */
  issues?: ValidationIssue[];
}

/** Prepares runs of the flows of one runner's folder. */
export class PreparedFlows {
  readonly #parsed: Parsed;
  readonly #io: Io;
  #context: { context: FlowContext; policyHash: string | undefined } | undefined;
  /**
   * Each flow loaded, by file and flow. A TS flow's source holds the flow isolate that plans
   * it (one plan at a time: `planning` chains them); each run opens an isolate of its own.
   */
  readonly #sources = new Map<string, Cached>();

  /** Prepares with the runner's settings (`parsed`) and environment. */
  constructor(parsed: Parsed, io: Io) {
    this.#parsed = parsed;
    this.#io = io;
  }

  /** Forgets what was loaded of `file`, or of every file (something they may read changed). */
  forget(file?: string): void {
    for (const [key, cached] of this.#sources) {
      if (file === undefined || key.startsWith(`${file}\0`)) this.#drop(key, cached);
    }
  }

  #drop(key: string, cached: Cached): void {
    this.#sources.delete(key);
    // Its last plan may still be going: the isolate stops once it is done.
    void cached.planning.finally(() => cached.source.ts?.isolate?.terminate());
  }

  /** A flow prepared to run with `params`, or why not (422 with every param problem). */
  async prepare(
    file: string,
    flow: string,
    params: Record<string, unknown>,
  ): Promise<Prepared | PrepareFailure> {
    let err = "";
    const quiet: Io = { ...this.#io, stdout: () => {}, stderr: (t) => void (err += t) };
    const said = (status: number) => failure(status, err.replace(/^error: /, "").trim());
    const context = await this.#currentContext(quiet);
    if (typeof context === "number") return said(409);
    let hash: string;
    try {
      hash = await hashFile(file);
    } catch {
      return failure(409, `Cannot read the flow file "${file}"; is it still there?`);
    }
    const key = `${file}\0${flow}`;
    let cached = this.#sources.get(key);
    if (
      !cached || cached.hash !== hash || cached.source.policy !== context.policy ||
      cached.source.ts?.isolate?.dead !== undefined
    ) {
      if (cached) this.#drop(key, cached);
      const source = await loadSource(file, context, quiet, { flow, allowInvalid: true });
      if (typeof source === "number") return said(409);
      this.#sources.set(key, cached = { hash, source, planning: Promise.resolve() });
    }
    const { source } = cached;
    const planned = cached.planning.then(() =>
      planSource(source, params, quiet, { allowInvalid: true })
    );
    cached.planning = planned.then(() => {}, () => {});
    const prepared = await planned;
    if (typeof prepared === "number") return said(409);
    prepared.flowHash = hash;
    try {
      // JSON params are taken as given: no conversion from text, unlike --param.
      prepareParams(prepared.def, params, false);
    } catch (e) {
      if (e instanceof ParamsValidationError) {
        return failure(422, `Invalid params for flow "${flow}"`, [...e.issues]);
      }
    }
    const errors = prepared.graph.issues.filter(isError);
    if (errors.length) return failure(409, `Flow "${flow}" is invalid`, errors);
    return prepared;
  }

  /** The settings (read once) and the policy (read again when its file changed). */
  async #currentContext(io: Io): Promise<FlowContext | number> {
    if (!this.#context) {
      const context = await flowContext("run", this.#parsed, io);
      if (typeof context === "number") return context;
      this.#context = { context, policyHash: await policyHash(context) };
      return context;
    }
    const { context, policyHash: before } = this.#context;
    if (!context.policy?.file || await policyHash(context) === before) return context;
    try {
      const policy = await resolvePolicy({
        cwd: io.cwd,
        policyFile: context.settings.policyFile ?? context.policy.file,
      });
      const next = { ...context, policy };
      this.#context = { context: next, policyHash: await policyHash(next) };
      return next;
    } catch (e) {
      if (!(e instanceof PolicyError)) throw e;
      io.stderr(`error: the policy ${context.policy.file} is invalid: ${e.message}\n`);
      return 2;
    }
  }
}

async function policyHash(context: FlowContext): Promise<string | undefined> {
  const file = context.policy?.file;
  return file ? await hashFile(file).catch(() => "gone") : undefined;
}

/** A loaded flow, the hash of its file's content, and its plans in turn. */
interface Cached {
  hash: string;
  source: FlowSource;
  planning: Promise<void>;
}

function failure(status: number, error: string, issues?: ValidationIssue[]): PrepareFailure {
  return { ok: false, status, error, ...(issues ? { issues } : {}) };
}
