// The dashboard's only way to the server: the JSON API under /api/v1. Reads send the token
// kept for this tab (if any); actions also send the header the API requires of state-changing
// requests (a cross-site form cannot send it), so no cookie is ever involved.

const TOKEN_KEY = "orchestra-token";

/** The API token of this tab, if one was given. */
export function token() {
  return sessionStorage.getItem(TOKEN_KEY) ?? "";
}

/** Keeps (or, with "", forgets) the API token of this tab. */
export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** A refusal of the API: its status and problem document. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.problem = problem ?? {};
  }
}

/** The headers of a request: the token, and for actions the anti-CSRF header and JSON. */
export function headers(method = "GET", extra = {}) {
  const out = { accept: "application/json", ...extra };
  const t = token();
  if (t) out.authorization = `Bearer ${t}`;
  if (method !== "GET") {
    out["x-orchestra-request"] = "1";
    out["content-type"] = "application/json";
  }
  return out;
}

/**
 * An API path with its parts percent-encoded: ``apiPath`/runs/${id}/tasks/${task}/logs` ``.
 */
export function apiPath(strings, ...values) {
  let out = "/api/v1";
  strings.forEach((s, i) => {
    out += s;
    if (i < values.length) out += encodeURIComponent(String(values[i]));
  });
  return out;
}

/** Calls the API; resolves with the JSON answer, rejects with an {@link ApiError}. */
export async function api(path, { method = "GET", body, signal } = {}) {
  const r = await fetch(path, {
    method,
    headers: headers(method),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    ...(signal ? { signal } : {}),
    credentials: "omit",
  });
  const text = await r.text();
  let json;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    json = { detail: text.slice(0, 500) };
  }
  if (!r.ok) {
    if (r.status === 401) dispatchEvent(new CustomEvent("orchestra:unauthorized"));
    throw new ApiError(r.status, json);
  }
  return json;
}
