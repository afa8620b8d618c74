/**
 * An ETL pipeline: extract sales from a CSV file and exchange rates from a (flaky) source,
 * transform each region in parallel, load a report as JSON.
 *
 *     deno task orchestra run examples/etl.ts
 *
 * The rates source fails on its first attempt, as networks do; the task retries with backoff.
 * The report lands in examples/reports/sales.json: tasks run in their flow file's folder, so a
 * relative path in a flow is relative to it, wherever the command ran.
 */

import { dirname } from "node:path";
import { flow, task, type TaskContext } from "@orchestra/orchestra";

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
  { name: "extract_sales", description: "Read sales.csv", timeout: "10s" },
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

/** Writes the report and returns where it went. */
export const loadReport = task(
  { name: "load_report", description: "Write the report", retries: 2 },
  async (
    rows: { region: string; orders: number; revenue: number }[],
    out: string,
    ctx: TaskContext,
  ) => {
    const report = {
      total: Math.round(rows.reduce((s, r) => s + r.revenue, 0) * 100) / 100,
      regions: [...rows].sort((a, b) => b.revenue - a.revenue),
    };
    await Deno.mkdir(dirname(out), { recursive: true });
    await Deno.writeTextFile(out, JSON.stringify(report, null, 2) + "\n");
    ctx.log.info(`Report written to ${out}`);
    return report;
  },
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
    const report = loadReport(regions, params.out);
    return { report };
  },
);
