// A run's page: its facts and actions (cancel, resume, retry), its live graph, its timeline,
// its tasks and the task panel. The page follows the run's events (SSE, without log lines:
// those stream in the panel) and draws at most once a frame.

import { api, apiPath } from "./api.js";
import { h, route } from "./dom.js";
import { localTime, shortJson, span } from "./format.js";
import { GraphView } from "./graph.js";
import { applyEvent, graphOf, mergeRecord, runModel, timelineOf } from "./run_model.js";
import { follow } from "./sse.js";
import { TaskPanel } from "./task_panel.js";
import { drawTimeline } from "./timeline.js";
import { actionButton, badge, facts, flowLink, notice, triggerText } from "./ui.js";

/** Every event type but `task.log`: the graph and the timeline need no log lines. */
export const GRAPH_EVENTS = [
  "run.started",
  "task.created",
  "task.started",
  "task.retrying",
  "task.succeeded",
  "task.cached",
  "task.failed",
  "task.skipped",
  "task.cancelled",
  "map.expanded",
  "run.finished",
];

function tasksTable(model, select) {
  const rows = [...model.tasks.values()].filter((t) => t.group === undefined);
  return h(
    "table",
    { id: "tasks" },
    h(
      "thead",
      {},
      h("tr", {}, ["Task", "Status", "Attempts", "Took", "Details"].map((t) => h("th", {}, t))),
    ),
    h(
      "tbody",
      {},
      rows.map((t) =>
        h(
          "tr",
          { dataset: { task: t.id, state: t.status } },
          h(
            "td",
            {},
            h("a", { href: "#", on: { click: (e) => (e.preventDefault(), select(t.id)) } }, t.id),
          ),
          h("td", {}, badge(t.status)),
          h("td", {}, t.attemptCount ? String(t.attemptCount) : ""),
          h(
            "td",
            {},
            t.startedAt !== undefined && t.finishedAt !== undefined
              ? span(new Date(t.startedAt).toISOString(), new Date(t.finishedAt).toISOString())
              : "",
          ),
          h(
            "td",
            { class: "muted" },
            t.reason ? `skipped: ${t.reason}` : "",
            t.cacheKey ? ["cache hit: ", h("code", {}, t.cacheKey)] : "",
            t.error && t.status === "failed" ? t.error.split("\n")[0] : "",
            t.kind === "map" ? `${t.items ?? 0} item(s)` : "",
          ),
        )
      ),
    ),
  );
}

/** The run's facts: flow, trigger, times, params, result, error. */
function aboutOf(model) {
  const iso = (t) => (t === undefined ? undefined : new Date(t).toISOString());
  return facts([
    ["Flow", flowLink(model.flow)],
    ["Trigger", triggerText(model.trigger)],
    ["Started", localTime(model.startedAt)],
    ["Took", span(iso(model.startedAt), iso(model.finishedAt))],
    ["Params", h("code", {}, shortJson(model.params, 400))],
    [
      "Result",
      model.result !== undefined && model.result !== null
        ? h("code", {}, shortJson(model.result, 400))
        : "",
    ],
    ["Error", model.error ? h("span", { class: "run-error" }, model.error) : ""],
  ]);
}

/** The buttons a run in its state offers: Cancel while it runs; Resume and Retry after a failure. */
function actionsOf(model, { retry, navigate }) {
  const running = model.status === "running";
  const again = !running && model.status !== "succeeded";
  const post = (what) => api(apiPath`/runs/${model.runId}/${what}`, { method: "POST", body: {} });
  return [
    running
      ? actionButton("Cancel", async () => {
        await post("cancel");
        notice("Cancellation requested");
      }, { id: "cancel" })
      : "",
    again
      ? actionButton("Resume", async () => {
        await post("resume");
        navigate(route("runs", model.runId));
      }, { id: "resume", title: "Run what did not succeed again, in this run" })
      : "",
    again
      ? actionButton("Retry", () => retry(undefined), {
        id: "retry",
        title: "A new run of what did not succeed; the rest is kept",
      })
      : "",
  ];
}

/** Follows the run's events into the model, calling `draw()` on each change. */
function followRun(model, root, { signal, draw }) {
  const q = new URLSearchParams({ types: GRAPH_EVENTS.join(",") });
  root.dataset.live = "following";
  follow(`${apiPath`/runs/${model.runId}/events`}?${q}`, {
    signal,
    onEvent: ({ id: seq, data }) => {
      if (data && applyEvent(model, data, Number(seq))) draw();
    },
    onEnd: async () => {
      // The record has what events do not: results, and the tasks a retry kept.
      try {
        mergeRecord(model, await api(apiPath`/runs/${model.runId}`, { signal }));
      } catch { /* drawn from the events */ }
      root.dataset.live = "ended";
      draw();
    },
    onError: (message) => notice(message, "error"),
  });
  // Durations and running bars grow while the run goes on.
  const clock = setInterval(() => model.status === "running" && draw(), 1000);
  signal.addEventListener("abort", () => clearInterval(clock), { once: true });
}

/** Renders run `id` into `root`, live while it runs. */
export async function runView(root, { id, query, navigate, signal }) {
  const model = runModel(await api(apiPath`/runs/${id}`, { signal }));
  let selected = query.get("task") ?? undefined;
  const title = h("span", { class: "run-status" });
  const about = h("div", {});
  const actions = h("div", { class: "toolbar", id: "run-actions" });
  const graphBox = h("div", { class: "graph-box", id: "graph" });
  const timelineBox = h("div", { class: "timeline-box", id: "timeline" });
  const tasksBox = h("div", {});
  const panelBox = h("aside", { class: "panel", id: "task-panel" });
  const select = (taskId) => {
    selected = taskId;
    const q = new URLSearchParams(query);
    q.set("task", taskId);
    // The address names the task (to share it) without drawing the page again.
    history.replaceState(null, "", `${route("runs", model.runId)}?${q}`);
    draw();
  };
  const retry = async (from) => {
    const { runId } = await api(apiPath`/runs/${model.runId}/retry`, {
      method: "POST",
      body: from ? { from } : {},
    });
    navigate(route("runs", runId));
  };
  const graph = new GraphView(graphBox, { onSelect: select });
  const panel = new TaskPanel(panelBox, { select, retry });
  root.replaceChildren(
    h("h1", {}, "Run ", h("span", { class: "mono run-id" }, model.runId), " ", title),
    about,
    actions,
    h("div", { class: "run-layout" }, graphBox, panelBox),
    h("h2", {}, "Timeline"),
    timelineBox,
    h("h2", {}, "Tasks"),
    tasksBox,
  );
  let shownStatus;
  let queued = false;
  // At most one drawing a frame, however fast the events come.
  function draw() {
    if (queued || signal.aborted) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      if (signal.aborted) return;
      title.replaceChildren(badge(model.status));
      root.dataset.status = model.status;
      about.replaceChildren(aboutOf(model));
      if (shownStatus !== model.status) {
        shownStatus = model.status;
        actions.replaceChildren(...actionsOf(model, { retry, navigate }));
      }
      graph.update(graphOf(model), model, selected);
      drawTimeline(timelineBox, timelineOf(model), { selected, onSelect: select });
      tasksBox.replaceChildren(tasksTable(model, select));
      if (selected !== undefined) panel.show(model, selected, signal);
    });
  }
  draw();
  followRun(model, root, { signal, draw });
}
