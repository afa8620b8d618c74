import assert from "node:assert/strict";
import http, { type HttpParams, type HttpResult, netHost } from "../../plugins/http.ts";
import {
  parsePluginParams,
  type PluginDefinition,
  pluginManifest,
  pluginPermissions,
} from "../../src/plugins/contract.ts";
import { FakeClock, runPlugin, runPluginInWorker } from "../../testing.ts";

// pluginManifest() and pluginPermissions() take a PluginDefinition<Record<string, unknown>>,
// which a plugin whose params type is an interface (no index signature) is not: they need a cast.
const untyped = http as unknown as PluginDefinition;

// A plugin's `run` returns unknown: a test that names the result type names the params type too.

/** A loopback server; `release()` lets handlers that wait on it finish. */
function serve(handler: (req: Request, n: number) => Response | Promise<Response>) {
  const requests: { method: string; url: URL; headers: Headers; body: string }[] = [];
  let release!: () => void;
  const released = new Promise<void>((r) => release = r);
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen() {} },
    async (req) => {
      requests.push({
        method: req.method,
        url: new URL(req.url),
        headers: req.headers,
        body: await req.text(),
      });
      return await handler(req, requests.length);
    },
  );
  return {
    base: `http://127.0.0.1:${server.addr.port}`,
    port: server.addr.port,
    requests,
    released,
    async close() {
      release();
      await server.shutdown();
    },
  };
}

const json = (value: unknown, status = 200) =>
  new Response(JSON.stringify(value), { status, headers: { "content-type": "application/json" } });

Deno.test("http GETs with query and headers; a JSON response is parsed", async () => {
  const s = serve(() => json({ items: [1, 2] }));
  try {
    const { result } = await runPlugin<HttpResult, HttpParams>(http, {
      url: `${s.base}/items?sort=asc`,
      query: { page: 2, tag: ["a", "b"], all: true },
      headers: { "x-trace": "abc" },
    });
    assert.equal(result!.status, 200);
    assert.deepEqual(result!.body, { items: [1, 2] });
    assert.equal(result!.headers["content-type"], "application/json");
    const [req] = s.requests;
    assert.equal(req.method, "GET");
    assert.equal(req.url.search, "?sort=asc&page=2&tag=a&tag=b&all=true");
    assert.equal(req.headers.get("x-trace"), "abc");
  } finally {
    await s.close();
  }
});

Deno.test("http POSTs a json body as JSON, and a text body as it is", async () => {
  const s = serve((req) => new Response(`got ${req.headers.get("content-type")}`, { status: 201 }));
  try {
    const { result: a } = await runPlugin<HttpResult, HttpParams>(http, {
      url: s.base,
      json: { n: 1 },
    });
    assert.equal(a!.status, 201);
    assert.equal(a!.body, "got application/json", "text when the content type is not JSON");
    assert.equal(s.requests[0].method, "POST");
    assert.equal(s.requests[0].body, '{"n":1}');
    await runPlugin(http, { url: s.base, method: "PUT", body: "a,b\n" });
    assert.equal(s.requests[1].method, "PUT");
    assert.equal(s.requests[1].body, "a,b\n");
    assert.match(s.requests[1].headers.get("content-type")!, /^text\/plain/);
  } finally {
    await s.close();
  }
});

Deno.test("http returns null for an empty body and honours response: text", async () => {
  const s = serve((_req, n) => n === 1 ? new Response(null, { status: 204 }) : json({ a: 1 }));
  try {
    const empty = await runPlugin<HttpResult, HttpParams>(http, { url: s.base });
    assert.equal(empty.result!.body, null);
    const text = await runPlugin<HttpResult, HttpParams>(http, { url: s.base, response: "text" });
    assert.equal(text.result!.body, '{"a":1}');
  } finally {
    await s.close();
  }
});

