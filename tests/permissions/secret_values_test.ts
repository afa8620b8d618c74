import assert from "node:assert/strict";
import { Sealer } from "../../src/permissions/encrypted.ts";
import { SecretValues } from "../../src/permissions/secret_values.ts";

Deno.test("SecretValues.maskValue() masks strings, object keys and numbers, sharing what it leaves", () => {
  const s = new SecretValues();
  const untouched = { a: [1, 2], b: "fine" };
  assert.deepEqual(s.maskValue(untouched), { value: untouched, masked: false }, "none known yet");
  s.add("hunter2");
  s.add("424242");
  s.add("");
  assert.equal(s.size, 2, "the empty string is no secret");
  const value = { hunter2: "pw hunter2", n: 424242, list: ["x", 424242.5], keep: untouched };
  const m = s.maskValue(value);
  assert.equal(m.masked, true);
  assert.deepEqual(m.value, { "***": "pw ***", n: "***", list: ["x", "***"], keep: untouched });
  assert.equal((m.value as { keep: unknown }).keep, untouched, "not copied");
  assert.deepEqual(value.list, ["x", 424242.5], "the input is not changed");
});

Deno.test("Sealer seals a value with its secrets; another key cannot open it", async () => {
  const sealed = await new Sealer("key one").seal({ t: "tok" }, ["tok"]);
  assert.deepEqual(await new Sealer("key one").unseal(sealed), {
    value: { t: "tok" },
    secrets: ["tok"],
  });
  await assert.rejects(
    new Sealer("key two").unseal(sealed),
    /is not the key it was encrypted with/,
  );
  await assert.rejects(new Sealer("").seal(1, []), /set ORCHESTRA_SECRET_KEY/);
});
