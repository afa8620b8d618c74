import assert from "node:assert/strict";
import {
  AuditLog,
  auditLogPath,
  type AuditRecord,
  auditRecord,
  currentUser,
  readAudit,
} from "../../src/permissions/audit.ts";
import { effectiveGrant } from "../../src/permissions/grant.ts";
import { withTree } from "../config/_tree.ts";

function record(fields: Partial<AuditRecord> = {}): AuditRecord {
  return {
    time: "2026-01-01T12:00:00.000Z",
    user: "ana",
    flow: "etl",
    task: "load",
    requested: { net: ["db:5432"] },
    granted: { net: ["db:5432"] },
    decision: "allow",
    source: "policy",
    ...fields,
  };
}

Deno.test("AuditLog creates the state directory and appends one JSON line per record", async () => {
  await withTree({}, async (root) => {
    const path = auditLogPath(`${root}/state/nested`);
    assert.equal(path, `${root}/state/nested/audit.log`);
    const log = new AuditLog(path);
    await log.append(record());
    await log.append(record({ task: "save", decision: "deny", reason: "no" }));
    const lines = (await Deno.readTextFile(path)).split("\n");
    assert.equal(lines.length, 3);
    assert.equal(lines[2], "");
    assert.deepEqual(JSON.parse(lines[0]), record());
    assert.equal(JSON.parse(lines[1]).task, "save");
    if (Deno.build.os !== "windows") assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  });
});

Deno.test("AuditLog keeps the order of appends that are not awaited one by one", async () => {
  await withTree({}, async (root) => {
    const log = new AuditLog(`${root}/audit.log`);
    await Promise.all(Array.from({ length: 50 }, (_, i) => log.append(record({ task: `t${i}` }))));
    const tasks = (await readAudit(log.path)).map((r) => r.task);
    assert.deepEqual(tasks, Array.from({ length: 50 }, (_, i) => `t${i}`));
  });
});

Deno.test("concurrent processes appending to one log interleave whole lines", async () => {
  await withTree({}, async (root) => {
    const path = `${root}/audit.log`;
    const module = new URL("../../src/permissions/audit.ts", import.meta.url).href;
    // Long lines make a torn write likely if lines were written in pieces.
    const script = `
      import { AuditLog } from "${module}";
      const log = new AuditLog(${JSON.stringify(path)});
      const id = Deno.args[0];
      for (let i = 0; i < 200; i++) {
        await log.append({ time: new Date().toISOString(), user: id, flow: "f", task: "t" + i,
          requested: { env: [${JSON.stringify("X".repeat(2000))}] }, granted: {},
          decision: "allow", source: "request" });
      }`;
    const children = ["p0", "p1", "p2", "p3"].map((id) =>
      new Deno.Command(Deno.execPath(), {
        args: ["eval", "--ext=ts", script, id],
        stdout: "null",
        stderr: "piped",
      }).output()
    );
    for (const out of await Promise.all(children)) {
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    }
    const text = await Deno.readTextFile(path);
    const lines = text.trimEnd().split("\n");
    assert.equal(lines.length, 800);
    const perUser = new Map<string, number>();
    for (const line of lines) {
      const r = JSON.parse(line) as AuditRecord; // throws on a torn line
      perUser.set(r.user, (perUser.get(r.user) ?? 0) + 1);
    }
    assert.deepEqual([...perUser.values()], [200, 200, 200, 200]);
  });
});

Deno.test("readAudit() filters by flow, task, decision, since and limit", async () => {
  await withTree({}, async (root) => {
    const log = new AuditLog(`${root}/audit.log`);
    const rows: Partial<AuditRecord>[] = [
      { time: "2026-01-01T10:00:00Z", flow: "etl", task: "extract" },
      { time: "2026-01-01T11:00:00Z", flow: "etl", task: "load", decision: "deny" },
      { time: "2026-01-01T12:00:00Z", flow: "etl-nightly", task: "load" },
      { time: "2026-01-01T13:00:00Z", flow: "report", task: "render", decision: "deny" },
    ];
    for (const r of rows) await log.append(record(r));
    const times = async (filter: Parameters<typeof readAudit>[1]) =>
      (await readAudit(log.path, filter)).map((r) => r.time.slice(11, 13));
    assert.deepEqual(await times({}), ["10", "11", "12", "13"]);
    assert.deepEqual(await times({ flow: "etl" }), ["10", "11"]);
    assert.deepEqual(await times({ flow: "etl*" }), ["10", "11", "12"]);
    assert.deepEqual(await times({ task: "load" }), ["11", "12"]);
    assert.deepEqual(await times({ decision: "deny" }), ["11", "13"]);
    assert.deepEqual(await times({ since: new Date("2026-01-01T11:00:00Z") }), ["11", "12", "13"]);
    assert.deepEqual(await times({ limit: 2 }), ["12", "13"]);
    assert.deepEqual(await times({ flow: "etl*", decision: "allow", limit: 1 }), ["12"]);
  });
});

Deno.test("readAudit() of a missing file is empty and skips malformed lines, saying which", async () => {
  await withTree({ "audit.log": "" }, async (root) => {
    assert.deepEqual(await readAudit(`${root}/none.log`), []);
    const good = JSON.stringify(record());
    await Deno.writeTextFile(`${root}/audit.log`, `${good}\nnot json\n{"time":"x"}\n${good}\n{"ti`);
    const bad: number[] = [];
    const records = await readAudit(`${root}/audit.log`, { onMalformed: (n) => bad.push(n) });
    assert.equal(records.length, 2);
    assert.deepEqual(bad, [2, 3, 5]);
  });
});

Deno.test("auditRecord() records who, what, the grant, the decision and why", () => {
  const requested = { read: ["/data", "/etc"] };
  const r = auditRecord(
    {
      user: "ana",
      flow: "etl",
      task: "load",
      plugin: "csv",
      runId: "r1",
      requested,
      time: new Date("2026-02-03T04:05:06Z"),
    },
    effectiveGrant({ request: requested, ceiling: { read: ["/data"] } }),
  );
  assert.deepEqual(r, {
    time: "2026-02-03T04:05:06.000Z",
    user: "ana",
    flow: "etl",
    task: "load",
    plugin: "csv",
    runId: "r1",
    requested,
    granted: { read: ["/data"] },
    decision: "deny",
    reason: `read "/etc": the flow's ceiling allows read only for "/data"; add it to the flow's ` +
      "permissions to grant it",
    source: "ceiling",
    denied: [{
      name: "read",
      value: "/etc",
      by: "ceiling",
      reason: `the flow's ceiling allows read only for "/data"; add it to the flow's ` +
        "permissions to grant it",
    }],
  });
});

Deno.test("currentUser() prefers ORCHESTRA_USER, then USER, then USERNAME", () => {
  const env = (vars: Record<string, string>) => (n: string) => vars[n];
  assert.equal(currentUser(env({ ORCHESTRA_USER: "svc", USER: "ana" })), "svc");
  assert.equal(currentUser(env({ USER: "ana", USERNAME: "bob" })), "ana");
  assert.equal(currentUser(env({ USERNAME: "bob" })), "bob");
  assert.equal(currentUser(env({})), "unknown");
});
