import assert from "node:assert/strict";
import { formatIssue } from "../../src/core/errors.ts";
import { evaluatePolicy } from "../../src/permissions/policy.ts";
import {
  findPolicyFile,
  loadPolicy,
  parsePolicy,
  PolicyError,
  resolvePolicy,
} from "../../src/permissions/policy_file.ts";
import { withTree } from "../config/_tree.ts";

const EXAMPLE = `# Local policy
default: allow
deny:
  - permissions: { run: true, ffi: true }
    reason: no subprocesses on this host
  - plugin: "community/*"
    permissions:
      env: ["AWS_*"]
allow:
  - flow: "etl-*"
    task: [extract, load]
    permissions:
      net: [API.example.com, "*.s3.amazonaws.com:443"]
      read: [./data, /srv/shared]
authorization:
  url: http://127.0.0.1:8181/check
  timeout: 2s
  cacheTtl: 5m
  onError: allow
`;

function problems(text: string, file = "p.yaml"): string[] {
  try {
    parsePolicy(text, file, { baseDir: "/policies" });
  } catch (e) {
    assert.ok(e instanceof PolicyError, String(e));
    return e.issues.map(formatIssue);
  }
  assert.fail("expected a PolicyError");
}

Deno.test("parsePolicy() reads rules, selectors, patterns and the authorization service", () => {
  const p = parsePolicy(EXAMPLE, "/etc/orchestra/orchestra.policy.yaml");
  assert.equal(p.file, "/etc/orchestra/orchestra.policy.yaml");
  assert.equal(p.default, "allow");
  assert.deepEqual(p.authorization, {
    url: "http://127.0.0.1:8181/check",
    timeout: "2s",
    cacheTtl: "5m",
    onError: "allow",
  });
  assert.deepEqual(
    p.rules.map((r) => ({ ...r, location: r.location && `${r.location.line}:${r.location.col}` })),
    [
      {
        effect: "deny",
        flow: ["*"],
        task: ["*"],
        plugin: ["*"],
        permissions: { run: true, ffi: true },
        reason: "no subprocesses on this host",
        location: "4:5",
      },
      {
        effect: "deny",
        flow: ["*"],
        task: ["*"],
        plugin: ["community/*"],
        permissions: { env: ["AWS_*"] },
        location: "6:5",
      },
      {
        effect: "allow",
        flow: ["etl-*"],
        task: ["extract", "load"],
        plugin: ["*"],
        // Hosts are lower-cased; relative paths resolve against the policy file's directory.
        permissions: {
          net: ["api.example.com", "*.s3.amazonaws.com:443"],
          read: ["/etc/orchestra/data", "/srv/shared"],
        },
        location: "10:5",
      },
    ],
  );
});

Deno.test("parsePolicy() of an empty file is a policy with no rules", () => {
  assert.deepEqual(parsePolicy("# nothing yet\n", "/p.yaml"), {
    file: "/p.yaml",
    default: "allow",
    rules: [],
  });
});

