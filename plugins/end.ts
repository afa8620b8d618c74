/**
 * `end`: marks where a workflow ends (Chestra's built-in). Its result is what the tasks it
 * waited for produced, by task id.
 *
 * @module
 */

import type { Plugin } from "../src/plugins/builtin.ts";

const end: Plugin = {
  name: "end",
  version: "1.0.0",
  description: "Marks where a workflow ends; its result is the results it waited for, by id.",
  run: (_params, ctx) => ctx.inputs,
};

export default end;
