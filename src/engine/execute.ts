/**
 * Runs a flow definition: params are validated first (every problem at once), then the body
 * runs on a fresh {@linkcode FlowRun}.
 *
 * @module
 */

import { FlowValidationError, ParamsValidationError } from "../core/errors.ts";
import { validateParams } from "../core/params.ts";
import type { FlowDefinition } from "../core/protocol.ts";
import { checkFlowOptions } from "./plan.ts";
import { FlowRun } from "./run.ts";
import type { FlowOptions, RunOptions, RunRecord } from "./types.ts";

/** Validates a flow's options and params; returns the params with defaults applied. */
export function prepareParams(
  def: FlowDefinition,
  params: Record<string, unknown>,
  coerceStrings = false,
): Record<string, unknown> {
  const options = def.options as unknown as FlowOptions;
  const flowIssues = checkFlowOptions(options, def.location);
  if (flowIssues.length) throw new FlowValidationError(options.name, flowIssues);
  const { values, issues } = validateParams(options.params, params, { coerceStrings });
  if (issues.length) throw new ParamsValidationError(options.name, issues);
  return values;
}

/**
 * Runs a flow to the end and returns its record. Rejects with {@linkcode FlowValidationError}
 * (or {@linkcode ParamsValidationError}) when the flow or params are invalid, before any task
 * starts; a failed or cancelled run resolves with its record.
 */
export function executeFlow<R = unknown>(
  def: FlowDefinition,
  params: Record<string, unknown> = {},
  options: RunOptions = {},
): Promise<RunRecord<R>> {
  let values: Record<string, unknown>;
  try {
    values = prepareParams(def, params, options.coerceParams);
  } catch (e) {
    return Promise.reject(e);
  }
  return new FlowRun(def, values, options).start() as Promise<RunRecord<R>>;
}
