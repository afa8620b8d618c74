/**
 * Chestra's `my_plugin`, as an Orchestra plugin: found by name because it sits in the
 * `plugins/` folder next to the flow. It runs in a worker with no permissions at all (it asks
 * for none), and its params are checked against the schema when the flow is validated.
 *
 *   deno task orchestra plugins info my_plugin --plugin-dir examples/chestra/plugins
 *
 * @module
 */

import { definePlugin } from "@orchestra/orchestra";
import { z } from "npm:zod@4.1.12";

export default definePlugin({
  name: "my_plugin",
  version: "1.0.0",
  description: "Chestra's example plugin: reports the foo it was given and what it waited for.",
  params: z.strictObject({
    foo: z.string().describe("Any text; echoed back in the result"),
  }),
  result: "{ foo, upstream }: the foo param and the ids of the tasks it waited for",
  example: 'my_task:\n  uses: my_plugin\n  with:\n    foo: "bar"\n',
  run(params, ctx) {
    ctx.log.info(`my_plugin got foo=${params.foo}`);
    return { foo: params.foo, upstream: Object.keys(ctx.inputs) };
  },
});
