/**
 * `end`: marks where a workflow ends (Chestra's built-in). Its result is what the tasks it
 * waited for produced, by task id.
 *
 * @module
 */

import { definePlugin, type PluginDefinition } from "../src/plugins/contract.ts";

/** The `end` plugin. */
const end: PluginDefinition<
  Record<string, never>,
  Record<string, never>,
  Readonly<Record<string, unknown>>
> = definePlugin<Record<string, never>, Record<string, never>, Readonly<Record<string, unknown>>>({
  name: "end",
  version: "1.0.0",
  description: "Marks where a workflow ends; its result is the results it waited for, by id.",
  pure: true,
  params: { type: "object", properties: {}, additionalProperties: false },
  result: "an object: the result of each task it waited for, by task id",
  docs: "Chestra's built-in last task. It takes no params and needs no permissions; it " +
    "collects the results of the tasks it waited for, so the run's result shows them.",
  example: "work:\n  run: echo 42\nend:\n  uses: end\n  needs: work\n",
  run: (_params, ctx) => ctx.inputs,
});

export default end;
