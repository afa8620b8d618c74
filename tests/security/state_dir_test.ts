// The state dir inside a grant: a task granted read or write on the project must not reach
// the run records, the audit log, the plugin cache, lock files or the secrets file. Each
// case is refused at validation (exit 2, naming the task, the permission and the path) by
// `validate`, `run`, `run --dry-run` and `describe` alike, whatever the policy allows.
import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";
import { main } from "../../src/cli/main.ts";
import { readAudit } from "../../src/permissions/audit.ts";
import { fakeIo, ROOT } from "../cli/_io.ts";

const MOD = pathToFileURL(`${ROOT}/mod.ts`).href;

/** A flow file with one worker task `forge` requesting `permissions`, which writes `target`. */
function tsFlow(permissions: string, target = ".orchestra/audit.log"): string {
  return `import { flow, task } from ${JSON.stringify(MOD)};
export const forge = task(
  { name: "forge", executor: "worker", permissions: ${permissions} },
  async () => {
    const to = new URL(${JSON.stringify(target)}, import.meta.url);
    await Deno.writeTextFile(to, '{"forged":true}\\n', { append: true });
    return "forged";
  },
);
export default flow("project", () => forge());
`;
}

async function inProject(
  files: Record<string, string>,
  fn: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "orchestra_state_" }));
  try {
    for (const [name, text] of Object.entries(files)) {
      await Deno.mkdir(`${dir}/${name}`.replace(/\/[^/]*$/, ""), { recursive: true });
      await Deno.writeTextFile(`${dir}/${name}`, text);
    }
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function cli(dir: string, args: string[], env: Record<string, string> = {}) {
  const io = fakeIo({ cwd: dir });
  io.env = (name) => env[name] ?? (name === "NO_COLOR" ? "1" : undefined);
  const code = await main(args, io);
  return { code, out: io.out, err: io.err };
}

const esc = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Every command that validates refuses the flow with exit 2 and the same message. */
async function refusedEverywhere(
  dir: string,
  file: string,
  message: RegExp,
  extra: string[] = [],
  env: Record<string, string> = {},
): Promise<void> {
  for (
    const args of [
      ["validate", file],
      ["run", file, "--json", "-q"],
      ["run", file, "--dry-run"],
      ["describe", file],
    ]
  ) {
    const r = await cli(dir, [...args, ...extra], env);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.err}`);
    assert.match(r.err, message, `${args.join(" ")}: ${r.err}`);
    assert.equal(r.out, "", `${args.join(" ")} printed no plan, no record`);
  }
}

/** Nothing ran: no launch in the audit log, and the audit log holds only real records. */
async function nothingRan(stateDir: string): Promise<void> {
  const records = await readAudit(`${stateDir}/audit.log`, {
    onMalformed: (_, text) => assert.fail(`a forged line: ${text}`),
  });
  assert.deepEqual(records.filter((r) => r.phase !== "validation"), [], "no task was launched");
}

Deno.test("escape attempt is refused at validation: a write grant on the project covers the state dir", async () => {
  await inProject({ "flow.ts": tsFlow(`{ write: ["."] }`) }, async (dir) => {
    await refusedEverywhere(
      dir,
      "flow.ts",
      new RegExp(
        `Task "forge" of flow "project" is denied write "${esc(dir)}": it covers the state ` +
          `dir ${esc(dir)}/\\.orchestra and the plugin lock file ${esc(dir)}/orchestra\\.lock, ` +
          `which no task may write, whatever the ceiling and the policy allow`,
      ),
    );
    await nothingRan(`${dir}/.orchestra`);
  });
});

Deno.test("escape attempt is refused at validation: a read grant of everything (read: true) covers the state dir", async () => {
  await inProject(
    { "flow.ts": tsFlow(`{ read: true, write: ["./out"] }`, "out/x") },
    async (dir) => {
      await refusedEverywhere(
        dir,
        "flow.ts",
        /Task "forge" of flow "project" is denied read \(all\): read \(all\) covers the state dir .*, which no task may read/,
      );
    },
  );
});

Deno.test("escape attempt is refused at validation: the fs plugin writing into the audit log", async () => {
  const yaml = "name: forge\ntasks:\n  forge:\n    uses: fs\n" +
    '    with: { op: write, path: .orchestra/audit.log, content: "{}" }\n';
  await inProject({ "flow.yaml": yaml }, async (dir) => {
    await refusedEverywhere(
      dir,
      "flow.yaml",
      new RegExp(
        `Task "forge" \\(plugin "fs"\\) of flow "forge" is denied write ` +
          `"${esc(dir)}/\\.orchestra/audit\\.log": it is the audit log`,
      ),
    );
    await nothingRan(`${dir}/.orchestra`);
  });
});

Deno.test("escape attempt is refused at validation: a symbolic link to the state dir", async () => {
  await inProject(
    { "flow.ts": tsFlow(`{ write: ["./state-link"] }`, "state-link/audit.log") },
    async (dir) => {
      await Deno.mkdir(`${dir}/.orchestra`);
      await Deno.symlink(`${dir}/.orchestra`, `${dir}/state-link`);
      await refusedEverywhere(
        dir,
        "flow.ts",
        new RegExp(
          `\\(1 problem\\):\\n.*denied write "${esc(dir)}/state-link": it leads to ` +
            `${esc(dir)}/\\.orchestra, which is the state dir`,
        ),
      );
      await nothingRan(`${dir}/.orchestra`);
    },
  );
});

Deno.test("escape attempt is refused at validation: a state dir given by --state-dir, ORCHESTRA_STATE_DIR or the configuration", async () => {
  const files = { "flow.ts": tsFlow(`{ write: ["./runs"] }`, "runs/audit.log") };
  await inProject(files, async (dir) => {
    const message = new RegExp(
      `denied write "${esc(dir)}/runs": it is the state dir ${esc(dir)}/runs, which no task may`,
    );
    await refusedEverywhere(dir, "flow.ts", message, ["--state-dir", "runs"]);
    await refusedEverywhere(dir, "flow.ts", message, [], { ORCHESTRA_STATE_DIR: "runs" });
    await Deno.writeTextFile(`${dir}/orchestra.yaml`, "stateDir: ./runs\n");
    await refusedEverywhere(dir, "flow.ts", message);
    await Deno.remove(`${dir}/orchestra.yaml`);
    // The control: with the state dir elsewhere, the same grant is an ordinary one.
    const ok = await cli(dir, ["run", "flow.ts", "--json", "-q"]);
    assert.equal(ok.code, 0, ok.err);
    assert.equal(JSON.parse(ok.out).result, "forged");
  });
});

Deno.test("escape attempt is refused at validation: a policy that allows everything does not open the state dir", async () => {
  const files = {
    "flow.ts": tsFlow(`{ write: ["./.orchestra"] }`),
    "orchestra.policy.yaml":
      "default: allow\nallow:\n  - permissions: { write: true, read: true }\n",
  };
  await inProject(files, async (dir) => {
    await refusedEverywhere(
      dir,
      "flow.ts",
      new RegExp(`denied write "${esc(dir)}/\\.orchestra": it is the state dir`),
    );
  });
});

Deno.test("escape attempt is refused at validation: lock files and the secrets file", async () => {
  await inProject(
    { "flow.ts": tsFlow(`{ write: ["./orchestra.lock"] }`, "orchestra.lock") },
    async (dir) => {
      await refusedEverywhere(
        dir,
        "flow.ts",
        new RegExp(`denied write "${esc(dir)}/orchestra\\.lock": it is the plugin lock file`),
      );
    },
  );
  // The orchestrator runs from this repository: its deno.json and deno.lock pin its code.
  await inProject(
    { "flow.ts": tsFlow(`{ read: [${JSON.stringify(`${ROOT}/deno.lock`)}] }`, "x") },
    async (dir) => {
      await refusedEverywhere(
        dir,
        "flow.ts",
        new RegExp(
          `denied read "${esc(ROOT)}/deno\\.lock": it is the orchestrator's deno\\.lock`,
        ),
      );
    },
  );
  await inProject(
    { "flow.ts": tsFlow(`{ read: ["./.env"] }`, "x"), ".env": "TOKEN=t0k3n\n" },
    async (dir) => {
      await refusedEverywhere(
        dir,
        "flow.ts",
        new RegExp(`denied read "${esc(dir)}/\\.env": it is the secrets file`),
        ["--secrets-file", ".env"],
      );
    },
  );
});

