import assert from "node:assert/strict";
import notify, { notifyPayload } from "../../plugins/notify.ts";
import {
  parsePluginParams,
  type PluginDefinition,
  pluginManifest,
  pluginPermissions,
} from "../../src/plugins/contract.ts";
import { FakeClock, runPlugin, runPluginInWorker } from "../../testing.ts";

// pluginManifest() and pluginPermissions() take a PluginDefinition<Record<string, unknown>>,
// which a plugin whose params type is an interface (no index signature) is not: they need a cast.
const untyped = notify as unknown as PluginDefinition;

/** A loopback webhook that records what it receives. */
function webhook(answer: (n: number) => Response = () => new Response("ok")) {
  const received: { path: string; type: string | null; payload: unknown }[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (req) => {
    received.push({
      path: new URL(req.url).pathname,
      type: req.headers.get("content-type"),
      payload: await req.json(),
    });
    return answer(received.length);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/hooks/T000/B000/XXXX`,
    port: server.addr.port,
    received,
    close: () => server.shutdown(),
  };
}

Deno.test("notify POSTs a Slack-compatible JSON payload and returns the status", async () => {
  const hook = webhook();
  try {
    const { result } = await runPlugin(notify, {
      url: hook.url,
      title: "Nightly ETL",
      text: "Loaded 42 rows",
      status: "success",
      fields: { rows: 42, region: "EU" },
      payload: { channel: "#data" },
    });
    assert.deepEqual(result, { status: 200 });
    assert.equal(hook.received.length, 1);
    assert.equal(hook.received[0].path, "/hooks/T000/B000/XXXX");
    assert.equal(hook.received[0].type, "application/json");
    assert.deepEqual(hook.received[0].payload, {
      text: ":white_check_mark: *Nightly ETL*\nLoaded 42 rows",
      attachments: [{
        fallback: "Loaded 42 rows",
        color: "good",
        fields: [
          { title: "rows", value: "42", short: true },
          { title: "region", value: "EU", short: true },
        ],
      }],
      channel: "#data",
    });
  } finally {
    await hook.close();
  }
});

Deno.test("notifyPayload(): plain text alone, no attachment", () => {
  assert.deepEqual(notifyPayload({ text: "hi", fields: {}, payload: {} }), { text: "hi" });
  assert.deepEqual(
    notifyPayload({ text: "x", status: "failure", fields: {}, payload: { text: "override" } }),
    { text: "override", attachments: [{ fallback: "x", color: "danger" }] },
  );
});

Deno.test("notify retries a 5xx and gives up on a 4xx, naming only the webhook's host", async () => {
  const hook = webhook((n) =>
    n === 1 ? new Response("upstream", { status: 502 }) : new Response("no_text", { status: 400 })
  );
  try {
    const clock = new FakeClock();
    // Not thrown: the warnings logged before the failure are wanted too.
    const { error, logs } = await runPlugin(
      notify,
      { url: hook.url, text: "x", retryDelay: "2s" },
      { clock, throwOnError: false },
    );
    assert.ok(error instanceof Error, "it fails");
    assert.equal(
      error.message,
      `The webhook on 127.0.0.1:${hook.port} answered 400 Bad Request: no_text`,
    );
    assert.ok(!error.message.includes("XXXX"), "the URL's secret path is not shown");
    assert.equal(hook.received.length, 2);
    assert.deepEqual(clock.requested, [2000]);
    const warnings = logs.filter((l) => l.level === "warning").map((l) => l.message);
    assert.match(warnings[0], /^POST to the webhook on 127\.0\.0\.1:\d+: status 502 Bad Gateway;/);
  } finally {
    await hook.close();
  }
});

Deno.test("notify reads the webhook URL from a secret, on the host it was given", async () => {
  const hook = webhook();
  try {
    const secrets = { HOOK: hook.url };
    const params = { urlSecret: "HOOK", host: "127.0.0.1", text: "from a secret" };
    assert.deepEqual((await runPlugin(notify, params, { secrets })).result, { status: 200 });
    assert.deepEqual(hook.received[0].payload, { text: "from a secret" });
    await assert.rejects(
      runPlugin(notify, { ...params, host: "hooks.slack.com" }, { secrets }),
      /The webhook URL in secret "HOOK" is not on host "hooks\.slack\.com"/,
    );
    await assert.rejects(
      runPlugin(notify, { ...params, host: "127.0.0.1:1" }, { secrets }),
      /is not on host "127\.0\.0\.1:1"/,
    );
    assert.equal(hook.received.length, 1, "nothing is sent to a host the task was not given");
  } finally {
    await hook.close();
  }
});

Deno.test("notify's params: url or urlSecret with host; text is required", () => {
  const problems = (params: Record<string, unknown>) => {
    const r = parsePluginParams(notify, params);
    return r.ok ? [] : r.problems.map((p) => `${p.path.join(".")}: ${p.message}`);
  };
  assert.deepEqual(problems({ url: "https://hooks.slack.com/x", text: "hi" }), []);
  assert.deepEqual(problems({ text: "hi" }), ["url: give either `url` or `urlSecret`"]);
  assert.deepEqual(problems({ urlSecret: "HOOK", text: "hi" }), [
    "host: `urlSecret` needs `host`: the host of the webhook URL, which the task may reach",
  ]);
  assert.deepEqual(problems({ url: "hooks.slack.com/x", text: "hi" }), [
    'url: "hooks.slack.com/x" is not a URL: write it in full, like "https://example.com/x"',
  ]);
  assert.equal(problems({ url: "https://h/x" }).length, 1, "text is required");
  assert.equal(problems({ url: "https://h/x", text: "x", status: "ok" }).length, 1);
});

Deno.test("notify asks for the webhook's host only", () => {
  assert.deepEqual(pluginPermissions(untyped, { url: "https://hooks.slack.com/services/x" }), {
    net: ["hooks.slack.com:443"],
  });
  assert.deepEqual(pluginPermissions(untyped, { urlSecret: "HOOK", host: "hooks.slack.com" }), {
    net: ["hooks.slack.com"],
  });
  assert.throws(() => pluginPermissions(untyped, { urlSecret: "HOOK" }), /give `url`/);
  const m = pluginManifest(untyped);
  assert.equal(m.permissions, "computed");
  assert.ok(m.docs!.includes("urlSecret") && m.example!.includes("uses: notify"));
});

Deno.test("notify runs in a worker with only its grant: the webhook's host", async () => {
  const hook = webhook();
  const other = webhook();
  try {
    const grant = pluginPermissions(untyped, { url: hook.url, text: "x" });
    const call = (url: string) =>
      runPluginInWorker(notify, { url, text: "from a worker", retries: 0 }, { grant });
    assert.deepEqual((await call(hook.url)).result, { status: 200 });
    assert.deepEqual(hook.received[0].payload, { text: "from a worker" });
    await assert.rejects(call(other.url), /Requires net access to "127\.0\.0\.1:\d+"/);
    assert.equal(other.received.length, 0);
  } finally {
    await hook.close();
    await other.close();
  }
});
