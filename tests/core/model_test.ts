import assert from "node:assert/strict";
import {
  EXECUTOR_KINDS,
  normalizeTaskOptions,
  RESERVED_NAME_CHARS,
  type TaskOptions,
} from "../../src/core/model.ts";

Deno.test("normalizeTaskOptions() applies the defaults of every setting", () => {
  const { config, problems } = normalizeTaskOptions({ name: "load" });
  assert.deepEqual(problems, []);
  assert.deepEqual(config, {
    name: "load",
    tags: [],
    retry: { attempts: 1, delayMs: 1000, backoff: 2, maxDelayMs: 300_000, jitter: 0 },
    priority: 0,
    executor: "inline",
    continueOnError: false,
    secrets: [],
  });
});

Deno.test("normalizeTaskOptions() reads retries as a number of extra attempts", () => {
  assert.equal(normalizeTaskOptions({ name: "t", retries: 0 }).config.retry.attempts, 1);
  assert.equal(normalizeTaskOptions({ name: "t", retries: 2 }).config.retry.attempts, 3);
});

Deno.test("normalizeTaskOptions() reads retries.attempts as total attempts", () => {
  const { config, problems } = normalizeTaskOptions({
    name: "t",
    retries: { attempts: 3, delay: "500ms", backoff: 3, maxDelay: "10s", jitter: 0.25 },
  });
  assert.deepEqual(problems, []);
  assert.deepEqual(config.retry, {
    attempts: 3,
    delayMs: 500,
    backoff: 3,
    maxDelayMs: 10_000,
    jitter: 0.25,
  });
});

Deno.test("normalizeTaskOptions() keeps a retryOn filter", () => {
  const retryOn = ["TypeError"];
  assert.equal(
    normalizeTaskOptions({ name: "t", retries: { attempts: 2, retryOn } }).config.retry.retryOn,
    retryOn,
  );
  const predicate = () => true;
  assert.equal(
    normalizeTaskOptions({ name: "t", retries: { retryOn: predicate } }).config.retry.retryOn,
    predicate,
  );
});

