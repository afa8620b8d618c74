/**
 * `notify`: posts a message to a webhook with a Slack-compatible payload (`text`, plus an
 * attachment with a colour and fields), retrying on 5xx responses and network errors. Slack,
 * Mattermost, Rocket.Chat and other Slack-compatible webhooks accept it.
 *
 * @module
 */

import { z } from "zod";
import { parseDuration } from "../src/core/duration.ts";
import type { PermissionSet } from "../src/core/permissions.ts";
import { definePlugin, type PluginDefinition, type WithDefaults } from "../src/plugins/contract.ts";
import { durationParam, netHost, sendWithRetries } from "./http.ts";

const STATUSES = {
  success: { color: "good", emoji: ":white_check_mark:" },
  failure: { color: "danger", emoji: ":x:" },
  warning: { color: "warning", emoji: ":warning:" },
  info: { color: "#439FE0", emoji: ":information_source:" },
} as const;

/** The params of the `notify` plugin, defaults applied. */
export interface NotifyParams {
  /** The webhook URL. */
  url?: string;
  /** The name of a secret holding the webhook URL. */
  urlSecret?: string;
  /** With `urlSecret`: the host the URL points to. */
  host?: string;
  /** The message. */
  text: string;
  /** A bold first line. */
  title?: string;
  /** Colour and emoji. */
  status?: "success" | "failure" | "warning" | "info";
  /** Facts shown as a table. */
  fields: Record<string, string | number | boolean | null>;
  /** More payload fields, sent as they are. */
  payload: Record<string, unknown>;
  /** Extra attempts after a 5xx, a network error or a timeout. */
  retries: number;
  /** Wait before the first retry. */
  retryDelay: number | string;
  /** Time limit of each attempt. */
  timeout: number | string;
}

/** The params of the `notify` plugin as a task passes them (those with defaults optional). */
export type NotifyInput = WithDefaults<
  NotifyParams,
  "fields" | "payload" | "retries" | "retryDelay" | "timeout"
>;

/** What the `notify` plugin results in: the webhook's HTTP status. */
export interface NotifyResult {
  /** The HTTP status the webhook answered with. */
  status: number;
}

const params: z.ZodType<NotifyParams, NotifyInput> = z.strictObject({
  url: z.string().superRefine((url, ctx) => {
    if (url.includes("${{")) return; // known when the task runs
    try {
      netHost(url);
    } catch (e) {
      ctx.addIssue({ code: "custom", message: (e as Error).message });
    }
  }).optional().describe("The webhook URL (or give `urlSecret` and `host`)"),
  urlSecret: z.string().optional().describe(
    "The name of a secret holding the webhook URL, instead of `url`; needs `host`",
  ),
  host: z.string().optional().describe(
    "With `urlSecret`: the host (and port) the secret URL points to, e.g. `hooks.slack.com`; " +
      "the only host the task may reach",
  ),
  text: z.string().describe("The message (Slack mrkdwn)"),
  title: z.string().optional().describe("A bold first line"),
  status: z.enum(["success", "failure", "warning", "info"]).optional().describe(
    "Colours the message and adds an emoji: success, failure, warning or info",
  ),
  fields: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]))
    .default({}).describe("Short facts shown as a table: label → value"),
  payload: z.record(z.string(), z.unknown()).default({}).describe(
    "More payload fields sent as they are (`channel`, `username`, `icon_emoji`, `blocks`, …)",
  ),
  retries: z.number().int().min(0).max(10).default(2).describe(
    "Extra attempts after a 5xx response, a network error or a timeout",
  ),
  retryDelay: durationParam("Wait before the first retry; it doubles for each next one")
    .default("1s"),
  timeout: durationParam("Time limit of each attempt").default("10s"),
}).superRefine((p, ctx) => {
  if ((p.url === undefined) === (p.urlSecret === undefined)) {
    ctx.addIssue({ code: "custom", path: ["url"], message: "give either `url` or `urlSecret`" });
  }
  if (p.urlSecret !== undefined && p.host === undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["host"],
      message: "`urlSecret` needs `host`: the host of the webhook URL, which the task may reach",
    });
  }
});

/**
 * The Slack-compatible payload for these params: `text` (with the title and the status
 * emoji), and an attachment with the status colour and the fields, when there are any.
 */
export function notifyPayload(
  p: Pick<NotifyParams, "text" | "title" | "status" | "fields" | "payload">,
): Record<string, unknown> {
  const style = p.status ? STATUSES[p.status] : undefined;
  const head = [style?.emoji, p.title ? `*${p.title}*` : undefined].filter(Boolean).join(" ");
  const text = head ? `${head}\n${p.text}` : p.text;
  const fields = Object.entries(p.fields).map(([title, v]) => {
    const value = v === null ? "" : String(v);
    return { title, value, short: value.length <= 40 };
  });
  const out: Record<string, unknown> = { text };
  if (style || fields.length) {
    const attachment: Record<string, unknown> = { fallback: p.text };
    if (style) attachment.color = style.color;
    if (fields.length) attachment.fields = fields;
    out.attachments = [attachment];
  }
  return { ...out, ...p.payload };
}

