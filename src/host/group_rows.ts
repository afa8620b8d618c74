/**
 * Brings the rows of a resumed run's map groups up to date with how the run ended.
 *
 * When a resumed run restores every item of a map group, the group completes while its last
 * item is being restored, and the engine journals nothing of a restored call, so the group's
 * own end never reaches the journal: its row stayed `running` (`map.expanded` had set it so)
 * although the run succeeded. Until the engine journals a group's end whatever settled it,
 * the host appends it from the run's record, once the run ended.
 *
 * @module
 */

import type { RunRecord } from "../engine/types.ts";
import type { AppendEvent, Store } from "../store/store.ts";

/** The event that ends a task the way the record says it ended, if it did. */
function endEvent(runId: string, t: RunRecord["tasks"][number]): AppendEvent | undefined {
  const time = Date.parse(t.finishedAt ?? "") || Date.now();
  const base = { runId, time, taskId: t.id, name: t.name };
  const durationMs = Math.max(0, time - (Date.parse(t.startedAt ?? "") || time));
  switch (t.status) {
    case "succeeded":
      return { ...base, type: "task.succeeded", attempt: t.attempts, durationMs, result: t.result };
    case "failed":
      return {
        ...base,
        type: "task.failed",
        attempts: t.attempts,
        error: t.error ?? "",
        durationMs,
      };
    case "skipped":
      return { ...base, type: "task.skipped", reason: t.reason ?? "" };
    case "cancelled":
      return { ...base, type: "task.cancelled" };
    default:
      return undefined;
  }
}

/**
 * Appends the end of every map group whose row disagrees with the run's record; resolves with
 * how many it fixed.
 *
 * @example
 * ```ts ignore
 * import { repairGroupRows } from "./group_rows.ts";
 * const record = await new FlowRun(def, params, { journal: store, restore }).start();
 * await repairGroupRows(store, record);
 * ```
 */
export async function repairGroupRows(store: Store, record: RunRecord): Promise<number> {
  const rows = await store.getTasks(record.runId);
  const ended = new Map(record.tasks.map((t) => [t.id, t]));
  const events: AppendEvent[] = [];
  for (const row of rows) {
    if (row.kind !== "map") continue;
    const t = ended.get(row.taskId);
    if (t === undefined || t.status === row.status) continue;
    const e = endEvent(record.runId, t);
    if (e) events.push(e);
  }
  if (events.length) await store.append(events);
  return events.length;
}
