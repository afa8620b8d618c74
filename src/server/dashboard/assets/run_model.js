// A run as the dashboard shows it: built from the run's record (GET /api/v1/runs/{id}) and
// kept current by its events (the SSE stream). Pure data, no DOM: the graph, the timeline and
// the task panel all read it, and it is tested under Deno.
//
// The record and the events overlap: the stream starts from the first event, so a task the
// record shows finished is seen running again, then finished, and ends as the record says.
// Tasks a retry kept from the run it retries ran before the retry started (see isKept).

/** The states a task can be in, as the store names them. */
export const TASK_STATES = [
  "pending",
  "running",
  "succeeded",
  "failed",
  "skipped",
  "cancelled",
  "cached",
];

const ENDED = new Set(["succeeded", "failed", "skipped", "cancelled", "cached"]);

function ms(iso) {
  if (iso === undefined || iso === null) return undefined;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : undefined;
}

function taskOfRow(t) {
  return {
    id: t.id,
    name: t.name ?? t.id,
    kind: t.kind ?? "task",
    needs: Array.isArray(t.needs) ? [...t.needs] : [],
    group: t.group,
    status: t.status ?? "pending",
    attemptCount: t.attempts ?? 0,
    attempts: [],
    startedAt: ms(t.startedAt),
    finishedAt: ms(t.finishedAt),
    result: t.result,
    error: t.error,
    reason: t.reason,
    cacheKey: t.cacheKey,
    items: t.items,
  };
}

/**
 * A run's model from its record.
 *
 * @param {Record<string, any>} doc the document of GET /api/v1/runs/{id}
 */
export function runModel(doc) {
  const model = {
    runId: doc.runId,
    flow: doc.flow,
    status: doc.status,
    params: doc.params ?? {},
    result: doc.result,
    error: doc.error,
    trigger: doc.trigger,
    startedAt: ms(doc.startedAt),
    finishedAt: ms(doc.finishedAt),
    tasks: new Map(),
    lastSeq: 0,
  };
  for (const t of doc.tasks ?? []) model.tasks.set(t.id, taskOfRow(t));
  return model;
}

/** Takes a newer record of the run (after its end): rows win over what the events said. */
export function mergeRecord(model, doc) {
  model.status = doc.status;
  model.result = doc.result;
  model.error = doc.error;
  model.finishedAt = ms(doc.finishedAt);
  let structure = false;
  for (const row of doc.tasks ?? []) {
    const old = model.tasks.get(row.id);
    const fresh = taskOfRow(row);
    if (!old) {
      model.tasks.set(row.id, fresh);
      structure = true;
      continue;
    }
    if (old.needs.join("\n") !== fresh.needs.join("\n")) structure = true;
    Object.assign(old, {
      ...fresh,
      attempts: old.attempts,
      startedAt: fresh.startedAt ?? old.startedAt,
      finishedAt: fresh.finishedAt ?? old.finishedAt,
    });
  }
  return structure ? "structure" : "state";
}

function taskFor(model, e) {
  let t = model.tasks.get(e.taskId);
  if (!t) {
    t = taskOfRow({ id: e.taskId, name: e.name, status: "pending" });
    model.tasks.set(e.taskId, t);
  }
  return t;
}

function openAttempt(t) {
  const last = t.attempts[t.attempts.length - 1];
  return last && last.end === undefined ? last : undefined;
}

function close(t, time, outcome) {
  const a = openAttempt(t);
  if (a) {
    a.end = time;
    a.outcome = outcome;
  }
}

