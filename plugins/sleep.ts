/**
 * `sleep`: waits for a while. The wait honours cancellation and the task's timeout, so a
 * cancelled run does not hang on it.
 *
 * @module
 */

import { z } from "zod";
import { parseDuration } from "../src/core/duration.ts";
import { definePlugin, type PluginDefinition } from "../src/plugins/contract.ts";

const duration = z.union([
  z.number().nonnegative().describe("Milliseconds"),
  z.string().describe('A duration such as "500ms", "1.5s", "2m" or "1h30m"'),
], { error: 'expected milliseconds or a duration such as "1.5s"' })
  .superRefine((value, ctx) => {
    try {
      parseDuration(value);
    } catch (e) {
      ctx.addIssue({ code: "custom", message: (e as Error).message });
    }
  })
  .describe('How long to wait: milliseconds, or a duration such as "500ms", "1.5s", "2m"');

/** The params of the `sleep` plugin. */
export interface SleepParams {
  /** Milliseconds, or a duration such as `"1.5s"`. */
  duration: number | string;
}

const params: z.ZodType<SleepParams, SleepParams> = z.strictObject({ duration });

/** The `sleep` plugin. */
const sleep: PluginDefinition<SleepParams, SleepParams, number> = definePlugin<
  SleepParams,
  SleepParams,
  number
>({
  name: "sleep",
  version: "1.0.0",
  description: "Waits for a duration; stops at once when the run is cancelled.",
  pure: true,
  params,
  result: "the duration waited, in milliseconds",
  docs: `Waits for \`duration\` and then succeeds. The duration is a number of milliseconds or
a string with units: \`500ms\`, \`1.5s\`, \`2m\`, \`1h30m\` (units \`ms\`, \`s\`, \`m\`, \`h\`,
\`d\`).

The wait runs on the run's clock and honours cancellation: when the run is cancelled or the
task's \`timeout\` expires, the task stops at once and fails with the reason. Use it to pace
calls to a rate-limited service, or to wait before polling again.

The result is the duration in milliseconds, so downstream tasks can read how long it waited.
It needs no permissions and runs inline.`,
  example: `cool-down:
  uses: sleep
  with:
    duration: 1.5s
`,
  run: async ({ duration }, ctx) => {
    const ms = parseDuration(duration);
    await ctx.sleep(ms);
    return ms;
  },
});

export default sleep;
