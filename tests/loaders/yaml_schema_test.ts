// The generated JSON Schemas check files as an editor would (with a real validator, Ajv 2020).
import assert from "node:assert/strict";
import Ajv2020 from "ajv/dist/2020.js";
import { parse } from "yaml";
import {
  configJsonSchema,
  flowJsonSchema,
  policyJsonSchema,
} from "../../src/loaders/yaml/json_schema.ts";

type Json = Record<string, unknown>;

// deno-lint-ignore no-explicit-any
const ajv = new (Ajv2020 as any)({ strict: false, allErrors: true });
const validate = ajv.compile(flowJsonSchema());
const ok = (yaml: string) => validate(parse(yaml)) as boolean;

async function yamlFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory) out.push(...await yamlFiles(`${dir}/${e.name}`));
    // orchestra serve's tokens file (examples/serve) is YAML but no flow.
    else if (e.name.endsWith(".yaml") && !e.name.endsWith(".tokens.yaml")) {
      out.push(`${dir}/${e.name}`);
    }
  }
  return out;
}

Deno.test("the flow schema accepts every YAML example, in all three forms", async () => {
  const files = await yamlFiles("examples");
  assert.ok(files.includes("examples/github/ci.yaml") && files.includes("examples/matrix.yaml"));
  for (const f of files) {
    assert.ok(
      validate(parse(await Deno.readTextFile(f))),
      `${f}: ${JSON.stringify(validate.errors)}`,
    );
  }
});

Deno.test("the flow schema rejects what the loader rejects: unknown keys and wrong types", () => {
  assert.equal(ok("tasks:\n  a:\n    need: [x]\n    run: echo\n"), false);
  assert.ok(
    validate.errors.some((e: { params: { additionalProperty?: string } }) =>
      e.params.additionalProperty === "need"
    ),
  );
  assert.equal(ok("tasks:\n  a:\n    run: 1\n"), false);
  assert.equal(ok("tasks:\n  a:\n    run: x\n    retries: { attempts: 0 }\n"), false);
  assert.equal(ok("workflow:\n  name: x\n  tasks: [{ name: a }]\n"), false);
  assert.ok(ok("workflow:\n  name: x\n  tasks: [{ name: a, plugin: start }]\n"));
});

Deno.test("the flow schema knows the rules between keys", () => {
  const rejected = {
    "run and uses": "tasks:\n  a: { run: x, uses: log }\n",
    "run and steps": "tasks:\n  a: { run: x, steps: [{ run: y }] }\n",
    "with without uses": "tasks:\n  a: { run: x, with: { a: 1 } }\n",
    "concurrency without foreach": "tasks:\n  a: { run: x, concurrency: 2 }\n",
    "a list entry without an id": "tasks:\n  - run: x\n",
    "a default of another type":
      "params:\n  n: { type: integer, default: two }\ntasks:\n  a: { run: x }\n",
    "an enum value of another type":
      "params:\n  n: { type: string, enum: [1] }\ntasks:\n  a: { run: x }\n",
    "a bare number as a duration": "tasks:\n  a: { run: x, timeout: 5 }\n",
    "a duration without its unit": "tasks:\n  a: { run: x, timeout: '5' }\n",
    "a reusable workflow with steps": "jobs:\n  a: { uses: o/r/x.yml@v1, steps: [{ run: y }] }\n",
  };
  for (const [what, yaml] of Object.entries(rejected)) assert.equal(ok(yaml), false, what);
  const accepted = {
    "numeric task ids": "tasks:\n  1: { run: x }\n  2: { run: y, needs: [1] }\n",
    "a list entry named by name": "tasks:\n  - name: a\n    run: x\n",
    "durations with units, and 0":
      "tasks:\n  a: { run: x, timeout: 1h30m, retries: { delay: 0 } }\n",
    "timeout-minutes": "tasks:\n  a: { run: x, timeout-minutes: 1.5 }\n",
  };
  for (const [what, yaml] of Object.entries(accepted)) {
    assert.ok(ok(yaml), `${what}: ${JSON.stringify(validate.errors)}`);
  }
});

Deno.test("a built-in plugin's with: is checked against its params, through if/then on uses", () => {
  assert.ok(ok("tasks:\n  a: { uses: shell, with: { command: ls, output: text } }\n"));
  assert.ok(ok("tasks:\n  a: { uses: shell@^1, with: { command: ls } }\n"));
  assert.equal(ok("tasks:\n  a: { uses: shell, with: { comand: ls } }\n"), false);
  assert.equal(ok("tasks:\n  a: { uses: sleep, with: { duration: [1] } }\n"), false);
  assert.ok(
    ok("tasks:\n  a: { uses: my-plugin, with: { anything: 1 } }\n"),
    "unknown plugins pass",
  );
});

Deno.test("every property of the flow schema has a description; there is no $id", () => {
  const schema = flowJsonSchema();
  assert.equal(schema.$id, undefined);
  const missing: string[] = [];
  let count = 0;
  // The keys an if/then rule matches on are described where they are declared.
  const walk = (node: unknown, path: string) => {
    if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${path}[${i}]`));
    if (node === null || typeof node !== "object") return;
    const props = (node as { properties?: Record<string, Record<string, unknown>> }).properties;
    const rule = /\/(if|then)$/.test(path);
    for (const [k, v] of Object.entries(rule ? {} : props ?? {})) {
      count++;
      if (typeof v.description !== "string" || v.description === "") missing.push(`${path}.${k}`);
    }
    for (const [k, v] of Object.entries(node)) walk(v, `${path}/${k}`);
  };
  walk(schema, "");
  assert.ok(count > 250, `${count} properties`);
  assert.deepEqual(missing, []);
  const task = (schema.anyOf as { properties: Record<string, Record<string, unknown>> }[])[0]
    .properties.tasks.anyOf as { additionalProperties: { properties: Record<string, Json> } }[];
  const fields = task[0].additionalProperties.properties;
  assert.match(String(fields.timeout.description), /a bare number is refused/);
  assert.match(String(fields["timeout-minutes"].description), /in minutes/);
});

Deno.test("the config and policy schemas check orchestra.yaml and orchestra.policy.yaml", () => {
  const config = ajv.compile(configJsonSchema());
  assert.ok(
    config(parse("state-dir: .state\nconcurrency: 4\npluginDirs: [plugins]\nlogLevel: debug\n")),
  );
  assert.equal(config(parse("concurency: 4\n")), false);
  assert.equal(config(parse("logLevel: loud\n")), false);
  const policy = ajv.compile(policyJsonSchema());
  assert.ok(
    policy(parse(`
default: allow
deny:
  - permissions: { run: true, ffi: true }
    reason: no subprocesses or native code on this host
  - plugin: "community/*"
    permissions: { env: ["AWS_*"] }
allow:
  - flow: "etl-*"
    task: [extract, load]
    permissions: { net: [api.example.com], read: [./data] }
authorization:
  url: https://authz.example.com/orchestra
  timeout: 2s
  onError: deny
`)),
    JSON.stringify(policy.errors),
  );
  assert.equal(policy(parse("default: maybe\n")), false);
  assert.equal(policy(parse("allow: [{ permissions: { disk: true } }]\n")), false);
});
