import assert from "node:assert/strict";
import {
  checkPermissionSet,
  exceedsCeiling,
  formatPermissions,
  isUnsandboxed,
  PERMISSION_NAMES,
} from "../../src/core/permissions.ts";

Deno.test("PERMISSION_NAMES are Deno's permission names", () => {
  assert.deepEqual([...PERMISSION_NAMES].sort(), [
    "env",
    "ffi",
    "import",
    "net",
    "read",
    "run",
    "sys",
    "write",
  ]);
});

Deno.test("exceedsCeiling() allows everything without a ceiling or without a request", () => {
  assert.deepEqual(exceedsCeiling({ net: true, run: ["git"] }, undefined), []);
  assert.deepEqual(exceedsCeiling(undefined, { net: ["a.com"] }), []);
});

Deno.test("exceedsCeiling() lists each requested value the ceiling does not cover", () => {
  const excess = exceedsCeiling(
    { net: ["api.example.com", "evil.com"], env: ["HOME"] },
    { net: ["api.example.com"] },
  );
  assert.deepEqual(excess, [
    { name: "net", value: "evil.com" },
    { name: "env", value: "HOME" },
  ]);
});

Deno.test("exceedsCeiling() reports a request for everything as value true", () => {
  assert.deepEqual(exceedsCeiling({ read: true }, { read: ["./data"] }), [
    { name: "read", value: true },
  ]);
  assert.deepEqual(exceedsCeiling({ read: true }, { read: true }), []);
  assert.deepEqual(exceedsCeiling({ read: true }, {}), [{ name: "read", value: true }]);
});

Deno.test("exceedsCeiling() ignores permissions requested as false", () => {
  assert.deepEqual(exceedsCeiling({ net: false, read: [] }, {}), []);
});

Deno.test("exceedsCeiling() treats a ceiling of true as covering every value", () => {
  assert.deepEqual(exceedsCeiling({ net: ["a.com", "b.com:8080"] }, { net: true }), []);
});

Deno.test("exceedsCeiling() lets a directory cover the paths below it", () => {
  const ceiling = { read: ["./data/"], write: ["/tmp/out"] };
  assert.deepEqual(exceedsCeiling({ read: ["./data", "./data/in/x.csv"] }, ceiling), []);
  assert.deepEqual(exceedsCeiling({ write: ["/tmp/out/a.txt"] }, ceiling), []);
  assert.deepEqual(exceedsCeiling({ read: ["./database"] }, ceiling), [
    { name: "read", value: "./database" },
  ]);
  assert.deepEqual(exceedsCeiling({ write: ["/tmp"] }, ceiling), [{
    name: "write",
    value: "/tmp",
  }]);
});

Deno.test("exceedsCeiling() lets a host cover every port but a port only itself", () => {
  assert.deepEqual(exceedsCeiling({ net: ["example.com:443"] }, { net: ["example.com"] }), []);
  assert.deepEqual(exceedsCeiling({ net: ["example.com"] }, { net: ["example.com:443"] }), [
    { name: "net", value: "example.com" },
  ]);
  assert.deepEqual(exceedsCeiling({ net: ["example.com:80"] }, { net: ["example.com:443"] }), [
    { name: "net", value: "example.com:80" },
  ]);
  assert.deepEqual(exceedsCeiling({ net: ["sub.example.com"] }, { net: ["example.com"] }), [
    { name: "net", value: "sub.example.com" },
  ]);
});

Deno.test("exceedsCeiling() supports env prefixes ending in *", () => {
  assert.deepEqual(exceedsCeiling({ env: ["AWS_REGION", "AWS_KEY"] }, { env: ["AWS_*"] }), []);
  assert.deepEqual(exceedsCeiling({ env: ["HOME"] }, { env: ["AWS_*"] }), [
    { name: "env", value: "HOME" },
  ]);
});

Deno.test("exceedsCeiling() requires exact values for run, sys and import", () => {
  assert.deepEqual(exceedsCeiling({ run: ["git"] }, { run: ["git"] }), []);
  assert.deepEqual(exceedsCeiling({ run: ["git-lfs"] }, { run: ["git"] }), [
    { name: "run", value: "git-lfs" },
  ]);
  assert.deepEqual(exceedsCeiling({ sys: ["hostname"] }, { sys: ["osRelease"] }), [
    { name: "sys", value: "hostname" },
  ]);
});

Deno.test("checkPermissionSet() accepts valid sets and undefined", () => {
  assert.deepEqual(checkPermissionSet(undefined, "permissions"), []);
  assert.deepEqual(checkPermissionSet({ read: ["./a"], net: true, run: false }, "permissions"), []);
});

