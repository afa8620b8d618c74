/**
 * Typed params: declared once, checked before anything runs (exit 2 on a bad value), converted
 * from command-line strings, and typed inside the body.
 *
 *     deno task orchestra run examples/params.ts --param region=us --param limit=3 --param verbose=true
 *     deno task orchestra run examples/params.ts --param region=mars     # exit 2: not allowed
 */

import { flow, task } from "@orchestra/orchestra";

const CUSTOMERS = [
  { name: "Acme", region: "eu", spend: 1200 },
  { name: "Globex", region: "us", spend: 5400 },
  { name: "Initech", region: "us", spend: 800 },
  { name: "Umbrella", region: "eu", spend: 9100 },
  { name: "Hooli", region: "us", spend: 3100 },
  { name: "Vehement", region: "apac", spend: 450 },
];

/** The top customers of a region by spend. */
export const topCustomers = task(
  "top_customers",
  (region: string, limit: number, minSpend: number) =>
    CUSTOMERS.filter((c) => c.region === region && c.spend >= minSpend)
      .sort((a, b) => b.spend - a.spend)
      .slice(0, limit),
);

/** Formats the list, with spend when verbose. */
export const format = task(
  "format",
  (rows: { name: string; spend: number }[], verbose: boolean) =>
    rows.map((r, i) => `${i + 1}. ${r.name}${verbose ? ` (${r.spend})` : ""}`),
);

export default flow(
  {
    name: "top_customers",
    description: "The best customers of a region",
    params: {
      region: {
        type: "string",
        enum: ["eu", "us", "apac"],
        required: true,
        description: "Sales region",
      },
      limit: { type: "integer", default: 2, description: "How many customers" },
      minSpend: { type: "number", default: 0, description: "Ignore customers below this" },
      verbose: { type: "boolean", default: false, description: "Show the spend" },
    },
  },
  (_f, p) => {
    // p.region is "eu" | "us" | "apac", p.limit a number, p.verbose a boolean.
    const top = topCustomers(p.region, p.limit, p.minSpend);
    return format(top, p.verbose);
  },
);
