// Durations, times and log text as the dashboard shows them; SSE parsing of the client.
import assert from "node:assert/strict";
import {
  duration,
  plainText,
  relative,
  shortJson,
  span,
} from "../../../src/server/dashboard/assets/format.js";
import { parseEvents } from "../../../src/server/dashboard/assets/sse.js";

Deno.test("duration() reads like a person would say it", () => {
  assert.deepEqual(
    [0, 850, 4210, 42_000, 184_000, 7_500_000, 3 * 86_400_000 + 4 * 3_600_000].map(duration),
    ["0ms", "850ms", "4.2s", "42s", "3m 04s", "2h 05m", "3d 4h"],
  );
  assert.equal(duration(-1), "");
  assert.equal(duration(NaN), "");
  assert.equal(span("2026-01-01T00:00:00Z", "2026-01-01T00:00:01.5Z"), "1.5s");
  assert.equal(span("2026-01-01T00:00:00Z", null, Date.parse("2026-01-01T00:01:00Z")), "1m 00s");
  assert.equal(relative(10_000, 0), "in 10s");
  assert.equal(relative(0, 90_000), "1m 30s ago");
});

Deno.test("plainText() drops terminal escape sequences; shortJson() bounds long values", () => {
  assert.equal(plainText("\x1b[31mred\x1b[0m \x1b]0;title\x07ok"), "red ok");
  assert.equal(plainText("<b>not markup</b>"), "<b>not markup</b>");
  assert.equal(shortJson({ a: 1 }), '{"a":1}');
  assert.equal(shortJson("x".repeat(300), 10), '"xxxxxxxx…');
});

Deno.test("parseEvents() splits Server-Sent Events and keeps an incomplete one", () => {
  const got: unknown[] = [];
  const rest = parseEvents(
    'id: 3\nevent: task.log\ndata: {"a":1}\n\n: comment\n\nevent: end\ndata: {}\n\nid: 4\ndata: x',
    (e: unknown) => got.push(e),
  );
  assert.deepEqual(got, [
    { id: "3", type: "task.log", data: '{"a":1}' },
    { id: undefined, type: "end", data: "{}" },
  ]);
  assert.equal(rest, "id: 4\ndata: x");
  const multi: unknown[] = [];
  parseEvents("data: a\r\ndata: b\r\n\r\n", (e: unknown) => multi.push(e));
  assert.deepEqual(multi, [{ id: undefined, type: "message", data: "a\nb" }]);
});
