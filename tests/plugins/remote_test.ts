// Remote plugins: pinned by version and integrity in orchestra.lock, served from a loopback
// HTTP server whose content changes under them.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import {
  checkRemoteUrl,
  defaultLockFile,
  loadRemote,
  pinnedPlugins,
  type RemoteLoadOptions,
} from "../../src/plugins/remote.ts";
import { PluginLoadError } from "../../src/plugins/resolve.ts";
import { main } from "../../src/cli/main.ts";
import { fakeIo } from "../cli/_io.ts";

/** The contract, by absolute file URL, so a cached copy of a served plugin can import it. */
const CONTRACT = new URL("../../src/plugins/contract.ts", import.meta.url).href;

/** The text of a real plugin module. */
function greetSource(version: string, greeting: string, extra = ""): string {
  return `import { definePlugin } from ${JSON.stringify(CONTRACT)};
${extra}
export default definePlugin({
  name: "greet",
  version: ${JSON.stringify(version)},
  description: "Greets someone.",
  params: { type: "object", properties: { who: { type: "string", default: "world" } } },
  run: (params) => ${JSON.stringify(greeting + ", ")} + params.who,
});
`;
}

interface Route {
  status?: number;
  body?: string;
  location?: string;
}

/** A loopback server serving `routes` (mutable), counting requests. */
function serve(routes: Record<string, Route>) {
  const requests: string[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => {
      const path = decodeURIComponent(new URL(req.url).pathname);
      requests.push(path);
      const route = routes[path];
      if (!route) return new Response("not found", { status: 404, statusText: "Not Found" });
      if (route.location) {
        return new Response(null, { status: 302, headers: { location: route.location } });
      }
      return new Response(route.body ?? "", {
        status: route.status ?? 200,
        headers: { "content-type": "application/typescript" },
      });
    },
  );
  const base = `http://127.0.0.1:${server.addr.port}`;
  return { server, base, requests, routes };
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "orchestra_remote_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function sri(text: string): string {
  return `sha256-${createHash("sha256").update(text).digest("base64")}`;
}

function hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function options(dir: string, extra: Partial<RemoteLoadOptions> = {}): RemoteLoadOptions {
  return {
    lockFile: `${dir}/orchestra.lock`,
    cacheDir: `${dir}/cache`,
    now: () => new Date("2025-03-01T12:00:00.000Z"),
    ...extra,
  };
}

async function rejectsLoad(
  promise: Promise<unknown>,
  message: RegExp,
  hint?: RegExp,
): Promise<PluginLoadError> {
  let caught: unknown;
  try {
    await promise;
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof PluginLoadError, `expected a PluginLoadError, got ${caught}`);
  assert.match(caught.message, message);
  if (hint) assert.match(caught.hint ?? "", hint);
  return caught;
}

const V1 = greetSource("1.0.0", "hello");
const V2 = greetSource("1.0.1", "hi");
const PATH = "/greet@1.0.0/mod.ts";

