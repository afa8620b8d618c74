// The first page: the flows (validity, schedules and their next run, webhook) and the runs.

import { api } from "./api.js";
import { h, route } from "./dom.js";
import { localTime, relative } from "./format.js";
import { runsTable } from "./runs_table.js";
import { badge, flowLink } from "./ui.js";

/** The soonest next time of a flow's schedules that are not paused. */
export function nextRun(schedules) {
  return schedules.filter((s) => !s.paused).flatMap((s) => s.next ?? []).sort()[0];
}

function flowRow(f) {
  const next = nextRun(f.schedules);
  const problems = f.issues.filter((i) => i.severity !== "warning");
  return h(
    "tr",
    { class: f.valid ? "flow" : "flow invalid", dataset: { flow: f.name } },
    h(
      "td",
      {},
      flowLink(f.name),
      f.description ? h("div", { class: "muted" }, f.description) : "",
    ),
    h(
      "td",
      {},
      f.valid ? badge("succeeded", "valid") : badge("invalid", `${problems.length} problem(s)`),
      f.valid ? "" : h("ul", { class: "issues" }, problems.map((i) => h("li", {}, i.message))),
    ),
    h(
      "td",
      {},
      f.schedules.map((s) =>
        h(
          "div",
          { class: "mono" },
          `${s.cron} (${s.timezone})`,
          s.paused ? [" ", badge("paused")] : "",
        )
      ),
    ),
    h("td", { title: next ? localTime(next) : "" }, next ? relative(next) : ""),
    h("td", {}, f.webhook ? "yes" : ""),
    h(
      "td",
      {},
      f.valid ? h("a", { href: route("flows", f.name), class: "run-link" }, "Run…") : "",
    ),
  );
}

/** Renders the first page into `root`: the flows and the runs load side by side. */
export async function homeView(root, { query, navigate, signal }) {
  const flowsBody = h(
    "tbody",
    {},
    h("tr", {}, h("td", { colspan: 6, class: "muted" }, "Loading…")),
  );
  const flowsTable = h(
    "table",
    { id: "flows" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["Flow", "Valid", "Schedules", "Next run", "Webhook", ""].map((t) => h("th", {}, t)),
      ),
    ),
    flowsBody,
  );
  const runs = runsTable({
    query,
    navigate: (q) => navigate(route() + (q.size ? `?${q}` : "")),
    signal,
  });
  root.replaceChildren(h("h1", {}, "Flows"), flowsTable, h("h2", {}, "Runs"), runs.element);
  const { flows } = await api("/api/v1/flows", { signal });
  flowsBody.replaceChildren(
    ...(flows.length
      ? flows.map(flowRow)
      : [h("tr", {}, h("td", { colspan: 6, class: "muted" }, "No flows under the served paths."))]),
  );
  runs.setFlows(flows.map((f) => f.name));
}
