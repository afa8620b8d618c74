/**
 * What a host does about the process groups of a run's tasks: records them in the store while
 * they run, stops them before the run is recorded as ended, and, when it takes over a run
 * whose owner died, stops what that owner left running before anything runs again.
 *
 * @module
 */

import type { Journal } from "../engine/types.ts";
import { sameGroup, stopGroup } from "../executors/process_group.ts";
import { type ProcessGroups, processGroups } from "../executors/process_registry.ts";
import type { ProcessRecord, Store } from "../store/store.ts";

function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "localhost";
  }
}

/**
 * Records every process group a task of `runId` starts in the store (and forgets it when it
 * ended), until the returned function is called.
 */
export function recordProcesses(
  store: Store,
  runId: string,
  groups: ProcessGroups = processGroups,
): () => void {
  const host = hostname();
  return groups.listen({
    started: (g) => {
      if (g.owner?.runId !== runId) return;
      return store.recordProcess({
        runId,
        taskId: g.owner.taskId,
        host,
        pgid: g.pgid,
        identity: g.identity,
        startedAt: g.startedAt,
      }).catch(() => {}); // a store that fails fails the run through its journal
    },
    ended: (g) => {
      if (g.owner?.runId !== runId) return;
      return store.forgetProcess({ runId, host, pgid: g.pgid }).catch(() => {});
    },
  });
}

/** A journal that, before it records the run's end, stops every process group of the run. */
export function stoppingJournal(
  journal: Journal,
  runId: string,
  groups: ProcessGroups = processGroups,
): Journal {
  return {
    async append(events) {
      if (events.some((e) => e.type === "run.finished" && e.runId === runId)) {
        await groups.stopAll({ runId });
      }
      await journal.append(events);
    },
  };
}

/**
 * Stops the process groups a run's previous owner recorded and left running (it died), then
 * forgets them; resolves with those that were still alive. A group is signalled only when it
 * is still the one recorded (same leader, or the leader gone and its members left), never a
 * later process that got the same number; groups of other hosts are left alone.
 */
export async function stopLeftoverProcesses(
  store: Store,
  runId: string,
  options: { graceMs?: number } = {},
): Promise<ProcessRecord[]> {
  const host = hostname();
  const stopped: ProcessRecord[] = [];
  const records = (await store.processes(runId)).filter((p) => p.host === host);
  await Promise.all(records.map(async (p) => {
    if (sameGroup(p.pgid, p.identity)) {
      stopped.push(p);
      await stopGroup(p.pgid, options.graceMs ?? 5000);
    }
    await store.forgetProcess(p);
  }));
  return stopped;
}
