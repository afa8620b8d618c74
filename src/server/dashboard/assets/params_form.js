// The Run form's logic, apart from the DOM (tested under Deno): which control each param of
// a flow's params schema gets, how typed text becomes a JSON value, and which field each
// problem of the API's 422 answer belongs to. The API is the one validator: what the form
// cannot read as the param's type it sends as typed, and the API says what is wrong with it.

/**
 * The fields of a params schema (`{ name: spec | type }`), in the schema's order.
 *
 * @param {Record<string, unknown>} schema
 */
export function fieldsOf(schema) {
  return Object.entries(schema ?? {}).map(([name, raw]) => {
    const spec = typeof raw === "string" ? { type: raw } : (raw ?? {});
    const type = String(spec.type ?? "string");
    const hasDefault = spec.default !== undefined;
    let control = "text";
    if (Array.isArray(spec.enum) && spec.enum.length) control = "select";
    else if (type === "boolean") control = hasDefault ? "checkbox" : "select";
    else if (type === "array" || type === "object") control = "json";
    const options = control !== "select"
      ? undefined
      : Array.isArray(spec.enum) && spec.enum.length
      ? [...spec.enum]
      : [true, false];
    return {
      name,
      type,
      control,
      options,
      required: spec.required === true,
      description: typeof spec.description === "string" ? spec.description : undefined,
      default: spec.default,
      // A select may be left unset (the default applies, or the API says it is required).
      unset: control === "select" && !hasDefault,
    };
  });
}

/** The text a field starts with: its default, as the control shows it. */
export function initialText(field) {
  if (field.default === undefined) return "";
  if (field.control === "json") return JSON.stringify(field.default, null, 2);
  if (field.control === "select") return String(field.options.indexOf(field.default));
  return typeof field.default === "string" ? field.default : JSON.stringify(field.default);
}

/**
 * The value a field's input gives: `{ value }`, or `{ omit: true }` when it was left empty
 * (the flow's default applies). `raw` is the text typed, the option's index for a select, or
 * a boolean for a checkbox.
 *
 * @param {ReturnType<typeof fieldsOf>[number]} field
 * @param {string | boolean} raw
 */
export function readField(field, raw) {
  if (field.control === "checkbox") return { value: raw === true };
  if (field.control === "select") {
    if (raw === "" || raw === undefined) return { omit: true };
    const i = Number(raw);
    return Number.isInteger(i) && i >= 0 && i < field.options.length
      ? { value: field.options[i] }
      : { omit: true };
  }
  if (raw === undefined || raw === null) return { omit: true };
  const text = String(raw);
  if (text.trim() === "") return { omit: true };
  if (field.type === "integer" || field.type === "number") {
    const n = Number(text.trim());
    return { value: Number.isFinite(n) ? n : text };
  }
  if (field.control === "json") {
    try {
      return { value: JSON.parse(text) };
    } catch {
      return { value: text };
    }
  }
  return { value: text };
}

/** The params of a filled form: `{ name: raw }` read field by field. */
export function paramsOf(fields, raws) {
  const params = {};
  for (const f of fields) {
    const r = readField(f, raws[f.name]);
    if (!("omit" in r)) params[f.name] = r.value;
  }
  return params;
}

/**
 * A 422 answer's problems by field: each error with a `param` the form has goes to that
 * field; the rest (an unknown param, a problem of the whole request) to `general`.
 *
 * @param {{ detail?: string, errors?: { message: string, hint?: string, param?: string }[] }} problem
 * @param {string[]} names the form's fields
 */
export function errorsByField(problem, names) {
  const byField = {};
  const general = [];
  const known = new Set(names);
  for (const e of problem?.errors ?? []) {
    const text = e.hint ? `${e.message} (${e.hint})` : e.message;
    if (typeof e.param === "string" && known.has(e.param)) {
      (byField[e.param] ??= []).push(e.message);
    } else general.push(text);
  }
  if (!problem?.errors?.length && problem?.detail) general.push(problem.detail);
  return { byField, general };
}
