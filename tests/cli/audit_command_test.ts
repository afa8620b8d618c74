import assert from "node:assert/strict";
import { parseCommand, UsageError } from "../../src/cli/args.ts";
import { AUDIT_HELP, AUDIT_OPTIONS, auditCommand } from "../../src/cli/commands/audit.ts";
import { AuditLog, type AuditRecord } from "../../src/permissions/audit.ts";
import { envOf, withTree } from "../config/_tree.ts";
import { type FakeIo, fakeIo } from "./_io.ts";

async function audit(
  args: string[],
  cwd: string,
  vars: Record<string, string> = {},
): Promise<{ code: number; io: FakeIo }> {
  const io = fakeIo({ cwd });
  io.env = envOf(vars);
  const code = await auditCommand(parseCommand("audit", args, AUDIT_OPTIONS), io);
  return { code, io };
}

/** The table's rows as arrays of cells, split on runs of two or more spaces. */
function rows(out: string): string[][] {
  return out.trimEnd().split("\n").map((line) => line.split(/ {2,}/));
}

const HOUR = 3_600_000;

function at(msAgo: number): string {
  return new Date(Date.now() - msAgo).toISOString();
}

async function writeLog(stateDir: string): Promise<AuditRecord[]> {
  const records: AuditRecord[] = [
    {
      time: at(3 * HOUR),
      user: "ana",
      flow: "etl",
      task: "extract",
      runId: "r1",
      requested: { net: ["api.example.com"] },
      granted: { net: ["api.example.com"] },
      decision: "allow",
      source: "policy",
    },
    {
      time: at(2 * HOUR),
      user: "ana",
      flow: "etl",
      task: "load",
      plugin: "sql",
      runId: "r1",
      requested: { read: ["/etc"] },
      granted: {},
      decision: "deny",
      reason: 'read "/etc": denied',
      source: "ceiling",
      denied: [{ name: "read", value: "/etc", by: "ceiling", reason: "beyond the ceiling" }],
    },
    {
      time: at(10 * 60_000),
      user: "bob",
      flow: "report",
      task: "render",
      requested: { env: ["HOME"] },
      granted: { env: ["HOME"] },
      decision: "allow",
      reason: "ticket OPS-7",
      source: "authorization",
    },
  ];
  const log = new AuditLog(`${stateDir}/audit.log`);
  for (const r of records) await log.append(r);
  return records;
}

Deno.test("audit prints the log of the configured state directory as a table", async () => {
  await withTree({ "orchestra.yaml": "stateDir: ./state\n" }, async (root) => {
    const records = await writeLog(`${root}/state`);
    const { code, io } = await audit([], root);
    assert.equal(code, 0, io.err);
    assert.equal(io.err, "");
    const shown = (iso: string) => iso.replace("T", " ").replace(/\.\d+Z$/, "Z");
    assert.deepEqual(rows(io.out), [
      ["TIME", "PHASE", "DECISION", "SOURCE", "USER", "FLOW", "TASK", "GRANTED", "REASON"],
      [
        shown(records[0].time),
        "launch",
        "allow",
        "policy",
        "ana",
        "etl",
        "extract",
        "net=api.example.com",
      ],
      [
        shown(records[1].time),
        "launch",
        "deny",
        "ceiling",
        "ana",
        "etl",
        "load (sql)",
        "none",
        'read "/etc": beyond the ceiling',
      ],
      [
        shown(records[2].time),
        "launch",
        "allow",
        "authorization",
        "bob",
        "report",
        "render",
        "env=HOME",
        "ticket OPS-7",
      ],
    ]);
  });
});

