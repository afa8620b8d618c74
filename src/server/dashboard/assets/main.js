// The dashboard's entry: routes (`#/`, `#/flows/NAME`, `#/runs/ID`, `#/schedules`), the token
// form, and one view at a time (leaving a view aborts its streams and timers).

import { setToken, token } from "./api.js";
import { h } from "./dom.js";
import { errorText, notice } from "./ui.js";

// Each view is loaded when it is first shown: the first page does not wait for the run page's
// graph library.
const VIEWS = {
  home: () => import("./home.js").then((m) => m.homeView),
  flow: () => import("./flow_page.js").then((m) => m.flowView),
  run: () => import("./run_page.js").then((m) => m.runView),
  schedules: () => import("./schedules.js").then((m) => m.schedulesView),
};

/** The route of a `location.hash`: its decoded path segments and its query. */
export function parseRoute(hash) {
  const text = hash.replace(/^#/, "");
  const at = text.indexOf("?");
  const path = at < 0 ? text : text.slice(0, at);
  const query = new URLSearchParams(at < 0 ? "" : text.slice(at + 1));
  const parts = path.split("/").filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  return { parts, query };
}

const root = document.getElementById("view");
let current;

function navigate(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

async function render() {
  current?.abort();
  const controller = new AbortController();
  current = controller;
  const { signal } = controller;
  const { parts, query } = parseRoute(location.hash);
  const context = { query, navigate, signal };
  root.dataset.view = parts[0] ?? "home";
  root.replaceChildren(h("p", { class: "muted" }, "Loading…"));
  try {
    if (parts.length === 0) await (await VIEWS.home())(root, context);
    else if (parts[0] === "flows" && parts.length === 2) {
      await (await VIEWS.flow())(root, { ...context, name: parts[1] });
    } else if (parts[0] === "runs" && parts.length === 2) {
      await (await VIEWS.run())(root, { ...context, id: parts[1] });
    } else if (parts[0] === "schedules" && parts.length === 1) {
      await (await VIEWS.schedules())(root, context);
    } else {
      root.replaceChildren(
        h("h1", {}, "Nothing here"),
        h(
          "p",
          {},
          "This page does not exist. ",
          h("a", { href: "#/" }, "Go to the flows and runs."),
        ),
      );
    }
  } catch (e) {
    if (signal.aborted) return;
    root.replaceChildren(
      h("h1", {}, "Cannot show this page"),
      h("p", { class: "load-error" }, errorText(e)),
      h("p", {}, h("a", { href: "#/" }, "Go to the flows and runs.")),
    );
  }
}

function authForm() {
  const form = document.getElementById("auth");
  const input = document.getElementById("token");
  const signout = document.getElementById("signout");
  signout.hidden = !token();
  addEventListener("orchestra:unauthorized", () => {
    form.hidden = false;
    notice(
      token()
        ? "The server refused this token: give another one."
        : "This server needs an API token (orchestra serve token add NAME --role viewer).",
      "error",
    );
    input.focus();
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    setToken(input.value.trim());
    input.value = "";
    form.hidden = true;
    signout.hidden = !token();
    notice("");
    render();
  });
  signout.addEventListener("click", () => {
    setToken("");
    signout.hidden = true;
    render();
  });
}

authForm();
addEventListener("hashchange", render);
render();