Deno.test("escape attempt is refused at launch: a task the plan cannot see (after an await) asking for the state dir", async () => {
  const flowText = `import { flow, task } from ${JSON.stringify(MOD)};
const first = task("first", () => 1);
export const forge = task(
  { name: "forge", executor: "worker", permissions: { write: ["./.orchestra"] } },
  async () => {
    await Deno.writeTextFile(new URL(".orchestra/audit.log", import.meta.url), "forged\\n", { append: true });
  },
);
export default flow("dynamic", async () => { await first(); return forge(); });
`;
  await inProject({ "flow.ts": flowText }, async (dir) => {
    const r = await cli(dir, ["run", "flow.ts", "--json", "-q"]);
    assert.equal(r.code, 1, r.err);
    const doc = JSON.parse(r.out);
    const forge = doc.tasks.find((t: { id: string }) => t.id === "forge");
    assert.equal(forge.status, "failed");
    assert.equal(forge.attempts, 0, "it never started");
    assert.match(
      forge.error,
      new RegExp(
        `Task "forge" of flow "dynamic" is denied write "${
          esc(dir)
        }/\\.orchestra": it is the state dir`,
      ),
    );
    const records = await readAudit(`${dir}/.orchestra/audit.log`, {
      onMalformed: (_, text) => assert.fail(`a forged line: ${text}`),
    });
    const denied = records.filter((r) => r.task === "forge");
    assert.equal(denied.length, 1);
    assert.equal(denied[0].decision, "deny");
    assert.equal(denied[0].source, "protected");
    assert.equal(denied[0].phase, "launch");
  });
});

Deno.test("escape attempt is refused: a state dir every user may write to (such as /tmp)", async () => {
  await inProject({ "flow.ts": tsFlow(`{ write: ["./out"] }`, "out/x") }, async (dir) => {
    await Deno.mkdir(`${dir}/shared`);
    await Deno.chmod(`${dir}/shared`, 0o1777);
    const r = await cli(dir, ["run", "flow.ts", "--state-dir", "shared"]);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /The state dir .*\/shared is writable by every user \(mode 1777\)/);
    assert.equal((await Deno.stat(`${dir}/shared`)).mode! & 0o7777, 0o1777, "left as it was");
  });
});

Deno.test("a grant beside the state dir is an ordinary grant (control)", async () => {
  await inProject({ "flow.ts": tsFlow(`{ write: ["./out"] }`, "out/report.json") }, async (dir) => {
    await Deno.mkdir(`${dir}/out`);
    const r = await cli(dir, ["run", "flow.ts", "--json", "-q"]);
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(r.out).result, "forged");
  });
});
