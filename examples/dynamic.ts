/**
 * A dynamic flow: the body awaits a result and branches on it with ordinary `if`/`for`.
 * Stock below the threshold triggers a reorder per product; otherwise only a report.
 *
 *     deno task orchestra run examples/dynamic.ts --param threshold=10
 */

import { flow, task, type TaskContext } from "@orchestra/orchestra";

const STOCK: Record<string, number> = { widget: 4, gadget: 25, gizmo: 8, doohickey: 40 };

/** Reads current stock levels. */
export const checkStock = task("check_stock", async (ctx: TaskContext) => {
  await ctx.sleep(200);
  return STOCK;
});

/** Orders more of a product. */
export const reorder = task(
  { name: "reorder", retries: 2 },
  async (product: string, missing: number, ctx: TaskContext) => {
    await ctx.sleep(250);
    ctx.log.info(`Ordered ${missing} × ${product}`);
    return { product, ordered: missing };
  },
);

/** Summarises what was done. */
export const report = task(
  "report",
  (stock: Record<string, number>, orders: { product: string; ordered: number }[]) => ({
    products: Object.keys(stock).length,
    reordered: orders.map((o) => o.product),
    units: orders.reduce((s, o) => s + o.ordered, 0),
  }),
);

export default flow(
  {
    name: "restock",
    description: "Reorder what runs low",
    params: { threshold: { type: "integer", default: 10, description: "Reorder below this" } },
  },
  async (_f, p) => {
    const stock = await checkStock(); // a real value: the body branches on it
    const orders = [];
    for (const [product, units] of Object.entries(stock)) {
      if (units < p.threshold) orders.push(reorder(product, p.threshold * 2 - units));
    }
    return report(stock, orders);
  },
);
