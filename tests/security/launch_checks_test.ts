// The host's answer to a launch request from the flow isolate: never more than the plan, the
// ceiling, the policy and authorization allow, whatever the isolate claims.
import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";
import type { PermissionSet } from "../../src/core/permissions.ts";
import type { WorkerCall } from "../../src/executors/worker_pool.ts";
import type { LaunchRequest } from "../../src/host/isolate_protocol.ts";
import { scanModuleGraph } from "../../src/host/module_graph.ts";
import { type PlannedTask, TaskLauncher } from "../../src/host/task_launcher.ts";
import { Authorizer } from "../../src/permissions/authorizer.ts";
import { ROOT } from "../cli/_io.ts";

const MODULE = pathToFileURL(`${ROOT}/tests/fixtures/security/escape_tasks.ts`).href;
const modules = await scanModuleGraph(MODULE);

function launcher(planned: Record<string, PlannedTask>, ceiling?: PermissionSet) {
  const calls: WorkerCall[] = [];
  const authorizer = new Authorizer({
    flow: "f",
    baseDir: ROOT,
    ...(ceiling ? { ceiling } : {}),
    user: "test",
  });
  const l = new TaskLauncher({
    runId: "r",
    flow: "f",
    params: {},
    planned: new Map(Object.entries(planned)),
    modules,
    authorize: (t) => authorizer.authorize({ id: t.taskId, request: t.request, runId: "r" }),
    secret: (name) => name === "TOKEN" ? "t0k3n" : undefined,
    decrypt: (v) => Promise.resolve(v),
    mask: (t) => t.replaceAll("t0k3n", "***"),
    pool: {
      run: (call: WorkerCall) => {
        calls.push(call);
        return Promise.resolve("ran");
      },
    },
  });
  return { l, calls };
}

function request(over: Partial<LaunchRequest>): LaunchRequest {
  return {
    id: 1,
    taskId: "read_text",
    attempt: 1,
    name: "read_text",
    moduleUrl: MODULE,
    workerName: "read_text",
    args: [],
    permissions: { read: [`${ROOT}/tests`] },
    secrets: [],
    ...over,
  };
}

const signal = new AbortController().signal;
const noLog = () => {};

Deno.test("the host launches a planned task with the grant authorization gives, not what the isolate claims", async () => {
  const { l, calls } = launcher({
    read_text: { permissions: { read: [`${ROOT}/tests`] }, secrets: [] },
  });
  assert.equal(await l.launch(request({}), signal, noLog), "ran");
  assert.deepEqual(calls[0].grant, { read: [`${ROOT}/tests`] });
});

Deno.test("escape attempt: the flow isolate asks to start a worker from a file that is not one of the flow's modules", async () => {
  const { l, calls } = launcher({});
  await assert.rejects(
    l.launch(request({ moduleUrl: "file:///etc/passwd", taskId: "x" }), signal, noLog),
    /Task "x" was refused: the flow isolate asked to run it from file:\/\/\/etc\/passwd, which is not one of the flow's modules/,
  );
  assert.equal(calls.length, 0);
});

Deno.test("escape attempt: the flow isolate claims a planned task requests more than its plan", async () => {
  const { l, calls } = launcher({
    read_text: { permissions: { read: [`${ROOT}/tests`] }, secrets: [] },
  });
  await assert.rejects(
    l.launch(request({ permissions: { read: true } }), signal, noLog),
    /was refused: the flow isolate asked for permissions \{"read":true\} where its plan requests/,
  );
  await assert.rejects(
    l.launch(request({ secrets: ["TOKEN"] }), signal, noLog),
    /asked for secrets \["TOKEN"\] where its plan declares \[\]/,
  );
  assert.equal(calls.length, 0);
});

Deno.test("escape attempt: a task beyond the plan asks the isolate's way past the flow's ceiling", async () => {
  const { l, calls } = launcher({}, { read: [`${ROOT}/tests`] });
  await assert.rejects(
    l.launch(request({ taskId: "later", permissions: { read: ["/etc"] } }), signal, noLog),
    (e: Error) => e.name === "PermissionDeniedError",
  );
  assert.equal(calls.length, 0);
});

Deno.test("secrets are looked up by the host and reach the task worker only; its log lines come back masked", async () => {
  const { l, calls } = launcher({ read_text: { secrets: ["TOKEN"] } });
  const lines: string[] = [];
  await l.launch(
    request({ permissions: undefined, secrets: ["TOKEN"] }),
    signal,
    (_level, message) => lines.push(message),
  );
  assert.deepEqual(calls[0].secrets, { TOKEN: "t0k3n" });
  calls[0].onLog("info", "using t0k3n");
  assert.deepEqual(lines, ["using ***"]);
  await assert.rejects(
    launcher({}).l.launch(request({ permissions: undefined, secrets: ["NOPE"] }), signal, noLog),
    /Secret "NOPE" of task "read_text" is not set/,
  );
});
