import assert from "node:assert/strict";
import type { PermissionSet } from "../../src/core/permissions.ts";
import {
  evaluatePolicy,
  patternCovers,
  patternOverlaps,
  type Policy,
  type PolicyRule,
} from "../../src/permissions/policy.ts";

function rule(effect: "allow" | "deny", fields: Partial<PolicyRule>): PolicyRule {
  return { effect, flow: ["*"], task: ["*"], plugin: ["*"], permissions: {}, ...fields };
}

function policy(rules: PolicyRule[], defaultEffect: "allow" | "deny" = "allow"): Policy {
  return { file: "orchestra.policy.yaml", default: defaultEffect, rules };
}

function decide(
  p: Policy,
  request: PermissionSet,
  ctx: { flow?: string; task?: string; plugin?: string } = {},
) {
  return evaluatePolicy(p, {
    flow: ctx.flow ?? "etl",
    task: ctx.task ?? "load",
    request,
    ...(ctx.plugin ? { plugin: ctx.plugin } : {}),
  });
}

Deno.test("evaluatePolicy() allows what no rule mentions when the policy is silent", () => {
  const d = decide(policy([]), { read: ["/data"], net: true });
  assert.deepEqual(d, { allowed: { read: ["/data"], net: true }, denied: [] });
});

Deno.test("evaluatePolicy() lets a deny rule win over an allow rule", () => {
  const p = policy([
    rule("allow", { permissions: { net: true } }),
    rule("deny", {
      permissions: { net: ["evil.com"] },
      reason: "known bad host",
      location: { file: "orchestra.policy.yaml", line: 3, col: 5 },
    }),
  ]);
  const d = decide(p, { net: ["good.com", "evil.com:443"] });
  assert.deepEqual(d.allowed, { net: ["good.com"] });
  assert.deepEqual(d.denied, [{
    name: "net",
    value: "evil.com:443",
    by: "policy",
    reason: "denied by the policy rule at orchestra.policy.yaml:3:5 (known bad host); " +
      "remove or narrow that rule to grant it",
    location: { file: "orchestra.policy.yaml", line: 3, col: 5 },
  }]);
});

Deno.test("evaluatePolicy() allow-lists a permission once any allow rule names it", () => {
  const p = policy([
    rule("allow", { flow: ["reports"], permissions: { net: ["api.example.com"] } }),
  ]);
  // Another flow is bound by the allow-list too; env is not mentioned, so it stays allowed.
  const d = decide(p, { net: ["api.example.com", "other.com"], env: ["HOME"] }, { flow: "etl" });
  assert.deepEqual(d.allowed, { env: ["HOME"] });
  assert.deepEqual(d.denied.map((x) => x.value), ["api.example.com", "other.com"]);
  assert.equal(
    d.denied[1].reason,
    "no allow rule of the policy (orchestra.policy.yaml) covers it (the policy allow-lists " +
      'net); add an allow rule such as { flow: "etl", task: "load", permissions: { net: ' +
      '["other.com"] } }',
  );
  assert.deepEqual(decide(p, { net: ["api.example.com"] }, { flow: "reports" }).allowed, {
    net: ["api.example.com"],
  });
});

Deno.test("evaluatePolicy() with default: deny denies what no allow rule covers", () => {
  const p = policy([rule("allow", { permissions: { read: ["/data"] } })], "deny");
  const d = decide(p, { read: ["/data/x"], env: ["HOME"] });
  assert.deepEqual(d.allowed, { read: ["/data/x"] });
  assert.deepEqual(d.denied.map((x) => [x.name, x.value]), [["env", "HOME"]]);
  assert.match(d.denied[0].reason, /\(default: deny\)/);
});

