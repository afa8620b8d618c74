import assert from "node:assert/strict";
import { checkSchedules, nextTimes, ticksBetween } from "../../src/core/schedule.ts";

const iso = (dates: Date[]) => dates.map((d) => d.toISOString());

Deno.test("checkSchedules() applies the defaults and names each entry flow:index", () => {
  const { schedules, issues } = checkSchedules("etl", [
    { cron: "0 2 * * *" },
    {
      cron: "*/5 * * * *",
      timezone: "Europe/Berlin",
      params: { region: "eu" },
      catchup: { window: "2h", policy: "all" },
      overlap: "buffer-one",
    },
  ]);
  assert.deepEqual(issues, []);
  assert.deepEqual(schedules[0], {
    id: "etl:0",
    flow: "etl",
    index: 0,
    cron: "0 2 * * *",
    timezone: "UTC",
    params: {},
    catchup: { windowMs: 3_600_000, policy: "skip" },
    overlap: "skip",
  });
  assert.deepEqual(schedules[1].catchup, { windowMs: 7_200_000, policy: "all" });
  assert.equal(schedules[1].overlap, "buffer-one");
});

Deno.test("checkSchedules() reports every problem with its path and a hint", () => {
  const { schedules, issues } = checkSchedules("etl", [
    { cron: "61 * * * *", timezone: "Mars/Base", overlap: "queue", when: 1 },
    { catchup: { window: "soon", policy: "some", extra: 1 } },
    "0 * * * *",
  ]);
  assert.deepEqual(schedules, [], "an invalid schedule runs nothing");
  assert.deepEqual(issues.map((i) => i.path), [
    [0, "when"],
    [0, "cron"],
    [0, "timezone"],
    [0, "overlap"],
    [1, "cron"],
    [1, "catchup", "extra"],
    [1, "catchup", "window"],
    [1, "catchup", "policy"],
    [2],
  ]);
  assert.match(issues[1].message, /schedule\[0\]\.cron "61 \* \* \* \*" is not valid: .*minute/);
  assert.match(issues[2].hint!, /IANA/);
  assert.match(issues[3].message, /overlap must be one of skip, buffer-one, allow, cancel-other/);
  assert.match(issues[0].message, /unknown key "when"/);
});

Deno.test("nextTimes() in Europe/Berlin across the March change: 02:30 does not exist that day", () => {
  const s = { cron: "30 2 * * *", timezone: "Europe/Berlin" };
  // 2026-03-29: clocks go from 02:00 CET to 03:00 CEST. The skipped time runs at 03:00 CEST.
  assert.deepEqual(iso(nextTimes(s, new Date("2026-03-27T12:00:00Z"), 4)), [
    "2026-03-28T01:30:00.000Z", // 02:30 CET (UTC+1)
    "2026-03-29T01:00:00.000Z", // the gap: 03:00 CEST, the first moment after it
    "2026-03-30T00:30:00.000Z", // 02:30 CEST (UTC+2)
    "2026-03-31T00:30:00.000Z",
  ]);
});

Deno.test("nextTimes() in Europe/Berlin across the October change: 02:30 happens twice, runs once", () => {
  const s = { cron: "30 2 * * *", timezone: "Europe/Berlin" };
  // 2026-10-25: clocks go back from 03:00 CEST to 02:00 CET; 02:30 is first CEST, then CET.
  assert.deepEqual(iso(nextTimes(s, new Date("2026-10-24T12:00:00Z"), 3)), [
    "2026-10-25T00:30:00.000Z", // 02:30 CEST, once
    "2026-10-26T01:30:00.000Z", // 02:30 CET
    "2026-10-27T01:30:00.000Z",
  ]);
  // An hourly schedule fires every real hour through the change: none twice, none lost.
  const hourly = { cron: "0 * * * *", timezone: "Europe/Berlin" };
  assert.deepEqual(iso(nextTimes(hourly, new Date("2026-10-24T23:30:00Z"), 4)), [
    "2026-10-25T00:00:00.000Z",
    "2026-10-25T01:00:00.000Z",
    "2026-10-25T02:00:00.000Z",
    "2026-10-25T03:00:00.000Z",
  ]);
});

Deno.test("ticksBetween() lists the ticks in (after, until], keeping the latest `max`", () => {
  const s = { cron: "0 * * * *", timezone: "UTC" };
  const after = new Date("2026-01-01T00:00:00Z");
  const until = new Date("2026-01-01T05:00:00Z");
  assert.equal(ticksBetween(s, after, until).length, 5, "05:00 is included, 00:00 is not");
  assert.deepEqual(iso(ticksBetween(s, after, until, 2)), [
    "2026-01-01T04:00:00.000Z",
    "2026-01-01T05:00:00.000Z",
  ]);
  assert.deepEqual(ticksBetween(s, until, until), []);
});
