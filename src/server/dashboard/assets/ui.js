// Small pieces every view uses: status badges, the notice line, buttons that call the API.

import { ApiError } from "./api.js";
import { h, route } from "./dom.js";

/** A status badge (`running`, `failed`, …). */
export function badge(status, text = status) {
  return h("span", { class: ["badge", `status-${status}`], dataset: { status } }, text);
}

let hideTimer;

/** Shows a message in the notice line (errors stay until the next one). */
export function notice(message, kind = "info") {
  const el = document.getElementById("notice");
  if (!el) return;
  clearTimeout(hideTimer);
  el.textContent = message;
  el.className = kind;
  el.hidden = !message;
  if (kind !== "error" && message) hideTimer = setTimeout(() => (el.hidden = true), 6000);
}

/** What went wrong, for the notice line: the API's own words. */
export function errorText(e) {
  if (e instanceof ApiError) {
    const lines = [e.message];
    for (const x of e.problem.errors ?? []) {
      lines.push(`• ${x.message}${x.hint ? ` (${x.hint})` : ""}`);
    }
    return lines.join("\n");
  }
  return e?.message ?? String(e);
}

/** A button that runs `action` (disabled while it runs, its error shown). */
export function actionButton(label, action, props = {}) {
  const b = h("button", { type: "button", ...props }, label);
  b.addEventListener("click", async () => {
    b.disabled = true;
    try {
      await action();
    } catch (e) {
      notice(errorText(e), "error");
    } finally {
      b.disabled = false;
    }
  });
  return b;
}

/** A link to a run. */
export function runLink(runId, text = runId) {
  return h("a", { href: route("runs", runId), class: "mono", title: runId }, text);
}

/** A link to a flow. */
export function flowLink(name) {
  return h("a", { href: route("flows", name) }, name);
}

/** What started a run, with a link to the run it retried or resumed. */
export function triggerText(trigger) {
  if (!trigger) return h("span", { class: "muted" }, "cli");
  const parts = [trigger.kind];
  if (trigger.kind === "schedule" && trigger.schedule) parts.push(` ${trigger.schedule}`);
  const out = h("span", { class: "trigger", dataset: { kind: trigger.kind } }, parts.join(""));
  if (trigger.of) out.append(" of ", runLink(trigger.of, trigger.of.slice(0, 8)));
  if (trigger.by) out.append(h("span", { class: "muted" }, ` by ${trigger.by}`));
  return out;
}

/** A definition list of facts: `[[term, value], …]` (empty values left out). */
export function facts(pairs) {
  const dl = h("dl", { class: "facts" });
  for (const [term, value] of pairs) {
    if (value === undefined || value === null || value === "") continue;
    dl.append(h("dt", {}, term), h("dd", {}, value));
  }
  return dl;
}