Deno.test("evaluatePolicy() selects rules by flow, task and plugin patterns", () => {
  const p = policy([
    rule("deny", { flow: ["etl-*"], task: ["load", "save"], permissions: { write: true } }),
    rule("deny", { plugin: ["community/*"], permissions: { env: true } }),
  ]);
  assert.equal(
    decide(p, { write: ["/out"] }, { flow: "etl-daily", task: "load" }).denied.length,
    1,
  );
  assert.equal(
    decide(p, { write: ["/out"] }, { flow: "etl-daily", task: "extract" }).denied.length,
    0,
  );
  assert.equal(decide(p, { write: ["/out"] }, { flow: "report", task: "load" }).denied.length, 0);
  // A rule naming a plugin does not apply to tasks without one.
  assert.equal(decide(p, { env: ["X"] }, { plugin: "community/slack" }).denied.length, 1);
  assert.equal(decide(p, { env: ["X"] }, { plugin: "builtin/http" }).denied.length, 0);
  assert.equal(decide(p, { env: ["X"] }).denied.length, 0);
});

Deno.test("evaluatePolicy() denies a request for all when any deny pattern applies", () => {
  const p = policy([
    rule("deny", { permissions: { run: ["curl"] } }),
    rule("allow", { permissions: { read: ["/data"] } }),
  ]);
  assert.deepEqual(decide(p, { run: true }).denied.map((x) => x.value), [true]);
  // A request for all is covered only by an allow of all.
  assert.deepEqual(decide(p, { read: true }).denied.map((x) => x.value), [true]);
});

Deno.test("a broad request overlapping a deny pattern is denied (no escape by wildcard)", () => {
  const p = policy([
    rule("deny", {
      permissions: { env: ["AWS_SECRET*"], read: ["/etc/shadow"], net: ["*.internal"] },
    }),
  ]);
  const d = decide(p, {
    env: ["AWS_*", "HOME"],
    read: ["/", "/etc", "/data"],
    net: ["*.corp.internal", "example.com"],
  });
  assert.deepEqual(d.allowed, { env: ["HOME"], read: ["/data"], net: ["example.com"] });
  assert.deepEqual(d.denied.map((x) => x.value), ["/", "/etc", "*.corp.internal", "AWS_*"]);
});

Deno.test("patternCovers() for paths: a pattern covers the path and what is below it", () => {
  assert.ok(patternCovers("read", "/data", "/data"));
  assert.ok(patternCovers("read", "/data", "/data/in/x.csv"));
  assert.ok(patternCovers("read", "/home/*/data", "/home/ana/data/x"));
  assert.ok(!patternCovers("read", "/home/*/data", "/home/ana/b/data"));
  assert.ok(patternCovers("read", "/home/**/data", "/home/ana/b/data"));
  assert.ok(patternCovers("read", "/tmp/*.csv", "/tmp/a.csv"));
  assert.ok(!patternCovers("read", "/data", "/database"));
  assert.ok(!patternCovers("read", "/data/in", "/data"));
  assert.ok(patternCovers("read", true, true));
  assert.ok(!patternCovers("read", "/**", true));
});

Deno.test("patternOverlaps() for paths: also when something below the path matches", () => {
  assert.ok(patternOverlaps("read", "/etc/shadow", "/etc"));
  assert.ok(patternOverlaps("read", "/etc/shadow", "/"));
  assert.ok(patternOverlaps("read", "**/.ssh", "/home/ana"));
  assert.ok(patternOverlaps("read", "/home/*/.ssh", "/home"));
  assert.ok(!patternOverlaps("read", "/etc/shadow", "/data"));
  assert.ok(!patternOverlaps("write", "/etc", "/etcetera"));
});

