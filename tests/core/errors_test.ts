import assert from "node:assert/strict";
import {
  errorMessage,
  FlowValidationError,
  formatIssue,
  formatLocation,
  formatMs,
  MapLimitError,
  NotJsonError,
  OrchestraError,
  ParamsValidationError,
  RunCancelledError,
  TaskFailedError,
  TaskSkippedError,
  TaskTimeoutError,
} from "../../src/core/errors.ts";

Deno.test("every domain error is an OrchestraError with its own name", () => {
  const errors = [
    new OrchestraError("x"),
    new FlowValidationError("f", [{ message: "m" }]),
    new ParamsValidationError("f", [{ message: "m" }]),
    new TaskFailedError("r", "t", 1, new Error("c")),
    new TaskSkippedError("t", "why"),
    new TaskTimeoutError("t", 10),
    new RunCancelledError("r"),
    new NotJsonError("t", "result", "a Date", "hint"),
    new MapLimitError("t", 5, 3),
  ];
  assert.deepEqual(errors.map((e) => e.name), [
    "OrchestraError",
    "FlowValidationError",
    "ParamsValidationError",
    "TaskFailedError",
    "TaskSkippedError",
    "TaskTimeoutError",
    "RunCancelledError",
    "NotJsonError",
    "MapLimitError",
  ]);
  assert.ok(errors.every((e) => e instanceof OrchestraError && e instanceof Error));
});

Deno.test("TaskFailedError keeps the cause and counts attempts in words", () => {
  const cause = new Error("disk full");
  const one = new TaskFailedError("run", "save", 1, cause);
  assert.equal(one.message, 'Task "save" failed after 1 attempt: disk full');
  assert.equal(one.cause, cause);
  assert.equal(one.runId, "run");
  assert.equal(one.taskId, "save");
  assert.equal(new TaskFailedError("run", "save", 3, "oops").message.includes("3 attempts"), true);
});

Deno.test("FlowValidationError lists every issue with location and hint", () => {
  const err = new FlowValidationError("etl", [
    { message: 'Task "b" needs unknown task "x"', location: { file: "f.ts", line: 3, col: 5 } },
    { message: "Cycle: a → b → a", hint: "remove one of these dependencies" },
  ]);
  assert.equal(
    err.message,
    'Flow "etl" is invalid (2 problems):\n' +
      '  - f.ts:3:5: Task "b" needs unknown task "x"\n' +
      "  - Cycle: a → b → a\n    hint: remove one of these dependencies",
  );
  assert.equal(err.flow, "etl");
  assert.equal(
    new FlowValidationError("f", [{ message: "m" }]).message.includes("1 problem)"),
    true,
  );
});

Deno.test("ParamsValidationError says the params are invalid", () => {
  const err = new ParamsValidationError("etl", [{ message: 'Unknown param "x"' }]);
  assert.equal(err.message, 'Invalid params for flow "etl":\n  - Unknown param "x"');
  assert.equal(err.issues.length, 1);
});

Deno.test("other errors carry what callers need", () => {
  const skipped = new TaskSkippedError("report", 'upstream "load" failed');
  assert.equal(skipped.message, 'Task "report" was skipped: upstream "load" failed');
  assert.equal(skipped.reason, 'upstream "load" failed');
  assert.equal(new TaskTimeoutError("t", 30_000).message, 'Task "t" timed out after 30s');
  assert.equal(
    new RunCancelledError("r1").message,
    'Run "r1" was cancelled: the run was cancelled',
  );
  const notJson = new NotJsonError("t", "args[0]", "a Map", "convert it");
  assert.equal(notJson.path, "args[0]");
  assert.match(notJson.message, /^Task "t": args\[0\] is a Map, which is not JSON-compatible/);
});

Deno.test("formatLocation() and formatIssue() write file:line:col", () => {
  assert.equal(formatLocation({ file: "a.ts", line: 1, col: 2 }), "a.ts:1:2");
  assert.equal(formatIssue({ message: "m" }), "m");
  assert.equal(formatIssue({ message: "m", hint: "h" }), "m\n    hint: h");
});

Deno.test("errorMessage() reads errors, strings and other values", () => {
  assert.equal(errorMessage(new Error("boom")), "boom");
  assert.equal(errorMessage("plain"), "plain");
  assert.equal(errorMessage({ code: 1 }), '{"code":1}');
  assert.equal(errorMessage(undefined), "undefined");
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  assert.equal(errorMessage(circular), "[object Object]");
  assert.equal(errorMessage(10n), "10");
});

Deno.test("formatMs() picks a readable unit", () => {
  assert.equal(formatMs(0), "0ms");
  assert.equal(formatMs(499.6), "500ms");
  assert.equal(formatMs(1500), "1.5s");
  assert.equal(formatMs(30_000), "30s");
  assert.equal(formatMs(90_000), "1.5m");
  assert.equal(formatMs(7_200_000), "2h");
});
