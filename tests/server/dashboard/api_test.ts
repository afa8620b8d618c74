// What the dashboard needs of the API beyond what it had: events without log lines
// (`?types=`), and each param problem of a 422 naming its param (the form shows it by field).
import assert from "node:assert/strict";
import { call, readSse, serveFiles, waitRun } from "../_serve.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "dashboard API: events filtered by type; 422 problems name their param",
  ...opts,
}, async (t) => {
  const s = await serveFiles({
    "talk.yaml": `
name: talk
params:
  n: { type: integer, required: true }
  mode: { type: string, enum: [fast, slow], default: fast }
tasks:
  say:
    run: echo one; echo two
`,
  });
  try {
    await t.step("?types= gives only those events, and the stream still ends", async () => {
      const { json } = await call(`${s.url}/api/v1/flows/talk/runs`, "POST", { params: { n: 1 } });
      const runId = json.runId as string;
      await waitRun(s.url, runId);
      const all = await readSse(await fetch(`${s.url}/api/v1/runs/${runId}/events`));
      assert.ok(all.some((e) => e.event === "task.log"), "the run logged");
      const some = await readSse(
        await fetch(
          `${s.url}/api/v1/runs/${runId}/events?types=task.created,task.succeeded,run.finished`,
        ),
      );
      assert.deepEqual(some.map((e) => e.event), [
        "task.created",
        "task.succeeded",
        "run.finished",
        "end",
      ]);
      // The ids are the journal's seqs, so Last-Event-ID still resumes.
      const ids = all.filter((e) => e.id).map((e) => e.id);
      for (const e of some.filter((e) => e.id)) assert.ok(ids.includes(e.id));
      const bad = await fetch(`${s.url}/api/v1/runs/${runId}/events?types=task.log,task.done`);
      assert.equal(bad.status, 400);
      assert.match(
        (await bad.json()).detail,
        /Unknown event type "task\.done" in types; the types are: run\.started/,
      );
    });

    await t.step("a 422 names the param of each problem", async () => {
      const bad = await call(`${s.url}/api/v1/flows/talk/runs`, "POST", {
        params: { mode: "medium", extra: true },
      });
      assert.equal(bad.status, 422);
      const errors = bad.json.errors as { message: string; param?: string }[];
      assert.deepEqual(errors.map((e) => e.param).sort(), ["extra", "mode", "n"]);
      assert.match(errors.find((e) => e.param === "n")!.message, /Missing required param "n"/);
    });

    await t.step("the OpenAPI document lists the types query", async () => {
      const { json } = await call(`${s.url}/api/v1/openapi.json`, "GET");
      const op = (json.paths as Record<string, Record<string, { parameters: { name: string }[] }>>)[
        "/api/v1/runs/{id}/events"
      ].get;
      assert.ok(op.parameters.some((p) => p.name === "types"));
    });
  } finally {
    await s.stop();
  }
});
