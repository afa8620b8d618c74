// The generated JSON Schema checks flow files as an editor would (with a real validator).
import assert from "node:assert/strict";
import Ajv2020 from "ajv/dist/2020.js";
import { parse } from "yaml";
import { flowJsonSchema } from "../../src/loaders/yaml/json_schema.ts";

// deno-lint-ignore no-explicit-any
const ajv = new (Ajv2020 as any)({ strict: false, allErrors: true });
const validate = ajv.compile(flowJsonSchema());

Deno.test("the JSON Schema accepts every YAML example", async () => {
  for await (const e of Deno.readDir("examples")) {
    if (!e.name.endsWith(".yaml")) continue;
    const ok = validate(parse(await Deno.readTextFile(`examples/${e.name}`)));
    assert.ok(ok, `${e.name}: ${JSON.stringify(validate.errors)}`);
  }
  assert.ok(validate(parse(await Deno.readTextFile("examples/shared/steps.yaml"))));
});

Deno.test("the JSON Schema rejects what the loader rejects: unknown keys and wrong types", () => {
  assert.equal(validate(parse("tasks:\n  a:\n    need: [x]\n    run: echo\n")), false);
  assert.ok(
    validate.errors.some((e: { params: { additionalProperty?: string } }) =>
      e.params.additionalProperty === "need"
    ),
  );
  assert.equal(validate(parse("tasks:\n  a:\n    run: 1\n")), false);
  assert.equal(validate(parse("tasks:\n  a:\n    run: x\n    retries: { attempts: 0 }\n")), false);
  assert.equal(validate(parse("workflow:\n  name: x\n  tasks: [{ name: a }]\n")), false);
  assert.ok(validate(parse("workflow:\n  name: x\n  tasks: [{ name: a, plugin: start }]\n")));
});
