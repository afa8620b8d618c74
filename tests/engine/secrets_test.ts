import assert from "node:assert/strict";
import { RunSecrets } from "../../src/engine/secrets.ts";

const task = { id: "login", config: { secrets: ["TOKEN"] } };

Deno.test("RunSecrets give a task only the secrets it declared", () => {
  const secrets = new RunSecrets((name) => name === "TOKEN" ? "s3cret-value" : "other");
  assert.equal(secrets.read(task, "TOKEN"), "s3cret-value");
  assert.throws(() => secrets.read(task, "OTHER"), /does not declare it; add secrets: \["OTHER"\]/);
});

Deno.test("RunSecrets say which secret is not set and where to set it", () => {
  const secrets = new RunSecrets(() => undefined);
  assert.throws(() => secrets.read(task, "TOKEN"), /Secret "TOKEN" of task "login" is not set/);
});

Deno.test("RunSecrets mask every value read or revealed, in text and JSON values", () => {
  const secrets = new RunSecrets(() => "s3cret-value");
  assert.equal(secrets.masking, false);
  assert.equal(secrets.mask("s3cret-value"), "s3cret-value");
  secrets.read(task, "TOKEN");
  secrets.reveal("decrypted-thing");
  assert.equal(secrets.masking, true);
  assert.equal(secrets.mask("a s3cret-value b decrypted-thing"), "a *** b ***");
  assert.deepEqual(secrets.maskValue({ x: ["s3cret-value"] }), { x: ["***"] });
});
