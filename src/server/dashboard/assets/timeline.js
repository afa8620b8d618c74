// A run's timeline (a Gantt chart): a row per task, a bar per attempt, a mark per cache hit,
// drawn as SVG from `timelineOf` of the run model. Drawn again on each change (rows are few:
// map items beyond the first 50 of a group are counted, not drawn).

import { s } from "./dom.js";
import { duration } from "./format.js";

const ROW_H = 20;
const LABEL_W = 190;
const AXIS_H = 22;
const STEPS = [
  100,
  250,
  500,
  1000,
  2000,
  5000,
  10_000,
  15_000,
  30_000,
  60_000,
  120_000,
  300_000,
  600_000,
  900_000,
  1_800_000,
  3_600_000,
  7_200_000,
  21_600_000,
  43_200_000,
  86_400_000,
];

function clip(text, chars) {
  return text.length > chars ? text.slice(0, chars - 1) + "…" : text;
}

/** One task's row at `y`: its label, a bar per attempt, a cache hit's mark, a skip's reason. */
function rowOf(r, y, x, { selected, onSelect }) {
  const row = s("g", {
    class: `row state-${r.state}${r.id === selected ? " selected" : ""}`,
    dataset: { task: r.id },
    on: { click: () => onSelect(r.id) },
  });
  row.append(
    s(
      "text",
      { class: "label", x: 6 + r.depth * 12, y: y + 14 },
      clip(r.label, Math.floor((LABEL_W - 10 - r.depth * 12) / 6.6)),
      s("title", {}, `${r.id}: ${r.state}`),
    ),
  );
  for (const b of r.bars) {
    const bx = x(b.start);
    const what = `${r.id}${b.attempt ? `, attempt ${b.attempt}` : ""}: ${b.outcome}`;
    row.append(
      s(
        "rect",
        {
          class: `bar outcome-${b.outcome}`,
          x: bx.toFixed(1),
          y: y + 4,
          width: Math.max(2, x(b.end) - bx).toFixed(1),
          height: ROW_H - 8,
          dataset: { attempt: b.attempt },
        },
        s("title", {}, `${what}, ${duration(b.end - b.start)}`),
      ),
    );
  }
  if (r.cached !== undefined) {
    const cx = x(r.cached);
    const cy = y + ROW_H / 2;
    row.append(
      s(
        "path",
        { class: "mark outcome-cached", d: `M${cx},${cy - 6} l6,6 l-6,6 l-6,-6 z` },
        s("title", {}, `${r.id}: cache hit`),
      ),
      s("text", { x: cx + 10, y: y + 14 }, "cached"),
    );
  }
  if (r.state === "skipped") {
    row.append(s("text", { x: LABEL_W + 4, y: y + 14 }, clip(`skipped: ${r.reason ?? ""}`, 90)));
  }
  return row;
}

/**
 * Draws the timeline into `container`.
 *
 * @param {HTMLElement} container
 * @param {{ rows: any[], start: number, end: number, hidden: number }} tl
 * @param {{ selected?: string, onSelect(id: string): void }} options
 */
export function drawTimeline(container, tl, { selected, onSelect }) {
  const width = Math.max(640, container.clientWidth || 900);
  const chart = width - LABEL_W - 16;
  const total = Math.max(1, tl.end - tl.start);
  const x = (t) => LABEL_W + ((t - tl.start) / total) * chart;
  const height = AXIS_H + tl.rows.length * ROW_H + (tl.hidden ? ROW_H : 0) + 6;
  const svg = s("svg", {
    class: "timeline",
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": `Timeline of the run: ${duration(total)}`,
  });
  const step = STEPS.find((st) => total / st <= 8) ?? STEPS[STEPS.length - 1];
  const axis = s("g", { class: "axis" });
  for (let t = 0; t <= total; t += step) {
    const px = x(tl.start + t).toFixed(1);
    axis.append(
      s("line", { x1: px, x2: px, y1: AXIS_H - 4, y2: height }),
      s("text", { x: px, y: 12, "text-anchor": "middle" }, t === 0 ? "0" : duration(t)),
    );
  }
  svg.append(axis);
  tl.rows.forEach((r, i) => {
    svg.append(rowOf(r, AXIS_H + i * ROW_H, x, { selected, onSelect }));
  });
  if (tl.hidden) {
    svg.append(
      s(
        "text",
        { x: 6, y: AXIS_H + tl.rows.length * ROW_H + 14, class: "muted" },
        `… and ${tl.hidden} more map items (in the task panel of their group)`,
      ),
    );
  }
  container.replaceChildren(svg);
}