function notifyPermissions(p: { url?: unknown; host?: unknown }): PermissionSet {
  if (typeof p.url === "string") return { net: [netHost(p.url)] };
  if (typeof p.host === "string") {
    if (p.host.includes("${{")) {
      throw new TypeError(`they depend on the host "${p.host}", known only when the task runs`);
    }
    return { net: [p.host] };
  }
  throw new TypeError("give `url`, or `urlSecret` with `host`");
}

/** The `notify` plugin. */
const notify: PluginDefinition<NotifyParams, NotifyInput, NotifyResult> = definePlugin<
  NotifyParams,
  NotifyInput,
  NotifyResult
>({
  name: "notify",
  version: "1.0.0",
  description: "Posts a message to a Slack-compatible webhook.",
  params,
  secrets: (p) => p.urlSecret ? [p.urlSecret] : [],
  permissions: notifyPermissions,
  result: "{ status }: the webhook's HTTP status",
  docs: `Posts \`text\` to a webhook as JSON, in the format Slack's incoming webhooks take
(Mattermost, Rocket.Chat, Discord's \`/slack\` endpoint and many others take it too):

\`\`\`json
{ "text": ":x: *Nightly ETL*\\nThe load step failed",
  "attachments": [{ "fallback": "…", "color": "danger",
                    "fields": [{ "title": "run", "value": "0192…", "short": true }] }] }
\`\`\`

\`title\` becomes a bold first line; \`status\` (\`success\`, \`failure\`, \`warning\`,
\`info\`) adds an emoji and colours the attachment; \`fields\` become the attachment's fields.
\`payload\` adds any other field as it is (\`channel\`, \`username\`, \`icon_emoji\`,
\`blocks\`), and wins over the fields computed here.

**Webhook URL.** Give \`url\`, or, since a webhook URL is a credential, \`urlSecret\`: the
name of a secret that holds it. The task's worker may reach one host, which must be known
before the task runs: with \`url\` it is the URL's host and port; with \`urlSecret\`, give it
as \`host\` (\`hooks.slack.com\`). A secret URL on another host fails the task before
anything is sent.

**Errors and retries.** A 5xx response, a network error or a timeout (\`timeout\` per
attempt, default 10s) is retried \`retries\` times (default 2), waiting \`retryDelay\`
(default 1s) and twice as long before each next retry. Any other status outside 2xx fails the
task with the status and the start of the response body. The result is \`{ status }\`.`,
  example: `alert:
  uses: notify
  needs: load
  if: failure()
  with:
    urlSecret: SLACK_WEBHOOK
    host: hooks.slack.com
    title: Nightly ETL
    text: The load step failed
    status: failure
    fields: { run: \${{ run.id }} }
`,
  run: async (p, ctx): Promise<NotifyResult> => {
    let url: string;
    if (p.url !== undefined) url = p.url;
    else {
      url = ctx.secret(p.urlSecret!);
      let host: string;
      try {
        host = netHost(url);
      } catch {
        throw new TypeError(`The secret "${p.urlSecret}" does not hold an http(s) URL`);
      }
      const want = p.host!.includes(":") ? p.host! : `${p.host}:${host.split(":").pop()}`;
      if (host !== want) {
        throw new TypeError(
          `The webhook URL in secret "${p.urlSecret}" is not on host "${p.host}": set \`host\` ` +
            `to the URL's host`,
        );
      }
    }
    const body = JSON.stringify(notifyPayload(p));
    const res = await sendWithRetries(
      url,
      { method: "POST", headers: { "content-type": "application/json" }, body },
      {
        retries: p.retries,
        retryDelayMs: parseDuration(p.retryDelay),
        timeoutMs: parseDuration(p.timeout),
        accept: () => false,
        signal: ctx.signal,
        sleep: ctx.sleep,
        log: ctx.log,
        label: `POST to the webhook on ${new URL(url).host}`,
      },
    );
    // The URL may be a secret: messages name the webhook by its host only.
    if (res.status < 200 || res.status >= 300) {
      const tail = res.text.trim().slice(0, 300);
      throw new Error(
        `The webhook on ${new URL(url).host} answered ${res.status} ${res.statusText}`.trimEnd() +
          (tail ? `: ${tail}` : ""),
      );
    }
    return { status: res.status };
  },
});

export default notify;
