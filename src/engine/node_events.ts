/**
 * What the scheduler tells about a node: the event of its creation and of how it settled, and
 * what its condition sees. Every event is a literal with one key order (no spread copies, few
 * object shapes): they are built once per task on the hot path of an observed run.
 *
 * @module
 */

import { errorMessage } from "../core/errors.ts";
import type { RunEvent, TaskStatus } from "../core/events.ts";
import type { ConditionInfo } from "../core/protocol.ts";
import type { RunEvents } from "./journal.ts";
import { CACHED, CANCELLED, FAILED, type Node, SKIPPED, STATUS, SUCCEEDED } from "./node.ts";
import type { RunSecrets } from "./secrets.ts";

/** Emits `task.created` for a node of run `runId` added at `now`, with its arguments' hash. */
export function emitCreated(
  events: RunEvents,
  runId: string,
  node: Node,
  now: number,
  argsHash: string | undefined,
): void {
  const e: RunEvent = {
    type: "task.created",
    runId,
    time: now,
    taskId: node.id,
    name: node.config.name,
    needs: node.deps ? node.deps.map((d) => d.id) : [],
    kind: node.map ? "map" : "task",
  };
  if (node.group) e.group = node.group.id;
  if (argsHash !== undefined) e.argsHash = argsHash;
  events.emit(e);
}

/** Emits the event of how a node of run `runId` settled at `now` (errors masked). */
export function emitSettled(
  events: RunEvents,
  runId: string,
  secrets: RunSecrets,
  node: Node,
  now: number,
): void {
  const duration = node.startedAt >= 0 ? now - node.startedAt : 0;
  const taskId = node.id;
  const name = node.config.name;
  switch (node.state) {
    case SUCCEEDED:
      events.emit({
        type: "task.succeeded",
        runId,
        time: now,
        taskId,
        name,
        attempt: node.attempts,
        durationMs: duration,
      }, { value: node.value });
      break;
    case CACHED:
      events.emit(
        { type: "task.cached", runId, time: now, taskId, name, key: node.cacheKey! },
        { value: node.value },
      );
      break;
    case FAILED:
      events.emit({
        type: "task.failed",
        runId,
        time: now,
        taskId,
        name,
        attempts: node.attempts,
        error: secrets.mask(errorMessage(node.error)),
        durationMs: duration,
      });
      break;
    case SKIPPED:
      events.emit({ type: "task.skipped", runId, time: now, taskId, name, reason: node.reason! });
      break;
    case CANCELLED:
      events.emit({ type: "task.cancelled", runId, time: now, taskId, name });
      break;
  }
}

/** What a node's condition sees: its dependencies' statuses and values. */
export function conditionInfo(node: Node, cancelled: boolean): ConditionInfo {
  const statuses: Record<string, TaskStatus> = {};
  const values: Record<string, unknown> = {};
  if (node.deps !== null) {
    for (const d of node.deps) {
      // A result from the cache is a success: `tasks.X.status == 'succeeded'` holds for it.
      statuses[d.id] = d.state === CACHED ? "succeeded" : STATUS[d.state];
      values[d.id] = d.value;
    }
  }
  return { statuses, values, cancelled };
}
