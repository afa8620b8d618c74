// The types a library user touches, checked by `deno task check`: each `@ts-expect-error` line
// must be an error, or the check fails. The tests also run what the types promise.
import assert from "node:assert/strict";
import { z } from "zod";
import {
  definePlugin,
  flow,
  ParamsValidationError,
  type PluginParams,
  type PluginResult,
  type RunRecord,
  task,
  type TaskRef,
  usePlugin,
} from "@orchestra/orchestra";
import { http, type HttpResult, log, sleep } from "@orchestra/orchestra/plugins";
import { runFlow, type TestRun } from "@orchestra/orchestra/testing";

export const greet = definePlugin({
  name: "greet",
  version: "1.0.0",
  description: "Greets.",
  params: z.object({ who: z.string(), greeting: z.string().default("hello") }),
  run: (p) => `${p.greeting}, ${p.who}`,
});

const add = task("add", (a: number, b: number) => a + b);
const sum = flow("sum", () => ({ total: add(1, 2) }));
const typed = flow(
  { name: "typed", params: { n: { type: "integer", required: true } } },
  (_f, p) => add(p.n, 1),
);

Deno.test("usePlugin params are the plugin's schema input: required fields required", () => {
  const _checks = flow("checks", () => {
    const a: TaskRef<string> = usePlugin(greet, { who: "Ada" }); // greeting has a default
    usePlugin(greet, { who: a }); // a reference to a string is a string
    // @ts-expect-error: "who" is required
    usePlugin(greet, {});
    // @ts-expect-error: "who" is a string
    usePlugin(greet, { who: 42 });
    // @ts-expect-error: no such param
    usePlugin(greet, { who: "Ada", greting: "hi" });
    // @ts-expect-error: the result is a string
    const _n: TaskRef<number> = usePlugin(greet, { who: "Ada" });
    const said: TaskRef<string> = usePlugin(log, { message: "hi" }); // level has a default
    // @ts-expect-error: "message" is required
    usePlugin(log, { level: "info" });
    // @ts-expect-error: not a level
    usePlugin("log", { message: "hi", level: "loud" });
    const slept: TaskRef<number> = usePlugin("sleep", { duration: "10ms" });
    usePlugin(sleep, { duration: slept });
    const response: TaskRef<HttpResult> = usePlugin(http, { url: "https://example.com" });
    // @ts-expect-error: "url" is required
    usePlugin("http", { method: "GET" });
    return { said, response };
  });
  const params: PluginParams<typeof greet> = { who: "Ada" };
  const result: PluginResult<typeof greet> = "hello, Ada";
  assert.equal(params.who + result, "Adahello, Ada");
});

Deno.test("the run record is a union by status: result is typed once it succeeded", async () => {
  const record: RunRecord<{ total: number }> = await sum.run();
  // @ts-expect-error: result may be undefined until status says succeeded
  record.result.total;
  if (record.status !== "succeeded") throw new Error(record.error ?? "cancelled");
  const total: number = record.result.total;
  assert.equal(total, 3);
  const tested: TestRun<{ total: number }> = await runFlow(sum);
  assert.equal(tested.status === "succeeded" && tested.result.total, 3);
});

Deno.test("params for a flow that declares none, and unknown run() options, are errors", async () => {
  // @ts-expect-error: sum takes no params
  await assert.rejects(sum.run({ n: 1 }), (e: unknown) => {
    assert.ok(e instanceof ParamsValidationError);
    assert.match(e.message, /Unknown param "n"/);
    assert.match(e.issues[0].hint ?? "", /this flow takes no params/);
    return true;
  });
  // @ts-expect-error: no such option
  await assert.rejects(sum.run({}, { concurency: 2 }), (e: unknown) => {
    assert.ok(e instanceof TypeError);
    assert.match(
      e.message,
      /flow\("sum"\)\.run\(\): unknown option "concurency" \(did you mean "concurrency"\?\)/,
    );
    return true;
  });
  // @ts-expect-error: "n" is an integer
  await assert.rejects(typed.run({ n: "1" }), ParamsValidationError);
  const ok = await typed.run({ n: 2 }, { concurrency: 1 });
  assert.equal(ok.status === "succeeded" && ok.result, 3);
});