Deno.test("http retries a 5xx with a doubling backoff, then returns the success", async () => {
  const s = serve((_req, n) => n <= 2 ? new Response("busy", { status: 503 }) : json("ok"));
  try {
    const clock = new FakeClock();
    const { result: r, logs } = await runPlugin<HttpResult, HttpParams>(
      http,
      { url: s.base, retryDelay: "200ms" },
      { clock },
    );
    assert.deepEqual([r!.status, r!.body], [200, "ok"]);
    assert.equal(s.requests.length, 3);
    assert.deepEqual(clock.requested, [200, 400]);
    const warnings = logs.filter((l) => l.level === "warning").map((l) => l.message);
    assert.equal(warnings.length, 2);
    assert.match(warnings[0], /status 503 Service Unavailable; retry 1 of 2 in 200ms/);
  } finally {
    await s.close();
  }
});

Deno.test("http fails on an unexpected status with the status and the body; 4xx is not retried", async () => {
  const s = serve(() => json({ error: "no such item" }, 404));
  try {
    await assert.rejects(
      runPlugin(http, { url: `${s.base}/items/9` }),
      (e: Error) => {
        assert.equal(e.name, "HttpStatusError");
        assert.match(e.message, /GET http:\/\/127\.0\.0\.1:\d+\/items\/9 answered 404 Not Found/);
        assert.match(e.message, /\(expected 2xx\): \{"error":"no such item"\}/);
        return true;
      },
    );
    assert.equal(s.requests.length, 1);
    // Listed in `expect`, the status is a success.
    const { result: r } = await runPlugin<HttpResult, HttpParams>(http, {
      url: s.base,
      expect: [200, 404],
    });
    assert.deepEqual([r!.status, r!.body], [404, { error: "no such item" }]);
  } finally {
    await s.close();
  }
});

Deno.test("http gives up after its retries when the server keeps failing", async () => {
  const s = serve(() => new Response("down", { status: 500 }));
  try {
    const clock = new FakeClock();
    await assert.rejects(
      runPlugin(http, { url: s.base, retries: 1 }, { clock }),
      /answered 500 Internal Server Error \(expected 2xx\): down/,
    );
    assert.equal(s.requests.length, 2);
    assert.deepEqual(clock.requested, [500]);
    // A 5xx the task expects is not retried.
    const { result: r } = await runPlugin<HttpResult, HttpParams>(http, {
      url: s.base,
      expect: [500],
    });
    assert.equal(r!.status, 500);
    assert.equal(s.requests.length, 3);
  } finally {
    await s.close();
  }
});

Deno.test("http times out an attempt that gets no answer, and retries it", async () => {
  const s: ReturnType<typeof serve> = serve(async (_req, n) => {
    if (n !== 2) await s.released; // only the second request is answered while the test runs
    return json({ n });
  });
  try {
    const { result: r, logs } = await runPlugin<HttpResult, HttpParams>(http, {
      url: s.base,
      timeout: 50,
    });
    assert.deepEqual(r!.body, { n: 2 });
    assert.match(
      logs.find((l) => l.level === "warning")!.message,
      /no complete response within 50ms/,
    );
    await assert.rejects(
      runPlugin(http, { url: s.base, timeout: "50ms", retries: 0 }),
      /^Error: GET http:\/\/127\.0\.0\.1:\d+\/ failed: no complete response within 50ms$/,
    );
  } finally {
    await s.close();
  }
});

Deno.test("http retries a network error, then reports it with the attempts made", async () => {
  const s = serve(() => json(1));
  const closed = s.base;
  await s.close(); // nothing listens there any more
  const clock = new FakeClock();
  await assert.rejects(
    runPlugin(http, { url: closed, retries: 2, retryDelay: 10 }, { clock }),
    /^Error: GET http:\/\/127\.0\.0\.1:\d+\/ failed \(after 3 attempts\): /,
  );
  assert.deepEqual(clock.requested, [10, 20]);
});