Deno.test("parsePolicy() reports every problem with file:line:col and did-you-mean", () => {
  const text = `defualt: deny
alow:
  - permissions: { net: [a.com] }
deny:
  - flow: etl
    permisions: { run: true }
  - permissions:
      nett: [a.com]
      read: ./data
      write: false
      env: []
      net: ["https://api.example.com", "a.com:http", "::1"]
      sys: [hostnme]
  - "not a rule"
authorization:
  url: ftp://x
  timout: 2s
  onError: maybe
`;
  assert.deepEqual(problems(text), [
    'p.yaml:1:1: Unknown key "defualt" in the policy (did you mean "default"?)',
    'p.yaml:2:1: Unknown key "alow" in the policy (did you mean "allow"?)',
    'p.yaml:6:5: Unknown key "permisions" in a deny rule (did you mean "permissions"?)',
    "p.yaml:5:5: A rule needs permissions\n" +
    "    hint: write e.g. permissions: { net: [api.example.com], run: true }",
    'p.yaml:8:7: Unknown permission "nett" (did you mean "net"?)',
    "p.yaml:9:13: read must be true or a list of patterns, got a single string\n" +
    '    hint: write a list, even of one: read: ["./data"]',
    "p.yaml:10:14: write must be true or a non-empty list of patterns, got false\n" +
    "    hint: a rule only allows or denies: remove the permission",
    "p.yaml:11:12: env must be true or a non-empty list of patterns, got []",
    'p.yaml:12:13: The net pattern "https://api.example.com" is not a host\n' +
    "    hint: write host[:port], e.g. api.example.com or *.example.com:443",
    'p.yaml:12:40: The net pattern "a.com:http" has an invalid port "http"\n' +
    "    hint: write a number or *",
    'p.yaml:12:54: The net pattern "::1" is an IPv6 address without brackets\n' +
    "    hint: write [::1]",
    'p.yaml:13:13: The sys pattern "hostnme" is not a kind of system information (did you ' +
    'mean "hostname"?)\n' +
    "    hint: the kinds are hostname, osRelease, osUptime, loadavg, networkInterfaces, " +
    "systemMemoryInfo, uid, gid, username, cpus, homedir, statfs, getPriority, setPriority, " +
    "ca, umask",
    "p.yaml:14:5: Each deny rule must be a mapping\n" +
    "    hint: write - { flow: …, permissions: { … } }",
    'p.yaml:17:3: Unknown key "timout" in authorization (did you mean "timeout"?)',
    'p.yaml:16:8: "url" must be an http: or https: URL, got "ftp://x"',
    'p.yaml:18:12: "onError" must be deny or allow, got "maybe"',
  ]);
});

Deno.test("parsePolicy() reports YAML syntax errors with their position", () => {
  const [first] = problems("deny:\n  - permissions: { run: true\n");
  assert.match(first, /^p\.yaml:\d+:\d+: YAML syntax error/);
  assert.deepEqual(problems("- just\n- a list\n"), [
    "p.yaml:1:1: A policy file must be a mapping with allow, deny, default or authorization",
  ]);
  assert.deepEqual(problems("default: maybe\n"), [
    'p.yaml:1:10: "default" must be allow or deny, got "maybe"',
  ]);
});

Deno.test("a loaded policy decides with paths relative to its own file", async () => {
  await withTree({
    "project/orchestra.policy.yaml": "default: deny\nallow:\n  - permissions: { read: [./data] }\n",
  }, async (root) => {
    const p = await loadPolicy(`${root}/project/orchestra.policy.yaml`);
    const d = evaluatePolicy(p, {
      flow: "etl",
      task: "load",
      request: { read: [`${root}/project/data/in.csv`, `${root}/elsewhere`] },
    });
    assert.deepEqual(d.allowed, { read: [`${root}/project/data/in.csv`] });
    assert.deepEqual(d.denied.map((x) => x.value), [`${root}/elsewhere`]);
  });
});

Deno.test("loadPolicy() of a missing file is a clear PolicyError", async () => {
  await assert.rejects(
    loadPolicy("/nonexistent/orchestra.policy.yaml"),
    (e: unknown) =>
      e instanceof PolicyError &&
      e.message === 'Invalid policy file "/nonexistent/orchestra.policy.yaml" (1 problem):\n' +
          '  - Policy file "/nonexistent/orchestra.policy.yaml" does not exist\n' +
          "    hint: create it, or remove policyFile from the configuration",
  );
});

Deno.test("resolvePolicy() uses the configured file, else searches upwards, else none", async () => {
  await withTree({
    "orchestra.policy.yaml": "default: deny\n",
    "custom.yaml": "deny:\n  - permissions: { run: true }\n",
    "a/b/": "",
  }, async (root) => {
    assert.equal(await findPolicyFile(`${root}/a/b`), `${root}/orchestra.policy.yaml`);
    const found = await resolvePolicy({ cwd: `${root}/a/b` });
    assert.equal(found?.default, "deny");
    const configured = await resolvePolicy({ cwd: `${root}/a`, policyFile: "../custom.yaml" });
    assert.equal(configured?.file, `${root}/custom.yaml`);
    assert.equal(configured?.rules.length, 1);
    await assert.rejects(resolvePolicy({ cwd: root, policyFile: "missing.yaml" }), PolicyError);
  });
  await withTree({ "x/": "" }, async (root) => {
    // Nothing from the temporary directory upwards (assuming none in the system temp dir).
    if ((await findPolicyFile(root)) === undefined) {
      assert.equal(await resolvePolicy({ cwd: `${root}/x` }), undefined);
    }
  });
});
