/** Each built-in plugin's example flow (examples/plugins/), run as a user would run it. */

import assert from "node:assert/strict";
import { main } from "../src/cli/main.ts";
import { fakeIo } from "./cli/_io.ts";

type Doc = {
  status: string;
  result: Record<string, unknown>;
  tasks: { id: string; status: string; error?: string; logs?: { message: string }[] }[];
};

async function run(args: string[]): Promise<Doc> {
  const io = fakeIo();
  const code = await main(["run", ...args, "--json", "--quiet"], io);
  assert.equal(code, 0, io.err);
  return JSON.parse(io.out);
}

const task = (doc: Doc, id: string) => doc.tasks.find((t) => t.id === id)!;

Deno.test("examples/plugins/shell.yaml: a command's JSON output is the task's result", async () => {
  const doc = await run(["examples/plugins/shell.yaml"]);
  assert.deepEqual(doc.result.summary, { region: "eu", orders: 4, units: 50 });
  const us = await run(["examples/plugins/shell.yaml", "-p", "region=us"]);
  assert.equal((us.result.summary as { region: string }).region, "us");
});

Deno.test("examples/plugins/sleep.yaml: waits, then goes on", async () => {
  const doc = await run(["examples/plugins/sleep.yaml"]);
  assert.equal(doc.result.second, "after waiting 100ms");
  assert.equal(task(doc, "pause").status, "succeeded");
});

Deno.test("examples/plugins/log.yaml: messages rendered from upstream results", async () => {
  const doc = await run(["examples/plugins/log.yaml"]);
  assert.equal(doc.result.greet, "Hello, world! 1 EUR is 1.08 USD");
  assert.equal(doc.result.warn, "The euro is above the dollar");
  assert.ok(task(doc, "greet").logs!.some((l) => l.message === "Hello, world! 1 EUR is 1.08 USD"));
});

Deno.test("examples/plugins/fs.yaml: read, write, copy, list and glob inside the grant", async () => {
  const doc = await run(["examples/plugins/fs.yaml"]);
  assert.equal(doc.status, "succeeded");
  assert.deepEqual(task(doc, "check").status, "succeeded");
  assert.equal(doc.result.cleanup, true);
  const listing = doc.tasks.find((t) => t.id === "listing") as unknown as { result: string[] };
  assert.deepEqual(listing.result, ["report.backup.json", "report.json"]);
});

Deno.test("examples/plugins/deno.yaml: a snippet runs with its grant, and only that", async () => {
  const doc = await run(["examples/plugins/deno.yaml"]);
  assert.deepEqual(doc.result.units, { eu: 50, us: 34, apac: 25, latam: 15 });
  const sandboxed = task(doc, "sandboxed");
  assert.equal(sandboxed.status, "failed");
  assert.match(sandboxed.error!, /Requires read access to .*rates\.json/);
});

Deno.test("examples/plugins/http.yaml: GET retried after a 503, then a POST", async () => {
  const seen: string[] = [];
  let posted: unknown;
  let gets = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    seen.push(`${req.method} ${url.pathname}`);
    if (req.method === "GET" && url.pathname === "/items") {
      if (++gets === 1) return new Response("busy", { status: 503 });
      return Response.json({ items: [{ name: "a", price: 2.5 }, { name: "b", price: 4 }] });
    }
    if (req.method === "POST" && url.pathname === "/reports") {
      posted = await req.json();
      return Response.json({ ok: true }, { status: 201 });
    }
    return new Response("not found", { status: 404 });
  });
  try {
    const api = `http://127.0.0.1:${server.addr.port}`;
    const doc = await run(["examples/plugins/http.yaml", "-p", `api=${api}`]);
    assert.deepEqual(seen, ["GET /items", "GET /items", "POST /reports"]);
    assert.deepEqual(posted, { count: 2, total: 6.5 });
    assert.equal((doc.result.report as { status: number }).status, 201);
  } finally {
    await server.shutdown();
  }
});

Deno.test("examples/plugins/notify.yaml: a Slack-compatible message reaches the webhook", async () => {
  let payload: { text?: string; attachments?: { fields?: { title: string }[] }[] } | undefined;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    payload = await req.json();
    return new Response("ok");
  });
  try {
    const hook = `http://127.0.0.1:${server.addr.port}/hook`;
    const doc = await run(["examples/plugins/notify.yaml", "-p", `webhook=${hook}`]);
    assert.equal((doc.result.announce as { status: number }).status, 200);
    assert.match(payload!.text!, /Orchestra example/);
    assert.match(payload!.text!, /Found 1 CSV file/);
    const fields = payload!.attachments?.[0]?.fields?.map((f) => f.title);
    assert.ok(fields?.includes("files") && fields.includes("run"), JSON.stringify(payload));
  } finally {
    await server.shutdown();
  }
});
