import assert from "node:assert/strict";
import {
  intersectValue,
  linkTarget,
  normalizePermissions,
  parseHost,
  valueCovers,
} from "../../src/permissions/values.ts";

Deno.test("normalizePermissions() makes paths absolute against the base directory", () => {
  const { permissions, issues } = normalizePermissions(
    {
      read: ["./data", "data/in/", "/tmp/../etc", "file:///srv/x"],
      write: ["out"],
      ffi: ["./lib/x.so"],
    },
    "/flows/etl",
  );
  assert.deepEqual(issues, []);
  assert.deepEqual(permissions, {
    read: ["/flows/etl/data", "/flows/etl/data/in", "/etc", "/srv/x"],
    write: ["/flows/etl/out"],
    ffi: ["/flows/etl/lib/x.so"],
  });
});

Deno.test("normalizePermissions() adds where a symlinked read, write or ffi path leads", async () => {
  // Real, so that only the links made here lead elsewhere (macOS's temp dir is a link).
  const dir = await Deno.realPath(await Deno.makeTempDir());
  try {
    await Deno.mkdir(`${dir}/real`);
    await Deno.symlink(`${dir}/real`, `${dir}/link`);
    await Deno.symlink(`${dir}/nowhere/file`, `${dir}/dangling`);
    const { permissions, issues } = normalizePermissions(
      {
        read: ["./link", "./link/new/file", "./real"],
        write: ["./dangling"],
        ffi: ["./missing/lib.so"],
        run: ["./link"],
      },
      dir,
    );
    assert.deepEqual(issues, []);
    assert.deepEqual(permissions, {
      read: [`${dir}/link`, `${dir}/real`, `${dir}/link/new/file`, `${dir}/real/new/file`],
      write: [`${dir}/dangling`, `${dir}/nowhere/file`],
      ffi: [`${dir}/missing/lib.so`],
      run: [`${dir}/link`],
    });
    assert.equal(linkTarget(`${dir}/real/x`), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("normalizePermissions() resolves run paths but keeps program names", () => {
  const { permissions } = normalizePermissions(
    { run: ["git", "./bin/tool", "/usr/bin/curl"] },
    "/f",
  );
  assert.deepEqual(permissions, { run: ["git", "/f/bin/tool", "/usr/bin/curl"] });
});

Deno.test("normalizePermissions() keeps true, drops false and empty lists, removes duplicates", () => {
  const { permissions } = normalizePermissions(
    { net: true, env: false, read: [], sys: ["hostname", "hostname"] },
    "/",
  );
  assert.deepEqual(permissions, { net: true, sys: ["hostname"] });
  assert.deepEqual(normalizePermissions(undefined, "/").permissions, {});
});

Deno.test("normalizePermissions() lower-cases hosts, brackets IPv6 and keeps ports", () => {
  const { permissions, issues } = normalizePermissions(
    {
      net: [
        "API.Example.com",
        "example.com:0443",
        "::1",
        "[::1]:8080",
        "*.S3.amazonaws.com",
        "10.0.0.0/8",
      ],
      import: ["esm.sh:443"],
    },
    "/",
  );
  assert.deepEqual(issues, []);
  assert.deepEqual(permissions, {
    net: [
      "api.example.com",
      "example.com:443",
      "[::1]",
      "[::1]:8080",
      "*.s3.amazonaws.com",
      "10.0.0.0/8",
    ],
    import: ["esm.sh:443"],
  });
});

Deno.test("normalizePermissions() accepts env names with a trailing * wildcard", () => {
  const { permissions, issues } = normalizePermissions({ env: ["HOME", "AWS_*", "*"] }, "/");
  assert.deepEqual(issues, []);
  assert.deepEqual(permissions, { env: ["HOME", "AWS_*", "*"] });
});

Deno.test("normalizePermissions() reports every invalid value and leaves it out", () => {
  const { permissions, issues } = normalizePermissions(
    {
      net: ["https://api.example.com/v1", "example.com:99999", "good.com"],
      env: ["A*B", "OK"],
      sys: ["hostnme"],
      read: ["~/secrets", ""],
      // @ts-expect-error an unknown permission, as untyped code could pass
      reed: ["x"],
    },
    "/",
    { subject: 'Task "load" requests' },
  );
  assert.deepEqual(permissions, { net: ["good.com"], env: ["OK"] });
  assert.deepEqual(issues.map((i) => i.message), [
    'Task "load" requests net "https://api.example.com/v1", which is a URL, not a host',
    'Task "load" requests net "example.com:99999", which has an invalid port "99999"',
    'Task "load" requests env "A*B", which is not a variable name',
    'Task "load" requests sys "hostnme", which is not a kind of system information (did you mean "hostname"?)',
    'Task "load" requests read "~/secrets", which starts with ~, which is not expanded',
    'Task "load" requests read "", which is empty',
    'Task "load" requests unknown permission "reed" (did you mean "read"?)',
  ]);
  assert.equal(issues[0].hint, "write the host, not a URL: api.example.com");
});

Deno.test("parseHost() parses names, wildcards, IPv6, CIDR ranges and ports", () => {
  assert.deepEqual(parseHost("example.com"), { kind: "name", host: "example.com" });
  assert.deepEqual(parseHost("*.example.com:443"), {
    kind: "wildcard",
    host: "example.com",
    port: "443",
  });
  assert.deepEqual(parseHost("[::1]:80"), { kind: "name", host: "[::1]", port: "80" });
  assert.deepEqual(parseHost("192.168.0.0/16"), { kind: "cidr", host: "192.168.0.0/16" });
  assert.equal(typeof parseHost("a b"), "string");
  assert.equal(typeof parseHost("10.0.0.0/33"), "string");
  assert.equal(typeof parseHost("example.com:http"), "string");
});

Deno.test("valueCovers() follows Deno's rules for each kind of value", () => {
  // Paths: a directory covers what is below it, not a sibling with a common prefix.
  assert.ok(valueCovers("read", "/data", "/data/in/x.csv"));
  assert.ok(valueCovers("write", "/", "/anything"));
  assert.ok(!valueCovers("read", "/data", "/database"));
  assert.ok(!valueCovers("read", "/data/in", "/data"));
  // Hosts: no port covers every port; a port must match; *.d covers d and below.
  assert.ok(valueCovers("net", "example.com", "example.com:443"));
  assert.ok(!valueCovers("net", "example.com:443", "example.com"));
  assert.ok(!valueCovers("net", "example.com:443", "example.com:80"));
  assert.ok(valueCovers("net", "*.example.com", "example.com"));
  assert.ok(valueCovers("net", "*.example.com", "a.b.example.com:8080"));
  assert.ok(valueCovers("net", "*.example.com", "*.api.example.com"));
  assert.ok(!valueCovers("net", "*.example.com", "badexample.com"));
  assert.ok(valueCovers("net", "10.0.0.0/8", "10.1.2.3:5432"));
  assert.ok(valueCovers("net", "10.0.0.0/8", "10.1.0.0/16"));
  assert.ok(!valueCovers("net", "10.0.0.0/16", "10.0.0.0/8"));
  assert.ok(!valueCovers("net", "10.0.0.0/8", "11.0.0.1"));
  assert.ok(valueCovers("import", "esm.sh", "esm.sh:443"));
  // Env: PREFIX* covers names and narrower wildcards.
  assert.ok(valueCovers("env", "AWS_*", "AWS_REGION"));
  assert.ok(valueCovers("env", "AWS_*", "AWS_S3_*"));
  assert.ok(valueCovers("env", "*", "HOME"));
  assert.ok(!valueCovers("env", "AWS_REGION", "AWS_*"));
  // run and sys: exact.
  assert.ok(valueCovers("run", "git", "git"));
  assert.ok(!valueCovers("run", "git", "/usr/bin/git"));
  assert.ok(!valueCovers("sys", "hostname", "osRelease"));
});

Deno.test("intersectValue() narrows host and port independently", () => {
  assert.equal(intersectValue("net", "*.example.com", "api.example.com"), "api.example.com");
  assert.equal(intersectValue("net", "example.com", "example.com:443"), "example.com:443");
  assert.equal(
    intersectValue("net", "*.example.com:443", "api.example.com"),
    "api.example.com:443",
  );
  assert.equal(intersectValue("net", "a.com:80", "a.com:443"), undefined);
  assert.equal(intersectValue("read", "/data", "/data/in"), "/data/in");
  assert.equal(intersectValue("read", "/data/in", "/data"), "/data/in");
  assert.equal(intersectValue("read", "/a", "/b"), undefined);
  assert.equal(intersectValue("env", "AWS_*", "AWS_REGION"), "AWS_REGION");
});