// What each event type does to the model: "structure" when tasks or edges were added, "state"
// when only states changed.
const ON_EVENT = {
  "run.started"(model, e) {
    // A second start after an end is a resume: the run goes on in the same journal.
    model.startedAt ??= e.time;
    model.status = "running";
    model.finishedAt = undefined;
    model.error = undefined;
    return "state";
  },
  "run.finished"(model, e) {
    model.status = e.status;
    model.finishedAt = e.time;
    if (e.error !== undefined) model.error = e.error;
    for (const t of model.tasks.values()) close(t, e.time, "cancelled");
    return "state";
  },
  "task.created"(model, e) {
    const known = model.tasks.has(e.taskId);
    const t = taskFor(model, e);
    const needs = Array.isArray(e.needs) ? e.needs : [];
    const changed = !known || t.needs.join("\n") !== needs.join("\n") ||
      t.group !== e.group || t.kind !== (e.kind ?? "task");
    t.needs = [...needs];
    t.kind = e.kind ?? "task";
    if (e.group !== undefined) t.group = e.group;
    return changed ? "structure" : "state";
  },
  "task.started"(model, e) {
    const t = taskFor(model, e);
    t.status = "running";
    t.startedAt ??= e.time;
    t.finishedAt = undefined;
    const open = openAttempt(t);
    if (!open || open.n !== e.attempt) {
      if (open) close(t, e.time, "retried");
      t.attempts.push({ n: e.attempt, start: e.time, end: undefined, outcome: "running" });
    }
    t.attemptCount = Math.max(t.attemptCount, e.attempt);
    return "state";
  },
  "task.retrying"(model, e) {
    const t = taskFor(model, e);
    close(t, e.time, "retried");
    t.error = e.error;
    return "state";
  },
  "task.succeeded"(model, e) {
    const t = taskFor(model, e);
    t.status = "succeeded";
    t.finishedAt = e.time;
    t.error = undefined;
    close(t, e.time, "succeeded");
    return "state";
  },
  "task.failed"(model, e) {
    const t = taskFor(model, e);
    t.status = "failed";
    t.finishedAt = e.time;
    t.error = e.error;
    t.attemptCount = Math.max(t.attemptCount, e.attempts ?? 0);
    close(t, e.time, "failed");
    return "state";
  },
  "task.cached"(model, e) {
    const t = taskFor(model, e);
    t.status = "cached";
    t.cacheKey = e.key;
    t.startedAt ??= e.time;
    t.finishedAt = e.time;
    t.cachedAt = e.time;
    return "state";
  },
  "task.skipped"(model, e) {
    const t = taskFor(model, e);
    t.status = "skipped";
    t.reason = e.reason;
    t.finishedAt = e.time;
    return "state";
  },
  "task.cancelled"(model, e) {
    const t = taskFor(model, e);
    t.status = "cancelled";
    t.finishedAt = e.time;
    close(t, e.time, "cancelled");
    return "state";
  },
  "map.expanded"(model, e) {
    const t = taskFor(model, e);
    t.kind = "map";
    t.items = e.items;
    t.startedAt ??= e.time;
    if (!ENDED.has(t.status)) t.status = "running";
    return "state";
  },
};

/**
 * Applies one event of the run. Returns `"structure"` when tasks or edges were added (the
 * graph must be laid out again), `"state"` when only states changed, `false` for nothing
 * (a log line, an event type this page does not know).
 *
 * @param {ReturnType<typeof runModel>} model
 * @param {Record<string, any>} e a RunEvent
 * @param {number} [seq] its seq in the journal
 */
export function applyEvent(model, e, seq) {
  if (seq !== undefined) model.lastSeq = Math.max(model.lastSeq, seq);
  const on = Object.hasOwn(ON_EVENT, e.type) ? ON_EVENT[e.type] : undefined;
  return on ? on(model, e) : false;
}

/** The items of a map group, in order. */
export function itemsOf(model, groupId) {
  return [...model.tasks.values()].filter((t) => t.group === groupId);
}

/** How many tasks are in each state. */
export function countStates(tasks) {
  const counts = Object.fromEntries(TASK_STATES.map((s) => [s, 0]));
  for (const t of tasks) counts[t.status] = (counts[t.status] ?? 0) + 1;
  return counts;
}

/** A map group's state as its node shows it: its own once it ended, else its items'. */
export function groupState(group, counts) {
  if (ENDED.has(group.status)) return group.status;
  if (counts.running > 0 || counts.succeeded + counts.failed + counts.cached > 0) return "running";
  return group.status;
}

/**
 * The graph to draw: every task that is not a map item, map items folded into their group
 * (with counts by state), and the edges between them, each once.
 */