Deno.test("audit filters by flow, task, decision, since and limit", async () => {
  await withTree({}, async (root) => {
    await writeLog(`${root}/.orchestra`);
    const tasks = async (args: string[]) => {
      const { code, io } = await audit([...args, "--json"], root);
      assert.equal(code, 0, io.err);
      return io.out.trimEnd().split("\n").filter(Boolean).map((l) => JSON.parse(l).task);
    };
    assert.deepEqual(await tasks([]), ["extract", "load", "render"]);
    assert.deepEqual(await tasks(["--flow", "etl"]), ["extract", "load"]);
    assert.deepEqual(await tasks(["--task", "load"]), ["load"]);
    assert.deepEqual(await tasks(["--decision", "deny"]), ["load"]);
    assert.deepEqual(await tasks(["--since", "90m"]), ["render"]);
    assert.deepEqual(await tasks(["--since", at(150 * 60_000)]), ["load", "render"]);
    assert.deepEqual(await tasks(["--limit", "2"]), ["load", "render"]);
    assert.deepEqual(await tasks(["-n", "1", "--flow", "e*"]), ["load"]);
  });
});

Deno.test("audit --json prints whole records as JSON lines", async () => {
  await withTree({}, async (root) => {
    const records = await writeLog(`${root}/.orchestra`);
    const { io } = await audit(["--json", "--decision", "deny"], root);
    assert.deepEqual(io.out.trimEnd().split("\n").map((l) => JSON.parse(l)), [records[1]]);
  });
});

Deno.test("audit reads the state directory from --state-dir and ORCHESTRA_STATE_DIR", async () => {
  await withTree({ "a/": "", "b/": "" }, async (root) => {
    await writeLog(`${root}/a`);
    const flag = await audit(["--state-dir", "a", "--json"], root);
    assert.equal(flag.io.out.trimEnd().split("\n").length, 3);
    const env = await audit(["--json"], root, { ORCHESTRA_STATE_DIR: `${root}/a` });
    assert.equal(env.io.out.trimEnd().split("\n").length, 3);
    const other = await audit([], root, { ORCHESTRA_STATE_DIR: `${root}/b` });
    assert.equal(other.code, 0);
    assert.equal(other.io.out, "");
    assert.equal(other.io.err, `No audit log at ${root}/b/audit.log yet\n`);
  });
});

Deno.test("audit says when nothing matches and notes malformed lines", async () => {
  await withTree({}, async (root) => {
    await writeLog(`${root}/.orchestra`);
    await Deno.writeTextFile(`${root}/.orchestra/audit.log`, "garbage\n", { append: true });
    const { code, io } = await audit(["--flow", "nope"], root);
    assert.equal(code, 0);
    assert.equal(
      io.err,
      `note: skipped 1 line of ${root}/.orchestra/audit.log that are not audit records\n` +
        `No audit records match in ${root}/.orchestra/audit.log\n`,
    );
  });
});

Deno.test("audit rejects bad options with a usage error that says how to fix them", async () => {
  await withTree({}, async (root) => {
    await assert.rejects(
      audit(["--decision", "denied"], root),
      (e: unknown) =>
        e instanceof UsageError &&
        e.message === '--decision must be allow or deny, got "denied" (did you mean "deny"?)',
    );
    await assert.rejects(audit(["--since", "yesterday"], root), /--since must be a duration/);
    await assert.rejects(audit(["--limit", "0"], root), /--limit must be a whole number/);
    await assert.rejects(audit(["extra"], root), /unexpected argument "extra"/);
    assert.throws(
      () => parseCommand("audit", ["--flw", "x"], AUDIT_OPTIONS),
      /unknown option --flw \(did you mean "--flow"\?\)/,
    );
  });
});

Deno.test("audit exits 2 on an invalid configuration", async () => {
  await withTree({ "orchestra.yaml": "stateDri: x\n" }, async (root) => {
    const { code, io } = await audit([], root);
    assert.equal(code, 2);
    assert.match(io.err, /^error: the configuration is invalid \(1 problem\):\n/);
    assert.match(io.err, /Unknown setting "stateDri" \(did you mean "stateDir"\?\)/);
  });
});

Deno.test("AUDIT_HELP documents every option", () => {
  for (const name of Object.keys(AUDIT_OPTIONS)) assert.ok(AUDIT_HELP.includes(`--${name}`), name);
});