Deno.test("normalizeTaskOptions() rejects bad retry counts", () => {
  for (const bad of [-1, 1.5, Number.NaN, Infinity]) {
    const { config, problems } = normalizeTaskOptions({ name: "t", retries: bad });
    assert.deepEqual(problems, [`retries must be a whole number of extra attempts, got ${bad}`]);
    assert.equal(config.retry.attempts, 1);
  }
  const { problems } = normalizeTaskOptions({ name: "t", retries: "3" as never });
  assert.match(problems[0], /retries must be a number or \{ attempts/);
});

Deno.test("normalizeTaskOptions() reports every bad field of the retry object", () => {
  const { problems } = normalizeTaskOptions({
    name: "t",
    retries: {
      attempts: 0,
      delay: "soon",
      maxDelay: -1,
      backoff: 0.5,
      jitter: 2,
      retryOn: "TypeError" as never,
      atempts: 3,
    } as never,
  });
  assert.equal(problems.length, 7);
  assert.equal(problems[0], 'retries has unknown option "atempts" (did you mean "attempts"?)');
  assert.match(problems[1], /^retries\.attempts must be a whole number ≥ 1 \(total attempts\)/);
  assert.match(problems[2], /^retries\.delay: Invalid duration "soon"/);
  assert.match(problems[3], /^retries\.maxDelay: Invalid duration -1/);
  assert.equal(problems[4], "retries.backoff must be a number ≥ 1, got 0.5");
  assert.equal(problems[5], "retries.jitter must be a fraction between 0 and 1, got 2");
  assert.match(problems[6], /^retries\.retryOn must be a function or a list/);
});

Deno.test("normalizeTaskOptions() rejects an unknown option and suggests the likely one", () => {
  const { problems } = normalizeTaskOptions({ name: "t", retires: 2 } as TaskOptions);
  assert.deepEqual(problems, ['unknown task option "retires" (did you mean "retries"?)']);
  const other = normalizeTaskOptions({ name: "t", colour: "red" } as TaskOptions);
  assert.deepEqual(other.problems, ['unknown task option "colour"']);
});

Deno.test("normalizeTaskOptions() parses timeouts and rejects bad ones", () => {
  assert.equal(normalizeTaskOptions({ name: "t", timeout: "30s" }).config.timeoutMs, 30_000);
  assert.equal(normalizeTaskOptions({ name: "t", timeout: 250 }).config.timeoutMs, 250);
  const bad = normalizeTaskOptions({ name: "t", timeout: "30 seconds" });
  assert.equal(bad.config.timeoutMs, undefined);
  assert.match(bad.problems[0], /^timeout: Invalid duration "30 seconds"/);
  assert.deepEqual(normalizeTaskOptions({ name: "t", timeout: 0 }).problems, [
    "timeout must be greater than zero",
  ]);
  assert.match(normalizeTaskOptions({ name: "t", timeout: -5 }).problems[0], /^timeout: /);
});

Deno.test("normalizeTaskOptions() applies flow defaults under the task's own settings", () => {
  const { config, problems } = normalizeTaskOptions(
    { name: "t", timeout: "5s", retries: undefined },
    { retries: 2, timeout: "1m", priority: 4, continueOnError: true },
  );
  assert.deepEqual(problems, []);
  assert.equal(config.retry.attempts, 3);
  assert.equal(config.timeoutMs, 5000);
  assert.equal(config.priority, 4);
  assert.equal(config.continueOnError, true);
});

Deno.test("normalizeTaskOptions() rejects unknown defaults with did-you-mean", () => {
  const { problems } = normalizeTaskOptions({ name: "t" }, { timout: "1s" } as never);
  assert.deepEqual(problems, ['unknown task default "timout" (did you mean "timeout"?)']);
});

Deno.test("normalizeTaskOptions() validates priority, executor and permissions", () => {
  assert.equal(normalizeTaskOptions({ name: "t", priority: -3 }).config.priority, -3);
  const { problems } = normalizeTaskOptions({
    name: "t",
    priority: Number.NaN,
    executor: "wroker" as never,
    permissions: { raed: true } as never,
  });
  assert.equal(problems.length, 3);
  assert.equal(problems[0], "priority must be a number, got NaN");
  assert.equal(problems[1], 'unknown executor "wroker" (did you mean "worker"?)');
  assert.match(problems[2], /unknown permission "raed"/);
  for (const kind of EXECUTOR_KINDS) {
    assert.equal(normalizeTaskOptions({ name: "t", executor: kind }).config.executor, kind);
  }
});

Deno.test("normalizeTaskOptions() turns cache: true into a one-hour cache", () => {
  assert.deepEqual(normalizeTaskOptions({ name: "t", cache: true }).config.cache, {
    ttlMs: 3_600_000,
  });
  assert.equal(normalizeTaskOptions({ name: "t", cache: false }).config.cache, undefined);
});

Deno.test("normalizeTaskOptions() reads cache options and reports a bad TTL", () => {
  const key = (args: readonly unknown[]) => String(args[0]);
  const { config } = normalizeTaskOptions({ name: "t", cache: { ttl: "10m", key } });
  assert.deepEqual(config.cache, { ttlMs: 600_000, key });
  const bad = normalizeTaskOptions({ name: "t", cache: { ttl: "forever" } });
  assert.match(bad.problems[0], /^cache\.ttl: Invalid duration "forever"/);
});

Deno.test("normalizeTaskOptions() keeps description and tags", () => {
  const { config } = normalizeTaskOptions({ name: "t", description: "Loads", tags: ["io"] });
  assert.equal(config.description, "Loads");
  assert.deepEqual(config.tags, ["io"]);
});

Deno.test("normalizeTaskOptions() reports every problem at once", () => {
  const { problems } = normalizeTaskOptions({
    name: "t",
    retries: -1,
    timeout: "x",
    priority: "high" as never,
    executor: "gpu" as never,
    nope: 1,
  } as TaskOptions);
  assert.equal(problems.length, 5);
  assert.ok(problems.includes('priority must be a number, got "high"'));
});

Deno.test("RESERVED_NAME_CHARS matches the characters ids are built from", () => {
  for (const bad of ["a#b", "a[0]", "a b", "a\tb"]) assert.ok(RESERVED_NAME_CHARS.test(bad), bad);
  for (const good of ["load", "load-data", "load_data.v2"]) {
    assert.ok(!RESERVED_NAME_CHARS.test(good), good);
  }
});

Deno.test("normalizeTaskOptions() keeps cache.version as text and reports a bad one", () => {
  assert.equal(
    normalizeTaskOptions({ name: "t", cache: { version: 2 } }).config.cache?.version,
    "2",
  );
  const bad = normalizeTaskOptions({ name: "t", cache: { version: {} as never } });
  assert.match(bad.problems[0], /cache\.version must be a string or a number, got object/);
});
