// The schedules: when each fires next, its policies, the run of its last tick, and pause,
// resume and trigger.

import { api, apiPath } from "./api.js";
import { h } from "./dom.js";
import { localTime, relative } from "./format.js";
import { actionButton, badge, flowLink, notice, runLink } from "./ui.js";

/** The schedules (with pause, resume and trigger); `reload()` after an action. */
export function schedulesTable(schedules, reload) {
  if (!schedules.length) return h("p", { class: "muted" }, "No schedules.");
  const act = (s, what) =>
    actionButton(what[0].toUpperCase() + what.slice(1), async () => {
      const r = await api(apiPath`/schedules/${s.id}/${what}`, { method: "POST", body: {} });
      if (what === "trigger" && r.runId) notice(`Started run ${r.runId}`);
      await reload();
    }, { dataset: { action: what, schedule: s.id } });
  return h(
    "table",
    { id: "schedules" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        ["Schedule", "Flow", "Cron", "Next", "Policies", "Last", ""].map((t) => h("th", {}, t)),
      ),
    ),
    h(
      "tbody",
      {},
      schedules.map((s) =>
        h(
          "tr",
          { dataset: { schedule: s.id } },
          h("td", { class: "mono" }, s.id, s.paused ? [" ", badge("paused")] : ""),
          h("td", {}, flowLink(s.flow)),
          h("td", { class: "mono" }, `${s.cron} (${s.timezone})`),
          h(
            "td",
            {},
            (s.next ?? []).slice(0, 3).map((t) =>
              h("div", { title: localTime(t) }, `${localTime(t)} (${relative(t)})`)
            ),
          ),
          h(
            "td",
            { class: "muted" },
            `catch-up ${s.catchup?.policy ?? ""}, overlap ${s.overlap}`,
            s.missed ? h("div", {}, `${s.missed} missed tick(s)`) : "",
          ),
          h("td", {}, s.lastRunId ? runLink(s.lastRunId, s.lastRunId.slice(0, 13)) : ""),
          h("td", {}, act(s, s.paused ? "resume" : "pause"), " ", act(s, "trigger")),
        )
      ),
    ),
  );
}

/** The page of every schedule. */
export async function schedulesView(root, { signal }) {
  const box = h("div", {});
  const reload = async () => {
    const { schedules } = await api("/api/v1/schedules", { signal });
    box.replaceChildren(schedulesTable(schedules, reload));
  };
  await reload();
  root.replaceChildren(h("h1", {}, "Schedules"), box);
}
