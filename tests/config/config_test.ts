import assert from "node:assert/strict";
import { ConfigError, resolveConfig, type Settings } from "../../src/config/config.ts";
import { OrchestraError } from "../../src/core/errors.ts";
import { envOf, withTree } from "./_tree.ts";

async function configError(promise: Promise<unknown>): Promise<ConfigError> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

Deno.test("resolveConfig() without any source gives the defaults", async () => {
  await withTree({ "a/": "" }, async (root) => {
    const config = await resolveConfig({ cwd: `${root}/a` });
    assert.deepEqual(config.settings, {
      stateDir: `${root}/a/.orchestra`,
      concurrency: undefined,
      pluginDirs: [],
      logLevel: "info",
      logFormat: "text",
      policyFile: undefined,
      secretsFile: undefined,
      workers: navigator.hardwareConcurrency,
      executor: "inline",
      durability: "full",
      maxOutput: 16 * 1024 * 1024,
      store: undefined,
      tokensFile: undefined,
    });
    assert.equal(config.file, undefined);
    assert.equal(config.fileFrom, undefined);
    for (const source of Object.values(config.sources)) {
      assert.deepEqual(source, { source: "default" });
    }
  });
});

Deno.test("resolveConfig() layers defaults < file < environment < flags, with sources", async () => {
  await withTree(
    {
      "orchestra.yaml": "concurrency: 4\nlogLevel: warning\nworkers: 3\nexecutor: process\n",
      "a/b/": "",
    },
    async (root) => {
      const config = await resolveConfig({
        cwd: `${root}/a/b`,
        env: envOf({ ORCHESTRA_LOG_LEVEL: "debug", ORCHESTRA_WORKERS: "5", ORCHESTRA_OTHER: "x" }),
        flags: { workers: 6, logFormat: "json" },
      });
      const file = `${root}/orchestra.yaml`;
      assert.equal(config.file, file);
      assert.equal(config.fileFrom, "search");
      const { settings: s, sources } = config;
      assert.equal(s.concurrency, 4);
      assert.deepEqual(sources.concurrency, { source: "file", detail: `${file}:1` });
      assert.equal(s.executor, "process");
      assert.deepEqual(sources.executor, { source: "file", detail: `${file}:4` });
      assert.equal(s.logLevel, "debug");
      assert.deepEqual(sources.logLevel, { source: "env", detail: "ORCHESTRA_LOG_LEVEL" });
      assert.equal(s.workers, 6);
      assert.deepEqual(sources.workers, { source: "flag", detail: "--workers" });
      assert.equal(s.logFormat, "json");
      assert.deepEqual(sources.logFormat, { source: "flag", detail: "--log-format" });
      assert.deepEqual(sources.stateDir, { source: "default" });
    },
  );
});

Deno.test("resolveConfig() reads the orchestra key of deno.json", async () => {
  await withTree(
    { "deno.json": '{\n  "tasks": {},\n  "orchestra": { "executor": "worker" }\n}\n' },
    async (root) => {
      const config = await resolveConfig({ cwd: root });
      assert.equal(config.file, `${root}/deno.json`);
      assert.equal(config.settings.executor, "worker");
      assert.deepEqual(config.sources.executor, { source: "file", detail: `${root}/deno.json:3` });
    },
  );
});

Deno.test("resolveConfig() accepts kebab-case keys", async () => {
  await withTree(
    { "orchestra.yaml": "state-dir: s\nlog-level: error\nplugin-dirs: [p]\npolicy-file: x.yaml\n" },
    async (root) => {
      const { settings } = await resolveConfig({ cwd: root });
      assert.equal(settings.stateDir, `${root}/s`);
      assert.equal(settings.logLevel, "error");
      assert.deepEqual(settings.pluginDirs, [`${root}/p`]);
      assert.equal(settings.policyFile, `${root}/x.yaml`);
    },
  );
});

