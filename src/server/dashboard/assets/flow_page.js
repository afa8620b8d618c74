// A flow's page: what it is, its problems, its schedules (pause, resume, trigger), the Run
// form generated from its params schema, and its runs.

import { api, apiPath } from "./api.js";
import { h, route } from "./dom.js";
import { errorsByField, fieldsOf, initialText, paramsOf } from "./params_form.js";
import { runsTable } from "./runs_table.js";
import { schedulesTable } from "./schedules.js";
import { badge, facts } from "./ui.js";

function control(field) {
  const id = `param-${field.name}`;
  const common = { id, name: field.name, dataset: { param: field.name } };
  if (field.control === "checkbox") {
    return h("input", { ...common, type: "checkbox", checked: field.default === true });
  }
  if (field.control === "select") {
    return h(
      "select",
      { ...common, value: initialText(field) },
      field.unset ? h("option", { value: "" }, field.required ? "(choose)" : "(not set)") : "",
      field.options.map((o, i) =>
        h("option", { value: String(i) }, typeof o === "string" ? o : JSON.stringify(o))
      ),
    );
  }
  if (field.control === "json") {
    return h("textarea", { ...common, rows: 3, spellcheck: "false", value: initialText(field) });
  }
  return h("input", {
    ...common,
    type: "text",
    value: initialText(field),
    ...(field.type === "integer" || field.type === "number" ? { inputmode: "decimal" } : {}),
    autocomplete: "off",
  });
}

/** The Run form of a flow; `onStarted(runId)` after a 201. */
export function runForm(flow, onStarted) {
  const fields = fieldsOf(flow.params);
  const inputs = new Map();
  const errors = new Map();
  const general = h("ul", { class: "form-errors", role: "alert" });
  const form = h("form", { class: "params", id: "run-form", novalidate: true });
  for (const f of fields) {
    const input = control(f);
    const error = h("div", { class: "error", id: `param-${f.name}-error`, role: "alert" });
    input.setAttribute("aria-describedby", `param-${f.name}-error`);
    inputs.set(f.name, input);
    errors.set(f.name, error);
    const label = h(
      "label",
      { for: `param-${f.name}` },
      f.name,
      h("span", { class: "type" }, f.type),
      f.required ? h("span", { class: "required", title: "required" }, "*") : "",
    );
    form.append(
      h(
        "div",
        { class: "field", dataset: { field: f.name } },
        label,
        input,
        f.description ? h("div", { class: "help" }, f.description) : "",
        f.default !== undefined && f.control !== "checkbox"
          ? h("div", { class: "help" }, `default: ${JSON.stringify(f.default)}`)
          : "",
        error,
      ),
    );
  }
  if (!fields.length) form.append(h("p", { class: "muted" }, "This flow takes no params."));
  const submit = h("button", { type: "submit", class: "primary" }, "Run");
  form.append(general, h("div", {}, submit));
  const clear = () => {
    general.replaceChildren();
    for (const [name, el] of errors) {
      el.textContent = "";
      el.parentElement.classList.remove("has-error");
      inputs.get(name).removeAttribute("aria-invalid");
    }
  };
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clear();
    const raws = {};
    for (const f of fields) {
      const input = inputs.get(f.name);
      raws[f.name] = f.control === "checkbox" ? input.checked : input.value;
    }
    submit.disabled = true;
    try {
      const { runId } = await api(apiPath`/flows/${flow.name}/runs`, {
        method: "POST",
        body: { params: paramsOf(fields, raws) },
      });
      onStarted(runId);
    } catch (e) {
      const { byField, general: rest } = errorsByField(e.problem ?? { detail: e.message }, [
        ...inputs.keys(),
      ]);
      for (const [name, messages] of Object.entries(byField)) {
        errors.get(name).textContent = messages.join(" ");
        errors.get(name).parentElement.classList.add("has-error");
        inputs.get(name).setAttribute("aria-invalid", "true");
      }
      if (e.status && e.status !== 422) rest.unshift(e.message);
      general.replaceChildren(...[...new Set(rest)].map((m) => h("li", {}, m)));
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

/** Renders the page of flow `name` into `root`. */
export async function flowView(root, { name, query, navigate, signal }) {
  const flow = await api(apiPath`/flows/${name}`, { signal });
  const problems = flow.issues ?? [];
  const schedules = h("div", { class: "schedules" });
  // Only the schedules are drawn again after an action: the form keeps what was typed.
  const reload = async () => {
    const fresh = await api(apiPath`/flows/${name}`, { signal });
    schedules.replaceChildren(schedulesTable(fresh.schedules, reload));
  };
  schedules.append(schedulesTable(flow.schedules, reload));
  root.replaceChildren(
    h("h1", {}, "Flow ", h("span", { class: "flow-name" }, flow.name)),
    facts([
      ["File", h("span", { class: "mono" }, flow.file)],
      ["About", flow.description],
      ["Tasks", String(flow.tasks)],
      ["Valid", flow.valid ? badge("succeeded", "valid") : badge("invalid", "invalid")],
      ["Webhook", flow.webhook ? h("span", { class: "mono" }, `POST /hooks/${flow.name}`) : ""],
    ]),
    problems.length
      ? h(
        "ul",
        { class: "issues" },
        problems.map((i) =>
          h(
            "li",
            {},
            i.location ? h("span", { class: "mono" }, `${i.location}: `) : "",
            i.message,
            i.hint ? h("div", { class: "muted" }, i.hint) : "",
          )
        ),
      )
      : "",
    h("h2", {}, "Run"),
    flow.valid
      ? runForm(flow, (runId) => navigate(route("runs", runId)))
      : h("p", { class: "muted" }, "Fix the problems above to run this flow."),
    h("h2", {}, "Schedules"),
    schedules,
    h("h2", {}, "Runs"),
    runsTable({
      query,
      fixedFlow: flow.name,
      navigate: (q) => navigate(route("flows", flow.name) + (q.size ? `?${q}` : "")),
      signal,
    }).element,
  );
}
