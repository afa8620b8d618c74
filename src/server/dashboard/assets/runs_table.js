// The runs list: newest first, paged by the server (GET /api/v1/runs?offset=&limit=), so a
// history of any size shows its first page as fast as a short one. Filters and the page are
// kept in the route (`#/?flow=…&status=…&offset=…`), so a filtered page can be linked to.

import { api } from "./api.js";
import { h, replace } from "./dom.js";
import { localTime, relative, span } from "./format.js";
import { badge, errorText, flowLink, runLink, triggerText } from "./ui.js";

const STATUSES = ["running", "succeeded", "failed", "cancelled"];
const PAGE = 50;

/** One run of the list. */
function runRow(r) {
  return h(
    "tr",
    { class: `run status-${r.status}`, dataset: { run: r.runId } },
    h("td", {}, runLink(r.runId, r.runId.slice(0, 13))),
    h("td", {}, flowLink(r.flow)),
    h("td", {}, badge(r.status)),
    h("td", { title: localTime(r.startedAt) }, relative(r.startedAt)),
    h("td", {}, span(r.startedAt, r.finishedAt)),
    h("td", {}, triggerText(r.trigger), r.error ? h("div", { class: "muted" }, r.error) : ""),
  );
}

/** The filters: status, and flow (unless the list is one flow's). */
function filters({ flow, status, fixedFlow, go }) {
  const statusSelect = h(
    "select",
    {
      "aria-label": "Status",
      name: "status",
      on: { change: (e) => go({ status: e.target.value, offset: 0 }) },
      value: status,
    },
    h("option", { value: "" }, "any status"),
    STATUSES.map((st) => h("option", { value: st }, st)),
  );
  // The flow filter's choices arrive with the flows (setFlows), not before the first page.
  const flowChoices = (names) => [
    h("option", { value: "" }, "every flow"),
    // A filter on a flow the server no longer has still shows as chosen.
    [...new Set([...names, ...(flow ? [flow] : [])])].map((f) => h("option", { value: f }, f)),
  ];
  const flowSelect = fixedFlow ? undefined : h(
    "select",
    {
      "aria-label": "Flow",
      name: "flow",
      on: { change: (e) => go({ flow: e.target.value, offset: 0 }) },
      value: flow,
    },
    flowChoices([]),
  );
  return { statusSelect, flowSelect, flowChoices };
}

/**
 * The runs list: `{ element, setFlows(names) }`. `query` holds the filters (`flow`, `status`,
 * `offset`); `navigate(query)` changes them. With `fixedFlow` there is no flow filter.
 */
export function runsTable({ query, navigate, fixedFlow, signal, refreshMs = 3000 }) {
  const flow = fixedFlow ?? query.get("flow") ?? "";
  const status = query.get("status") ?? "";
  const offset = Math.max(0, Number(query.get("offset") ?? 0) || 0);
  const body = h("tbody");
  const info = h("span", { class: "muted" });
  const prev = h("button", { type: "button", disabled: offset === 0 }, "← Newer");
  const next = h("button", { type: "button", disabled: true }, "Older →");
  const go = (changes) => {
    const q = new URLSearchParams(query);
    for (const [k, v] of Object.entries(changes)) {
      if (v === "" || v === 0 || v === undefined) q.delete(k);
      else q.set(k, String(v));
    }
    navigate(q);
  };
  prev.addEventListener("click", () => go({ offset: Math.max(0, offset - PAGE) }));
  next.addEventListener("click", () => go({ offset: offset + PAGE }));
  const { statusSelect, flowSelect, flowChoices } = filters({ flow, status, fixedFlow, go });
  const el = h(
    "section",
    { class: "runs" },
    h("div", { class: "toolbar" }, flowSelect, statusSelect, info),
    h(
      "table",
      { id: "runs" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["Run", "Flow", "Status", "Started", "Duration", "Trigger"].map((t) => h("th", {}, t)),
        ),
      ),
      body,
    ),
    h("div", { class: "pager" }, prev, next),
  );
  const load = async () => {
    const q = new URLSearchParams({ offset: String(offset), limit: String(PAGE) });
    if (flow) q.set("flow", flow);
    if (status) q.set("status", status);
    const page = await api(`/api/v1/runs?${q}`, { signal });
    const rows = page.runs.map(runRow);
    replace(
      body,
      rows.length ? rows : h("tr", {}, h("td", { colspan: 6, class: "muted" }, "No runs yet.")),
    );
    next.disabled = page.next === null;
    info.textContent = page.runs.length ? `runs ${offset + 1}–${offset + page.runs.length}` : "";
    if (el.dataset.loaded !== "true") performance.mark("orchestra:runs-shown");
    el.dataset.loaded = "true";
  };
  const tick = async () => {
    try {
      await load();
    } catch (e) {
      if (!signal.aborted) info.textContent = errorText(e);
    }
    // The first page follows new runs; older pages stay put while being read.
    if (offset === 0 && !signal.aborted && refreshMs > 0) {
      const t = setTimeout(tick, refreshMs);
      signal.addEventListener("abort", () => clearTimeout(t), { once: true });
    }
  };
  tick();
  return {
    element: el,
    /** Gives the flow filter its choices. */
    setFlows(names) {
      if (!flowSelect) return;
      flowSelect.replaceChildren(...flowChoices(names).flat());
      flowSelect.value = flow;
    },
  };
}