Deno.test("pattern matching for hosts: ports, subdomain wildcards and CIDR ranges", () => {
  assert.ok(patternCovers("net", "api.example.com", "api.example.com:443"));
  assert.ok(patternCovers("net", "*.example.com", "example.com"));
  assert.ok(patternCovers("net", "*.example.com", "a.b.example.com"));
  assert.ok(patternCovers("net", "*.example.com", "*.api.example.com"));
  assert.ok(!patternCovers("net", "*.example.com", "*.com"));
  assert.ok(patternCovers("net", "*.example.com:443", "a.example.com:443"));
  assert.ok(!patternCovers("net", "*.example.com:443", "a.example.com"));
  assert.ok(patternOverlaps("net", "*.example.com:443", "a.example.com"));
  assert.ok(!patternOverlaps("net", "a.example.com:443", "a.example.com:80"));
  assert.ok(patternCovers("net", "api-*.example.com", "api-eu.example.com"));
  assert.ok(patternCovers("net", "10.0.0.0/8", "10.2.3.4:5432"));
  assert.ok(patternOverlaps("net", "10.2.3.4", "10.0.0.0/8"));
  assert.ok(!patternCovers("net", "10.2.3.4", "10.0.0.0/8"));
  assert.ok(patternOverlaps("net", "secret.example.com", "*.example.com"));
  assert.ok(patternOverlaps("net", "*.secret.example.com", "*.example.com"));
  assert.ok(!patternOverlaps("net", "other.org", "*.example.com"));
  assert.ok(patternCovers("import", "esm.sh", "esm.sh:443"));
});

Deno.test("pattern matching for env, run and sys", () => {
  assert.ok(patternCovers("env", "AWS_*", "AWS_REGION"));
  assert.ok(patternCovers("env", "AWS_*", "AWS_S3_*"));
  assert.ok(!patternCovers("env", "AWS_REGION", "AWS_*"));
  assert.ok(!patternCovers("env", "A*_KEY", "AWS_*"));
  assert.ok(patternOverlaps("env", "A*_KEY", "AWS_*"));
  assert.ok(!patternOverlaps("env", "GCP_*", "AWS_*"));
  assert.ok(patternCovers("run", "git", "git"));
  assert.ok(!patternCovers("run", "git", "/usr/bin/git"));
  assert.ok(patternOverlaps("run", "curl", "/usr/bin/curl"));
  assert.ok(patternOverlaps("run", "/usr/bin/curl", "curl"));
  assert.ok(patternCovers("run", "/usr/bin/*", "/usr/bin/git"));
  assert.ok(patternCovers("sys", "os*", "osRelease"));
  assert.ok(!patternCovers("sys", "hostname", "osRelease"));
});

Deno.test("evaluatePolicy() matches a plugin pattern with @ against the plugin's name@version", () => {
  const p = policy([rule("deny", { plugin: ["http@1.*"], permissions: { net: true } })]);
  const ask = (plugin?: string, pluginVersion?: string) =>
    evaluatePolicy(p, {
      flow: "f",
      task: "t",
      ...(plugin ? { plugin } : {}),
      ...(pluginVersion ? { pluginVersion } : {}),
      request: { net: ["example.com"] },
    }).denied.length;
  assert.equal(ask("http", "1.4.0"), 1);
  assert.equal(ask("http", "2.0.0"), 0);
  assert.equal(ask("http"), 0, "an unknown version matches no versioned pattern");
  assert.equal(ask(), 0, "nor does a task without a plugin");
});

Deno.test("a path pattern naming a symbolic link also matches where the link leads", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  try {
    await Deno.mkdir(`${dir}/vault/keys`, { recursive: true });
    await Deno.symlink(`${dir}/vault`, `${dir}/link`);
    const deny = (pattern: string): Policy => ({
      default: "allow",
      rules: [{
        effect: "deny",
        flow: ["*"],
        task: ["*"],
        plugin: ["*"],
        permissions: { read: [pattern] },
      }],
    });
    const denied = (pattern: string, value: string) =>
      evaluatePolicy(deny(pattern), { flow: "f", task: "t", request: { read: [value] } })
        .denied.length === 1;
    assert.ok(denied(`${dir}/link`, `${dir}/vault/keys/a.pem`));
    assert.ok(denied(`${dir}/link/keys/*.pem`, `${dir}/vault/keys/a.pem`));
    assert.ok(!denied(`${dir}/link/keys/*.pem`, `${dir}/vault/b.txt`));
    assert.ok(!denied(`${dir}/other`, `${dir}/vault/keys/a.pem`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
