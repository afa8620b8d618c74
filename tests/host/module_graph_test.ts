// The module graph the host reads before loading a flow, and what it lets the flow import.
import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";
import type { FlowGraph } from "../../src/core/model.ts";
import { scanModuleGraph } from "../../src/host/module_graph.ts";
import {
  dynamicImportIssues,
  importCovers,
  staticImportIssues,
  uncoveredImports,
  unsandboxedImportIssues,
} from "../../src/host/remote_imports.ts";
import { ROOT } from "../cli/_io.ts";

async function project(files: Record<string, string>): Promise<string> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "orchestra_graph_" }));
  for (const [name, text] of Object.entries(files)) {
    await Deno.mkdir(`${dir}/${name}`.replace(/\/[^/]+$/, ""), { recursive: true });
    await Deno.writeTextFile(`${dir}/${name}`, text);
  }
  return dir;
}

const LIB = JSON.stringify(pathToFileURL(`${ROOT}/mod.ts`).href);

Deno.test("scanModuleGraph lists the local modules and the remote imports, with where they are", async () => {
  const dir = await project({
    "flow.ts": `import { flow } from ${LIB};
import { helper } from "./lib/helper.ts";
import type { Shape } from "./lib/types.ts";
import x from "https://example.com/x.ts";
export { y } from "jsr:@std/path";
import "npm:left-pad@1.3.0";
import z from "yaml";
export const later = async () => await import("http://127.0.0.1:8911/m.js");
export const computed = async (u: string) => await import(u);
export default flow("f", () => helper());
`,
    "lib/helper.ts": `export const helper = <T,>(v?: T) => v;\n`,
    "lib/types.ts": `export type Shape = { a: string };\n`,
  });
  try {
    const g = await scanModuleGraph(pathToFileURL(`${dir}/flow.ts`).href);
    assert.deepEqual(g.files.sort(), [
      `${dir}/flow.ts`,
      `${dir}/lib/helper.ts`,
      `${dir}/lib/types.ts`,
    ]);
    assert.ok(g.modules.has(pathToFileURL(`${ROOT}/mod.ts`).href), "Orchestra's own is known");
    assert.deepEqual(
      g.remote.map((r) => [r.specifier, r.host, r.kind, r.location.line]),
      [
        ["https://example.com/x.ts", "example.com:443", "static", 4],
        ["jsr:@std/path", "jsr.io", "static", 5],
        ["http://127.0.0.1:8911/m.js", "127.0.0.1:8911", "dynamic", 8],
      ],
    );
    assert.deepEqual(g.unheld.map((r) => r.specifier), ["npm:left-pad@1.3.0"]);
    assert.equal(g.remote[2].location.col, 40, "where import( is");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("static remote imports and npm packages Orchestra does not hold are refused, with the fix", async () => {
  const dir = await project({
    "flow.ts": `import x from "https://deno.land/std/x.ts";\nimport "npm:left-pad@1.3.0";\n` +
      `import { z } from "zod";\nexport default x;\n`,
  });
  try {
    const g = await scanModuleGraph(pathToFileURL(`${dir}/flow.ts`).href);
    const issues = staticImportIssues(g);
    assert.equal(issues.length, 2, "zod is Orchestra's own (in its lock file)");
    assert.match(
      issues[0].message,
      /npm:left-pad@1\.3\.0 is an npm package Orchestra does not hold/,
    );
    assert.match(
      issues[1].message,
      /imports remote code "https:\/\/deno\.land\/std\/x\.ts" as it loads/,
    );
    assert.match(issues[1].hint!, /permissions: \{ import: \["deno\.land"\] \}/);
    assert.deepEqual(issues[1].location, { file: `${dir}/flow.ts`, line: 1, col: 1 });
    assert.equal(unsandboxedImportIssues(g, "f").length, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a literal remote import is allowed where a worker task of a module reaching it is granted its host", async () => {
  const dir = await project({
    "flow.ts": `import "./tasks.ts";\nexport default 1;\n`,
    "tasks.ts": `export const t = async () => await import("https://esm.sh/p@1");\n`,
  });
  try {
    const g = await scanModuleGraph(pathToFileURL(`${dir}/flow.ts`).href);
    const tasks = pathToFileURL(`${dir}/tasks.ts`).href;
    const graph = (permissions: Record<string, unknown> | undefined, module = tasks) =>
      ({
        name: "f",
        issues: [],
        nodes: [{
          id: "t",
          name: "t",
          kind: "task",
          needs: [],
          module,
          config: { executor: "worker", permissions, secrets: [] },
        }],
      }) as unknown as FlowGraph;
    assert.deepEqual(dynamicImportIssues(g, graph({ import: ["esm.sh"] }), false), []);
    const none = dynamicImportIssues(g, graph(undefined), false);
    assert.match(
      none[0].message,
      /no task that runs in a worker from it is granted import of "esm\.sh"/,
    );
    assert.match(none[0].hint!, /permissions: \{ import: \["esm\.sh"\] \}/);
    // A worker of the flow module loads tasks.ts too, so its task may be the one granted.
    const flowUrl = pathToFileURL(`${dir}/flow.ts`).href;
    assert.deepEqual(dynamicImportIssues(g, graph({ import: ["esm.sh"] }, flowUrl), false), []);
    const locked = dynamicImportIssues(g, graph({ import: ["esm.sh"] }), true);
    assert.match(locked[0].message, /runs with a lock file it would write the import into/);
    assert.match(locked[0].hint!, /--no-lock/);
    assert.equal(uncoveredImports(g, flowUrl, { import: ["esm.sh:443"] }).length, 0);
    assert.equal(uncoveredImports(g, flowUrl, { net: ["esm.sh"] }).length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("importCovers follows Deno's host rules", () => {
  assert.ok(importCovers({ import: ["deno.land"] }, "deno.land:443"));
  assert.ok(importCovers({ import: ["*.example.com"] }, "cdn.example.com:443"));
  assert.ok(importCovers({ import: true }, "anything:1"));
  assert.ok(!importCovers({ import: ["127.0.0.1:1"] }, "127.0.0.1:2"));
  assert.ok(!importCovers(undefined, "deno.land:443"));
});
