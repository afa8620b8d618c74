// The dashboard in a real Chromium (Debian's package, driven by playwright-core), against a
// real `orchestra serve` on 127.0.0.1 with real runners: start a run from the form, watch its
// graph go green, follow a task's log, retry from a task, map groups, retries and cache hits,
// hostile names and logs, tokens, and the first page of 10,000 recorded runs.
import assert from "node:assert/strict";
import { SqliteStore } from "../../../src/store/sqlite_store.ts";
import type { AppendEvent } from "../../../src/store/store.ts";
import { sha256Hex } from "../../../src/server/tokens.ts";
import { browserTest } from "../../_helpers/browser.ts";
import { call, serveFiles, waitRun } from "../_serve.ts";
import {
  clickNode,
  openPage,
  type PageElement,
  type PageWindow,
  runIdOf,
  waitNode,
} from "./_page.ts";

const PIPELINE = `
name: pipeline
description: Extract, wait, load
params:
  region: { type: string, enum: [eu, us], default: eu, description: Where the data lives }
  rows: { type: integer, required: true, description: How many rows to read }
  pause: { type: number, default: 2 }
schedule:
  - cron: "0 3 * * *"
    timezone: Europe/Berlin
    params: { rows: 100 }
tasks:
  extract:
    run: echo extracting \${{ params.rows }} rows from \${{ params.region }}
  wait:
    needs: extract
    run: echo waiting; sleep \${{ params.pause }}; echo waited
  load:
    needs: wait
    run: echo loaded
`;

const FANOUT = `
import { flow, task, type TaskContext } from "@orchestra/orchestra";
const square = task("square", (n: number) => n * n);
const flaky = task(
  { name: "flaky", retries: { attempts: 2, delay: "50ms" } },
  (xs: number[], ctx: TaskContext) => {
    if (ctx.attempt === 1) throw new Error("the first attempt fails");
    return xs.reduce((a, b) => a + b, 0);
  },
);
const lookup = task({ name: "lookup", cache: { ttl: "1h" } }, () => 42);
export default flow({ name: "fanout" }, (f) => ({
  sum: flaky(f.map([1, 2, 3, 4], square)),
  answer: lookup(),
}));
`;

// Everything a flow author controls, written to run script if it were ever parsed as HTML.
const EVIL = `
import { flow, task, type TaskContext } from "@orchestra/orchestra";
const evil = task("<img/src=x/onerror=globalThis.__xss='task'>", (ctx: TaskContext) => {
  ctx.log.info("<script>globalThis.__xss='log'</script><img src=x onerror=globalThis.__xss='log2'>");
  return "<img src=x onerror=globalThis.__xss='result'>";
});
const fails = task("fails", () => {
  throw new Error("<img src=x onerror=globalThis.__xss='error'>");
});
export default flow({
  name: "<svg/onload=globalThis.__xss='flow'>",
  description: "<img src=x onerror=globalThis.__xss='description'>",
  params: {
    "<b>p</b>": {
      type: "string",
      enum: ["<img src=x onerror=globalThis.__xss='enum'>", "ok"],
      description: "<script>globalThis.__xss='param'</script>",
    },
  },
}, () => [evil(), fails()]);
`;

const EVIL_FLOW = "<svg/onload=globalThis.__xss='flow'>";
const EVIL_TASK = "<img/src=x/onerror=globalThis.__xss='task'>";

