/**
 * `log`: writes a message (and optional data) to the task's log, at a chosen level.
 *
 * @module
 */

import { z } from "zod";
import { definePlugin, type PluginDefinition, type WithDefaults } from "../src/plugins/contract.ts";

/** The params of the `log` plugin, defaults applied. */
export interface LogParams {
  /** The message. */
  message: string;
  /** The level. */
  level: "debug" | "info" | "warn" | "error";
  /** A value logged as the line's `data` property. */
  data?: unknown;
}

/** The params of the `log` plugin as a task passes them (`level` defaults to `"info"`). */
export type LogInput = WithDefaults<LogParams, "level">;

const params: z.ZodType<LogParams, LogInput> = z.strictObject({
  message: z.string().describe("The message to log; `${{ }}` expressions are rendered first"),
  level: z.enum(["debug", "info", "warn", "error"]).default("info").describe(
    "The log level: debug, info, warn or error",
  ),
  data: z.unknown().optional().describe(
    "Any JSON value logged with the message, as its `data` property",
  ),
});

/** The `log` plugin. */
const log: PluginDefinition<LogParams, LogInput, string> = definePlugin<
  LogParams,
  LogInput,
  string
>({
  name: "log",
  version: "1.0.0",
  description: "Writes a message to the task's log; its result is the message.",
  pure: true,
  params,
  result: "the message, as logged",
  docs: `Writes \`message\` to the task's log at \`level\` (\`debug\`, \`info\`, \`warn\` or
\`error\`; default \`info\`). The line is kept with the task in the run record and shown by
\`orchestra logs RUN_ID\` and the live view, like the output of a command.

Give \`data\` to attach a structured value (an object, a list, any JSON): it is logged as the
line's \`data\` property. Expressions work in both, so \`\${{ tasks.fetch.result.count }}\`
logs what an upstream task produced.

The result is the message, so a downstream task can reuse the rendered text. It needs no
permissions and runs inline. A message at \`error\` level does not fail the task.`,
  example: `announce:
  uses: log
  needs: fetch
  with:
    message: "Fetched \${{ tasks.fetch.result.count }} rows"
    level: info
    data: \${{ tasks.fetch.result }}
`,
  run: ({ message, level, data }, ctx) => {
    if (data === undefined) ctx.log[level](message);
    else ctx.log[level](message, { data });
    return message;
  },
});

export default log;
