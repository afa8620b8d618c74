/**
 * An ETL pipeline: extract sales from a CSV file and exchange rates from a (flaky) source,
 * transform each region in parallel, load a report as JSON.
 *
 *     deno task orchestra run examples/etl.ts
 *
 * The rates source fails on its first attempt, as networks do; the task retries with backoff.
 * The report lands in examples/reports/sales.json: tasks run in their flow file's folder, so a
 * relative path in a flow is relative to it, wherever the command ran.
 *
 * Each task declares what it needs, and gets nothing else: the two readers may read ./data,
 * the `fs` plugin that saves the report may write exactly the report's path, and the rest only
 * compute (they run in the flow's isolate, which has no permissions at all).
 */

import { flow, task, type TaskContext, type TaskRef, usePlugin } from "@orchestra/orchestra";
import { fs } from "@orchestra/orchestra/plugins";

const DATA = new URL("./data/", import.meta.url);

interface Sale {
  date: string;
  region: string;
  product: string;
  units: number;
  unitPrice: number;
  currency: string;
}

/** Parses the CSV; rows with missing fields are reported and dropped. */
export const extractSales = task(
  {
    name: "extract_sales",
    description: "Read sales.csv",
    timeout: "10s",
    permissions: { read: ["./data"] },
  },
  async (ctx: TaskContext) => {
    const text = await Deno.readTextFile(new URL("sales.csv", DATA));
    const [header, ...lines] = text.trim().split("\n");
    const columns = header.split(",");
    const sales: Sale[] = [];
    for (const [i, line] of lines.entries()) {
      const cells = Object.fromEntries(line.split(",").map((v, c) => [columns[c], v]));
      if (!cells.units || !cells.unit_price) {
        ctx.log.warn(`Dropping line ${i + 2}: missing units or price`, { line });
        continue;
      }
      sales.push({
        date: cells.date,
        region: cells.region,
        product: cells.product,
        units: Number(cells.units),
        unitPrice: Number(cells.unit_price),
        currency: cells.currency,
      });
    }
    await ctx.sleep(300); // the real source is a slow database
    ctx.log.info(`Read ${sales.length} sales`);
    return sales;
  },
);

/** Exchange rates to USD; the first attempt fails like a flaky API would. */
export const fetchRates = task(
  {
    name: "fetch_rates",
    description: "Exchange rates to USD",
    retries: { attempts: 3, delay: "200ms", backoff: 2, jitter: 0.1 },
    permissions: { read: ["./data"] },
  },
  async (ctx: TaskContext) => {
    await ctx.sleep(200);
    if (ctx.attempt === 1) throw new Error("rates service answered 503 Service Unavailable");
    const { rates } = JSON.parse(await Deno.readTextFile(new URL("rates.json", DATA)));
    return rates as Record<string, number>;
  },
);

/** Total revenue of one region, in USD. */
export const summarize = task(
  { name: "summarize", description: "Revenue per region in USD" },
  async (region: string, sales: Sale[], rates: Record<string, number>, ctx: TaskContext) => {
    await ctx.sleep(150 + 100 * region.length);
    const mine = sales.filter((s) => s.region === region);
    const revenue = mine.reduce((sum, s) => sum + s.units * s.unitPrice * rates[s.currency], 0);
    return { region, orders: mine.length, revenue: Math.round(revenue * 100) / 100 };
  },
);

/** The report: the total and the regions by revenue. */
export const buildReport = task(
  { name: "build_report", description: "Total and regions by revenue" },
  (rows: { region: string; orders: number; revenue: number }[]) => ({
    total: Math.round(rows.reduce((s, r) => s + r.revenue, 0) * 100) / 100,
    regions: [...rows].sort((a, b) => b.revenue - a.revenue),
  }),
);

export default flow(
  {
    name: "etl",
    description: "Sales CSV → revenue per region → JSON report",
    params: {
      out: {
        type: "string",
        default: "reports/sales.json",
        description: "Where to write the report (relative to this file's folder)",
      },
    },
  },
  (_f, params) => {
    const sales = extractSales();
    const rates = fetchRates();
    const regions = ["eu", "us", "apac", "latam"].map((r) => summarize(r, sales, rates));
    const report = buildReport(regions);
    // The fs plugin asks for write of exactly this path, wherever --param out points.
    usePlugin(fs, {
      op: "write",
      path: params.out,
      content: report as TaskRef<unknown>,
      parents: true,
    }, {
      id: "load_report",
    });
    return { report };
  },
);
