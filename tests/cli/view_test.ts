import assert from "node:assert/strict";
import { FakeClock, flow, task } from "../../mod.ts";
import type { RunEvent, RunRecordData as RunRecord, TaskRecord } from "../../mod.ts";
import { firstLine, formatClock, formatDuration } from "../../src/cli/view/format.ts";
import { formatSummary } from "../../src/cli/view/summary.ts";
import { displayWidth, truncate } from "../../src/cli/view/text.ts";
import { createView, type ViewOptions } from "../../src/cli/view/view.ts";

// ---- helpers ----

const RUN = "run-1";
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const ESC = "\x1b";
// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-?]*[ -/]*[@-~]/g;
// deno-lint-ignore no-control-regex
const CURSOR_UP = /\r\x1b\[(\d+)A/g;

/** A view writing into a string, on a clock the test moves. */
function capture(options: Partial<ViewOptions> & Pick<ViewOptions, "mode">) {
  const out = { text: "", writes: 0, time: T0 };
  const view = createView({
    write: (t) => {
      out.text += t;
      out.writes++;
    },
    now: () => out.time,
    ...options,
  });
  return { view, out };
}

function base(taskId: string) {
  return { runId: RUN, time: T0, taskId, name: taskId.replace(/\[\d+\]$/, "") };
}

const ev = {
  runStarted: (): RunEvent => ({
    type: "run.started",
    runId: RUN,
    time: T0,
    flow: "etl",
    params: { n: 3 },
  }),
  runFinished: (status: "succeeded" | "failed", error?: string): RunEvent => ({
    type: "run.finished",
    runId: RUN,
    time: T0,
    flow: "etl",
    status,
    ...(error ? { error } : {}),
  }),
  created: (id: string, kind: "task" | "map" = "task", group?: string): RunEvent => ({
    type: "task.created",
    ...base(id),
    needs: [],
    kind,
    ...(group ? { group } : {}),
  }),
  started: (id: string, attempt = 1): RunEvent => ({ type: "task.started", ...base(id), attempt }),
  retrying: (id: string, attempt: number, delayMs: number, error: string): RunEvent => ({
    type: "task.retrying",
    ...base(id),
    attempt,
    delayMs,
    error,
  }),
  succeeded: (id: string, durationMs: number, attempt = 1): RunEvent => ({
    type: "task.succeeded",
    ...base(id),
    attempt,
    durationMs,
  }),
  failed: (id: string, error: string, attempts = 1, durationMs = 5): RunEvent => ({
    type: "task.failed",
    ...base(id),
    attempts,
    error,
    durationMs,
  }),
  cached: (id: string, key: string): RunEvent => ({ type: "task.cached", ...base(id), key }),
  skipped: (id: string, reason: string): RunEvent => ({
    type: "task.skipped",
    ...base(id),
    reason,
  }),
  cancelled: (id: string): RunEvent => ({ type: "task.cancelled", ...base(id) }),
  expanded: (id: string, items: number): RunEvent => ({ type: "map.expanded", ...base(id), items }),
};

/** Events of a map `square` over `n` items that all succeed. */
function mapEvents(n: number, id = "square"): RunEvent[] {
  const events = [ev.created(id, "map"), ev.expanded(id, n)];
  for (let i = 0; i < n; i++) events.push(ev.created(`${id}[${i}]`, "task", id));
  for (let i = 0; i < n; i++) {
    events.push(ev.started(`${id}[${i}]`), ev.succeeded(`${id}[${i}]`, 3));
  }
  events.push(ev.succeeded(id, 42));
  return events;
}

function record(tasks: TaskRecord[], status: RunRecord["status"] = "failed"): RunRecord {
  return {
    runId: RUN,
    flow: "etl",
    status,
    result: undefined,
    params: {},
    startedAt: new Date(T0).toISOString(),
    finishedAt: new Date(T0 + 2_500).toISOString(),
    tasks,
  };
}

/**
 * A small terminal: plays ANSI output (cursor up, erase line, erase down, wrapping) onto a
 * screen and returns its lines, so tests see what a person would see.
 */
function screen(output: string, columns = 200): string[] {
  const lines: string[][] = [[]];
  let row = 0;
  let col = 0;
  const chars = Array.from(output);
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i];
    if (ch === ESC) {
      const rest = chars.slice(i, i + 16).join("");
      // deno-lint-ignore no-control-regex
      const m = /^\x1b\[\??([\d;]*)([A-Za-z])/.exec(rest);
      assert.ok(m, `unknown escape ${JSON.stringify(rest)}`);
      const n = Number(m[1] || "1");
      if (m[2] === "A") row = Math.max(0, row - n);
      else if (m[2] === "K") lines[row] = [];
      else if (m[2] === "J") {
        lines[row] = lines[row].slice(0, col);
        lines.length = row + 1;
      }
      i += Array.from(m[0]).length - 1;
    } else if (ch === "\n") {
      row++;
      col = 0;
      lines[row] ??= [];
    } else if (ch === "\r") {
      col = 0;
    } else {
      if (col >= columns) {
        row++;
        col = 0;
        lines[row] ??= [];
      }
      lines[row][col++] = ch;
    }
  }
  return lines.map((l) => Array.from(l, (c) => c ?? " ").join("").trimEnd());
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- format ----

Deno.test("formatDuration() reads like people write durations", () => {
  assert.equal(formatDuration(0), "0ms");
  assert.equal(formatDuration(-5), "0ms");
  assert.equal(formatDuration(850), "850ms");
  assert.equal(formatDuration(999.6), "1.0s");
  assert.equal(formatDuration(1_234), "1.2s");
  assert.equal(formatDuration(59_960), "1m00s");
  assert.equal(formatDuration(123_000), "2m03s");
  assert.equal(formatDuration(3_599_600), "1h00m");
  assert.equal(formatDuration(3_900_000), "1h05m");
  assert.equal(formatDuration(2 * 86_400_000 + 3 * 3_600_000), "2d03h");
});

Deno.test("truncate() cuts by display width, keeps colours and closes them", () => {
  assert.equal(truncate("abcdef", 4), "abc…");
  assert.equal(truncate("abc", 3), "abc");
  assert.equal(displayWidth(truncate("日本語のテキスト", 7)), 7);
  const coloured = truncate("\x1b[31mredredred\x1b[39m", 5);
  assert.equal(coloured, "\x1b[31mredr…\x1b[0m");
  assert.equal(displayWidth(coloured), 5);
  assert.equal(firstLine("boom\n    at f (x.ts:1:1)"), "boom …");
});

// ---- plain ----

Deno.test("plain view prints one time-stamped line per meaningful event", () => {
  const { view, out } = capture({ mode: "plain" });
  view.onEvent(ev.runStarted());
  view.onEvent(ev.created("extract"));
  view.onEvent(ev.started("extract"));
  out.time += 1_234;
  view.onEvent(ev.succeeded("extract", 1_234));
  view.onEvent(ev.started("load"));
  view.onEvent(ev.retrying("load", 1, 2_000, "connection refused"));
  view.onEvent(ev.started("load", 2));
  view.onEvent(ev.failed("load", "disk full", 2, 850));
  view.onEvent(ev.skipped("report", 'upstream "load" failed'));
  view.onEvent(ev.cancelled("notify"));
  view.onEvent(ev.cached("fetch", "fetch:[1]"));
  view.onEvent(ev.runFinished("failed", "disk full"));
  const lines = out.text.trimEnd().split("\n");
  const stamp = formatClock(T0);
  assert.equal(lines[0], `${stamp} run etl started · run ${RUN} · params {"n":3}`);
  assert.deepEqual(lines.slice(1).map((l) => l.slice(13)), [
    "▸ extract started",
    "✓ extract succeeded in 1.2s",
    "▸ load started",
    "↻ load attempt 1 failed, retrying in 2.0s: connection refused",
    "▸ load started (attempt 2)",
    "✗ load failed after 2 attempts in 850ms: disk full",
    '↷ report skipped: upstream "load" failed',
    "⊘ notify cancelled",
    "◆ fetch cached (key fetch:[1])",
    "run etl failed: disk full",
  ]);
  assert.ok(lines[2].startsWith(`${formatClock(T0 + 1_234)} `));
  assert.ok(!out.text.includes(ESC), "no ANSI without colour");
});

Deno.test("plain view prints a large map as its expansion and completion, not item by item", () => {
  const { view, out } = capture({ mode: "plain" });
  for (const e of mapEvents(40)) view.onEvent(e);
  const lines = out.text.trimEnd().split("\n").map((l) => l.slice(13));
  assert.deepEqual(lines, ["▸ square: 40 items", "✓ square succeeded in 42ms (40 items)"]);
});

Deno.test("plain view prints the items of a small map", () => {
  const { view, out } = capture({ mode: "plain" });
  for (const e of mapEvents(3)) view.onEvent(e);
  const lines = out.text.trimEnd().split("\n").map((l) => l.slice(13));
  assert.equal(lines[0], "▸ square: 3 items");
  assert.ok(lines.includes("▸ square[2] started"));
  assert.ok(lines.includes("✓ square[2] succeeded in 3ms"));
  assert.equal(lines.at(-1), "✓ square succeeded in 42ms (3 items)");
});

Deno.test("plain view shows the first failures of a large map and then stops", () => {
  const { view, out } = capture({ mode: "plain" });
  view.onEvent(ev.created("square", "map"));
  view.onEvent(ev.expanded("square", 100));
  for (let i = 0; i < 100; i++) view.onEvent(ev.created(`square[${i}]`, "task", "square"));
  for (let i = 0; i < 30; i++) view.onEvent(ev.failed(`square[${i}]`, `bad ${i}`));
  view.onEvent(ev.failed("square", "item square[0] failed: bad 0"));
  const lines = out.text.trimEnd().split("\n").map((l) => l.slice(13));
  assert.equal(lines.filter((l) => l.startsWith("✗ square[")).length, 5);
  assert.ok(lines.includes("… more items of square failed; the summary lists them"));
  assert.equal(lines.at(-1), "✗ square failed in 5ms (30/100 items): item square[0] failed: bad 0");
});

Deno.test("plain view colours only when asked, and prints log lines as they are", () => {
  const { view, out } = capture({ mode: "plain", color: true });
  view.onEvent(ev.succeeded("a", 1));
  view.log("12:00:00.000 INFO  [a] hello");
  assert.ok(out.text.includes(`${ESC}[32m✓${ESC}[39m`));
  assert.ok(out.text.endsWith("12:00:00.000 INFO  [a] hello\n"));
});

Deno.test("plain view of a real flow: map compaction, retries on a fake clock, summary", async () => {
  const { view, out } = capture({ mode: "plain" });
  const numbers = task("numbers", () => Array.from({ length: 30 }, (_, i) => i));
  const square = task("square", (n: number) => n * n);
  let calls = 0;
  const flaky = task({ name: "flaky", retries: { attempts: 3, delay: "2s" } }, () => {
    if (++calls < 3) throw new Error(`timeout ${calls}`);
    return "ok";
  });
  const broken = task("broken", (): number => {
    throw new Error("no such table");
  });
  const report = task("report", (n: number) => n);
  const etl = flow("etl", (f) => {
    const squares = f.map(numbers(), square);
    report(broken());
    return { squares, flaky: flaky() };
  });
  const rec = await etl.run({}, { onEvent: view.onEvent, clock: new FakeClock(T0) });
  view.finish(rec);
  const text = out.text;
  assert.match(text, /run etl started · run \S+/);
  assert.match(text, /▸ square: 30 items\n/);
  assert.match(text, /✓ square succeeded in \d+ms \(30 items\)\n/);
  assert.ok(!text.includes("square[0]"));
  assert.match(text, /↻ flaky attempt 1 failed, retrying in 2\.0s: timeout 1\n/);
  assert.match(text, /↻ flaky attempt 2 failed, retrying in 4\.0s: timeout 2\n/);
  assert.match(text, /✓ flaky succeeded in 6\.0s after 3 attempts\n/);
  assert.match(text, /✗ broken failed in \d+ms: .*no such table\n/);
  assert.match(text, /↷ report skipped: upstream "broken" failed\n/);
  assert.match(text, /run etl failed/);
  // The summary: 30 items + numbers + flaky + broken + report, the group itself not counted.
  assert.match(
    text,
    /\n✗ etl failed in \S+ · run \S+\n {2}34 tasks: 32 succeeded · 1 failed · 1 skipped\n/,
  );
  assert.match(text, /failed:\n {4}✗ broken: .*no such table\n/);
  assert.match(text, /skipped:\n {4}↷ report: upstream "broken" failed\n/);
});

// ---- quiet ----

Deno.test("quiet view prints nothing but the summary", async () => {
  const { view, out } = capture({ mode: "quiet" });
  const hello = task("hello", () => "hi");
  const rec = await flow("hello", () => hello()).run({}, { onEvent: view.onEvent });
  view.log("a log line");
  assert.equal(out.text, "");
  view.finish(rec);
  view.finish(rec);
  assert.match(out.text, /^✓ hello succeeded in \S+ · run \S+\n {2}1 task: 1 succeeded\n$/);
});

// ---- summary ----

Deno.test("summary lists failed tasks with errors and skipped ones with reasons, capped at 10", () => {
  const tasks: TaskRecord[] = [
    { id: "ok", name: "ok", status: "succeeded", attempts: 1 },
    { id: "c", name: "c", status: "cached", attempts: 0, cacheKey: "k" },
    { id: "load", name: "load", status: "failed", attempts: 3, error: "disk full\nretry later" },
  ];
  for (let i = 0; i < 12; i++) {
    tasks.push({
      id: `step${i}`,
      name: "step",
      status: "skipped",
      attempts: 0,
      reason: "upstream",
    });
  }
  const text = formatSummary({ ...record(tasks), error: "disk full\nretry later" });
  const lines = text.trimEnd().split("\n");
  assert.equal(lines[0], `✗ etl failed in 2.5s · run ${RUN}`);
  assert.equal(lines[1], "  15 tasks: 1 succeeded · 1 cached · 1 failed · 12 skipped");
  assert.deepEqual(lines.slice(2, 5), [
    "  failed:",
    "    ✗ load (3 attempts): disk full",
    "      retry later",
  ]);
  assert.equal(lines[5], "  skipped:");
  assert.equal(lines[6], "    ↷ step0: upstream");
  assert.equal(lines.filter((l) => l.startsWith("    ↷ ")).length, 10);
  assert.equal(lines.at(-1), "    … 2 more");
  assert.ok(!text.includes("error:"), "the run's error repeats a listed task's error");
});

Deno.test("summary counts map items, not the group, and shows a run error nobody else shows", () => {
  const tasks: TaskRecord[] = [
    { id: "square", name: "square", status: "succeeded", attempts: 1, items: 2 },
    { id: "square[0]", name: "square", status: "succeeded", attempts: 1, group: "square" },
    { id: "square[1]", name: "square", status: "succeeded", attempts: 1, group: "square" },
  ];
  const text = formatSummary({ ...record(tasks), error: "the body threw" });
  assert.match(text, /\n {2}2 tasks: 2 succeeded\n {2}error: the body threw\n$/);
});

// ---- live ----

Deno.test("live view redraws in place, prints logs above the block and ends with the final frame", async () => {
  const { view, out } = capture({ mode: "live", refreshMs: 10, color: false });
  view.onEvent(ev.runStarted());
  view.onEvent(ev.created("extract"));
  view.onEvent(ev.started("extract"));
  for (const e of mapEvents(40).slice(0, 42)) view.onEvent(e); // square expanded, items created
  await sleep(30);
  view.log("12:00:00.100 INFO  [extract] read 40 rows");
  out.time += 1_500;
  view.onEvent(ev.succeeded("extract", 1_500));
  for (let i = 0; i < 25; i++) view.onEvent(ev.succeeded(`square[${i}]`, 3));
  await sleep(30);
  const live = out.text;
  assert.ok(live.startsWith(`${ESC}[?25l`), "hides the cursor");
  assert.match(live, CURSOR_UP, "moves the cursor back over the last frame");
  assert.ok(live.includes(`${ESC}[2K`) && live.includes(`${ESC}[J`));
  assert.match(screen(live).join("\n"), /square +running +1\.5s +█+░+ 25\/40/);

  for (let i = 25; i < 40; i++) view.onEvent(ev.succeeded(`square[${i}]`, 3));
  view.onEvent(ev.succeeded("square", 1_600));
  const rec = record([
    { id: "extract", name: "extract", status: "succeeded", attempts: 1 },
    { id: "square", name: "square", status: "succeeded", attempts: 1, items: 40 },
  ], "succeeded");
  view.finish(rec);
  view.finish(rec);
  assert.ok(out.text.endsWith(formatSummary(rec)));
  assert.ok(out.text.lastIndexOf(`${ESC}[?25h`) > out.text.lastIndexOf(`${ESC}[?25l`));
  const lines = screen(out.text);
  assert.equal(lines.filter((l) => l.includes("read 40 rows")).length, 1, lines.join("\n"));
  assert.equal(lines[0], "12:00:00.100 INFO  [extract] read 40 rows");
  assert.match(lines[1], /^✓ extract +succeeded +1\.5s$/);
  assert.match(lines[2], /^✓ square +succeeded +1\.6s +█{16} 40\/40$/);
  assert.equal(lines[3], "etl 1.5s  41 succeeded");
  assert.equal(lines[4], "");
  assert.match(lines[5], /^✓ etl succeeded in 2\.5s/);
  assert.equal(lines.filter((l) => l.startsWith("etl ")).length, 1, "one footer on screen");
});

Deno.test("live view of a real flow shows the map as one row with done/total", async () => {
  const { view, out } = capture({ mode: "live", refreshMs: 5, now: Date.now });
  const numbers = task("numbers", () => Array.from({ length: 50 }, (_, i) => i));
  const square = task("square", async (n: number) => {
    await sleep(n % 5);
    return n * n;
  });
  const squares = flow("squares", (f) => f.map(numbers(), square, { concurrency: 10 }));
  const rec = await squares.run({}, { onEvent: view.onEvent });
  view.finish(rec);
  const lines = screen(out.text);
  assert.ok(!out.text.includes("square[0]"), "no row per item");
  assert.equal(lines.filter((l) => l.includes(" square ")).length, 1, lines.join("\n"));
  assert.match(lines.join("\n"), /✓ square +succeeded +\S+ +█+ 50\/50/);
  assert.match(lines.join("\n"), /squares \S+ {2}51 succeeded\n/);
  assert.match(
    lines.join("\n"),
    /\n\n✓ squares succeeded in \S+ · run \S+\n {2}51 tasks: 51 succeeded\n$/,
  );
});

Deno.test("live view coalesces a storm of events into a few frames", async () => {
  const { view, out } = capture({ mode: "live", refreshMs: 20 });
  view.onEvent(ev.runStarted());
  view.onEvent(ev.created("square", "map"));
  view.onEvent(ev.expanded("square", 50_000));
  for (let i = 0; i < 50_000; i++) {
    view.onEvent(ev.created(`square[${i}]`, "task", "square"));
    view.onEvent(ev.started(`square[${i}]`));
  }
  assert.equal(out.writes, 0, "no frame per event");
  const begin = Date.now();
  await sleep(100);
  const elapsed = Date.now() - begin;
  const frames = out.writes;
  assert.ok(frames >= 1 && frames <= elapsed / 20 + 2, `${frames} frames in ${elapsed}ms`);
  for (let i = 0; i < 50_000; i++) view.onEvent(ev.succeeded(`square[${i}]`, 1));
  assert.equal(out.writes, frames);
  view.finish(record([], "succeeded"));
  assert.equal(out.writes, frames + 1);
  assert.match(screen(out.text).join("\n"), /square +running +0ms +\S+ 50000\/50000/);
});

Deno.test("live view cuts every line to the terminal width", async () => {
  const { view, out } = capture({ mode: "live", columns: 40, refreshMs: 5 });
  const long = "extract-customers-from-the-legacy-billing-database";
  view.onEvent(ev.runStarted());
  view.onEvent(ev.created(long));
  view.onEvent(ev.started(long));
  view.onEvent(ev.failed("load", "a very long error message that goes on and on\nand on"));
  view.onEvent(ev.retrying("fetch", 1, 1_000, "x".repeat(80)));
  await sleep(20);
  view.finish(record([], "failed"));
  const frames = out.text.slice(0, out.text.lastIndexOf(`${ESC}[?25h`));
  for (const line of frames.split("\n")) {
    const visible = line.replace(ANSI, "").replace(/\r/g, "");
    assert.ok(displayWidth(visible) < 40, `too wide: ${JSON.stringify(visible)}`);
  }
  const lines = screen(out.text, 40);
  assert.ok(lines.some((l) => l.includes(" extract-custom… running ")), lines.join("\n"));
  assert.ok(lines.some((l) => l.startsWith("✗ load") && l.endsWith("…")), lines.join("\n"));
  assert.ok(lines.some((l) => l.startsWith("↻ fetch") && l.endsWith("…")), lines.join("\n"));
  assert.ok(lines.some((l) => l.startsWith("etl 0ms  1 running · 1 retrying") && l.endsWith("…")));
});

Deno.test("live view keeps running and failed tasks in view when rows overflow", async () => {
  const { view, out } = capture({ mode: "live", rows: 10, refreshMs: 5, color: false });
  for (let i = 0; i < 30; i++) view.onEvent(ev.created(`t${String(i).padStart(2, "0")}`));
  for (let i = 0; i < 20; i++) view.onEvent(ev.succeeded(`t${String(i).padStart(2, "0")}`, 1));
  view.onEvent(ev.failed("t20", "boom"));
  view.onEvent(ev.started("t25"));
  view.onEvent(ev.started("t26", 2));
  await sleep(20);
  view.finish(record([], "failed"));
  const lines = screen(out.text);
  const frame = lines.slice(0, lines.indexOf(""));
  assert.equal(frame.length, 9, "at most rows - 1 lines");
  // Running and failed first, then the most recently finished, shown in creation order.
  const ids = frame.slice(0, 7).map((l) => l.split(/ +/)[1]);
  assert.deepEqual(ids, ["t16", "t17", "t18", "t19", "t20", "t25", "t26"]);
  assert.match(frame[4], /^✗ t20 +failed +5ms boom$/);
  assert.match(frame[6], /^. t26 +running +0ms attempt 2$/);
  assert.equal(frame[7], "… and 23 more");
  assert.equal(frame[8], "etl  2 running · 20 succeeded · 1 failed · 7 pending");
});

Deno.test("live view shows attempts and retries", async () => {
  const { view, out } = capture({ mode: "live", refreshMs: 5, color: false });
  view.onEvent(ev.started("fetch"));
  view.onEvent(ev.retrying("fetch", 1, 3_000, "503 Service Unavailable"));
  view.onEvent(ev.started("load", 2));
  await sleep(20);
  view.finish(record([], "failed"));
  const text = screen(out.text).join("\n");
  assert.match(text, /↻ fetch +retrying +0ms attempt 1 failed, retry in 3\.0s: 503 Service/);
  assert.match(text, /. load +running +0ms attempt 2/);
});

Deno.test("live view close() restores the cursor without a summary", async () => {
  const { view, out } = capture({ mode: "live", refreshMs: 5 });
  view.onEvent(ev.started("a"));
  await sleep(20);
  view.close();
  const writes = out.writes;
  view.onEvent(ev.succeeded("a", 1));
  view.finish(record([], "succeeded"));
  await sleep(15);
  assert.equal(out.writes, writes, "nothing after close()");
  assert.ok(out.text.includes(`${ESC}[?25l`) && out.text.endsWith(`${ESC}[?25h`));
  assert.ok(!out.text.includes("succeeded in"));
});

Deno.test("createView() rejects bad options", () => {
  const write = () => {};
  assert.throws(() => createView({ mode: "fancy" as "live", write }), TypeError);
  assert.throws(() => createView({ mode: "live", write, columns: -1 }), RangeError);
  assert.throws(() => createView({ mode: "live", write, refreshMs: NaN }), RangeError);
});