Deno.test("http stops at once when the run is cancelled", async () => {
  const s: ReturnType<typeof serve> = serve(async () => {
    await s.released;
    return json(1);
  });
  try {
    const controller = new AbortController();
    const clock = new FakeClock();
    const call = runPlugin(http, { url: s.base }, { signal: controller.signal, clock });
    while (s.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    controller.abort(new Error("run cancelled"));
    await assert.rejects(call, /run cancelled/);
    assert.deepEqual(clock.requested, [], "no retry after a cancellation");
  } finally {
    await s.close();
  }
});

Deno.test("http sends secrets as headers without putting them in its params", async () => {
  const s = serve((req) =>
    json({ auth: req.headers.get("authorization"), key: req.headers.get("x-api-key") })
  );
  try {
    const secrets = { TOKEN: "t0ken", KEY: "k3y" };
    const { result: r } = await runPlugin<HttpResult, HttpParams>(
      http,
      { url: s.base, bearerSecret: "TOKEN", headerSecrets: { "X-Api-Key": "KEY" } },
      { secrets },
    );
    assert.deepEqual(r!.body, { auth: "Bearer t0ken", key: "k3y" });
    // Reading a secret the task was not given fails the call.
    await assert.rejects(
      runPlugin(http, { url: s.base, bearerSecret: "OTHER" }, { secrets }),
      /read secret "OTHER", which the test did not give/,
    );
  } finally {
    await s.close();
  }
});

Deno.test("http's params are checked: URL, json or body, expect, durations", () => {
  const ok = parsePluginParams(http, { url: "https://example.com" });
  assert.ok(ok.ok);
  assert.deepEqual(ok.value, {
    url: "https://example.com",
    headers: {},
    query: {},
    headerSecrets: {},
    retries: 2,
    retryDelay: "500ms",
    timeout: "30s",
    response: "auto",
  });
  const bad = parsePluginParams(http, {
    url: "ftp://example.com",
    json: {},
    body: "x",
    expect: [999],
    timeout: "soon",
  });
  assert.equal(bad.ok, false);
  const problems = !bad.ok ? bad.problems.map((p) => `${p.path.join(".")}: ${p.message}`) : [];
  assert.ok(
    problems.some((p) => /^url: "ftp:\/\/example.com" is not an http/.test(p)),
    problems.join("\n"),
  );
  assert.ok(problems.some((p) => /^expect\.0: /.test(p)), problems.join("\n"));
  assert.ok(problems.some((p) => /^timeout: Invalid duration "soon"/.test(p)), problems.join("\n"));
  // An expression is checked when the task runs.
  assert.ok(parsePluginParams(http, { url: "${{ params.url }}" }).ok);
});

Deno.test("http asks for the URL's host and port only", () => {
  assert.deepEqual(pluginPermissions(untyped, { url: "https://api.example.com/v1" }), {
    net: ["api.example.com:443"],
  });
  assert.deepEqual(pluginPermissions(untyped, { url: "http://127.0.0.1:8080/x?y=1" }), {
    net: ["127.0.0.1:8080"],
  });
  assert.equal(netHost("http://example.com"), "example.com:80");
  assert.throws(
    () => pluginPermissions(untyped, { url: "${{ params.url }}" }),
    /known only when the task runs/,
  );
  const m = pluginManifest(untyped);
  assert.equal(m.permissions, "computed");
  assert.equal(m.pure, false);
  assert.ok(m.docs!.includes("retries") && m.example!.includes("uses: http"));
  const props = m.params.properties as Record<string, { default?: unknown; description?: string }>;
  assert.equal(props.retries.default, 2);
  assert.equal(props.timeout.default, "30s");
  for (const [name, p] of Object.entries(props)) assert.ok(p.description, `${name} is described`);
});

Deno.test("http runs in a worker with only its grant: the URL's host and port", async () => {
  const s = serve(() => json({ hello: "worker" }));
  const other = serve(() => json("not reachable"));
  try {
    const grant = pluginPermissions(untyped, { url: s.base });
    assert.deepEqual(grant, { net: [`127.0.0.1:${s.port}`] });
    const call = (url: string) =>
      runPluginInWorker<HttpResult, HttpParams>(http, { url, retries: 0 }, { grant });
    const { result: r } = await call(s.base);
    assert.deepEqual([r!.status, r!.body], [200, { hello: "worker" }]);
    await assert.rejects(call(other.base), /Requires net access to "127\.0\.0\.1:\d+"/);
    assert.equal(other.requests.length, 0);
  } finally {
    await s.close();
    await other.close();
  }
});
