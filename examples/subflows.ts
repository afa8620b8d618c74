/**
 * Subflows: a flow used as a task. `regionReport` is an ordinary flow (run it alone with
 * `orchestra run examples/subflows.ts --flow regionReport -p region=eu`); the default flow calls
 * it once per region, like a task, and gets a reference to its result.
 *
 *     deno task orchestra run examples/subflows.ts
 *     deno task orchestra describe examples/subflows.ts   # the child's tasks nested under each call
 *
 * Each call's tasks are tasks of the same run, named under the call: `eu/extract`,
 * `eu/summarize`. They are journaled with the parent's, so `orchestra resume` skips the ones that
 * succeeded, and cancelling the run cancels them.
 */

import { flow, task } from "@orchestra/orchestra";

const SALES: Record<string, number[]> = {
  eu: [120, 80, 45.5],
  us: [300, 12],
  apac: [64, 64, 10, 2],
};

/** The sales of one region (a stand-in for a query). */
export const extract = task("extract", (region: string) => SALES[region] ?? []);

/** Total and count of a region's sales. */
export const summarize = task("summarize", (region: string, sales: number[]) => ({
  region,
  orders: sales.length,
  revenue: sales.reduce((a, b) => a + b, 0),
}));

/** The report of one region: a flow of its own, with its own params. */
export const regionReport = flow(
  { name: "region_report", params: { region: { type: "string", required: true } } },
  (_f, p) => summarize(p.region!, extract(p.region!)),
);

/** Ranks the regions by revenue. */
export const rank = task(
  "rank",
  (reports: { region: string; revenue: number }[]) =>
    [...reports].sort((a, b) => b.revenue - a.revenue).map((r) => r.region),
);

/** Calls the child flow once per region: `f.call` gives each call its own id. */
export default flow("sales_report", (f) => {
  const reports = ["eu", "us", "apac"].map((region) =>
    f.call(regionReport, { region }, { id: region })
  );
  return { reports, ranking: rank(reports) };
});
