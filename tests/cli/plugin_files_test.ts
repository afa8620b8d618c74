// Plugins found in folders by versioned names, and `plugins new` inside a clone of Orchestra.
import assert from "node:assert/strict";
import { join } from "node:path";
import { main } from "../../src/cli/main.ts";
import { fakeIo, ROOT } from "./_io.ts";

const plugin = (version: string) =>
  `import { definePlugin } from "@orchestra/orchestra";
export default definePlugin({
  name: "greet",
  version: "${version}",
  description: "Greets.",
  params: { type: "object", properties: { who: { type: "string" } }, required: ["who"] },
  run: (p) => "hello " + p.who + " from ${version}",
});
`;

for (const layout of ["greet@1.2.0.ts", "greet@1.2.0/mod.ts"]) {
  Deno.test(`a plugin found as plugins/${layout} runs`, async () => {
    const dir = await Deno.makeTempDir();
    await Deno.mkdir(join(dir, "plugins", layout, ".."), { recursive: true });
    await Deno.writeTextFile(join(dir, "plugins", layout), plugin("1.2.0"));
    await Deno.writeTextFile(
      join(dir, "flow.yaml"),
      "name: v\ntasks:\n  hi:\n    uses: greet@^1.2\n    with: { who: Ada }\n",
    );
    const io = fakeIo({ cwd: dir });
    const code = await main(["run", "flow.yaml", "--json", "-q"], io);
    assert.equal(code, 0, io.err);
    assert.equal(
      JSON.parse(io.out).result.hi ?? JSON.parse(io.out).tasks[0].result,
      "hello Ada from 1.2.0",
    );
  });
}

Deno.test("plugins new inside a clone of Orchestra does not write into the built-ins' folder", async () => {
  const before = [...Deno.readDirSync(join(ROOT, "plugins"))].map((e) => e.name).sort();
  const io = fakeIo({ cwd: ROOT });
  const code = await main(["plugins", "new", "greet"], io);
  assert.equal(code, 2);
  assert.match(io.err, /\.\/plugins holds Orchestra's built-in plugins; not writing "greet" there/);
  assert.match(io.err, /--dir my_plugins/);
  assert.deepEqual([...Deno.readDirSync(join(ROOT, "plugins"))].map((e) => e.name).sort(), before);
});
