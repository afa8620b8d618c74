// Escape attempts against masking: secret values that are JSON syntax, pattern syntax or single
// letters. Each must neither crash the run nor leave the record invalid, and the value must
// not show where it stands as itself.
import assert from "node:assert/strict";
import { flow, task, type TaskContext } from "../../mod.ts";
import { main } from "../../src/cli/main.ts";
import { fakeIo } from "../cli/_io.ts";

const reveal = task(
  { name: "reveal", secrets: ["S"] },
  (ctx: TaskContext) => {
    const s = ctx.secret("S");
    ctx.log.info(`the secret is ${s}`, { secret: s, attempt: 1, nested: { list: [s, "keep"] } });
    return { value: s, sentence: `value ${s} here`, count: 1, json: JSON.stringify({ s }) };
  },
);

async function runWith(secret: string) {
  return await flow("short", () => reveal()).run({}, { secrets: () => secret });
}

/** Values that are JSON syntax, pattern syntax, or a letter found in every word. */
const SHORT_SECRETS = [
  "1",
  ":",
  '"',
  "{",
  "}",
  "[",
  ",",
  "e",
  "\\",
  "*",
  "(",
  "$&",
];

for (const secret of SHORT_SECRETS) {
  Deno.test(`escape attempt: a secret of ${JSON.stringify(secret)} neither crashes the run nor stays visible`, async () => {
    const record = await runWith(secret);
    assert.equal(record.status, "succeeded", record.error);
    const result = record.result as Record<string, unknown>;
    assert.equal(result.value, "***", "the value itself is masked");
    assert.equal(result.sentence, "value *** here", "standing as a token, it is masked");
    assert.equal(result.count, 1, "numbers keep their type");
    const log = record.tasks[0].logs![0];
    assert.equal(log.message, "the secret is ***");
    assert.deepEqual(log.props, { secret: "***", attempt: 1, nested: { list: ["***", "keep"] } });
    // The record still serialises and reads back.
    assert.deepEqual(JSON.parse(JSON.stringify(record)).result.count, 1);
  });
}

Deno.test("escape attempt: a one-letter secret is masked where it stands alone, not inside words", async () => {
  const record = await runWith("e");
  const result = record.result as Record<string, unknown>;
  assert.equal(record.tasks[0].status, "succeeded");
  assert.equal(result.value, "***");
  // "succeeded", "reveal", "here" keep their letters: the output stays readable.
  assert.equal(record.tasks[0].id, "reveal");
  assert.equal(record.status, "succeeded");
  assert.equal(result.sentence, "value *** here");
});

Deno.test("escape attempt: a JSON-syntax secret through the CLI (--secrets-file, YAML, --json) ends the run with a valid record", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/.secrets`, 'S="{"\nQ=":"\n');
    await Deno.writeTextFile(
      `${dir}/flow.yaml`,
      "tasks:\n  show:\n    output: json\n" +
        "    run: echo ${{ secrets.S }} ${{ secrets.Q }} >&2; echo '[1, 2]'\n",
    );
    const io = fakeIo({ cwd: dir });
    const args = ["run", "flow.yaml", "--secrets-file", ".secrets", "--json", "--state-dir", dir];
    const code = await main(args, io);
    assert.equal(code, 0, io.err);
    const doc = JSON.parse(io.out);
    assert.equal(doc.status, "succeeded");
    assert.deepEqual(doc.result, { show: [1, 2] });
    assert.match(io.err, /\*\*\* \*\*\*/, "the task's output shows both values masked");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
