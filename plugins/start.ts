/**
 * `start`: marks where a workflow begins (Chestra's built-in). Its result is `true`, so its
 * output signals fire at once.
 *
 * @module
 */

import type { Plugin } from "../src/plugins/builtin.ts";

const start: Plugin = {
  name: "start",
  version: "1.0.0",
  description: "Marks where a workflow begins; succeeds at once with true.",
  run: () => true,
};

export default start;
