import assert from "node:assert/strict";
import {
  effectiveGrant,
  narrow,
  PermissionDeniedError,
  toDenoPermissions,
} from "../../src/permissions/grant.ts";
import type { PermissionSet } from "../../src/core/permissions.ts";

Deno.test("narrow() keeps what the ceiling covers and drops the rest", () => {
  assert.deepEqual(
    narrow(
      { read: ["/data/in", "/etc/passwd"], net: ["api.example.com:443"], env: ["HOME"] },
      { read: ["/data"], net: ["api.example.com"] },
    ),
    { read: ["/data/in"], net: ["api.example.com:443"] },
  );
});

Deno.test("narrow() is an intersection: a broad request gets what the ceiling allows of it", () => {
  assert.deepEqual(
    narrow({ read: true, net: ["*.example.com"] }, {
      read: ["/data"],
      net: ["api.example.com", "other.org"],
    }),
    { read: ["/data"], net: ["api.example.com"] },
  );
  assert.deepEqual(narrow({ env: ["AWS_*"] }, { env: ["AWS_REGION", "HOME"] }), {
    env: ["AWS_REGION"],
  });
});

Deno.test("narrow() without a ceiling keeps the request; true ceilings allow all", () => {
  const request: PermissionSet = { read: ["/a"], net: true, env: false, write: [] };
  assert.deepEqual(narrow(request, undefined), { read: ["/a"], net: true });
  assert.deepEqual(narrow(request, { read: true, net: true }), { read: ["/a"], net: true });
  assert.deepEqual(narrow(request, {}), {});
});

Deno.test("effectiveGrant() gives nothing to a task that requests nothing", () => {
  const r = effectiveGrant({ ceiling: { read: true, net: true } });
  assert.deepEqual(r, { grant: {}, denied: [], decision: "allow", source: "ceiling" });
  assert.deepEqual(effectiveGrant({}).grant, {});
});

