// Spans through Deno's built-in OpenTelemetry exporter (OTEL_DENO=true), received by an
// OTLP/HTTP receiver on 127.0.0.1: one span per run and per task attempt, for a CLI run.
import assert from "node:assert/strict";
import { ROOT } from "../cli/_io.ts";

Deno.test({
  name: "orchestra run with OTEL_DENO=true exports a span per run and per task attempt",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const dir = await Deno.makeTempDir();
  const spans: { name: string; attributes: Record<string, unknown>; parent: string; id: string }[] =
    [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    if (new URL(req.url).pathname === "/v1/traces") {
      const body = await req.json();
      for (const rs of body.resourceSpans ?? []) {
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            const attributes: Record<string, unknown> = {};
            for (const a of s.attributes ?? []) attributes[a.key] = Object.values(a.value ?? {})[0];
            spans.push({ name: s.name, attributes, parent: s.parentSpanId ?? "", id: s.spanId });
          }
        }
      }
    } else await req.body?.cancel();
    return new Response("{}", { headers: { "content-type": "application/json" } });
  });
  try {
    await Deno.writeTextFile(
      `${dir}/flow.yaml`,
      "name: traced\ntasks:\n  a: { run: echo a }\n  b:\n    needs: a\n    run: exit 3\n    retries: { attempts: 2, delay: 10ms }\n",
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "--no-prompt",
        "--unstable-worker-options",
        `${ROOT}/main.ts`,
        "run",
        `${dir}/flow.yaml`,
        "-q",
        "--state-dir",
        `${dir}/s`,
      ],
      env: {
        OTEL_DENO: "true",
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${server.addr.port}`,
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_SERVICE_NAME: "orchestra-test",
      },
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 1, new TextDecoder().decode(out.stderr));
    const run = spans.find((s) => s.name === "run traced");
    assert.ok(run, `spans: ${spans.map((s) => s.name).join(", ")}`);
    assert.equal(run.attributes["orchestra.status"], "failed");
    const tasks = spans.filter((s) => s.name.startsWith("task "));
    assert.deepEqual(
      tasks.map((s) =>
        `${s.attributes["orchestra.task"]}#${s.attributes["orchestra.attempt"]} ${
          s.attributes["orchestra.status"]
        }`
      ).sort(),
      ["a#1 succeeded", "b#1 failed", "b#2 failed"],
    );
    for (const t of tasks) {
      assert.equal(t.parent, run.id, "a task attempt is a child of its run");
      assert.equal(t.attributes["orchestra.flow"], "traced");
    }
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
