// The README states how many escape attempts the security suite holds (and that none escapes)
// and how many known limitations it pins. This test counts them in tests/security/ and checks
// the README's figures, so adding a case without saying so fails here.
//
// What counts: every `Deno.test` whose name starts with "escape attempt" (or "known
// limitation"). A name built in a loop (`for (const x of TABLE)`) counts once per entry of
// TABLE, an array literal with one entry per line at two spaces of indentation.
import assert from "node:assert/strict";
import { ROOT } from "../cli/_io.ts";

const DIR = `${ROOT}/tests/security`;

/** The first argument of each `Deno.test(` in `text`, with where it is. */
function testNames(text: string): { name: string; at: number }[] {
  const out: { name: string; at: number }[] = [];
  const re = /Deno\.test\(\s*(["'`])/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const quote = m[1];
    let i = re.lastIndex;
    let name = "";
    for (; i < text.length && text[i] !== quote; i++) {
      if (text[i] === "\\") name += text[++i];
      else name += text[i];
    }
    out.push({ name, at: m.index });
  }
  return out;
}

/** How many entries the array `table` declared in `text` has. */
function tableLength(text: string, table: string, file: string): number {
  const start = new RegExp(`const ${table}\\b[\\s\\S]*?=\\s*\\[\\n`).exec(text);
  assert.ok(start, `${file}: cannot find the table ${table}`);
  const end = text.indexOf("\n];", start.index);
  const body = text.slice(start.index + start[0].length, end);
  return body.split("\n").filter((line) => /^ {2}[^\s\]})]/.test(line)).length;
}

function count(text: string, prefix: string, file: string): number {
  let n = 0;
  for (const { name, at } of testNames(text)) {
    if (!name.startsWith(prefix)) continue;
    if (!name.includes("${")) {
      n++;
      continue;
    }
    const loops = [...text.slice(0, at).matchAll(/for \(const \w+ of (\w+)\)/g)];
    assert.ok(loops.length, `${file}: "${name}" is built from no table`);
    n += tableLength(text, loops[loops.length - 1][1], file);
  }
  return n;
}

async function suite(): Promise<{ attempts: number; limitations: number }> {
  let attempts = 0;
  let limitations = 0;
  for await (const entry of Deno.readDir(DIR)) {
    // This file holds counter examples, not cases.
    if (!entry.name.endsWith("_test.ts") || entry.name === "readme_figure_test.ts") continue;
    const text = await Deno.readTextFile(`${DIR}/${entry.name}`);
    attempts += count(text, "escape attempt", entry.name);
    limitations += count(text, "known limitation", entry.name);
  }
  return { attempts, limitations };
}

Deno.test("the README states how many escape attempts the security suite holds, and its limitations", async () => {
  const { attempts, limitations } = await suite();
  const readme = await Deno.readTextFile(`${ROOT}/README.md`);
  const stated = /holds\s+(\d+)\s+escape\s+attempts,\s+and\s+none\s+escapes/.exec(readme);
  assert.ok(stated, 'the README says "holds N escape attempts, and none escapes"');
  assert.equal(Number(stated[1]), attempts, "the README's figure matches tests/security/");
  const pinned = /(\d+)\s+known\s+limitations/.exec(readme);
  assert.ok(pinned, 'the README says "N known limitations"');
  assert.equal(Number(pinned[1]), limitations, "the README's figure matches tests/security/");
});

Deno.test("the escape-attempt counter counts literal names and table rows", () => {
  const text = [
    "const ROWS = [",
    "  {",
    '    name: "a",',
    "  },",
    '  { name: "b" },',
    "];",
    "for (const r of ROWS) {",
    "  Deno.test(`escape attempt: ${r.name}`, () => {});",
    "}",
    'Deno.test("escape attempt: one more", () => {});',
    'Deno.test("known limitation: pinned", () => {});',
    'Deno.test("a control", () => {});',
  ].join("\n");
  assert.equal(count(text, "escape attempt", "t"), 3);
  assert.equal(count(text, "known limitation", "t"), 1);
});
