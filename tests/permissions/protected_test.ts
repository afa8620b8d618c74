import assert from "node:assert/strict";
import { Authorizer } from "../../src/permissions/authorizer.ts";
import { PermissionDeniedError } from "../../src/permissions/grant.ts";
import {
  denoConfigPaths,
  hostPaths,
  ProtectedPaths,
  stateDirPaths,
} from "../../src/permissions/protected.ts";
import { withTree } from "../config/_tree.ts";

const STATE = stateDirPaths("/srv/flows/.orchestra");

Deno.test("ProtectedPaths refuses a parent, the path itself and anything inside it, for read and write", () => {
  const guard = new ProtectedPaths(STATE);
  const { denied, rest } = guard.check({
    read: ["/srv/flows", "/srv/flows/data"],
    write: ["/srv/flows/.orchestra/audit.log", "/srv/flows/.orchestra/plugins/x/mod.ts"],
    net: ["example.com"],
  });
  assert.deepEqual(denied.map((d) => [d.name, d.value, d.by]), [
    ["read", "/srv/flows", "protected"],
    ["write", "/srv/flows/.orchestra/audit.log", "protected"],
    ["write", "/srv/flows/.orchestra/plugins/x/mod.ts", "protected"],
  ]);
  assert.match(
    denied[0].reason,
    /^it covers the state dir \/srv\/flows\/\.orchestra, which no task may read/,
  );
  assert.match(denied[1].reason, /^it is the audit log \/srv\/flows\/\.orchestra\/audit\.log/);
  assert.match(
    denied[2].reason,
    /^it is inside the plugin cache \/srv\/flows\/\.orchestra\/plugins/,
  );
  assert.deepEqual(rest, { read: ["/srv/flows/data"], net: ["example.com"] });
});

Deno.test("ProtectedPaths refuses read or write of everything (true), and leaves run and ffi alone", () => {
  const { denied, rest } = new ProtectedPaths(STATE).check({
    read: true,
    write: true,
    run: true,
    ffi: ["/srv/flows/.orchestra/x.so"],
  });
  assert.deepEqual(denied.map((d) => [d.name, d.value]), [["read", true], ["write", true]]);
  assert.match(denied[0].reason, /^read \(all\) covers the state dir \/srv\/flows\/\.orchestra/);
  assert.deepEqual(rest, { run: true, ffi: ["/srv/flows/.orchestra/x.so"] });
});

Deno.test("ProtectedPaths follows symbolic links: to the state dir, and from it", async () => {
  await withTree({ "real/state/state.db": "" }, async (root) => {
    root = await Deno.realPath(root);
    await Deno.symlink(`${root}/real/state`, `${root}/state-link`);
    // The state dir given through a link is protected where it leads.
    const guard = new ProtectedPaths(stateDirPaths(`${root}/state-link`));
    assert.equal(guard.check({ write: [`${root}/real`] }).denied.length, 1);
    // A link to the state dir is refused as written, once.
    const other = new ProtectedPaths(stateDirPaths(`${root}/real/state`));
    const { denied } = other.check({ write: [`${root}/state-link`, `${root}/real/state`] });
    assert.deepEqual(denied.map((d) => d.value), [`${root}/state-link`]);
    assert.match(denied[0].reason, /^it leads to .*\/real\/state, which is the state dir/);
  });
});

Deno.test("Authorizer refuses a protected path whatever the ceiling and the policy allow", async () => {
  const auth = new Authorizer({
    flow: "etl",
    baseDir: "/srv/flows",
    ceiling: { write: ["."] },
    policy: {
      default: "allow",
      rules: [{
        effect: "allow",
        flow: ["*"],
        task: ["*"],
        plugin: ["*"],
        permissions: { write: true },
      }],
    },
    protectedPaths: STATE,
    user: "ana",
  });
  const { grant, issues } = auth.check({ id: "load", request: { write: ["."] } });
  assert.deepEqual(grant, {});
  assert.equal(issues.length, 1);
  assert.match(
    issues[0].message,
    /^Task "load" of flow "etl" is denied write "\/srv\/flows": it covers the state dir/,
  );
  assert.match(issues[0].hint!, /--state-dir/);
  await assert.rejects(
    auth.authorize({ id: "load", runId: "r1", request: { write: ["./.orchestra"] } }),
    (e) => e instanceof PermissionDeniedError && e.denied[0].by === "protected",
  );
  // What is beside the state dir is granted as usual.
  assert.deepEqual(
    await auth.authorize({ id: "load", runId: "r1", request: { write: ["./out"] } }),
    { write: ["/srv/flows/out"] },
  );
});

Deno.test("hostPaths() protects the state dir, the flow's lock file, the secrets and policy files", async () => {
  const paths = await hostPaths({
    stateDir: "/srv/.orchestra",
    flowDir: "/srv/flows",
    secretsFile: "/srv/.env",
    policyFile: "/srv/orchestra.policy.yaml",
  });
  assert.deepEqual(paths.map((p) => [p.what, p.path]), [
    ["the audit log", "/srv/.orchestra/audit.log"],
    ["the plugin cache", "/srv/.orchestra/plugins"],
    ["the state dir", "/srv/.orchestra"],
    ["the plugin lock file", "/srv/flows/orchestra.lock"],
    ["the secrets file", "/srv/.env"],
    ["the policy file", "/srv/orchestra.policy.yaml"],
  ]);
});

Deno.test("denoConfigPaths() finds the orchestrator's deno.json upwards, with its deno.lock", async () => {
  await withTree({ "proj/deno.jsonc": "{}", "proj/src/x.ts": "" }, async (root) => {
    assert.deepEqual((await denoConfigPaths(`${root}/proj/src`)).map((p) => p.path), [
      `${root}/proj/deno.jsonc`,
      `${root}/proj/deno.lock`,
    ]);
  });
});