browserTest(
  "dashboard in Chromium: flows, the Run form, a live graph, logs, retry, hostile data",
  async ({ browser, t }) => {
    const s = await serveFiles({ "pipeline.yaml": PIPELINE, "fanout.ts": FANOUT, "evil.ts": EVIL });
    try {
      const { page, problems } = await openPage(browser, `${s.url}/`);

      await t.step("the first page lists the flows with their next run, and the runs", async () => {
        await page.locator("#flows tbody tr").first().waitFor();
        const row = page.locator('#flows tr[data-flow="pipeline"]');
        await row.waitFor();
        assert.match(await row.innerText(), /Extract, wait, load/);
        assert.match(await row.innerText(), /0 3 \* \* \* \(Europe\/Berlin\)/);
        assert.match(await row.locator("td").nth(3).innerText(), /^in \d/);
        await page.locator("#runs").waitFor();
      });

      let first = "";
      await t.step("the Run form shows the API's 422 by field, then starts the run", async () => {
        await page.locator('#flows tr[data-flow="pipeline"] a.run-link').click();
        await page.locator("#run-form").waitFor();
        assert.equal(
          await page.locator("#param-region").inputValue(),
          "0",
          "the default is chosen",
        );
        assert.match(
          await page.locator('[data-field="rows"]').innerText(),
          /How many rows to read/,
        );
        await page.locator("#run-form button[type=submit]").click();
        await page.locator("#param-rows-error").getByText(/Missing required param "rows"/)
          .waitFor();
        assert.equal(await page.locator("#param-rows").getAttribute("aria-invalid"), "true");
        await page.locator("#param-rows").fill("many");
        await page.locator("#run-form button[type=submit]").click();
        await page.locator("#param-rows-error").getByText(/must be integer, got string "many"/)
          .waitFor();
        await page.locator("#param-rows").fill("5");
        await page.locator("#param-region").selectOption({ label: "us" });
        await page.locator("#run-form button[type=submit]").click();
        first = await runIdOf(page);
        const doc = await call(`${s.url}/api/v1/runs/${first}`, "GET");
        assert.deepEqual(doc.json.params, { region: "us", rows: 5, pause: 2 });
      });

      await t.step(
        "the graph goes green as the events arrive, and a task's log streams",
        async () => {
          await waitNode(page, "wait", "running");
          // A marker in the page: had it been loaded again, the marker would be gone.
          await page.evaluate(() => ((globalThis as unknown as PageWindow).__same = 1));
          await clickNode(page, "wait");
          await page.locator("#task-log .msg").getByText("waiting", { exact: true }).waitFor();
          const stillRunning = await page.evaluate(() =>
            [...(globalThis as unknown as PageWindow).document.querySelectorAll("#graph g.node")]
              .find((n) => n.dataset.task === "wait")?.dataset.state
          );
          assert.equal(stillRunning, "running", "the first line came while the task ran");
          await page.locator("#task-log .msg").getByText("waited", { exact: true }).waitFor();
          for (const id of ["extract", "wait", "load"]) await waitNode(page, id, "succeeded");
          await page.locator('#view[data-status="succeeded"]').waitFor();
          assert.equal(
            await page.evaluate(() => (globalThis as unknown as PageWindow).__same),
            1,
            "updated live, not by reloading",
          );
          const fill = await page.evaluate(() =>
            (globalThis as unknown as PageWindow).getComputedStyle(
              (globalThis as unknown as PageWindow).document.querySelector(
                '#graph g.node[data-task="load"] rect.box',
              )!,
            ).fill
          );
          assert.equal(fill, "rgb(222, 247, 232)", "a succeeded node is green");
          await page.locator('#task-log[data-state="ended"]').waitFor();
          const timeline = page.locator('#timeline g.row[data-task="wait"] rect.bar');
          assert.equal(await timeline.count(), 1);
          assert.match(await timeline.getAttribute("class") ?? "", /outcome-succeeded/);
        },
      );

      await t.step(
        "retry from a task: a new run, linked to the first, that keeps what came before",
        async () => {
          await clickNode(page, "wait");
          await page.locator("#retry-from").click();
          await page.waitForURL((u) => !u.hash.includes(first));
          const second = await runIdOf(page);
          assert.notEqual(second, first);
          const link = page.locator(".trigger a");
          await link.waitFor();
          assert.equal(await link.getAttribute("href"), `#/runs/${first}`);
          assert.match(await page.locator(".trigger").innerText(), /^retry of /);
          for (const id of ["extract", "wait", "load"]) await waitNode(page, id, "succeeded");
          const doc = await waitRun(s.url, second);
          assert.deepEqual(doc.trigger, { kind: "retry", of: first, by: "anonymous" });
          await clickNode(page, "extract");
          await page.locator("#task-panel").getByText(`from run ${first}`).waitFor();
          await link.click();
          assert.equal(await runIdOf(page), first);
        },
      );

      await t.step(
        "cancel a running run, then resume it: the same run goes on to green",
        async () => {
          const r = await call(`${s.url}/api/v1/flows/pipeline/runs`, "POST", {
            params: { rows: 1, pause: 3 },
          });
          const id = r.json.runId as string;
          await page.goto(`${s.url}/#/runs/${id}`);
          await waitNode(page, "wait", "running");
          await page.locator("#cancel").click();
          await page.locator('#view[data-status="cancelled"]').waitFor();
          await waitNode(page, "wait", "cancelled");
          await page.locator("#resume").click();
          await waitNode(page, "wait", "running");
          for (const task of ["extract", "wait", "load"]) await waitNode(page, task, "succeeded");
          await page.locator('#view[data-status="succeeded"]').waitFor();
          assert.equal(await runIdOf(page), id, "resumed in place");
          assert.equal((await waitRun(s.url, id)).status, "succeeded");
        },
      );

      await t.step(
        "a schedule: triggered by hand (its run shows the schedule), paused, resumed",
        async () => {
          await page.goto(`${s.url}/#/flows/pipeline`);
          const row = page.locator('#schedules tr[data-schedule="pipeline:0"]');
          await row.locator('button[data-action="trigger"]').click();
          await page.locator("#notice").getByText(/^Started run /).waitFor();
          await page.locator("#runs .trigger", { hasText: "schedule pipeline:0" }).first()
            .waitFor();
          await row.locator('button[data-action="pause"]').click();
          await row.locator('.badge[data-status="paused"]').waitFor();
          await row.locator('button[data-action="resume"]').click();
          await row.locator('button[data-action="pause"]').waitFor();
          assert.equal(await row.locator('.badge[data-status="paused"]').count(), 0);
        },
      );

      await t.step(
        "a map group with its items, retried attempts and a cache hit with its key",
        async () => {
          for (let i = 0; i < 2; i++) {
            const r = await call(`${s.url}/api/v1/flows/fanout/runs`, "POST", {});
            assert.equal(r.status, 201, JSON.stringify(r.json));
            await waitRun(s.url, r.json.runId as string);
            if (i === 1) await page.goto(`${s.url}/#/runs/${r.json.runId}`);
          }
          await waitNode(page, "square", "succeeded");
          const group = page.locator('#graph g.node[data-task="square"]');
          assert.equal(await group.getAttribute("data-kind"), "map");
          assert.match(await group.textContent() ?? "", /4\/4 items/);
          assert.equal(
            await page.locator("#graph g.node").count(),
            3,
            "items are folded into the group",
          );
          await waitNode(page, "lookup", "cached");
          await clickNode(page, "lookup");
          assert.match(await page.locator("#task-panel .cache-key").innerText(), /\S/);
          const bars = page.locator('#timeline g.row[data-task="flaky"] rect.bar');
          assert.deepEqual(
            await bars.evaluateAll((els) => els.map((e) => e.getAttribute("class"))),
            ["bar outcome-retried", "bar outcome-succeeded"],
          );
          await clickNode(page, "square");
          assert.equal(await page.locator("#task-panel table.items tr").count(), 4);
        },
      );

      await t.step(
        "hostile flow names, task ids, params, results, errors and logs stay text",
        async () => {
          await page.goto(`${s.url}/#/flows/${encodeURIComponent(EVIL_FLOW)}`);
          await page.locator("#run-form").waitFor();
          assert.equal(await page.locator(".flow-name").innerText(), EVIL_FLOW);
          const form = await page.locator("#run-form").innerText();
          assert.ok(form.includes("<b>p</b>"), "the param's name as written");
          assert.ok(form.includes("<script>globalThis.__xss='param'</script>"), "its description");
          assert.ok(
            (await page.locator("#run-form select").innerText()).includes(
              "<img src=x onerror=globalThis.__xss='enum'>",
            ),
            "its enum values",
          );
          await page.locator("#run-form button[type=submit]").click();
          const id = await runIdOf(page);
          await waitRun(s.url, id);
          await waitNode(page, EVIL_TASK, "succeeded");
          await waitNode(page, "fails", "failed");
          await clickNode(page, EVIL_TASK);
          await page.locator("#task-log").getByText("globalThis.__xss='log'", { exact: false })
            .waitFor();
          await clickNode(page, "fails");
          await page.locator("#task-panel pre.error").waitFor();
          await page.goto(`${s.url}/`);
          await page.locator(`#runs tr[data-run="${id}"]`).waitFor();
          const text = await page.locator("body").innerText();
          assert.ok(text.includes(EVIL_FLOW), "the name is shown as written");
          const xss = await page.evaluate(() => (globalThis as unknown as PageWindow).__xss);
          assert.equal(xss, undefined, "no script from the data ran");
          assert.equal(await page.locator("img, script:not([src]), svg[onload], b").count(), 0);
        },
      );

      assert.deepEqual(await problems(), []);
    } finally {
      await s.stop();
    }
  },
);