Deno.test("effectiveGrant() denies what is beyond the ceiling, saying where to grant it", () => {
  const r = effectiveGrant({
    request: { read: ["/data/x", "/etc"], net: true },
    ceiling: { read: ["/data"], net: ["api.example.com"] },
  });
  assert.equal(r.decision, "deny");
  assert.equal(r.source, "ceiling");
  assert.deepEqual(r.grant, { read: ["/data/x"], net: ["api.example.com"] });
  assert.deepEqual(r.denied, [
    {
      name: "read",
      value: "/etc",
      by: "ceiling",
      reason: `the flow's ceiling allows read only for "/data"; add it to the flow's ` +
        `permissions to grant it`,
    },
    {
      name: "net",
      value: true,
      by: "ceiling",
      reason: `the flow's ceiling allows net only for "api.example.com" (narrowed to ` +
        `api.example.com); add it to the flow's permissions to grant it`,
    },
  ]);
  assert.match(r.reason!, /^read "\/etc": the flow's ceiling allows read only/);
});

Deno.test("effectiveGrant() applies the policy's decision after the ceiling", () => {
  const r = effectiveGrant({
    request: { net: ["a.com", "b.com", "c.com"] },
    ceiling: { net: ["a.com", "b.com"] },
    policy: {
      allowed: { net: ["a.com"] },
      denied: [
        { name: "net", value: "b.com", by: "policy", reason: "denied by rule 1" },
        { name: "net", value: "c.com", by: "policy", reason: "denied by rule 2" },
      ],
    },
  });
  assert.deepEqual(r.grant, { net: ["a.com"] });
  // c.com is reported once, by the first check that refused it.
  assert.deepEqual(r.denied.map((d) => [d.value, d.by, d.reason]), [
    [
      "c.com",
      "ceiling",
      `the flow's ceiling allows net only for "a.com", "b.com"; add it to ` +
      `the flow's permissions to grant it`,
    ],
    ["b.com", "policy", "denied by rule 1"],
  ]);
  assert.equal(r.source, "ceiling");
});

Deno.test("effectiveGrant() allowed by ceiling and policy records the last check consulted", () => {
  const r = effectiveGrant({
    request: { net: ["a.com"] },
    ceiling: { net: true },
    policy: { allowed: { net: ["a.com"] }, denied: [] },
  });
  assert.deepEqual(r, {
    grant: { net: ["a.com"] },
    denied: [],
    decision: "allow",
    source: "policy",
  });
});

Deno.test("effectiveGrant() denies everything left when the authorization service says no", () => {
  const r = effectiveGrant({
    request: { net: ["a.com"], read: true },
    policy: { allowed: { net: ["a.com"], read: true }, denied: [] },
    authorization: { allow: false, reason: "change freeze" },
  });
  assert.deepEqual(r.grant, {});
  assert.equal(r.source, "authorization");
  assert.deepEqual(r.denied, [
    {
      name: "read",
      value: true,
      by: "authorization",
      reason: "the authorization service refused it: change freeze",
    },
    {
      name: "net",
      value: "a.com",
      by: "authorization",
      reason: "the authorization service refused it: change freeze",
    },
  ]);
  const ok = effectiveGrant({
    request: { net: ["a.com"] },
    authorization: { allow: true, reason: "ticket OPS-1" },
  });
  assert.deepEqual(ok, {
    grant: { net: ["a.com"] },
    denied: [],
    decision: "allow",
    source: "authorization",
    reason: "ticket OPS-1",
  });
});

Deno.test("toDenoPermissions() names every permission and never inherits", () => {
  assert.deepEqual(toDenoPermissions({}), {
    read: false,
    write: false,
    net: false,
    env: false,
    run: false,
    ffi: false,
    sys: false,
    import: false,
  });
  const p = toDenoPermissions({
    read: ["/data"],
    env: true,
    net: [],
    // @ts-expect-error untyped code could pass "inherit"
    write: "inherit",
  });
  assert.deepEqual(p.read, ["/data"]);
  assert.equal(p.env, true);
  assert.equal(p.net, false);
  assert.equal(p.write, false);
});

Deno.test("PermissionDeniedError names the task, the plugin and each permission", () => {
  const err = new PermissionDeniedError("etl", "load", [
    { name: "read", value: "/etc", by: "ceiling", reason: "beyond the ceiling" },
    { name: "run", value: true, by: "policy", reason: "denied by the policy" },
  ], { plugin: "sql" });
  assert.equal(err.name, "PermissionDeniedError");
  assert.equal(
    err.message,
    'Task "load" (plugin "sql") of flow "etl" is denied 2 permissions:\n' +
      '  - read "/etc": beyond the ceiling\n' +
      "  - run (all): denied by the policy",
  );
  assert.equal(err.denied.length, 2);
  assert.equal(err.plugin, "sql");
});

Deno.test("a Worker started with toDenoPermissions() gets exactly the grant", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "orchestra_grant_" }));
  try {
    await Deno.mkdir(`${dir}/granted`);
    await Deno.writeTextFile(`${dir}/granted/a.txt`, "yes");
    await Deno.writeTextFile(`${dir}/other.txt`, "no");
    const grantModule = new URL("../../src/permissions/grant.ts", import.meta.url).href;
    const script = `${dir}/main.ts`;
    // The worker option needs --unstable-worker-options, so the check runs in its own process.
    await Deno.writeTextFile(
      script,
      `
import { effectiveGrant, normalizePermissions, toDenoPermissions } from "${grantModule}";
const request = normalizePermissions({ read: ["./granted", "./other.txt"], env: ["ORCH_T_*"] }, ${
        JSON.stringify(dir)
      }).permissions;
const { grant } = effectiveGrant({ request, ceiling: { read: [${
        JSON.stringify(dir + "/granted")
      }], env: true } });
const src = \`
const out = {};
const read = async (p) => { try { return await Deno.readTextFile(p); } catch (e) { return e.name; } };
out.granted = await read(${JSON.stringify(dir + "/granted/a.txt")});
out.other = await read(${JSON.stringify(dir + "/other.txt")});
try { out.env = Deno.env.get("ORCH_T_X") ?? null; } catch (e) { out.env = e.name; }
try { out.home = Deno.env.get("HOME") ?? null; } catch (e) { out.home = e.name; }
try { (await Deno.connect({ hostname: "127.0.0.1", port: 9 })).close(); out.net = "ok"; } catch (e) { out.net = e.name; }
postMessage(out);\`;
const url = URL.createObjectURL(new Blob([src], { type: "application/javascript" }));
const w = new Worker(url, { type: "module", deno: { permissions: toDenoPermissions(grant) } });
w.onmessage = (e) => { console.log(JSON.stringify(e.data)); w.terminate(); };
`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-prompt", "--unstable-worker-options", script],
      env: { ORCH_T_X: "x" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout)), {
      granted: "yes",
      other: "NotCapable",
      env: "x",
      home: "NotCapable",
      net: "NotCapable",
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