Deno.test("resolveConfig() resolves file paths against the file, others against cwd", async () => {
  await withTree(
    {
      "orchestra.yaml":
        "stateDir: state\npluginDirs: [plugins, /opt/plugins]\npolicyFile: p.yaml\n",
      "a/b/": "",
    },
    async (root) => {
      const cwd = `${root}/a/b`;
      const fromFile = await resolveConfig({ cwd });
      assert.equal(fromFile.settings.stateDir, `${root}/state`);
      assert.deepEqual(fromFile.settings.pluginDirs, [`${root}/plugins`, "/opt/plugins"]);
      assert.equal(fromFile.settings.policyFile, `${root}/p.yaml`);

      const fromEnv = await resolveConfig({
        cwd,
        env: envOf({
          ORCHESTRA_STATE_DIR: "st",
          ORCHESTRA_PLUGIN_DIRS: "x::/abs/y:",
          ORCHESTRA_POLICY_FILE: "../pol.yaml",
        }),
      });
      assert.equal(fromEnv.settings.stateDir, `${cwd}/st`);
      assert.deepEqual(fromEnv.settings.pluginDirs, [`${cwd}/x`, "/abs/y"]);
      assert.equal(fromEnv.settings.policyFile, `${root}/a/pol.yaml`);

      const fromFlags = await resolveConfig({
        cwd,
        flags: { stateDir: "./s", pluginDirs: ["q"], policyFile: "/etc/pol.yaml" },
      });
      assert.equal(fromFlags.settings.stateDir, `${cwd}/s`);
      assert.deepEqual(fromFlags.settings.pluginDirs, [`${cwd}/q`]);
      assert.equal(fromFlags.settings.policyFile, "/etc/pol.yaml");
    },
  );
});

Deno.test("resolveConfig() uses --config or ORCHESTRA_CONFIG instead of searching", async () => {
  await withTree(
    {
      "orchestra.yaml": "workers: 2\n",
      "conf/one.yaml": "workers: 3\n",
      "conf/two.yml": "workers: 4\n",
    },
    async (root) => {
      const byFlag = await resolveConfig({
        cwd: root,
        configFile: "conf/one.yaml",
        env: envOf({ ORCHESTRA_CONFIG: "conf/two.yml" }),
      });
      assert.equal(byFlag.file, `${root}/conf/one.yaml`);
      assert.equal(byFlag.fileFrom, "flag");
      assert.equal(byFlag.settings.workers, 3);

      const byEnv = await resolveConfig({
        cwd: root,
        env: envOf({ ORCHESTRA_CONFIG: "conf/two.yml" }),
      });
      assert.equal(byEnv.file, `${root}/conf/two.yml`);
      assert.equal(byEnv.fileFrom, "env");
      assert.equal(byEnv.settings.workers, 4);

      const missing = await configError(resolveConfig({ cwd: root, configFile: "nope.yaml" }));
      assert.deepEqual(missing.issues, [
        { message: `Cannot read config file "${root}/nope.yaml": no such file` },
      ]);
    },
  );
});

Deno.test("resolveConfig() reports a named deno.json without an orchestra key", async () => {
  await withTree({ "deno.json": "{}" }, async (root) => {
    const err = await configError(resolveConfig({ cwd: root, configFile: "deno.json" }));
    assert.equal(err.issues.length, 1);
    assert.equal(err.issues[0].message, `"${root}/deno.json" has no "orchestra" key`);
  });
});

Deno.test("resolveConfig() reports every problem in the file at once, with positions", async () => {
  const yaml = [
    "stateDir: 3", // 1
    "concurency: 4", // 2
    "pluginDirs: [plugins, 7]", // 3
    "logLevel: verbos", // 4
    'workers: "2"', // 5
    "state-dir: x", // 6
    "frobnicate: 1", // 7
    "executor: [inline]", // 8
    "logFormat: json", // 9
    "pluginDirs_: a", // 10
  ].join("\n") + "\n";
  await withTree({ "orchestra.yaml": yaml }, async (root) => {
    const err = await configError(resolveConfig({ cwd: root }));
    const file = `${root}/orchestra.yaml`;
    const at = (line: number, col: number) => ({ file, line, col });
    assert.deepEqual(err.issues, [
      {
        message: 'Setting "stateDir" must be a path (a non-empty string), got 3',
        location: at(1, 11),
      },
      { message: 'Unknown setting "concurency" (did you mean "concurrency"?)', location: at(2, 1) },
      {
        message: 'Setting "pluginDirs" must be a list of paths, but item 2 is 7',
        location: at(3, 23),
      },
      {
        message: 'Setting "logLevel" must be one of debug, info, warning, error, got "verbos"',
        location: at(4, 11),
      },
      {
        message: 'Setting "workers" must be a whole number ≥ 1, got "2" (a string)',
        location: at(5, 10),
        hint: "write it without quotes: workers: 2",
      },
      {
        message: 'Setting "stateDir" is given twice, as "stateDir" on line 1 and as "state-dir"',
        location: at(6, 1),
        hint: "keep one of them",
      },
      {
        message: 'Unknown setting "frobnicate"',
        location: at(7, 1),
        hint: "the settings are stateDir, concurrency, pluginDirs, logLevel, logFormat, " +
          "policyFile, secretsFile, workers, executor, durability, maxOutput, store, tokensFile",
      },
      {
        message: 'Setting "executor" must be one of inline, worker, process, got a list',
        location: at(8, 11),
      },
      {
        message: 'Unknown setting "pluginDirs_" (did you mean "pluginDirs"?)',
        location: at(10, 1),
      },
    ]);
    assert.ok(err instanceof OrchestraError);
    assert.equal(err.name, "ConfigError");
    assert.match(
      err.message,
      /^Invalid configuration \(9 problems\):\n {2}- .*orchestra\.yaml:1:11: /,
    );
  });
});

