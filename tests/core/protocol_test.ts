import assert from "node:assert/strict";
import {
  callerLocation,
  displayPath,
  FLOW_BRAND,
  flowScopeStorage,
  isFlowDefinition,
  isTaskDefinition,
  PROTOCOL_VERSION,
  TASK_BRAND,
} from "../../src/core/protocol.ts";

Deno.test("the brands are registry symbols every copy of the library shares", () => {
  assert.equal(TASK_BRAND, Symbol.for("orchestra.task"));
  assert.equal(FLOW_BRAND, Symbol.for("orchestra.flow"));
  assert.equal(PROTOCOL_VERSION, 1);
});

Deno.test("isTaskDefinition() recognises branded functions and objects of this version", () => {
  const fn = Object.assign(() => 1, { [TASK_BRAND]: 1, options: { name: "t" }, fn: () => 1 });
  assert.equal(isTaskDefinition(fn), true);
  assert.equal(isTaskDefinition({ [TASK_BRAND]: 1, options: { name: "t" }, fn: () => 1 }), true);
  assert.equal(isTaskDefinition({ [TASK_BRAND]: 2 }), false);
  assert.equal(isTaskDefinition({ [FLOW_BRAND]: 1 }), false);
  assert.equal(isTaskDefinition(() => 1), false);
  assert.equal(isTaskDefinition(null), false);
  assert.equal(isTaskDefinition("task"), false);
});

Deno.test("isFlowDefinition() recognises branded objects of this version", () => {
  assert.equal(isFlowDefinition({ [FLOW_BRAND]: 1, options: { name: "f" }, body: () => 1 }), true);
  assert.equal(isFlowDefinition({ [FLOW_BRAND]: 2 }), false);
  assert.equal(isFlowDefinition({ [TASK_BRAND]: 1 }), false);
  assert.equal(isFlowDefinition(undefined), false);
});

Deno.test("flowScopeStorage() is one storage shared through globalThis", () => {
  const storage = flowScopeStorage();
  assert.equal(flowScopeStorage(), storage);
  assert.equal(
    (globalThis as unknown as Record<symbol, unknown>)[Symbol.for("orchestra.scope.v1")],
    storage,
  );
  const scope = { protocol: 1, call: () => "ref" };
  assert.equal(storage.getStore(), undefined);
  assert.equal(storage.run(scope, () => storage.getStore()), scope);
});

Deno.test("displayPath() shows files below the working directory relative to it", () => {
  const cwd = Deno.cwd();
  assert.equal(displayPath(`file://${cwd}/flows/etl.ts`), "flows/etl.ts");
  assert.equal(displayPath("file:///elsewhere/x%20y.ts"), "/elsewhere/x y.ts");
  assert.equal(displayPath("https://example.com/flow.ts"), "https://example.com/flow.ts");
});

Deno.test("callerLocation() points at the caller outside the library", () => {
  const loc = callerLocation();
  assert.ok(loc);
  assert.match(loc.file, /tests\/core\/protocol_test\.ts$/);
  assert.ok(loc.line > 0 && loc.col > 0);
});
