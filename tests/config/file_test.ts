import assert from "node:assert/strict";
import { findConfigFile, readConfigFile } from "../../src/config/file.ts";
import { withTree } from "./_tree.ts";

Deno.test("findConfigFile() searches from the directory upwards", async () => {
  await withTree({ "orchestra.yaml": "workers: 2\n", "a/b/c/": "" }, async (root) => {
    const found = await findConfigFile(`${root}/a/b/c`);
    assert.equal(found.file?.path, `${root}/orchestra.yaml`);
    assert.deepEqual(found.notes, []);
  });
});

Deno.test("findConfigFile() stops at the closest directory with a config", async () => {
  await withTree(
    { "orchestra.yaml": "workers: 2\n", "a/orchestra.yml": "workers: 3\n", "a/b/": "" },
    async (root) => {
      const found = await findConfigFile(`${root}/a/b`);
      assert.equal(found.file?.path, `${root}/a/orchestra.yml`);
    },
  );
});

Deno.test("findConfigFile() finds nothing in a tree without a config", async () => {
  await withTree({ "a/": "" }, async (root) => {
    const found = await findConfigFile(`${root}/a`);
    assert.equal(found.file, undefined);
  });
});

Deno.test("findConfigFile() skips a deno.json without an orchestra key", async () => {
  await withTree(
    {
      "deno.jsonc": `{
  // the project's settings
  "tasks": { "x": "y", },
  /* Orchestra's */
  "orchestra": { "workers": 2, },
}
`,
      "a/deno.json": '{ "tasks": {} }',
    },
    async (root) => {
      const found = await findConfigFile(`${root}/a`);
      const file = found.file!;
      assert.equal(file.path, `${root}/deno.jsonc`);
      assert.deepEqual(file.issues, []);
      assert.equal(file.entries.length, 1);
      assert.equal(file.entries[0].key, "workers");
      assert.equal(file.entries[0].value, 2);
      assert.deepEqual(file.entries[0].location, { file: file.path, line: 5, col: 18 });
    },
  );
});

Deno.test("findConfigFile() prefers orchestra.yaml in one directory and notes the others", async () => {
  await withTree(
    {
      "orchestra.yaml": "workers: 2\n",
      "orchestra.yml": "workers: 3\n",
      "deno.json": '{ "orchestra": { "workers": 4 } }',
    },
    async (root) => {
      const found = await findConfigFile(root);
      assert.equal(found.file?.path, `${root}/orchestra.yaml`);
      assert.deepEqual(found.notes, [
        `"${root}/orchestra.yml" is ignored: "${root}/orchestra.yaml" in the same directory ` +
        `takes precedence`,
        `The "orchestra" key of "${root}/deno.json" is ignored: "${root}/orchestra.yaml" in ` +
        `the same directory takes precedence`,
      ]);
    },
  );
});

Deno.test("findConfigFile() reports a deno.json it cannot parse, since it may hold settings", async () => {
  await withTree({ "deno.json": '{ "orchestra": { "workers": 2 ', "a/": "" }, async (root) => {
    const found = await findConfigFile(`${root}/a`);
    assert.equal(found.file?.path, `${root}/deno.json`);
    assert.deepEqual(found.file?.issues, [{
      message: "Invalid JSON: Unexpected end of file",
      location: { file: `${root}/deno.json`, line: 1, col: 31 },
    }]);
  });
});

Deno.test("readConfigFile() keeps the position of every key, value and list item", async () => {
  await withTree(
    { "orchestra.yaml": "# settings\nstateDir: s\npluginDirs:\n  - a\n  - b\n" },
    async (root) => {
      const file = await readConfigFile(`${root}/orchestra.yaml`);
      const path = `${root}/orchestra.yaml`;
      assert.deepEqual(file.entries, [
        {
          key: "stateDir",
          location: { file: path, line: 2, col: 1 },
          value: "s",
          valueLocation: { file: path, line: 2, col: 11 },
        },
        {
          key: "pluginDirs",
          location: { file: path, line: 3, col: 1 },
          value: ["a", "b"],
          valueLocation: { file: path, line: 4, col: 3 },
          itemLocations: [{ file: path, line: 4, col: 5 }, { file: path, line: 5, col: 5 }],
        },
      ]);
    },
  );
});

Deno.test("readConfigFile() reads a plain .json file as the settings object", async () => {
  await withTree({ "settings.json": '{\n  "workers": 3\n}\n' }, async (root) => {
    const file = await readConfigFile(`${root}/settings.json`);
    assert.equal(file.hasSettings, true);
    assert.equal(file.entries[0].value, 3);
    assert.equal(file.entries[0].location.line, 2);
  });
});

Deno.test("readConfigFile() reports YAML syntax errors at their position", async () => {
  await withTree(
    { "orchestra.yaml": "workers: 2\npluginDirs: [a\nlogLevel: info\n" },
    async (root) => {
      const file = await readConfigFile(`${root}/orchestra.yaml`);
      assert.equal(file.entries.length, 0);
      assert.equal(file.issues.length, 1);
      assert.match(file.issues[0].message, /^Invalid YAML: Flow sequence/);
      assert.deepEqual(file.issues[0].location, {
        file: `${root}/orchestra.yaml`,
        line: 3,
        col: 1,
      });
    },
  );
});

Deno.test("readConfigFile() reports a missing file", async () => {
  const file = await readConfigFile("/nonexistent/orchestra.yaml");
  assert.deepEqual(file.issues, [{
    message: 'Cannot read config file "/nonexistent/orchestra.yaml": no such file',
  }]);
});