Deno.test("resolveConfig() suggests kebab-case names for a misspelled kebab-case key", async () => {
  await withTree({ "orchestra.yaml": "log-levl: info\n" }, async (root) => {
    const err = await configError(resolveConfig({ cwd: root }));
    assert.equal(err.issues[0].message, 'Unknown setting "log-levl" (did you mean "log-level"?)');
  });
});

Deno.test("resolveConfig() reports problems in deno.json with positions", async () => {
  const json =
    '{\n  "orchestra": {\n    "workers": 0,\n    "pluginDirs": "p",\n    "exector": "worker"\n  }\n}\n';
  await withTree({ "deno.json": json }, async (root) => {
    const err = await configError(resolveConfig({ cwd: root }));
    const file = `${root}/deno.json`;
    assert.deepEqual(err.issues, [
      {
        message: 'Setting "workers" must be a whole number ≥ 1, got 0',
        location: { file, line: 3, col: 16 },
      },
      {
        message: 'Setting "pluginDirs" must be a list of paths, got "p" (a string)',
        location: { file, line: 4, col: 19 },
        hint: 'write a list, even of one: pluginDirs: ["p"]',
      },
      {
        message: 'Unknown setting "exector" (did you mean "executor"?)',
        location: { file, line: 5, col: 5 },
      },
    ]);
  });
});

Deno.test("resolveConfig() reports a file that is not a mapping", async () => {
  await withTree(
    { "orchestra.yaml": "- a\n- b\n", "deno.json": '{ "orchestra": [1] }' },
    async (root) => {
      const yaml = await configError(resolveConfig({ cwd: root }));
      assert.equal(
        yaml.issues[0].message,
        "A config file must hold a mapping of settings, got a list",
      );
      const deno = await configError(resolveConfig({ cwd: root, configFile: "deno.json" }));
      assert.equal(
        deno.issues[0].message,
        'The "orchestra" key must hold an object of settings, got [1]',
      );
      assert.deepEqual(deno.issues[0].location, { file: `${root}/deno.json`, line: 1, col: 16 });
    },
  );
});

Deno.test("resolveConfig() treats an empty file, a key without value and an empty variable as unset", async () => {
  await withTree({ "orchestra.yaml": "" }, async (root) => {
    const empty = await resolveConfig({ cwd: root, env: envOf({ ORCHESTRA_LOG_LEVEL: "" }) });
    assert.equal(empty.file, `${root}/orchestra.yaml`);
    assert.deepEqual(empty.sources.logLevel, { source: "default" });
  });
  await withTree({ "orchestra.yaml": "concurrency:\npolicyFile: ~\n" }, async (root) => {
    const config = await resolveConfig({ cwd: root });
    assert.equal(config.settings.concurrency, undefined);
    assert.deepEqual(config.sources.concurrency, { source: "default" });
    assert.equal(config.settings.policyFile, undefined);
  });
});

Deno.test("resolveConfig() names the environment variable of each bad value", async () => {
  await withTree({}, async (root) => {
    const err = await configError(resolveConfig({
      cwd: root,
      env: envOf({
        ORCHESTRA_CONCURRENCY: "four",
        ORCHESTRA_WORKERS: "0",
        ORCHESTRA_LOG_LEVEL: "warn",
        ORCHESTRA_LOG_FORMAT: "yaml",
        ORCHESTRA_EXECUTOR: "wrker",
      }),
    }));
    assert.deepEqual(err.issues.map((i) => i.message), [
      'ORCHESTRA_CONCURRENCY must be a whole number ≥ 1, got "four"',
      'ORCHESTRA_LOG_LEVEL must be one of debug, info, warning, error, got "warn" ' +
      '(did you mean "warning"?)',
      'ORCHESTRA_LOG_FORMAT must be one of text, json, got "yaml"',
      'ORCHESTRA_WORKERS must be a whole number ≥ 1, got "0"',
      'ORCHESTRA_EXECUTOR must be one of inline, worker, process, got "wrker" ' +
      '(did you mean "worker"?)',
    ]);
  });
});