Deno.test("checkPermissionSet() rejects values that are not objects", () => {
  for (const bad of [null, [], "read", 3]) {
    const problems = checkPermissionSet(bad, "permissions");
    assert.equal(problems.length, 1);
    assert.match(problems[0], /^permissions must be an object/);
  }
});

Deno.test("checkPermissionSet() reports every unknown name and bad value", () => {
  const problems = checkPermissionSet(
    { raed: ["./a"], net: "api.example.com", env: [1], write: ["./out"] },
    "permissions",
  );
  assert.equal(problems.length, 3);
  assert.match(problems[0], /unknown permission "raed" \(known: read, write/);
  assert.equal(problems[1], "permissions.net must be true, false or a list of strings");
  assert.equal(problems[2], "permissions.env must be true, false or a list of strings");
});

Deno.test("formatPermissions() writes a set like Deno's flags", () => {
  assert.equal(formatPermissions(undefined), "none");
  assert.equal(formatPermissions({}), "none");
  assert.equal(formatPermissions({ read: [], net: false }), "none");
  assert.equal(
    formatPermissions({ net: ["a.com", "b.com"], read: ["./data"], env: true }),
    "read=./data net=a.com,b.com env",
  );
});

Deno.test("isUnsandboxed() is true only for run or ffi", () => {
  assert.equal(isUnsandboxed(undefined), false);
  assert.equal(isUnsandboxed({ read: true, net: true, env: true }), false);
  assert.equal(isUnsandboxed({ run: ["git"] }), true);
  assert.equal(isUnsandboxed({ ffi: true }), true);
  assert.equal(isUnsandboxed({ run: false }), false);
});

Deno.test("exceedsCeiling() does not let the working directory cover paths outside it", () => {
  assert.deepEqual(exceedsCeiling({ read: ["./in.csv", "data/x"] }, { read: ["."] }), []);
  assert.deepEqual(exceedsCeiling({ read: ["/etc/passwd", "../secret"] }, { read: ["."] }), [
    { name: "read", value: "/etc/passwd" },
    { name: "read", value: "../secret" },
  ]);
});

Deno.test("exceedsCeiling() resolves . and .. before comparing paths", () => {
  assert.deepEqual(exceedsCeiling({ read: ["./data/../../etc/passwd"] }, { read: ["./data"] }), [
    { name: "read", value: "./data/../../etc/passwd" },
  ]);
  assert.deepEqual(exceedsCeiling({ write: ["/tmp/out/../../root"] }, { write: ["/tmp/out"] }), [
    { name: "write", value: "/tmp/out/../../root" },
  ]);
  assert.deepEqual(
    exceedsCeiling({ read: ["data/x.csv", "./data/./in//y"] }, { read: ["./data"] }),
    [],
  );
  assert.deepEqual(exceedsCeiling({ read: ["/srv/a/../b"] }, { read: ["/srv/b"] }), []);
});

Deno.test("exceedsCeiling() lets / cover every path", () => {
  assert.deepEqual(exceedsCeiling({ read: ["/etc/hosts", "data", "../x"] }, { read: ["/"] }), []);
});

Deno.test("exceedsCeiling() does not let an absolute directory cover relative paths", () => {
  // Without knowing the working directory, "data" cannot be proven to lie below "/srv".
  assert.deepEqual(exceedsCeiling({ read: ["data"] }, { read: ["/srv"] }), [
    { name: "read", value: "data" },
  ]);
});

Deno.test("exceedsCeiling() resolves relative paths against baseDir, so one folder written two ways is one", () => {
  const base = { baseDir: "/flows/etl" };
  assert.deepEqual(
    exceedsCeiling({ read: ["/flows/etl/data/in.csv"] }, { read: ["./data"] }, base),
    [],
  );
  assert.deepEqual(
    exceedsCeiling({ read: ["./data/in.csv"] }, { read: ["/flows/etl/data"] }, base),
    [],
  );
  assert.deepEqual(
    exceedsCeiling({ read: ["file:///flows/etl/data"] }, { read: ["data"] }, base),
    [],
  );
  assert.deepEqual(
    exceedsCeiling({ read: ["/flows/etl/data/../secrets"] }, { read: ["./data"] }, base),
    [{ name: "read", value: "/flows/etl/data/../secrets" }],
  );
  // Without a base, a relative ceiling says nothing about an absolute path: refused.
  assert.equal(exceedsCeiling({ read: ["/flows/etl/data"] }, { read: ["./data"] }).length, 1);
});
