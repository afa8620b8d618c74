import assert from "node:assert/strict";
import { parseCommand, UsageError } from "../../src/cli/args.ts";
import {
  CONFIG_HELP,
  CONFIG_OPTIONS,
  configCommand,
  settingsFlags,
} from "../../src/cli/commands/config.ts";
import { ConfigError } from "../../src/config/config.ts";
import { SETTING_SPECS } from "../../src/config/settings.ts";
import { envOf, withTree } from "../config/_tree.ts";
import { type FakeIo, fakeIo } from "./_io.ts";

async function config(
  args: string[],
  cwd: string,
  vars: Record<string, string> = {},
): Promise<{ code: number; io: FakeIo }> {
  const io = fakeIo({ cwd });
  io.env = envOf(vars);
  const code = await configCommand(parseCommand("config", args, CONFIG_OPTIONS), io);
  return { code, io };
}

/** The table's rows as arrays of cells, split on runs of two or more spaces. */
function rows(out: string): string[][] {
  const table = out.slice(out.indexOf("SETTING"));
  return table.trimEnd().split("\n").map((line) => line.split(/ {2,}/));
}

Deno.test("config prints the defaults when there is no config file", async () => {
  await withTree({ "a/": "" }, async (root) => {
    const { code, io } = await config([], `${root}/a`);
    assert.equal(code, 0, io.err);
    assert.equal(io.err, "");
    assert.match(io.out, /^Config file: none \(no orchestra\.yaml/);
    assert.deepEqual(rows(io.out), [
      ["SETTING", "VALUE", "SOURCE"],
      ["stateDir", "./.orchestra", "default"],
      ["concurrency", "unlimited", "default"],
      ["pluginDirs", "none", "default"],
      ["logLevel", "info", "default"],
      ["logFormat", "text", "default"],
      ["policyFile", "none", "default"],
      ["secretsFile", "none", "default"],
      ["workers", String(navigator.hardwareConcurrency), "default"],
      ["executor", "inline", "default"],
      ["durability", "full", "default"],
      ["maxOutput", "16MiB", "default"],
      ["store", "none (SQLite in the state dir)", "default"],
      ["tokensFile", "none", "default"],
    ]);
    // The columns line up.
    const lines = io.out.slice(io.out.indexOf("SETTING")).split("\n");
    assert.equal(lines[1].indexOf("./.orchestra"), lines[0].indexOf("VALUE"));
  });
});

Deno.test("config shows the source of every value: file:line, variable or flag", async () => {
  await withTree(
    { "orchestra.yaml": "# Orchestra\nstateDir: state\nconcurrency: 4\npluginDirs: [p]\n" },
    async (root) => {
      const { code, io } = await config(
        [
          "--workers",
          "3",
          "--plugin-dir",
          "x",
          "--plugin-dir",
          "/y",
          "--durability",
          "normal",
          "--max-output",
          "64MiB",
        ],
        root,
        { ORCHESTRA_LOG_LEVEL: "debug", ORCHESTRA_EXECUTOR: "worker" },
      );
      assert.equal(code, 0, io.err);
      assert.match(io.out, /^Config file: orchestra\.yaml\n\n/);
      assert.deepEqual(rows(io.out).slice(1), [
        ["stateDir", "./state", "orchestra.yaml:2"],
        ["concurrency", "4", "orchestra.yaml:3"],
        ["pluginDirs", "./x, /y", "--plugin-dir"],
        ["logLevel", "debug", "ORCHESTRA_LOG_LEVEL"],
        ["logFormat", "text", "default"],
        ["policyFile", "none", "default"],
        ["secretsFile", "none", "default"],
        ["workers", "3", "--workers"],
        ["executor", "worker", "ORCHESTRA_EXECUTOR"],
        ["durability", "normal", "--durability"],
        ["maxOutput", "64MiB", "--max-output"],
        ["store", "none (SQLite in the state dir)", "default"],
        ["tokensFile", "none", "default"],
      ]);
    },
  );
});

Deno.test("config shows a file above the current directory by its absolute path", async () => {
  await withTree(
    { "deno.json": '{ "orchestra": { "logFormat": "json" } }', "a/b/": "" },
    async (root) => {
      const { code, io } = await config([], `${root}/a/b`);
      assert.equal(code, 0, io.err);
      assert.match(io.out, new RegExp(`^Config file: ${root}/deno\\.json\n`));
      assert.deepEqual(rows(io.out)[5], ["logFormat", "json", `${root}/deno.json:1`]);
    },
  );
});

Deno.test("config --config and ORCHESTRA_CONFIG name the file", async () => {
  await withTree(
    { "orchestra.yaml": "workers: 2\n", "other.yaml": "workers: 5\n" },
    async (root) => {
      const flag = await config(["--config", "other.yaml"], root);
      assert.equal(flag.code, 0, flag.io.err);
      assert.match(flag.io.out, /^Config file: other\.yaml \(from --config\)\n/);
      assert.deepEqual(rows(flag.io.out)[8], ["workers", "5", "other.yaml:1"]);

      const env = await config([], root, { ORCHESTRA_CONFIG: "other.yaml" });
      assert.match(env.io.out, /^Config file: other\.yaml \(from ORCHESTRA_CONFIG\)\n/);
    },
  );
});

Deno.test("config --json prints file, settings and sources", async () => {
  await withTree({ "orchestra.yaml": "logLevel: warning\n" }, async (root) => {
    const { code, io } = await config(["--json", "-c", "2"], root);
    assert.equal(code, 0, io.err);
    const doc = JSON.parse(io.out);
    assert.deepEqual(Object.keys(doc), ["file", "settings", "sources"]);
    assert.equal(doc.file, `${root}/orchestra.yaml`);
    assert.deepEqual(doc.settings, {
      stateDir: `${root}/.orchestra`,
      concurrency: 2,
      pluginDirs: [],
      logLevel: "warning",
      logFormat: "text",
      policyFile: null,
      secretsFile: null,
      workers: navigator.hardwareConcurrency,
      executor: "inline",
      durability: "full",
      maxOutput: 16 * 1024 * 1024,
      store: null,
      tokensFile: null,
    });
    assert.deepEqual(doc.sources.logLevel, { source: "file", detail: `${root}/orchestra.yaml:1` });
    assert.deepEqual(doc.sources.concurrency, { source: "flag", detail: "--concurrency" });
    assert.deepEqual(doc.sources.stateDir, { source: "default" });
  });
  await withTree({}, async (root) => {
    const { io } = await config(["--json"], root);
    assert.equal(JSON.parse(io.out).file, null);
  });
});

Deno.test("config notes a config file it ignores", async () => {
  await withTree(
    { "orchestra.yaml": "workers: 2\n", "deno.json": '{ "orchestra": { "workers": 3 } }' },
    async (root) => {
      const { code, io } = await config([], root);
      assert.equal(code, 0);
      assert.equal(
        io.err,
        `note: The "orchestra" key of "${root}/deno.json" is ignored: "${root}/orchestra.yaml" ` +
          `in the same directory takes precedence\n`,
      );
    },
  );
});

Deno.test("config exits 2 listing every problem in the file, variables and flags", async () => {
  await withTree({ "orchestra.yaml": "concurency: 4\nworkers: 0\n" }, async (root) => {
    const { code, io } = await config(
      ["--log-format", "jsn", "--workers", "x"],
      root,
      { ORCHESTRA_EXECUTOR: "thread" },
    );
    assert.equal(code, 2);
    assert.equal(io.out, "");
    assert.equal(
      io.err,
      [
        "error: invalid configuration (5 problems):",
        '  orchestra.yaml:1:1: Unknown setting "concurency" (did you mean "concurrency"?)',
        '  orchestra.yaml:2:10: Setting "workers" must be a whole number ≥ 1, got 0',
        '  ORCHESTRA_EXECUTOR must be one of inline, worker, process, got "thread"',
        '  --log-format must be one of text, json, got "jsn" (did you mean "json"?)',
        '  --workers must be a whole number ≥ 1, got "x"',
        "",
      ].join("\n"),
    );
  });
});

Deno.test("config rejects a positional argument", async () => {
  await withTree({}, async (root) => {
    await assert.rejects(config(["extra"], root), UsageError);
  });
});

Deno.test("settingsFlags() converts flag text to settings and names every bad flag", () => {
  const parsed = parseCommand(
    "config",
    [
      "--state-dir",
      "s",
      "-c",
      "3",
      "--plugin-dir",
      "a",
      "--plugin-dir",
      "b",
      "--executor",
      "worker",
    ],
    CONFIG_OPTIONS,
  );
  assert.deepEqual(settingsFlags(parsed.values), {
    stateDir: "s",
    concurrency: 3,
    pluginDirs: ["a", "b"],
    executor: "worker",
  });
  assert.deepEqual(settingsFlags({}), {});
  assert.throws(
    () => settingsFlags({ concurrency: "0", "log-level": "loud", "policy-file": "" }),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.issues.map((i) => i.message).join("\n") ===
        [
          '--concurrency must be a whole number ≥ 1, got "0"',
          '--log-level must be one of debug, info, warning, error, got "loud"',
          "--policy-file must be a path, got an empty string",
        ].join("\n"),
  );
});

Deno.test("CONFIG_OPTIONS and CONFIG_HELP cover every setting", () => {
  for (const s of SETTING_SPECS) {
    assert.ok(s.flag.slice(2) in CONFIG_OPTIONS, `no option for ${s.flag}`);
    assert.match(CONFIG_HELP, new RegExp(`  ${s.key} +(-c, )?${s.flag} `));
    assert.ok(CONFIG_HELP.includes(s.env), `help lacks ${s.env}`);
  }
  assert.match(CONFIG_HELP, /^Usage: orchestra config \[options\]\n/);
  assert.ok(CONFIG_HELP.includes("--config FILE") && CONFIG_HELP.includes("--json"));
});

Deno.test("config shows a store's URL with its password masked, from the file, a variable or the flag", async () => {
  await withTree(
    { "orchestra.yaml": "store: postgres://ada:file-secret@db.internal:5432/orchestra\n" },
    async (root) => {
      const file = await config([], root);
      assert.equal(file.code, 0, file.io.err);
      assert.deepEqual(rows(file.io.out).find((r) => r[0] === "store"), [
        "store",
        "postgres://ada:***@db.internal:5432/orchestra",
        "orchestra.yaml:1",
      ]);
      const env = await config(["--json"], root, {
        ORCHESTRA_STORE: "postgresql://ada:env-secret@db/app?sslmode=require",
      });
      assert.equal(env.code, 0, env.io.err);
      const doc = JSON.parse(env.io.out);
      assert.equal(doc.settings.store, "postgresql://ada:***@db/app?sslmode=require");
      assert.deepEqual(doc.sources.store, { source: "env", detail: "ORCHESTRA_STORE" });
      const flag = await config(["--store", "postgres://ada:flag-secret@db/app"], root);
      assert.deepEqual(rows(flag.io.out).find((r) => r[0] === "store"), [
        "store",
        "postgres://ada:***@db/app",
        "--store",
      ]);
      for (const { io } of [file, env, flag]) {
        assert.doesNotMatch(io.out + io.err, /(file|env|flag)-secret/);
      }
    },
  );
});

Deno.test("config rejects a store that is not a PostgreSQL URL, without showing its password", async () => {
  await withTree({ "orchestra.yaml": "store: ./state\n" }, async (root) => {
    const { code, io } = await config(["--store", "mysql://ada:s3cret@db/app"], root);
    assert.equal(code, 2);
    assert.equal(
      io.err,
      [
        "error: invalid configuration (2 problems):",
        '  orchestra.yaml:1:8: Setting "store" must be a PostgreSQL URL ' +
        '(postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE), got "./state" (a string)',
        "      hint: for SQLite leave store unset: stateDir says where its file goes",
        "  --store must be a PostgreSQL URL (postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE), " +
        'got "mysql://ada:***@db/app"',
        "",
      ].join("\n"),
    );
  });
});
