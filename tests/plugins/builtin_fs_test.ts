import assert from "node:assert/strict";
import { join } from "node:path";
import fs, { globToRegExp } from "../../plugins/fs.ts";
import type { PermissionSet } from "../../src/core/permissions.ts";
import {
  parsePluginParams,
  type PluginDefinition,
  pluginManifest,
  pluginPermissions,
} from "../../src/plugins/contract.ts";
import { runPlugin, runPluginInWorker } from "../../testing.ts";

// pluginManifest() and pluginPermissions() take a PluginDefinition<Record<string, unknown>>,
// which a plugin whose params type is an interface (no index signature) is not: they need a cast.
const untyped = fs as unknown as PluginDefinition;

/** A temporary flow directory with a few files; removed afterwards. */
async function withTree(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "orchestra-fs-" });
  try {
    await Deno.mkdir(join(dir, "data/2024"), { recursive: true });
    await Deno.mkdir(join(dir, "src/lib"), { recursive: true });
    await Deno.writeTextFile(join(dir, "data/a.csv"), "x\n1\n");
    await Deno.writeTextFile(join(dir, "data/b.json"), '{"n": 2}');
    await Deno.writeTextFile(join(dir, "data/2024/c.csv"), "x\n3\n");
    await Deno.writeTextFile(join(dir, "data/.hidden.csv"), "");
    await Deno.writeTextFile(join(dir, "src/main.ts"), "");
    await Deno.writeTextFile(join(dir, "src/lib/util.ts"), "");
    await Deno.writeTextFile(join(dir, "src/lib/util.js"), "");
    await Deno.writeTextFile(join(dir, "secret.txt"), "not for the plugin");
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

// These tests look at the result alone (fs logs nothing).
const run = async (params: Record<string, unknown>, dir: string) =>
  (await runPlugin(fs, params, { dir })).result;

Deno.test("fs reads text or JSON, relative to the flow's directory", async () => {
  await withTree(async (dir) => {
    assert.equal(await run({ op: "read", path: "data/a.csv" }, dir), "x\n1\n");
    assert.deepEqual(await run({ op: "read", path: "data/b.json", format: "json" }, dir), { n: 2 });
    assert.equal(await run({ op: "read", path: join(dir, "data/a.csv") }, "/"), "x\n1\n");
    await assert.rejects(
      run({ op: "read", path: "data/a.csv", format: "json" }, dir),
      (e: Error) => e.name === "SyntaxError" && e.message.includes(`${dir}/data/a.csv is not JSON`),
    );
    await assert.rejects(run({ op: "read", path: "nope.txt" }, dir), Deno.errors.NotFound);
  });
});

Deno.test("fs writes strings as they are and other values as JSON; appends; makes parents", async () => {
  await withTree(async (dir) => {
    assert.deepEqual(await run({ op: "write", path: "out.txt", content: "héllo\n" }, dir), {
      path: join(dir, "out.txt"),
      bytes: 7,
    });
    await run({ op: "write", path: "out.txt", content: "more\n", append: true }, dir);
    assert.equal(await Deno.readTextFile(join(dir, "out.txt")), "héllo\nmore\n");
    await run({ op: "write", path: "out.json", content: { a: [1] } }, dir);
    assert.equal(await Deno.readTextFile(join(dir, "out.json")), '{\n  "a": [\n    1\n  ]\n}\n');
    await assert.rejects(
      run({ op: "write", path: "new/dir/r.txt", content: "x" }, dir),
      Deno.errors.NotFound,
    );
    await run({ op: "write", path: "new/dir/r.txt", content: "x", parents: true }, dir);
    assert.equal(await Deno.readTextFile(join(dir, "new/dir/r.txt")), "x");
  });
});

Deno.test("fs copies a file, or a directory with everything in it", async () => {
  await withTree(async (dir) => {
    assert.deepEqual(await run({ op: "copy", path: "data/a.csv", to: "a2.csv" }, dir), {
      from: join(dir, "data/a.csv"),
      to: join(dir, "a2.csv"),
      files: 1,
    });
    assert.equal(await Deno.readTextFile(join(dir, "a2.csv")), "x\n1\n");
    const r = await run({ op: "copy", path: "data", to: "backup/data", parents: true }, dir) as {
      files: number;
    };
    assert.equal(r.files, 4);
    assert.equal(await Deno.readTextFile(join(dir, "backup/data/2024/c.csv")), "x\n3\n");
  });
});

Deno.test("fs lists a directory's names, sorted, or with details", async () => {
  await withTree(async (dir) => {
    assert.deepEqual(await run({ op: "list", path: "data" }, dir), [
      ".hidden.csv",
      "2024",
      "a.csv",
      "b.json",
    ]);
    assert.deepEqual(await run({ op: "list", path: "data", details: true }, dir), [
      { name: ".hidden.csv", type: "file", size: 0 },
      { name: "2024", type: "dir", size: null },
      { name: "a.csv", type: "file", size: 4 },
      { name: "b.json", type: "file", size: 8 },
    ]);
  });
});

Deno.test("fs globs with *, **, ?, {a,b} and [..], relative to the path searched", async () => {
  await withTree(async (dir) => {
    const glob = (pattern: string, extra: Record<string, unknown> = {}) =>
      run({ op: "glob", pattern, ...extra }, dir);
    assert.deepEqual(await glob("data/*.csv"), ["data/a.csv"]);
    assert.deepEqual(await glob("data/**/*.csv"), ["data/2024/c.csv", "data/a.csv"]);
    assert.deepEqual(await glob("**/*.csv", { dot: true }), [
      "data/.hidden.csv",
      "data/2024/c.csv",
      "data/a.csv",
    ]);
    assert.deepEqual(await glob("src/**/*.{ts,js}"), [
      "src/lib/util.js",
      "src/lib/util.ts",
      "src/main.ts",
    ]);
    assert.deepEqual(await glob("*.csv", { path: "data" }), ["a.csv"]);
    assert.deepEqual(await glob("data/?.csv"), ["data/a.csv"]);
    assert.deepEqual(await glob("data/[ab].*"), ["data/a.csv", "data/b.json"]);
    assert.deepEqual(await glob("data/*"), ["data/2024", "data/a.csv", "data/b.json"]);
    assert.deepEqual(await glob("nothing/**"), []);
    await assert.rejects(glob("../*"), /must stay inside `path`/);
    await assert.rejects(glob("/etc/*"), /must stay inside `path`/);
  });
});

Deno.test("globToRegExp(): names, directories, alternatives and dots", () => {
  const t = (pattern: string, path: string, dot = false) =>
    globToRegExp(pattern, { dot }).test(path);
  assert.ok(t("*.ts", "a.ts"));
  assert.ok(!t("*.ts", "a/b.ts"), "* stays within a name");
  assert.ok(t("**/*.ts", "b.ts") && t("**/*.ts", "a/b/c.ts"));
  assert.ok(t("a/**", "a/b/c") && !t("a/**", "b/c"));
  assert.ok(t("{src,test}/*.ts", "test/x.ts") && !t("{src,test}/*.ts", "lib/x.ts"));
  assert.ok(t("x.{a,b{c,d}}", "x.bd"));
  assert.ok(!t("*", ".env") && t("*", ".env", true) && t(".env", ".env"));
  assert.ok(!t("**/x", ".git/x") && t("**/x", ".git/x", true));
  assert.ok(t("file[0-9].txt", "file7.txt") && !t("file[!0-9].txt", "file7.txt"));
  assert.ok(t("a+b(1).txt", "a+b(1).txt"), "regular expression characters are literal");
  assert.throws(() => globToRegExp("{a,b"), /unclosed/);
});

Deno.test("fs checks whether a path exists, removes, and makes directories", async () => {
  await withTree(async (dir) => {
    assert.equal(await run({ op: "exists", path: "data/a.csv" }, dir), true);
    assert.equal(await run({ op: "exists", path: "data/z.csv" }, dir), false);
    assert.equal(await run({ op: "remove", path: "data/a.csv" }, dir), true);
    assert.equal(await run({ op: "remove", path: "data/a.csv" }, dir), false);
    await assert.rejects(run({ op: "remove", path: "data" }, dir));
    assert.equal(await run({ op: "remove", path: "data", recursive: true }, dir), true);
    assert.deepEqual(await run({ op: "mkdir", path: "x/y", parents: true }, dir), {
      path: join(dir, "x/y"),
    });
    assert.ok((await Deno.stat(join(dir, "x/y"))).isDirectory);
  });
});

Deno.test("fs's params: each op says what it needs", () => {
  const problems = (params: Record<string, unknown>) => {
    const r = parsePluginParams(fs, params);
    return r.ok ? [] : r.problems.map((p) => `${p.path.join(".")}: ${p.message}`);
  };
  assert.deepEqual(problems({ op: "copy", path: "a" }), ['to: op "copy" needs `to`']);
  assert.deepEqual(problems({ op: "write", path: "a" }), ['content: op "write" needs `content`']);
  assert.deepEqual(problems({ op: "glob" }), ['pattern: op "glob" needs `pattern`']);
  assert.deepEqual(problems({ op: "read" }), ['path: op "read" needs `path`']);
  assert.equal(problems({ op: "move", path: "a" }).length, 1);
  assert.deepEqual(problems({ op: "glob", pattern: "*" }), []);
});

Deno.test("fs asks for exactly the paths its operation touches, from the flow's directory", () => {
  const env = { dir: "/flows/etl" };
  const perms = (params: Record<string, unknown>) => pluginPermissions(untyped, params, env);
  assert.deepEqual(perms({ op: "read", path: "data/a.csv" }), { read: ["/flows/etl/data/a.csv"] });
  assert.deepEqual(perms({ op: "list", path: "/srv/in" }), { read: ["/srv/in"] });
  assert.deepEqual(perms({ op: "glob", pattern: "**" }), { read: ["/flows/etl"] });
  assert.deepEqual(perms({ op: "glob", path: "../shared", pattern: "*" }), {
    read: ["/flows/shared"],
  });
  assert.deepEqual(perms({ op: "exists", path: "x" }), { read: ["/flows/etl/x"] });
  assert.deepEqual(perms({ op: "write", path: "out/r.json", content: 1 }), {
    read: ["/flows/etl/out/r.json"],
    write: ["/flows/etl/out/r.json"],
  });
  assert.deepEqual(perms({ op: "write", path: "out/r.json", content: 1, parents: true }), {
    read: ["/flows/etl/out/r.json"],
    write: ["/flows/etl/out"],
  });
  assert.deepEqual(perms({ op: "copy", path: "a", to: "/tmp/b" }), {
    read: ["/flows/etl/a", "/tmp/b"],
    write: ["/tmp/b"],
  });
  assert.deepEqual(perms({ op: "remove", path: "tmp" }), { write: ["/flows/etl/tmp"] });
  assert.deepEqual(perms({ op: "mkdir", path: "a/b" }), { write: ["/flows/etl/a/b"] });
  assert.throws(
    () => perms({ op: "read", path: "${{ params.file }}" }),
    /known only when the task runs/,
  );
  const m = pluginManifest(untyped);
  assert.equal(m.permissions, "computed");
  assert.ok(m.docs!.includes("| `glob` |"));
});

Deno.test("fs runs in a worker with only its grant; other paths are refused", async () => {
  await withTree(async (dir) => {
    // Without a grant, the worker gets what fs asks for with these params.
    const call = async (params: Record<string, unknown>, grant?: PermissionSet) =>
      (await runPluginInWorker(fs, params, { dir, grant })).result;
    assert.equal(await call({ op: "read", path: "data/a.csv" }), "x\n1\n");
    assert.deepEqual(await call({ op: "glob", path: "data", pattern: "**/*.csv" }), [
      "2024/c.csv",
      "a.csv",
    ]);
    const grant = pluginPermissions(untyped, { op: "list", path: "data" }, { dir });
    await assert.rejects(
      call({ op: "read", path: "secret.txt" }, grant),
      (e: Error) => {
        assert.equal(e.name, "NotCapable");
        assert.match(e.message, /Requires read access to ".*\/secret\.txt"/);
        return true;
      },
    );
    await assert.rejects(
      call({ op: "write", path: "data/x.txt", content: "x" }, grant),
      /Requires write access/,
    );
    await assert.rejects(Deno.stat(join(dir, "data/x.txt")), Deno.errors.NotFound);
  });
});

Deno.test("fs refuses to copy a directory into itself (it would never end)", async () => {
  await withTree(async (dir) => {
    await assert.rejects(
      run({ op: "copy", path: "data", to: "data/backup" }, dir),
      /fs cannot copy ".*\/data" into ".*\/data\/backup", which is inside it/,
    );
  });
});

Deno.test("fs refuses a file with more than one hard link, also in-process", async () => {
  await withTree(async (dir) => {
    await Deno.link(join(dir, "secret.txt"), join(dir, "data/alias.txt"));
    await assert.rejects(
      run({ op: "read", path: "data/alias.txt" }, dir),
      (e: Error) => e.name === "FsLinkError" && /the file has 2 hard links/.test(e.message),
    );
    await assert.rejects(
      run({ op: "write", path: "data/alias.txt", content: "x" }, dir),
      /fs refuses to write ".*alias\.txt": the file has 2 hard links/,
    );
    assert.equal(await Deno.readTextFile(join(dir, "secret.txt")), "not for the plugin");
  });
});