Deno.test("loadRemote() pins a new plugin: lock file written, verified copy cached", async () => {
  const { server, base } = serve({ [PATH]: { body: V1 } });
  try {
    await withDir(async (dir) => {
      const url = base + PATH;
      const got = await loadRemote(url, options(dir));
      assert.equal(got.status, "pinned");
      assert.equal(got.integrity, sri(V1));
      assert.equal(got.moduleUrl, new URL(`file://${dir}/cache/${hex(V1)}/mod.ts`).href);
      assert.equal(await Deno.readTextFile(fileURLToPath(got.moduleUrl)), V1);
      assert.equal(
        await Deno.readTextFile(`${dir}/orchestra.lock`),
        `{\n  "version": 1,\n  "remote": {\n    "${url}": {\n      "integrity": "${sri(V1)}",\n` +
          `      "pinned": "2025-03-01T12:00:00.000Z"\n    }\n  }\n}\n`,
      );
      const plugin = (await import(got.moduleUrl)).default;
      assert.equal(plugin.version, "1.0.0");
      assert.equal(plugin.run({ who: "you" }), "hello, you");
      // No temp file is left behind.
      assert.deepEqual([...Deno.readDirSync(`${dir}/cache/${hex(V1)}`)].map((e) => e.name), [
        "mod.ts",
      ]);
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("loadRemote() verifies a pinned plugin without touching the lock file", async () => {
  const { server, base, requests } = serve({ [PATH]: { body: V1 } });
  try {
    await withDir(async (dir) => {
      const url = base + PATH;
      const first = await loadRemote(url, options(dir));
      const lock = await Deno.readTextFile(`${dir}/orchestra.lock`);
      const later = () => new Date("2030-01-01T00:00:00.000Z");
      const second = await loadRemote(url, options(dir, { now: later }));
      assert.deepEqual(second, { ...first, status: "verified" });
      assert.equal(await Deno.readTextFile(`${dir}/orchestra.lock`), lock);
      assert.equal(requests.length, 2, "every load fetches, so a change is noticed");
      // A damaged cached copy is not trusted: it is written again from the verified bytes.
      await Deno.writeTextFile(fileURLToPath(first.moduleUrl), "export default 1;\n");
      const third = await loadRemote(url, options(dir));
      assert.equal(third.status, "verified");
      assert.equal(await Deno.readTextFile(fileURLToPath(third.moduleUrl)), V1);
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("loadRemote() refuses changed content until update re-pins it", async () => {
  const { server, base, routes } = serve({ [PATH]: { body: V1 } });
  try {
    await withDir(async (dir) => {
      const url = base + PATH;
      const first = await loadRemote(url, options(dir));
      const lock = await Deno.readTextFile(`${dir}/orchestra.lock`);
      routes[PATH] = { body: V2 };
      const err = await rejectsLoad(
        loadRemote(url, options(dir)),
        /changed since it was pinned/,
        /^check the change, then run "orchestra plugins update <flow>" to pin the new content$/,
      );
      assert.equal(
        err.message,
        `Plugin ${url} changed since it was pinned (${sri(V1)} → ${sri(V2)})`,
      );
      assert.equal(await Deno.readTextFile(`${dir}/orchestra.lock`), lock, "lock unchanged");
      assert.equal(
        await Deno.stat(`${dir}/cache/${hex(V2)}`).catch(() => null),
        null,
        "refused content is not cached",
      );

      const now = () => new Date("2025-04-01T08:00:00.000Z");
      const updated = await loadRemote(url, options(dir, { update: true, now }));
      assert.equal(updated.status, "updated");
      assert.equal(updated.integrity, sri(V2));
      assert.notEqual(updated.moduleUrl, first.moduleUrl);
      const plugin = (await import(updated.moduleUrl)).default;
      assert.equal(plugin.version, "1.0.1");
      assert.equal(plugin.run({ who: "you" }), "hi, you");
      assert.deepEqual(await pinnedPlugins(`${dir}/orchestra.lock`), [
        { url, integrity: sri(V2), pinned: "2025-04-01T08:00:00.000Z" },
      ]);
      // Now the new content verifies; updating unchanged content changes nothing.
      assert.equal((await loadRemote(url, options(dir))).status, "verified");
      assert.equal((await loadRemote(url, options(dir, { update: true }))).status, "verified");
      assert.equal((await pinnedPlugins(`${dir}/orchestra.lock`))[0].pinned, now().toISOString());
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("loadRemote() refuses a URL without a version, before fetching it", async () => {
  const { server, base, requests } = serve({ "/greet/mod.ts": { body: V1 } });
  try {
    await withDir(async (dir) => {
      for (const path of ["/greet/mod.ts", "/greet@^1.0.0/mod.ts", "/greet@latest/mod.ts"]) {
        const err = await rejectsLoad(
          loadRemote(base + path, options(dir)),
          /is not pinned to a version/,
          /https:\/\/example\.com\/plugins\/greet@1\.0\.0\/mod\.ts/,
        );
        assert.ok(err.message.includes(base + path));
      }
      assert.deepEqual(requests, []);
      assert.equal(await Deno.stat(`${dir}/orchestra.lock`).catch(() => null), null);
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("checkRemoteUrl() accepts the version forms and https or loopback http only", () => {
  for (
    const ok of [
      "https://example.com/plugins/greet@1.0.0/mod.ts",
      "https://example.com/greet@1.2.3.ts",
      "https://example.com/greet@v1.2.3",
      "https://example.com/x/v1.2.3/mod.ts",
      "https://example.com/x/1.2.3/mod.ts",
      "https://example.com/x/greet@2.0.0-beta.1/mod.ts",
      "http://127.0.0.1:8080/greet@1.0.0/mod.ts",
      "http://localhost/greet@1.0.0/mod.ts",
      "http://[::1]:99/greet@1.0.0/mod.ts",
    ]
  ) {
    assert.equal(checkRemoteUrl(ok).href, new URL(ok).href);
  }
  for (
    const bad of [
      "https://example.com/x/1.2/mod.ts",
      "https://example.com/x/1.2.3",
      "https://example.com/mod.ts?v=1.2.3",
      "https://example.com/greet@1.2.3x/mod.ts",
    ]
  ) {
    assert.throws(() => checkRemoteUrl(bad), /is not pinned to a version/, bad);
  }
  assert.throws(() => checkRemoteUrl("greet@1.0.0"), /is not a valid URL/);
  assert.equal(defaultLockFile("/flows/etl"), "/flows/etl/orchestra.lock");
});

Deno.test("loadRemote() refuses http: to a non-loopback host and other schemes", async () => {
  await withDir(async (dir) => {
    const fetch = (() => {
      throw new Error("must not fetch");
    }) as typeof globalThis.fetch;
    const err = await rejectsLoad(
      loadRemote("http://example.com/greet@1.0.0/mod.ts", options(dir, { fetch })),
      /over https: only \(http: only from 127\.0\.0\.1, ::1 or localhost\)/,
      /^use https:\/\/example\.com\/greet@1\.0\.0\/mod\.ts$/,
    );
    assert.match(err.message, /^Cannot load plugin http:\/\/example\.com\/greet@1\.0\.0\/mod\.ts/);
    await rejectsLoad(
      loadRemote("http://10.0.0.1/greet@1.0.0/mod.ts", options(dir, { fetch })),
      /over https: only/,
    );
    await rejectsLoad(
      loadRemote("file:///tmp/greet@1.0.0/mod.ts", options(dir, { fetch })),
      /over https: only/,
      /serve the plugin over https:/,
    );
  });
});

Deno.test("loadRemote() refuses a plugin with relative imports, naming each one", async () => {
  const body = greetSource(
    "1.0.0",
    "hello",
    'import { helper } from "./helper.ts";\nimport "../side.ts";\n' +
      'import { z } from "npm:zod@4.1.12";\n' +
      'import * as x from "https://example.com/x@1.0.0/x.ts";\n' +
      "const lazy = () => import( './lazy.ts' );\nexport { y } from '/abs.ts';\n",
  );
  const { server, base } = serve({ [PATH]: { body } });
  try {
    await withDir(async (dir) => {
      const err = await rejectsLoad(
        loadRemote(base + PATH, options(dir)),
        /a remote plugin must be one module, importing only npm:, jsr: or full https: URLs/,
        /bundle the plugin into a single module/,
      );
      assert.ok(
        err.message.startsWith(
          `Plugin ${base + PATH} imports "./helper.ts" (line 2), "../side.ts" (line 3), ` +
            `"./lazy.ts" (line 6), "/abs.ts" (line 7): `,
        ),
        err.message,
      );
      assert.equal(await Deno.stat(`${dir}/orchestra.lock`).catch(() => null), null);
      assert.equal(await Deno.stat(`${dir}/cache`).catch(() => null), null);
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("loadRemote() reports a non-2xx answer with its status", async () => {
  const { server, base } = serve({ "/broken@1.0.0/mod.ts": { status: 500, body: "boom" } });
  try {
    await withDir(async (dir) => {
      const err = await rejectsLoad(
        loadRemote(`${base}/missing@1.0.0/mod.ts`, options(dir)),
        /the server answered 404 Not Found/,
        /check the URL and the version in it/,
      );
      assert.equal(
        err.message,
        `Cannot fetch plugin ${base}/missing@1.0.0/mod.ts: the server answered 404 Not Found`,
      );
      await rejectsLoad(
        loadRemote(`${base}/broken@1.0.0/mod.ts`, options(dir)),
        /the server answered 500/,
      );
      assert.equal(await Deno.stat(`${dir}/orchestra.lock`).catch(() => null), null);
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("loadRemote() follows redirects and pins the URL it was given", async () => {
  const { server, base } = serve({
    [PATH]: { location: "/files/abc123" },
    "/files/abc123": { body: V1 },
  });
  try {
    await withDir(async (dir) => {
      const got = await loadRemote(base + PATH, options(dir));
      assert.equal(got.status, "pinned");
      assert.equal(got.integrity, sri(V1));
      assert.ok(got.moduleUrl.endsWith(`/${hex(V1)}/mod.ts`));
      assert.deepEqual((await pinnedPlugins(`${dir}/orchestra.lock`)).map((p) => p.url), [
        base + PATH,
      ]);
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("loadRemote() names its cached copy after the URL, adding .ts", async () => {
  const { server, base } = serve({
    "/greet@1.0.0": { body: V1 },
    "/lib/1.0.0/greet.js": { body: "export default 1;\n" },
  });
  try {
    await withDir(async (dir) => {
      const a = await loadRemote(`${base}/greet@1.0.0`, options(dir));
      assert.ok(a.moduleUrl.endsWith(`/${hex(V1)}/greet@1.0.0.ts`), a.moduleUrl);
      const b = await loadRemote(`${base}/lib/1.0.0/greet.js`, options(dir));
      assert.ok(b.moduleUrl.endsWith("/greet.js"), b.moduleUrl);
      // Pins are kept in URL order, whatever order they were made in.
      assert.deepEqual(
        Object.keys(JSON.parse(await Deno.readTextFile(`${dir}/orchestra.lock`)).remote),
        [
          `${base}/greet@1.0.0`,
          `${base}/lib/1.0.0/greet.js`,
        ],
      );
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("loadRemote() pins plugins loaded concurrently without losing any", async () => {
  const paths = ["/a@1.0.0/mod.ts", "/b@1.0.0/mod.ts", "/c@1.0.0/mod.ts", "/d@1.0.0/mod.ts"];
  const { server, base } = serve(
    Object.fromEntries(paths.map((p) => [p, { body: `export default ${JSON.stringify(p)};\n` }])),
  );
  try {
    await withDir(async (dir) => {
      const got = await Promise.all(paths.map((p) => loadRemote(base + p, options(dir))));
      assert.deepEqual(got.map((g) => g.status), ["pinned", "pinned", "pinned", "pinned"]);
      assert.deepEqual(
        (await pinnedPlugins(`${dir}/orchestra.lock`)).map((p) => p.url),
        paths.map((p) => base + p),
      );
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("loadRemote() offline: a pinned plugin loads from its verified copy", async () => {
  const { server, base } = serve({ [PATH]: { body: V1 } });
  const url = base + PATH;
  await withDir(async (dir) => {
    let first;
    try {
      first = await loadRemote(url, options(dir));
    } finally {
      await server.shutdown();
    }
    // The server is gone: connection refused.
    const offline = await loadRemote(url, options(dir));
    assert.deepEqual(offline, { ...first, status: "verified" });
    assert.equal((await import(offline.moduleUrl)).default.run({ who: "me" }), "hello, me");

    // Updating needs the network.
    await rejectsLoad(
      loadRemote(url, options(dir, { update: true })),
      new RegExp(`^Cannot fetch plugin ${RegExp.escape(url)}: `),
      /updating a plugin needs the network/,
    );
    // Without the cached copy (or with a damaged one) there is nothing verified to use.
    await Deno.writeTextFile(fileURLToPath(first.moduleUrl), V2);
    await rejectsLoad(
      loadRemote(url, options(dir)),
      new RegExp(`^Cannot fetch plugin ${RegExp.escape(url)}: .+`),
      /it is pinned but no verified copy is cached/,
    );
    // Not pinned at all: the network error, named.
    const fetch = (() =>
      Promise.reject(new TypeError("dns error: no such host"))) as typeof globalThis.fetch;
    const err = await rejectsLoad(
      loadRemote("https://plugins.example/x@1.0.0/mod.ts", options(dir, { fetch })),
      /^Cannot fetch plugin https:\/\/plugins\.example\/x@1\.0\.0\/mod\.ts: dns error: no such/,
      /check the URL and your network connection/,
    );
    assert.ok(err.cause instanceof TypeError);
  });
});

Deno.test("a malformed lock file is an error naming the file and what is wrong", async () => {
  await withDir(async (dir) => {
    const lockFile = `${dir}/orchestra.lock`;
    const fetch = (() => Promise.resolve(new Response(V1))) as typeof globalThis.fetch;
    const cases: [string, RegExp][] = [
      ["{ nope", /is not valid JSON/],
      ["[]", /it must be a JSON object/],
      ['{ "version": 2, "remote": {} }', /"version" is 2, expected 1/],
      ['{ "version": 1, "remote": [] }', /"remote" must be an object/],
      [
        '{ "version": 1, "remote": { "https://x.example/a@1.0.0/m.ts": ' +
        '{ "integrity": "md5-abc", "pinned": "yesterday" } } }',
        new RegExp(
          RegExp.escape(
            `remote["https://x.example/a@1.0.0/m.ts"].integrity must be "sha256-<base64>", ` +
              `got "md5-abc"; remote["https://x.example/a@1.0.0/m.ts"].pinned must be an ISO ` +
              `date, got "yesterday"`,
          ),
        ),
      ],
    ];
    for (const [text, what] of cases) {
      await Deno.writeTextFile(lockFile, text);
      const err = await rejectsLoad(
        loadRemote("https://x.example/a@1.0.0/m.ts", options(dir, { fetch })),
        what,
        /delete it and run "orchestra plugins update <flow>"/,
      );
      assert.ok(err.message.startsWith(`The Orchestra lock file ${lockFile} is malformed: `));
      await rejectsLoad(pinnedPlugins(lockFile), what);
      assert.equal(await Deno.readTextFile(lockFile), text, "a malformed lock is not overwritten");
    }
    await Deno.remove(lockFile);
    assert.deepEqual(await pinnedPlugins(lockFile), []);
  });
});

// End-to-end through the CLI: needs the YAML wiring of `uses: <url>` (src/plugins/resolve.ts,
// the YAML loader) and the `orchestra plugins update` command, built in parallel with this file.
Deno.test("end-to-end: run pins, refuses a changed plugin, plugins update re-pins", async () => {
  const served = greetSource("1.0.0", "hello");
  const { server, base, routes } = serve({ [PATH]: { body: served } });
  try {
    await withDir(async (dir) => {
      const flowFile = `${dir}/flow.yaml`;
      const stateDir = `${dir}/state`;
      await Deno.writeTextFile(
        flowFile,
        `name: remote_greet\ntasks:\n  greet:\n    uses: ${base}${PATH}\n` +
          `    with:\n      who: orchestra\n`,
      );
      const run = async () => {
        const io = fakeIo({ cwd: dir });
        const code = await main(["run", flowFile, "--state-dir", stateDir, "--json", "-q"], io);
        return { code, io };
      };
      const greeting = (out: string) =>
        (JSON.parse(out).tasks as { id: string; result?: unknown }[])
          .find((t) => t.id === "greet")?.result;

      const first = await run();
      assert.equal(first.code, 0, first.io.err);
      assert.equal(greeting(first.io.out), "hello, orchestra");
      assert.deepEqual((await pinnedPlugins(`${dir}/orchestra.lock`)).map((p) => p.integrity), [
        sri(served),
      ]);

      routes[PATH] = { body: greetSource("1.0.0", "hi") };
      const refused = await run();
      assert.equal(refused.code, 2, refused.io.err);
      assert.match(refused.io.err, /changed since it was pinned/);
      assert.match(refused.io.err, /run "orchestra plugins update [^"<]*flow\.yaml" to pin/);

      const io = fakeIo({ cwd: dir });
      assert.equal(await main(["plugins", "update", flowFile], io), 0, io.err);

      const again = await run();
      assert.equal(again.code, 0, again.io.err);
      assert.equal(greeting(again.io.out), "hi, orchestra");
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("loadRemote() gives up on a server that never answers", async () => {
  const never = Promise.withResolvers<void>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async () => (await never.promise, new Response("late")),
  );
  try {
    await withDir(async (dir) => {
      const url = `http://127.0.0.1:${server.addr.port}/slow@1.0.0/mod.ts`;
      await rejectsLoad(
        loadRemote(url, { ...options(dir), timeoutMs: 50 }),
        /^Cannot fetch plugin .*slow@1\.0\.0\/mod\.ts: .*(timed out|abort)/i,
        /check the URL and your network connection/,
      );
    });
  } finally {
    never.resolve();
    await server.shutdown();
  }
});