Deno.test("resolveConfig() names the flag of each bad value, with file and env problems", async () => {
  await withTree({ "orchestra.yaml": "workers: many\n" }, async (root) => {
    const err = await configError(resolveConfig({
      cwd: root,
      env: envOf({ ORCHESTRA_STATE_DIR: "s", ORCHESTRA_CONCURRENCY: "-1" }),
      flags: { concurrency: 1.5, executor: "ssh" as "inline", stateDir: "" },
    }));
    assert.deepEqual(err.issues.map((i) => i.message), [
      'Setting "workers" must be a whole number ≥ 1, got "many" (a string)',
      'ORCHESTRA_CONCURRENCY must be a whole number ≥ 1, got "-1"',
      "--concurrency must be a whole number ≥ 1, got 1.5",
      '--executor must be one of inline, worker, process, got "ssh"',
      '--state-dir must be a path (a non-empty string), got "" (a string)',
    ]);
  });
});

Deno.test("resolveConfig() does not take Object.prototype names for settings", async () => {
  await withTree({ "orchestra.yaml": "constructor: 1\ntoString: x\n" }, async (root) => {
    const err = await configError(resolveConfig({
      cwd: root,
      flags: { hasOwnProperty: 1 } as Partial<Settings>,
    }));
    assert.deepEqual(err.issues.map((i) => i.message), [
      'Unknown setting "constructor"',
      'Unknown setting "toString"',
      'Unknown setting "hasOwnProperty"',
    ]);
  });
});

Deno.test("durability comes from the file, ORCHESTRA_DURABILITY or a flag; full by default", async () => {
  await withTree({ "orchestra.yaml": "durability: normal\n" }, async (root) => {
    const fromFile = await resolveConfig({ cwd: root });
    assert.equal(fromFile.settings.durability, "normal");
    const env: Record<string, string> = { ORCHESTRA_DURABILITY: "full" };
    const fromEnv = await resolveConfig({ cwd: root, env: (n) => env[n] });
    assert.equal(fromEnv.settings.durability, "full");
    assert.deepEqual(fromEnv.sources.durability, {
      source: "env",
      detail: "ORCHESTRA_DURABILITY",
    });
    const bad = { ORCHESTRA_DURABILITY: "fast" } as Record<string, string>;
    await assert.rejects(
      resolveConfig({ cwd: root, env: (n) => bad[n] }),
      /ORCHESTRA_DURABILITY must be one of full, normal, got "fast"/,
    );
  });
});

Deno.test("maxOutput comes from the file, ORCHESTRA_MAX_OUTPUT or a flag, as a size; 16 MiB by default", async () => {
  await withTree({ "orchestra.yaml": "maxOutput: 64MiB\n" }, async (root) => {
    const fromFile = await resolveConfig({ cwd: root });
    assert.equal(fromFile.settings.maxOutput, 64 * 1024 * 1024);
    const env: Record<string, string> = { ORCHESTRA_MAX_OUTPUT: "1048576" };
    const fromEnv = await resolveConfig({ cwd: root, env: (n) => env[n] });
    assert.equal(fromEnv.settings.maxOutput, 1024 * 1024);
    const bad = { ORCHESTRA_MAX_OUTPUT: "lots" } as Record<string, string>;
    await assert.rejects(
      resolveConfig({ cwd: root, env: (n) => bad[n] }),
      /ORCHESTRA_MAX_OUTPUT must be a size such as 16MiB, 512KiB, 1GiB or a number of bytes, got "lots"/,
    );
  });
  await withTree({ "orchestra.yaml": "maxOutput: 0\n" }, async (root) => {
    await assert.rejects(
      resolveConfig({ cwd: root }),
      /orchestra.yaml:1:12: Setting "maxOutput" must be a size/,
    );
  });
  await withTree({}, async (root) => {
    assert.equal((await resolveConfig({ cwd: root })).settings.maxOutput, 16 * 1024 * 1024);
  });
});