browserTest(
  "dashboard in Chromium: with tokens, the page asks for one and sends it on every call",
  async ({ browser, t }) => {
    const viewer = "orc_viewer_token_for_dashboard_tests_01";
    const operator = "orc_operator_token_for_dashboard_tests_1";
    const s = await serveFiles({ "quick.yaml": "name: quick\ntasks:\n  hi:\n    run: echo hi\n" }, {
      tokens: {
        tokens: [
          { name: "eyes", role: "viewer", sha256: await sha256Hex(viewer) },
          { name: "hands", role: "operator", sha256: await sha256Hex(operator) },
        ],
        webhooks: {},
      },
    });
    try {
      const { page, problems } = await openPage(browser, `${s.url}/`);
      const urls: string[] = [];
      page.on("request", (r) => urls.push(r.url()));
      const useToken = async (token: string) => {
        await page.locator("#auth").waitFor();
        await page.locator("#token").fill(token);
        await page.locator("#auth button[type=submit]").click();
      };

      await t.step("without a token the page asks for one; a wrong one is refused", async () => {
        await page.locator("#notice").getByText(/needs an API token/).waitFor();
        await useToken("orc_not_a_token_of_this_server_000000");
        await page.locator("#notice").getByText(/refused this token/).waitFor();
      });

      await t.step("a viewer sees the flows, and the form says it may not start runs", async () => {
        await useToken(viewer);
        await page.locator('#flows tr[data-flow="quick"]').waitFor();
        await page.locator('#flows tr[data-flow="quick"] a.run-link').click();
        await page.locator("#run-form button[type=submit]").click();
        await page.locator("#run-form .form-errors").getByText(
          /"eyes" is a viewer; this needs an operator/,
        )
          .waitFor();
      });

      await t.step("an operator starts a run; its events stream with the token", async () => {
        await page.locator("#signout").click();
        await useToken(operator);
        await page.locator("#run-form button[type=submit]").click();
        const id = await runIdOf(page);
        await waitNode(page, "hi", "succeeded");
        await clickNode(page, "hi");
        await page.locator("#task-log .msg").getByText("hi", { exact: true }).waitFor();
        const doc = await fetch(`${s.url}/api/v1/runs/${id}`, {
          headers: { authorization: `Bearer ${viewer}` },
        }).then((r) => r.json());
        assert.deepEqual(doc.trigger, { kind: "api", by: "hands" });
        for (const u of urls) {
          assert.ok(!u.includes(viewer) && !u.includes(operator), `a token in a URL: ${u}`);
        }
      });
      assert.deepEqual(await problems(), []);
    } finally {
      await s.stop();
    }
  },
);

