import assert from "node:assert/strict";
import {
  AuthorizationClient,
  type AuthorizationClientOptions,
  type AuthorizationConfig,
  checkAuthorizationConfig,
} from "../../src/permissions/authorization.ts";
import { MemoryStore } from "../../src/store/memory_store.ts";

/** What the test server saw and how it answers. */
interface Service {
  url: string;
  /** Every request body received. */
  bodies: unknown[];
  /** Answers the next requests with this handler. */
  answer: (body: Record<string, unknown>) => Response | Promise<Response>;
  /** Released when the test ends, so slow handlers finish. */
  release: () => void;
}

/** Runs `fn` against a real HTTP server on 127.0.0.1 and an ephemeral port. */
async function withService(fn: (service: Service) => Promise<void>): Promise<void> {
  let release!: () => void;
  const released = new Promise<void>((r) => release = r);
  const service: Service = {
    url: "",
    bodies: [],
    answer: () => Response.json({ allow: true }),
    release,
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const body = await req.json();
    service.bodies.push(body);
    const res = service.answer(body);
    return await Promise.race([res, released.then(() => new Response(null, { status: 503 }))]);
  });
  service.url = `http://127.0.0.1:${server.addr.port}/check`;
  try {
    await fn(service);
  } finally {
    release();
    await server.shutdown();
  }
}

function client(
  service: Service,
  config: Partial<AuthorizationConfig> = {},
  options: AuthorizationClientOptions = {},
): AuthorizationClient {
  return new AuthorizationClient({ url: service.url, ...config }, options);
}

const REQUEST = {
  flow: "etl",
  task: "load",
  plugin: "sql",
  pluginVersion: "2.1.0",
  permissions: { net: ["db.internal:5432"], env: ["PGPASSWORD"] },
  user: "ana",
  runId: "run-1",
};

Deno.test("authorize() POSTs the request, with the plugin's name and version, and returns the service's allow", async () => {
  await withService(async (service) => {
    const d = await client(service).authorize(REQUEST);
    assert.deepEqual(d, { allow: true, source: "service" });
    assert.deepEqual(service.bodies, [{
      flow: "etl",
      task: "load",
      plugin: "sql",
      pluginVersion: "2.1.0",
      permissions: { net: ["db.internal:5432"], env: ["PGPASSWORD"] },
      user: "ana",
      runId: "run-1",
    }]);
  });
});

Deno.test("authorize() sends null for what is unknown", async () => {
  await withService(async (service) => {
    await client(service).authorize({ flow: "f", task: "t", permissions: {} });
    assert.deepEqual(service.bodies, [{
      flow: "f",
      task: "t",
      plugin: null,
      pluginVersion: null,
      permissions: {},
      user: null,
      runId: null,
    }]);
  });
});

Deno.test("authorize() returns a denial with the service's reason", async () => {
  await withService(async (service) => {
    service.answer = (body) =>
      Response.json({ allow: false, reason: `no database access for ${body.user}` });
    const d = await client(service).authorize(REQUEST);
    assert.deepEqual(d, { allow: false, reason: "no database access for ana", source: "service" });
  });
});

Deno.test("authorize() reuses a decision within the TTL, whatever the run", async () => {
  await withService(async (service) => {
    const c = client(service, { cacheTtl: "1m" });
    await c.authorize(REQUEST);
    const again = await c.authorize({ ...REQUEST, runId: "run-2" });
    // Same permissions in another order are the same question.
    const reordered = await c.authorize({
      ...REQUEST,
      permissions: { env: ["PGPASSWORD"], net: ["db.internal:5432"] },
    });
    assert.equal(service.bodies.length, 1);
    assert.equal(again.source, "cache");
    assert.equal(reordered.source, "cache");
    // Another user, task or permission set is another question.
    await c.authorize({ ...REQUEST, user: "bob" });
    await c.authorize({ ...REQUEST, task: "extract" });
    await c.authorize({ ...REQUEST, permissions: { net: ["db.internal:5432"] } });
    assert.equal(service.bodies.length, 4);
  });
});

Deno.test("authorize() asks again once the TTL has passed (injected clock)", async () => {
  await withService(async (service) => {
    let now = 1_000_000;
    const c = client(service, { cacheTtl: "30s" }, { clock: { now: () => now } });
    await c.authorize(REQUEST);
    now += 29_999;
    assert.equal((await c.authorize(REQUEST)).source, "cache");
    now += 1;
    assert.equal((await c.authorize(REQUEST)).source, "service");
    assert.equal(service.bodies.length, 2);
  });
});

Deno.test("authorize() shares one call between identical questions asked at once", async () => {
  await withService(async (service) => {
    const c = client(service);
    const all = await Promise.all([
      c.authorize(REQUEST),
      c.authorize(REQUEST),
      c.authorize(REQUEST),
    ]);
    assert.equal(service.bodies.length, 1);
    assert.ok(all.every((d) => d.allow));
  });
});

Deno.test("authorize() fails closed when the service does not answer in time", async () => {
  await withService(async (service) => {
    service.answer = () => new Promise(() => {}); // never answers (until the test ends)
    const started = performance.now();
    const d = await client(service, { timeout: "100ms" }).authorize(REQUEST);
    assert.ok(performance.now() - started < 2000);
    assert.deepEqual(d, {
      allow: false,
      reason: `the authorization service at ${service.url} did not answer within 100ms; ` +
        "failing closed (onError: deny)",
      source: "onError",
    });
  });
});

