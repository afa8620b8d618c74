/**
 * Plugins from TypeScript: `usePlugin` turns a plugin and its params into a task of the flow.
 * Each non-pure plugin runs in a worker granted exactly what it asks for with these params
 * (here: read of two data files, write of one report); `log` is pure and runs inline.
 *
 *   deno task orchestra run examples/plugins.ts
 *   deno task orchestra describe examples/plugins.ts   # each task's grant
 *
 * @module
 */

import { flow, task, type TaskRef, usePlugin } from "@orchestra/orchestra";
import { fs, log } from "@orchestra/orchestra/plugins";

type Rates = { rates: Record<string, number> };

const revenue = task("revenue", (csv: string, rates: Rates) => {
  const [, ...rows] = csv.trim().split("\n");
  let usd = 0;
  for (const row of rows) {
    const [, , , units, price, currency] = row.split(",");
    if (!units || !rates.rates[currency]) continue;
    usd += Number(units) * Number(price) * rates.rates[currency];
  }
  return Math.round(usd * 100) / 100;
});

export default flow(
  {
    name: "plugins",
    params: { out: { type: "string", default: "../reports/revenue.json" } },
  },
  (_f, params) => {
    const sales = usePlugin(fs, { op: "read", path: "data/sales.csv" }, { id: "sales" });
    const rates = usePlugin(fs, { op: "read", path: "data/rates.json", format: "json" }, {
      id: "rates",
    });
    // A plugin's result is typed unknown: say what it is where it is used.
    const total = revenue(sales as TaskRef<string>, rates as TaskRef<Rates>);
    const saved = usePlugin(fs, {
      op: "write",
      path: params.out,
      content: total,
      parents: true,
    }, { id: "save" });
    usePlugin(log, { message: "Revenue in USD computed and saved" }, {
      id: "announce",
      inputs: { total, saved },
    });
    return { total, saved };
  },
);
