// A run's graph, laid out by dagre (the npm package pinned in deno.json, served from the
// program at /ui/dagre.js) and drawn as SVG. The layout is computed again only when tasks or
// edges are added; state changes only change classes and the counts.

import { s } from "./dom.js";
import { duration } from "./format.js";
import { shapeKey, TASK_STATES } from "./run_model.js";

// dagre.js is not a file of this folder: the program serves it from the npm package. Imported
// by a computed URL, so that `deno check` of this folder does not look for it on disk.
const DAGRE_URL = new URL("./dagre.js", import.meta.url).href;
const { default: dagre } = await import(DAGRE_URL);

const CHAR_PX = 7;
const PAD_PX = 28;
const NODE_H = 40;
const MAP_H = 54;

function clip(text, chars) {
  return text.length > chars ? text.slice(0, Math.max(1, chars - 1)) + "…" : text;
}

function subtitle(n, task) {
  if (n.kind === "map") {
    const c = n.counts;
    const done = c.succeeded + c.cached;
    const parts = [`${done}/${n.items} items`];
    if (c.running) parts.push(`${c.running} running`);
    if (c.failed) parts.push(`${c.failed} failed`);
    if (c.skipped + c.cancelled) parts.push(`${c.skipped + c.cancelled} not run`);
    return parts.join(" · ");
  }
  const parts = [n.state];
  if (task?.attemptCount > 1) parts.push(`attempt ${task.attemptCount}`);
  if (task?.startedAt !== undefined && task?.finishedAt !== undefined) {
    parts.push(duration(task.finishedAt - task.startedAt));
  }
  return parts.join(" · ");
}

/** The arrow head of the edges. */
function arrowHead() {
  return s(
    "defs",
    {},
    s(
      "marker",
      {
        id: "arrow",
        viewBox: "0 0 10 10",
        refX: 9,
        refY: 5,
        markerWidth: 7,
        markerHeight: 7,
        orient: "auto-start-reverse",
      },
      s("path", { class: "arrow", d: "M0,0 L10,5 L0,10 z" }),
    ),
  );
}

/** The graph of a run, in `container`; `onSelect(taskId)` when a node is chosen. */
export class GraphView {
  #container;
  #onSelect;
  #key = "";
  #nodes = new Map();

  constructor(container, { onSelect }) {
    this.#container = container;
    this.#onSelect = onSelect;
  }

  /** Draws `graph` (from `graphOf`), laying it out again when its shape changed. */
  update(graph, model, selected) {
    const key = shapeKey(graph);
    if (key !== this.#key) {
      this.#key = key;
      this.#layout(graph);
    }
    for (const n of graph.nodes) {
      const el = this.#nodes.get(n.id);
      if (el) this.#paint(el, n, model.tasks.get(n.id), selected === n.id);
    }
  }

  #layout(graph) {
    const g = new dagre.graphlib.Graph();
    g.setGraph({ rankdir: "LR", nodesep: 16, ranksep: 46, marginx: 14, marginy: 14 });
    g.setDefaultEdgeLabel(() => ({}));
    for (const n of graph.nodes) {
      const width = Math.min(260, Math.max(160, n.label.length * CHAR_PX + PAD_PX));
      g.setNode(n.id, { width, height: n.kind === "map" ? MAP_H : NODE_H });
    }
    for (const e of graph.edges) g.setEdge(e.from, e.to);
    dagre.layout(g);
    const size = g.graph();
    const width = Math.ceil(size.width ?? 0);
    const height = Math.ceil(size.height ?? 0);
    const svg = s("svg", {
      class: "graph",
      width,
      height,
      viewBox: `0 0 ${width} ${height}`,
      role: "group",
      "aria-label": "Tasks of the run",
    }, arrowHead());
    for (const e of g.edges()) {
      const points = g.edge(e).points ?? [];
      if (!points.length) continue;
      const d = points.map((p, i) => `${i ? "L" : "M"}${p.x.toFixed(1)},${p.y.toFixed(1)}`)
        .join(" ");
      svg.append(
        s("path", {
          class: "edge",
          d,
          "marker-end": "url(#arrow)",
          dataset: { from: e.v, to: e.w },
        }),
      );
    }
    this.#nodes.clear();
    for (const n of graph.nodes) {
      const ref = this.#node(n, g.node(n.id));
      svg.append(ref.el);
      this.#nodes.set(n.id, ref);
    }
    this.#container.replaceChildren(svg);
  }

  /** A node at its place in the layout; its state is painted by #paint. */
  #node(n, box) {
    const w = box.width;
    const h = box.height;
    const chars = Math.floor((w - 20) / CHAR_PX);
    const title = s("title", {}, n.id);
    const sub = s("text", { class: "sub", x: 10, y: 31 }, "");
    const bar = n.kind === "map" ? s("g", { class: "segments" }) : undefined;
    const choose = () => this.#onSelect(n.id);
    const el = s(
      "g",
      {
        class: "node",
        transform: `translate(${(box.x - w / 2).toFixed(1)},${(box.y - h / 2).toFixed(1)})`,
        tabindex: 0,
        role: "button",
        dataset: { task: n.id, kind: n.kind },
        on: {
          click: choose,
          keydown: (ev) => {
            if (ev.key !== "Enter" && ev.key !== " ") return;
            ev.preventDefault();
            choose();
          },
        },
      },
      title,
      s("rect", { class: "box", width: w, height: h }),
      s("text", { class: "label", x: 10, y: 17 }, clip(n.label, chars)),
      sub,
      bar,
    );
    return { el, title, sub, bar, width: w, chars };
  }

  #paint(ref, n, task, selected) {
    ref.el.setAttribute("class", `node state-${n.state}${selected ? " selected" : ""}`);
    ref.el.dataset.state = n.state;
    ref.el.setAttribute("aria-label", `${n.id}: ${n.state}`);
    ref.el.setAttribute("aria-pressed", String(selected));
    ref.title.textContent = `${n.id} — ${n.state}${task?.reason ? `: ${task.reason}` : ""}`;
    ref.sub.textContent = clip(subtitle(n, task), ref.chars + 4);
    if (ref.bar) {
      // The items' states as one stacked bar under the group's name.
      ref.bar.replaceChildren();
      const total = Math.max(1, n.items);
      const span = ref.width - 20;
      let x = 10;
      for (const state of TASK_STATES) {
        const count = n.counts[state] ?? 0;
        if (!count) continue;
        const w = (count / total) * span;
        ref.bar.append(
          s(
            "rect",
            { class: `seg-${state}`, x: x.toFixed(1), y: 40, width: w.toFixed(1), height: 6 },
            s("title", {}, `${count} ${state}`),
          ),
        );
        x += w;
      }
    }
  }
}