Deno.test("authorize() fails closed on an HTTP error, and does not cache it", async () => {
  await withService(async (service) => {
    service.answer = () => new Response("boom", { status: 500 });
    const c = client(service);
    const d = await c.authorize(REQUEST);
    assert.deepEqual(d, {
      allow: false,
      reason: `the authorization service at ${service.url} answered HTTP 500 Internal Server ` +
        "Error; failing closed (onError: deny)",
      source: "onError",
    });
    service.answer = () => Response.json({ allow: true });
    assert.deepEqual(await c.authorize(REQUEST), { allow: true, source: "service" });
  });
});

Deno.test("authorize() treats a malformed answer as an error, saying what was wrong", async () => {
  await withService(async (service) => {
    const c = client(service);
    service.answer = () => new Response("<html>ok</html>", { status: 200 });
    assert.match(
      (await c.authorize(REQUEST)).reason!,
      /answered with something that is not JSON: "<html>ok<\/html>"; failing closed/,
    );
    service.answer = () => Response.json({ allowed: true });
    const d = await c.authorize(REQUEST);
    assert.equal(d.allow, false);
    assert.match(d.reason!, /answered without a boolean "allow": "\{\\"allowed\\":true\}"/);
    service.answer = () => Response.json({ allow: true, reason: 42 });
    assert.match((await c.authorize(REQUEST)).reason!, /a "reason" that is not a string/);
  });
});

Deno.test("authorize() with onError: allow lets the task through, saying why", async () => {
  await withService(async (service) => {
    service.answer = () => new Response(null, { status: 502, statusText: "Bad Gateway" });
    const d = await client(service, { onError: "allow" }).authorize(REQUEST);
    assert.deepEqual(d, {
      allow: true,
      reason: `the authorization service at ${service.url} answered HTTP 502 Bad Gateway; ` +
        'allowed because onError is "allow"',
      source: "onError",
    });
  });
});

Deno.test("authorize() fails closed when nothing listens", async () => {
  // A port that was just free: bind it, note it, close it.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const c = new AuthorizationClient({ url: `http://127.0.0.1:${port}/check` });
  const d = await c.authorize(REQUEST);
  assert.equal(d.allow, false);
  assert.match(d.reason!, /could not be reached: .*; failing closed \(onError: deny\)$/);
});

Deno.test("authorize() rejects with the caller's reason when its signal aborts", async () => {
  await withService(async (service) => {
    service.answer = () => new Promise(() => {});
    const controller = new AbortController();
    const pending = client(service, { timeout: "200ms" }).authorize(REQUEST, {
      signal: controller.signal,
    });
    controller.abort(new Error("run cancelled"));
    await assert.rejects(pending, /run cancelled/);
  });
});

Deno.test("checkAuthorizationConfig() reports every problem", () => {
  const { problems } = checkAuthorizationConfig({
    url: "not a url",
    timeout: "soon",
    cacheTtl: -1,
    onError: "ignore",
    retries: 3,
  });
  assert.deepEqual(problems.map((p) => [p.key, p.message]), [
    ["retries", 'Unknown key "retries"'],
    ["url", '"url" must be an http: or https: URL, got "not a url"'],
    [
      "timeout",
      '"timeout" is not a valid duration: Invalid duration "soon": use a number with a unit, ' +
      'like "500ms", "30s", "10m", "1h" or "1h30m"',
    ],
    [
      "cacheTtl",
      '"cacheTtl" is not a valid duration: Invalid duration -1: use a non-negative number of ' +
      "milliseconds",
    ],
    ["onError", '"onError" must be deny or allow, got "ignore"'],
  ]);
  assert.deepEqual(checkAuthorizationConfig({}).problems.map((p) => p.message), [
    'The authorization config needs a "url"',
  ]);
  assert.throws(() => new AuthorizationClient({ url: "x" }), TypeError);
});

Deno.test("authorize() keeps decisions in the state store for their TTL, for every client that shares it", async () => {
  await withService(async (service) => {
    let now = 1_000_000;
    const store = new MemoryStore();
    const options = { clock: { now: () => now }, store };
    const first = client(service, { cacheTtl: "30s" }, options);
    await Promise.all([1, 2, 3, 4].map(() => first.authorize(REQUEST)));
    assert.equal(service.bodies.length, 1, "four identical questions at once: one call");
    // Another client (another process) with the same store asks nobody.
    const second = client(service, { cacheTtl: "30s" }, options);
    const d = await second.authorize({ ...REQUEST, runId: "run-2" });
    assert.deepEqual(d, { allow: true, source: "cache" });
    assert.equal(service.bodies.length, 1);
    // The key is a hash of the question: no flow, task or permission in clear.
    const stored = await store.cacheGet(
      `authz:${await sha256(JSON.stringify([
        service.url,
        "etl",
        "load",
        "sql",
        "2.1.0",
        { net: ["db.internal:5432"], env: ["PGPASSWORD"] },
        "ana",
      ]))}`,
      now,
    );
    assert.deepEqual(stored?.value, { allow: true, expires: now + 30_000 });
    // Past the TTL a third client asks again.
    now += 30_000;
    const third = client(service, { cacheTtl: "30s" }, options);
    assert.equal((await third.authorize(REQUEST)).source, "service");
    assert.equal(service.bodies.length, 2);
  });
});

Deno.test("authorize() asks the service when the store fails, and does not store onError decisions", async () => {
  await withService(async (service) => {
    const broken = {
      cacheGet: () => Promise.reject(new Error("disk full")),
      cacheSet: () => Promise.reject(new Error("disk full")),
    };
    const d = await client(service, {}, { store: broken }).authorize(REQUEST);
    assert.deepEqual(d, { allow: true, source: "service" });
    const store = new MemoryStore();
    service.answer = () => new Response(null, { status: 500 });
    await client(service, {}, { store }).authorize(REQUEST);
    assert.equal(await store.cacheClear(), 0, "a failure's decision is not shared");
  });
});

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
