/**
 * The flows a serve runner prepared to run: loaded, checked against the policy and planned
 * with a run's params, as `orchestra run` prepares them.
 *
 * @module
 */

import { isError, ParamsValidationError, type ValidationIssue } from "../../core/errors.ts";
import { prepareParams } from "../../engine/execute.ts";
import type { Parsed } from "../args.ts";
import type { Io } from "../io.ts";
import { prepare, type Prepared } from "./common.ts";

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

  /** Prepares with the runner's settings (`parsed`) and environment. */
  constructor(parsed: Parsed, io: Io) {
    this.#parsed = parsed;
    this.#io = io;
  }

  /** Forgets what was prepared of `file` (it changed). */
  forget(_file: string): void {}

  /** A flow prepared to run with `params`, or why not (422 with every param problem). */
  async prepare(
    file: string,
    flow: string,
    params: Record<string, unknown>,
  ): Promise<Prepared | PrepareFailure> {
    let err = "";
    const quiet: Io = { ...this.#io, stdout: () => {}, stderr: (t) => void (err += t) };
    const values = { ...this.#parsed.values, flow, param: undefined, "params-file": undefined };
    const prepared = await prepare("run", { values, positionals: [file] }, quiet, {
      params,
      allowInvalid: true,
    });
    if (typeof prepared === "number") return failure(409, err.replace(/^error: /, "").trim());
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
}

function failure(status: number, error: string, issues?: ValidationIssue[]): PrepareFailure {
  return { ok: false, status, error, ...(issues ? { issues } : {}) };
}