export function graphOf(model) {
  const top = [...model.tasks.values()].filter((t) => t.group === undefined);
  const ids = new Set(top.map((t) => t.id));
  const nodeOf = (id) => {
    if (ids.has(id)) return id;
    const t = model.tasks.get(id);
    return t?.group !== undefined && ids.has(t.group) ? t.group : undefined;
  };
  const nodes = top.map((t) => {
    if (t.kind !== "map") return { id: t.id, label: t.name, state: t.status, kind: "task" };
    const counts = countStates(itemsOf(model, t.id));
    return {
      id: t.id,
      label: t.name,
      state: groupState(t, counts),
      kind: "map",
      items: t.items ?? itemsOf(model, t.id).length,
      counts,
    };
  });
  const edges = [];
  const seen = new Set();
  for (const t of model.tasks.values()) {
    const to = nodeOf(t.id);
    if (to === undefined) continue;
    for (const need of t.needs) {
      const from = nodeOf(need);
      const key = `${from}\n${to}`;
      if (from === undefined || from === to || seen.has(key)) continue;
      seen.add(key);
      edges.push({ from, to });
    }
  }
  return { nodes, edges };
}

/** A key that changes when the graph's nodes or edges do (not their states). */
export function shapeKey(graph) {
  return JSON.stringify([graph.nodes.map((n) => n.id), graph.edges.map((e) => [e.from, e.to])]);
}

/**
 * Whether a task was kept from the run a retry retries. A retry journals such a task with its
 * attempts as they were in the run it retries, so they started before this run did; an older
 * journal wrote it as created and succeeded, with no attempt at all.
 */
export function isKept(t, model) {
  if (t.status !== "succeeded" || t.kind === "map") return false;
  if (t.attempts.length === 0) return true;
  const at = model?.trigger?.kind === "retry" ? model.startedAt : undefined;
  return at !== undefined && t.attempts.every((a) => a.start < at);
}

function barsOf(t, model, now) {
  const bars = t.attempts.map((a) => ({
    attempt: a.n,
    start: a.start,
    end: a.end ?? (model.status === "running" ? now : (t.finishedAt ?? a.start)),
    outcome: a.end === undefined
      ? (model.status === "running" ? "running" : "cancelled")
      : a.outcome,
  }));
  if (isKept(t, model)) {
    // Drawn at the new run's start, not back where the old run ran it.
    const at = model.startedAt ?? t.finishedAt ?? t.startedAt;
    return at === undefined ? [] : [{ attempt: 0, start: at, end: at, outcome: "restored" }];
  }
  if (bars.length || t.status === "cached") return bars;
  if (t.startedAt !== undefined) {
    // A map group: from its expansion to its end.
    const end = t.finishedAt ?? (model.status === "running" ? now : t.startedAt);
    bars.push({ attempt: 0, start: t.startedAt, end, outcome: t.status });
  }
  return bars;
}

/**
 * The timeline: one row per task (map items under their group, up to `maxItems` of each),
 * each with a bar per attempt (`outcome`: running, succeeded, failed, retried, cancelled,
 * restored), a mark for a cache hit, and the time span they cover.
 */
export function timelineOf(model, now = Date.now(), { maxItems = 50 } = {}) {
  const rows = [];
  const add = (t, depth) => {
    rows.push({
      id: t.id,
      label: t.id,
      depth,
      state: t.status,
      bars: barsOf(t, model, now),
      cached: t.status === "cached" ? (t.cachedAt ?? t.finishedAt ?? t.startedAt) : undefined,
      reason: t.reason,
    });
  };
  let hidden = 0;
  for (const t of model.tasks.values()) {
    if (t.group !== undefined && model.tasks.has(t.group)) continue;
    add(t, 0);
    if (t.kind === "map") {
      const items = itemsOf(model, t.id);
      items.slice(0, maxItems).forEach((i) => add(i, 1));
      hidden += Math.max(0, items.length - maxItems);
    }
  }
  let start = model.startedAt ?? Infinity;
  let end = model.finishedAt ?? (model.status === "running" ? now : -Infinity);
  for (const r of rows) {
    for (const b of r.bars) {
      start = Math.min(start, b.start);
      end = Math.max(end, b.end);
    }
    if (r.cached !== undefined) {
      start = Math.min(start, r.cached);
      end = Math.max(end, r.cached);
    }
  }
  if (!Number.isFinite(start)) start = now;
  if (!Number.isFinite(end) || end < start) end = start;
  return { rows, start, end, hidden };
}
