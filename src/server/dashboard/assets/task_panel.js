// The panel of the task chosen on the run page: its state, attempts, skip reason, cache key,
// error and result, a map group's items, its log lines as they come (SSE), and "Retry from
// this task".

import { apiPath } from "./api.js";
import { h } from "./dom.js";
import { duration, localTime, plainText, shortJson } from "./format.js";
import { isKept, itemsOf } from "./run_model.js";
import { follow } from "./sse.js";
import { actionButton, badge, facts } from "./ui.js";

const MAX_LINES = 5000;

/** A live log of one task, following its lines until the run ends. */
function logView(runId, taskId, signal) {
  const box = h("div", {
    class: "log",
    id: "task-log",
    role: "log",
    "aria-label": `Log of ${taskId}`,
    dataset: { task: taskId, state: "following" },
  });
  const status = h("div", { class: "muted log-status" }, "following…");
  let count = 0;
  follow(apiPath`/runs/${runId}/tasks/${taskId}/logs`, {
    signal,
    onEvent: ({ type, data }) => {
      if (type !== "log" || !data) return;
      const stick = box.scrollTop + box.clientHeight >= box.scrollHeight - 4;
      box.append(
        h(
          "div",
          { class: ["line", `level-${data.level}`] },
          h("span", { class: "time" }, localTime(data.time).slice(11)),
          h("span", { class: "msg" }, plainText(data.message)),
        ),
      );
      count++;
      if (box.childElementCount > MAX_LINES) box.firstElementChild.remove();
      if (stick) box.scrollTop = box.scrollHeight;
    },
    onEnd: () => {
      box.dataset.state = "ended";
      status.textContent = count ? `${count} line(s); the run has ended` : "No log lines.";
    },
    onError: (message) => {
      status.textContent = message;
    },
  });
  return h("div", {}, box, status);
}

/** The panel on the run page. */
export class TaskPanel {
  #root;
  #select;
  #retry;
  #taskId;
  #logs;
  #details = h("div", { class: "details" });

  /**
   * @param {HTMLElement} root
   * @param {{ select(id: string): void, retry(from: string): Promise<void> }} actions
   */
  constructor(root, { select, retry }) {
    this.#root = root;
    this.#select = select;
    this.#retry = retry;
    root.replaceChildren(h("p", { class: "muted" }, "Choose a task in the graph or the timeline."));
  }

  /** Shows task `id` of `model` (its log is followed from the start when it changes). */
  show(model, id, signal) {
    const t = id === undefined ? undefined : model.tasks.get(id);
    if (!t) return;
    if (id !== this.#taskId) {
      this.#logs?.abort();
      this.#logs = new AbortController();
      signal.addEventListener("abort", () => this.#logs?.abort(), { once: true });
      this.#taskId = id;
      const retry = actionButton("Retry from this task", () => this.#retry(id), {
        id: "retry-from",
        dataset: { task: id },
      });
      this.#root.replaceChildren(
        h("h3", {}, h("span", { class: "task-id" }, id)),
        this.#details,
        h("div", { class: "toolbar" }, retry),
        h("h4", {}, "Log"),
        t.kind === "map"
          ? h("p", { class: "muted" }, "A map group logs nothing itself: choose one of its items.")
          : logView(model.runId, id, this.#logs.signal),
      );
      this.#root.dataset.task = id;
    }
    this.#root.querySelector("#retry-from").disabled = model.status === "running";
    this.#details.replaceChildren(...this.#describe(model, t));
  }

  #describe(model, t) {
    const took = t.startedAt !== undefined && t.finishedAt !== undefined
      ? duration(t.finishedAt - t.startedAt)
      : "";
    const out = [
      facts([
        ["Status", badge(t.status)],
        ["Name", t.name !== t.id ? t.name : ""],
        ["Attempts", t.attemptCount ? String(t.attemptCount) : ""],
        ["Started", t.startedAt !== undefined ? localTime(t.startedAt) : ""],
        ["Took", took],
        [
          "Needs",
          t.needs.length
            ? t.needs.flatMap((n, i) => [
              i ? ", " : "",
              h("a", { href: "#", on: { click: (e) => this.#go(e, n) } }, n),
            ])
            : "",
        ],
        ["Skipped", t.reason ? h("span", { class: "reason" }, t.reason) : ""],
        ["Cache key", t.cacheKey ? h("code", { class: "cache-key" }, t.cacheKey) : ""],
        [
          "Kept",
          isKept(t, model) && model.trigger?.kind === "retry"
            ? `from run ${model.trigger.of ?? ""} (not run again)`
            : "",
        ],
      ]),
    ];
    if (t.error) out.push(h("h4", {}, "Error"), h("pre", { class: "error" }, plainText(t.error)));
    if (t.result !== undefined && t.status !== "failed") {
      out.push(h("h4", {}, "Result"), h("pre", { class: "result" }, shortJson(t.result, 4000)));
    }
    const attempts = t.attempts.filter((a) => a.end !== undefined && a.outcome === "retried");
    if (attempts.length) {
      out.push(
        h("h4", {}, "Retried attempts"),
        h(
          "ul",
          {},
          attempts.map((a) => h("li", {}, `attempt ${a.n}: ${duration(a.end - a.start)}`)),
        ),
      );
    }
    if (t.kind === "map") {
      const items = itemsOf(model, t.id);
      out.push(
        h("h4", {}, `Items (${t.items ?? items.length})`),
        h(
          "table",
          { class: "items" },
          h(
            "tbody",
            {},
            items.slice(0, 500).map((i) =>
              h(
                "tr",
                { dataset: { task: i.id } },
                h("td", {}, h("a", { href: "#", on: { click: (e) => this.#go(e, i.id) } }, i.id)),
                h("td", {}, badge(i.status)),
                h("td", { class: "muted" }, i.error ?? i.reason ?? ""),
              )
            ),
          ),
        ),
      );
      if (items.length > 500) out.push(h("p", { class: "muted" }, `… ${items.length - 500} more`));
    }
    return out;
  }

  #go(e, id) {
    e.preventDefault();
    this.#select(id);
  }
}
