// orchestra serve's HTTP API through real HTTP on 127.0.0.1, with real runner processes.
import assert from "node:assert/strict";
import { ROUTES } from "../../src/server/routes.ts";
import { call, readSse, serveFiles, type TestServer, waitRun } from "./_serve.ts";

const FILES = {
  "hello.yaml": `
name: hello
params:
  who: { type: string, default: world }
  times: { type: integer, default: 1 }
schedule:
  - cron: "0 3 * * *"
    timezone: Europe/Berlin
    params: { who: nightly }
tasks:
  greet:
    run: echo hello \${{ params.who }}
  shout:
    needs: greet
    run: echo \${{ tasks.greet.result }} | tr a-z A-Z
`,
  "slow.yaml": `
name: slow
params:
  seconds: { type: number, default: 30 }
tasks:
  wait:
    uses: sleep
    with: { duration: "\${{ params.seconds }}s" }
`,
  "broken.yaml": `
name: broken
tasks:
  a:
    needs: nothing
    run: echo a
`,
  "count.ts": `
import { flow, task } from "@orchestra/orchestra";
// A relative path: the flow file's folder, as under orchestra run.
// The task asks to read it: a task that requests nothing runs in the flow isolate, with no rights.
const read = task(
  { name: "read", permissions: { read: ["./data.txt"] } },
  async () => (await Deno.readTextFile("./data.txt")).trim().split("\\n").length,
);
const double = task("double", (n: number) => n * 2);
export default flow({ name: "count" }, () => double(read()));
`,
  "data.txt": "a\nb\nc\n",
};

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test(
  { name: "orchestra serve: every endpoint of the API, through real HTTP", ...opts },
  async (t) => {
    const s: TestServer = await serveFiles(FILES);
    const { url } = s;
    try {
      await t.step("GET /healthz and /readyz", async () => {
        assert.deepEqual((await call(`${url}/healthz`, "GET")).json, { status: "ok" });
        const ready = await call(`${url}/readyz`, "GET");
        assert.equal(ready.status, 200);
        assert.deepEqual(ready.json.checks, { store: "ok", schedules: "ok", draining: "no" });
      });

      await t.step(
        "GET /api/v1/flows lists valid and invalid flows with params and schedules",
        async () => {
          const { json } = await call(`${url}/api/v1/flows`, "GET");
          const flows = json.flows as Record<string, unknown>[];
          assert.deepEqual(flows.map((f) => f.name).sort(), ["broken", "count", "hello", "slow"]);
          const hello = flows.find((f) => f.name === "hello")!;
          assert.equal(hello.valid, true);
          assert.deepEqual(hello.params, {
            who: { type: "string", default: "world" },
            times: { type: "integer", default: 1 },
          });
          const [sched] = hello.schedules as Record<string, unknown>[];
          assert.equal(sched.id, "hello:0");
          assert.equal((sched.next as string[]).length, 5);
          const broken = flows.find((f) => f.name === "broken")!;
          assert.equal(broken.valid, false);
          const [issue] = broken.issues as { message: string; location: string }[];
          assert.match(issue.message, /needs unknown task "nothing"/);
          assert.match(issue.location, /broken\.yaml:5:12$/);
          assert.equal((await call(`${url}/api/v1/flows/hello`, "GET")).json.name, "hello");
        },
      );

      let helloRun = "";
      await t.step("POST /api/v1/flows/{flow}/runs starts a run: 201 { runId }", async () => {
        const r = await call(`${url}/api/v1/flows/hello/runs`, "POST", { params: { who: "ada" } });
        assert.equal(r.status, 201, JSON.stringify(r.json));
        helloRun = r.json.runId as string;
        const doc = await waitRun(url, helloRun);
        assert.equal(doc.status, "succeeded");
        assert.deepEqual(doc.result, { shout: "HELLO ADA" });
        assert.deepEqual(doc.params, { who: "ada", times: 1 });
        assert.deepEqual(doc.trigger, { kind: "api", by: "anonymous" });
        assert.deepEqual((doc.tasks as { id: string }[]).map((x) => x.id), ["greet", "shout"]);
      });

      await t.step("a TS flow's relative paths mean its folder", async () => {
        const r = await call(`${url}/api/v1/flows/count/runs`, "POST");
        const doc = await waitRun(url, r.json.runId as string);
        assert.equal(doc.result, 6);
      });

      await t.step(
        "422 lists every param problem; 404 an unknown flow; 409 an invalid flow",
        async () => {
          const bad = await call(`${url}/api/v1/flows/hello/runs`, "POST", {
            params: { who: 7, times: "x", color: "red" },
          });
          assert.equal(bad.status, 422);
          assert.equal(bad.type, "application/problem+json");
          const messages = (bad.json.errors as { message: string }[]).map((e) => e.message);
          assert.equal(messages.length, 3, messages.join("\n"));
          assert.ok(messages.some((m) => /Unknown param "color"/.test(m)));
          assert.ok(messages.some((m) => /"who" must be string/.test(m)));
          assert.ok(messages.some((m) => /"times" must be integer/.test(m)));
          const unknown = await call(`${url}/api/v1/flows/nope/runs`, "POST");
          assert.equal(unknown.status, 404);
          assert.match(unknown.json.detail as string, /No flow "nope"; the flows are: /);
          const invalid = await call(`${url}/api/v1/flows/broken/runs`, "POST");
          assert.equal(invalid.status, 409);
          assert.match(invalid.json.detail as string, /is invalid/);
          const notObject = await call(`${url}/api/v1/flows/hello/runs`, "POST", { params: [1] });
          assert.equal(notObject.status, 422);
        },
      );

      await t.step("GET /api/v1/runs filters by flow and status and pages", async () => {
        for (let i = 0; i < 2; i++) {
          const r = await call(`${url}/api/v1/flows/hello/runs`, "POST", {
            params: { who: `p${i}` },
          });
          await waitRun(url, r.json.runId as string);
        }
        const all = await call(`${url}/api/v1/runs?flow=hello&limit=2`, "GET");
        assert.equal((all.json.runs as unknown[]).length, 2);
        assert.equal(all.json.next, "/api/v1/runs?flow=hello&limit=2&offset=2");
        const rest = await call(`${url}${all.json.next}`, "GET");
        assert.deepEqual((rest.json.runs as { runId: string }[]).map((r) => r.runId), [helloRun]);
        assert.equal(rest.json.next, null);
        const failed = await call(`${url}/api/v1/runs?status=failed`, "GET");
        assert.deepEqual(failed.json.runs, []);
        assert.equal((await call(`${url}/api/v1/runs?status=done`, "GET")).status, 400);
        assert.equal((await call(`${url}/api/v1/runs/nope`, "GET")).status, 404);
      });

      await t.step(
        "GET /api/v1/runs/{id}/events: SSE of the journal, resumable with Last-Event-ID",
        async () => {
          const r = await fetch(`${url}/api/v1/runs/${helloRun}/events`, {
            signal: AbortSignal.timeout(10_000),
          });
          assert.match(r.headers.get("content-type")!, /text\/event-stream/);
          const events = await readSse(r);
          assert.equal(events[0].event, "run.started");
          assert.equal(events.at(-1)!.event, "end");
          assert.equal(events.at(-2)!.event, "run.finished");
          const again = await readSse(
            await fetch(`${url}/api/v1/runs/${helloRun}/events`, {
              headers: { "last-event-id": events[2].id! },
              signal: AbortSignal.timeout(10_000),
            }),
          );
          assert.deepEqual(again.map((e) => e.id), events.slice(3).map((e) => e.id));
        },
      );

      await t.step("SSE follows a live run to its end", async () => {
        const r = await call(`${url}/api/v1/flows/slow/runs`, "POST", { params: { seconds: 0.3 } });
        const events = await readSse(
          await fetch(`${url}/api/v1/runs/${r.json.runId}/events`, {
            signal: AbortSignal.timeout(10_000),
          }),
        );
        assert.deepEqual(events.map((e) => e.event).filter((e) => e !== "task.log"), [
          "run.started",
          "task.created",
          "task.started",
          "task.succeeded",
          "run.finished",
          "end",
        ]);
      });

      await t.step("GET /api/v1/runs/{id}/tasks/{task}/logs: JSON, ?follow=1 and SSE", async () => {
        const logs = await call(`${url}/api/v1/runs/${helloRun}/tasks/greet/logs`, "GET");
        assert.ok(
          (logs.json.lines as { message: string }[]).some((l) => l.message === "hello ada"),
        );
        const follow = await fetch(`${url}/api/v1/runs/${helloRun}/tasks/greet/logs?follow=1`, {
          signal: AbortSignal.timeout(10_000),
        });
        assert.match(await follow.text(), /INFO +hello ada\n/);
        const sse = await readSse(
          await fetch(`${url}/api/v1/runs/${helloRun}/tasks/greet/logs`, {
            headers: { accept: "text/event-stream" },
            signal: AbortSignal.timeout(10_000),
          }),
        );
        assert.ok(sse.some((e) => (e.data as { message?: string })?.message === "hello ada"));
        assert.equal(
          (await call(`${url}/api/v1/runs/${helloRun}/tasks/nope/logs`, "GET")).status,
          404,
        );
      });

      await t.step("POST cancel stops a running run; resume and retry start it again", async () => {
        const r = await call(`${url}/api/v1/flows/slow/runs`, "POST");
        const runId = r.json.runId as string;
        const cancel = await call(`${url}/api/v1/runs/${runId}/cancel`, "POST");
        assert.equal(cancel.status, 202);
        const doc = await waitRun(url, runId);
        assert.equal(doc.status, "cancelled");
        assert.equal((await call(`${url}/api/v1/runs/${runId}/cancel`, "POST")).status, 409);
        // As orchestra retry --from shout -p times=2: greet keeps its result (a param its call
        // depends on may not change: its replay would be refused, as the CLI's is).
        const retried = await call(`${url}/api/v1/runs/${helloRun}/retry`, "POST", {
          from: "shout",
          params: { times: 2 },
        });
        assert.equal(retried.status, 201, JSON.stringify(retried.json));
        const rdoc = await waitRun(url, retried.json.runId as string);
        assert.notEqual(rdoc.runId, helloRun, "a retry is a new run");
        assert.equal(rdoc.status, "succeeded");
        assert.deepEqual(rdoc.trigger, { kind: "retry", of: helloRun, by: "anonymous" });
        assert.deepEqual(rdoc.params, { who: "ada", times: 2 });
        const tasks = rdoc.tasks as { id: string; result: string; attempts: number }[];
        assert.equal(tasks.find((x) => x.id === "greet")!.result, "hello ada", "greet is kept");
        assert.equal(tasks.find((x) => x.id === "shout")!.result, "HELLO ADA");
        const badFrom = await call(`${url}/api/v1/runs/${helloRun}/retry`, "POST", {
          from: "nope",
        });
        assert.equal(badFrom.status, 422);
        const resumed = await call(`${url}/api/v1/runs/${runId}/resume`, "POST");
        assert.equal(resumed.status, 202, JSON.stringify(resumed.json));
        await call(`${url}/api/v1/runs/${runId}/cancel`, "POST");
        assert.equal((await waitRun(url, runId)).status, "cancelled");
        assert.equal((await call(`${url}/api/v1/runs/${helloRun}/resume`, "POST")).status, 409);
      });

      await t.step("schedules: list, pause, resume, trigger", async () => {
        const list = await call(`${url}/api/v1/schedules`, "GET");
        assert.deepEqual((list.json.schedules as { id: string }[]).map((x) => x.id), ["hello:0"]);
        const paused = await call(`${url}/api/v1/schedules/hello:0/pause`, "POST");
        assert.equal(paused.json.paused, true);
        const resumed = await call(`${url}/api/v1/schedules/hello:0/resume`, "POST");
        assert.equal(resumed.json.paused, false);
        const trig = await call(`${url}/api/v1/schedules/hello:0/trigger`, "POST");
        assert.equal(trig.status, 201);
        const doc = await waitRun(url, trig.json.runId as string);
        assert.deepEqual(doc.params, { who: "nightly", times: 1 });
        assert.equal((doc.trigger as { kind: string; schedule: string }).schedule, "hello:0");
        assert.equal((await call(`${url}/api/v1/schedules/nope:0/pause`, "POST")).status, 404);
      });

      await t.step(
        "GET /metrics: runs, tasks, durations, running, queue waits, ticks",
        async () => {
          const r = await fetch(`${url}/metrics`);
          assert.match(r.headers.get("content-type")!, /text\/plain; version=0\.0\.4/);
          const text = await r.text();
          assert.match(text, /orchestra_runs_total\{flow="hello",status="succeeded"\} [1-9]/);
          assert.match(text, /orchestra_runs_total\{flow="slow",status="cancelled"\} 2/);
          assert.match(text, /orchestra_tasks_total\{flow="hello",status="succeeded"\} \d+/);
          assert.match(
            text,
            /orchestra_task_duration_seconds_bucket\{flow="hello",status="succeeded",le="\+Inf"\} \d+/,
          );
          assert.match(text, /orchestra_runs_running\{flow="hello"\} 0/);
          assert.match(text, /orchestra_run_queue_wait_seconds_count\{flow="hello"\} \d+/);
          assert.match(text, /# TYPE orchestra_schedule_missed_ticks_total counter/);
          assert.match(text, /orchestra_runs_started_total\{flow="hello",trigger="schedule"\} 1/);
        },
      );

      await t.step("GET /api/v1/openapi.json has every route of the table", async () => {
        const { json } = await call(`${url}/api/v1/openapi.json`, "GET");
        assert.equal(json.openapi, "3.1.0");
        const paths = json.paths as Record<string, Record<string, unknown>>;
        for (const r of ROUTES) {
          assert.ok(paths[r.path]?.[r.method.toLowerCase()], `${r.method} ${r.path}`);
        }
      });

      await t.step("problems: 404, 405, 413, 415, and CSRF refusals", async () => {
        const missing = await call(`${url}/api/v2/nothing`, "GET");
        assert.equal(missing.status, 404);
        assert.equal(missing.type, "application/problem+json");
        assert.equal((await call(`${url}/api/v1/runs/x/cancel`, "GET")).status, 405);
        const big = await call(`${url}/api/v1/flows/hello/runs`, "POST", {
          params: { who: "x".repeat(2_000_000) },
        });
        assert.equal(big.status, 413);
        const text = await fetch(`${url}/api/v1/flows/hello/runs`, {
          method: "POST",
          headers: { "content-type": "text/plain", "x-orchestra-request": "1" },
          body: "who=x",
        });
        assert.equal(text.status, 415);
        await text.body?.cancel();
        const noHeader = await fetch(`${url}/api/v1/flows/hello/runs`, { method: "POST" });
        assert.equal(noHeader.status, 403);
        assert.match((await noHeader.json()).detail, /need a token header/);
        const crossSite = await call(`${url}/api/v1/flows/hello/runs`, "POST", {}, {
          origin: "https://evil.example",
        });
        assert.equal(crossSite.status, 403);
        assert.match(crossSite.json.detail as string, /origin https:\/\/evil\.example/);
        const fetchSite = await call(`${url}/api/v1/flows/hello/runs`, "POST", {}, {
          "sec-fetch-site": "cross-site",
        });
        assert.equal(fetchSite.status, 403);
        // DNS rebinding: a name that is not loopback, on a server without tokens (raw HTTP:
        // fetch does not let a caller choose Host).
        assert.match(
          await rawGet(s.server.addr.port, "/api/v1/flows", "attacker.example"),
          /^HTTP\/1\.1 403/,
        );
        assert.match(
          await rawGet(s.server.addr.port, "/api/v1/flows", "localhost"),
          /^HTTP\/1\.1 200/,
        );
        assert.equal((await call(`${url}/`, "GET").catch(() => ({ status: 200 }))).status, 200);
      });

      await t.step("a flow file added, broken and fixed is listed as it is now", async () => {
        await Deno.writeTextFile(
          `${s.dir}/later.yaml`,
          "name: later\ntasks:\n  a: { run: echo later }\n",
        );
        await until(async () => (await call(`${url}/api/v1/flows/later`, "GET")).status === 200);
        await Deno.writeTextFile(
          `${s.dir}/later.yaml`,
          "name: later\ntasks:\n  a: { run: echo x, need: b }\n",
        );
        await until(async () =>
          (await call(`${url}/api/v1/flows/later`, "GET")).json.valid === false
        );
        const r = await call(`${url}/api/v1/flows/later/runs`, "POST");
        assert.equal(r.status, 409);
        await Deno.remove(`${s.dir}/later.yaml`);
        await until(async () => (await call(`${url}/api/v1/flows/later`, "GET")).status === 404);
      });
    } finally {
      await s.stop();
    }
  },
);

async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function rawGet(port: number, path: string, host: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(
    new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
  );
  let out = "";
  const buf = new Uint8Array(4096);
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    out += new TextDecoder().decode(buf.subarray(0, n));
  }
  conn.close();
  return out;
}