browserTest(
  "dashboard in Chromium: 10,000 recorded runs, the first page from the server's paging",
  async ({ browser, t }) => {
    const stateDir = await Deno.makeTempDir({ prefix: "orchestra_dashboard_10k_" });
    const store = await SqliteStore.open(stateDir, { durability: "normal" });
    const start = Date.parse("2026-01-01T00:00:00Z");
    const seeded = performance.now();
    // As runs are recorded: started and finished events, journaled 1,000 runs per transaction.
    for (let b = 0; b < 10; b++) {
      const batch: AppendEvent[] = [];
      for (let i = b * 1000; i < (b + 1) * 1000; i++) {
        const runId = `seed-${String(i).padStart(5, "0")}`;
        const flow = i % 2 ? "odd" : "even";
        const time = start + i * 60_000;
        batch.push({ type: "run.started", runId, time, flow, params: { i } });
        batch.push({
          type: "run.finished",
          runId,
          time: time + 1500,
          flow,
          status: i % 10 === 0 ? "failed" : "succeeded",
          ...(i % 10 === 0 ? { error: `run ${i} failed` } : {}),
        });
      }
      await store.append(batch);
    }
    await store.close();
    console.log(`  (seeded 10,000 runs in ${Math.round(performance.now() - seeded)} ms)`);
    const s = await serveFiles({ "even.yaml": "name: even\ntasks:\n  a:\n    run: echo a\n" }, {
      stateDir,
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      page.setDefaultTimeout(20_000);
      const pageOf = async (hash: string) => {
        const before = performance.now();
        await page.goto(`${s.url}/${hash}`);
        await page.locator('section.runs[data-loaded="true"]').waitFor();
        return Math.round(performance.now() - before);
      };

      await t.step(
        "the first page renders 50 runs, newest first (time reported, not asserted)",
        async () => {
          const ms = await pageOf("#/");
          // The page's own times, from the start of its navigation: its first paint, and the
          // moment the runs table was filled (a mark the dashboard sets).
          const [paint, shown] = await page.evaluate(() => [
            performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? -1,
            performance.getEntriesByName("orchestra:runs-shown")[0]?.startTime ?? -1,
          ]);
          console.log(
            `  dashboard, 10,000 runs: first contentful paint at ${
              Math.round(paint)
            } ms, first page ` +
              `of runs shown at ${Math.round(shown)} ms (${ms} ms as the test driver saw it)`,
          );
          assert.ok(shown > 0, "the runs table marks when it is shown");
          const rows = page.locator("#runs tbody tr.run");
          assert.equal(await rows.count(), 50);
          assert.equal(await rows.first().getAttribute("data-run"), "seed-09999");
          assert.match(await page.locator(".runs .toolbar").innerText(), /runs 1–50/);
        },
      );

      await t.step("older pages and filters come from the server", async () => {
        await page.locator(".pager button", { hasText: "Older" }).click();
        await page.locator(".runs .toolbar").getByText("runs 51–100").waitFor();
        assert.equal(
          await page.locator("#runs tbody tr.run").first().getAttribute("data-run"),
          "seed-09949",
        );
        await page.locator('select[name="status"]').selectOption("failed");
        await page.waitForURL(/status=failed/);
        await page.locator('section.runs[data-loaded="true"]').waitFor();
        const states = await page.locator("#runs tbody tr.run").evaluateAll((els) =>
          els.map((e) => (e as unknown as PageElement).dataset.run)
        );
        assert.equal(states.length, 50);
        assert.equal(states[0], "seed-09990");
        const ms = await pageOf("#/?offset=9950");
        console.log(`  dashboard: the last page (offset 9950) shown ${ms} ms after navigation`);
        assert.equal(await page.locator("#runs tbody tr.run").count(), 50);
        assert.equal(await page.locator(".pager button", { hasText: "Older" }).isDisabled(), true);
      });
    } finally {
      await s.stop();
    }
  },
);
