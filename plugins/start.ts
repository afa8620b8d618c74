/**
 * `start`: marks where a workflow begins (Chestra's built-in). Its result is `true`, so its
 * output signals fire at once.
 *
 * @module
 */

import { definePlugin, type PluginDefinition } from "../src/plugins/contract.ts";

/** The `start` plugin. */
const start: PluginDefinition<Record<string, never>, Record<string, never>, true> = definePlugin<
  Record<string, never>,
  Record<string, never>,
  true
>({
  name: "start",
  version: "1.0.0",
  description: "Marks where a workflow begins; succeeds at once with true.",
  pure: true,
  params: { type: "object", properties: {}, additionalProperties: false },
  result: "true",
  docs: "Chestra's built-in first task. It takes no params and needs no permissions; tasks " +
    "that wait for its output signals (or `needs:` it) start right after it.",
  example: 'start:\n  uses: start\nwork:\n  needs: start\n  run: echo "started"\n',
  run: () => true as const,
});

export default start;
