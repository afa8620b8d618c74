/**
 * The dashboard's files, bundled into the program: each is imported as text (`with { type:
 * "text" }`), so they are part of the module graph — `deno compile` embeds them, and the
 * dashboard works offline, from the compiled binary, with nothing fetched from elsewhere.
 * Our own files are plain ES modules under `assets/` (the browser loads them as they are: no
 * build step); the graph layout library is `npm:@dagrejs/dagre` as pinned in `deno.json`,
 * its ES module build read from the npm cache like any other dependency (never a copy in
 * this repository).
 *
 * @module
 */

import api from "./assets/api.js" with { type: "text" };
import dom from "./assets/dom.js" with { type: "text" };
import favicon from "./assets/favicon.svg" with { type: "text" };
import flowPage from "./assets/flow_page.js" with { type: "text" };
import format from "./assets/format.js" with { type: "text" };
import graph from "./assets/graph.js" with { type: "text" };
import home from "./assets/home.js" with { type: "text" };
import index from "./assets/index.html" with { type: "text" };
import main from "./assets/main.js" with { type: "text" };
import paramsForm from "./assets/params_form.js" with { type: "text" };
import runModel from "./assets/run_model.js" with { type: "text" };
import runPage from "./assets/run_page.js" with { type: "text" };
import runsTable from "./assets/runs_table.js" with { type: "text" };
import schedules from "./assets/schedules.js" with { type: "text" };
import sse from "./assets/sse.js" with { type: "text" };
import style from "./assets/style.css" with { type: "text" };
import taskPanel from "./assets/task_panel.js" with { type: "text" };
import timeline from "./assets/timeline.js" with { type: "text" };
import ui from "./assets/ui.js" with { type: "text" };
import dagre from "@dagrejs/dagre" with { type: "text" };

/** One file of the dashboard. */
export interface Asset {
  /** Its text. */
  body: string;
  /** Its `Content-Type`. */
  type: string;
  /** A strong `ETag` of its text (quoted). */
  etag: string;
}

const TYPES: Record<string, string> = {
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  html: "text/html; charset=utf-8",
  svg: "image/svg+xml",
};

/** FNV-1a over the UTF-16 code units: a cheap, stable tag of a text (not a security hash). */
function tag(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return `"${h.toString(16).padStart(8, "0")}-${text.length.toString(16)}"`;
}

function asset(name: string, body: string): [string, Asset] {
  const ext = name.slice(name.lastIndexOf(".") + 1);
  return [name, { body, type: TYPES[ext] ?? "application/octet-stream", etag: tag(body) }];
}

/** The files by name, as served under `/ui/` (`index.html` is also the page at `/`). */
export const ASSETS: ReadonlyMap<string, Asset> = new Map([
  asset("index.html", index),
  asset("style.css", style),
  asset("favicon.svg", favicon),
  asset("main.js", main),
  asset("api.js", api),
  asset("dom.js", dom),
  asset("format.js", format),
  asset("sse.js", sse),
  asset("ui.js", ui),
  asset("home.js", home),
  asset("runs_table.js", runsTable),
  asset("flow_page.js", flowPage),
  asset("params_form.js", paramsForm),
  asset("schedules.js", schedules),
  asset("run_page.js", runPage),
  asset("run_model.js", runModel),
  asset("graph.js", graph),
  asset("timeline.js", timeline),
  asset("task_panel.js", taskPanel),
  // The package's source map is not shipped with it: without the comment no browser asks.
  asset("dagre.js", dagre.replace(/\n?\/\/# sourceMappingURL=\S+\s*$/, "\n")),
]);
