/**
 * `orchestra serve`'s tokens file: API tokens with a role, stored as SHA-256 hashes (a token is
 * 32 random bytes, so a fast hash is enough: there is nothing to guess), compared in constant
 * time; and each webhook flow's secret, named (the value comes from the secrets file or the
 * environment, never from this file).
 *
 * ```yaml
 * tokens:
 *   - { name: ci, role: operator, sha256: 3f5c… }
 *   - { name: grafana, role: viewer, sha256: 9a01… }
 * webhooks:
 *   deploy: { secret: DEPLOY_HOOK_SECRET }
 * ```
 *
 * @module
 */

import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import { errorMessage, OrchestraError } from "../core/errors.ts";
import { timingSafeEqual } from "node:crypto";

/** What a token may do: `viewer` reads; `operator` also starts, cancels, retries, schedules. */
export type Role = "viewer" | "operator";

/** The roles. */
export const ROLES: readonly Role[] = ["viewer", "operator"];

/** One API token, hashed. */
export interface TokenEntry {
  /** Who or what uses it (shown in logs and runs, never secret). */
  name: string;
  /** What it may do. */
  role: Role;
  /** The SHA-256 of the token, hex. */
  sha256: string;
}

/** A webhook flow's secret, by name. */
export interface WebhookEntry {
  /** The secret's name in the secrets file or the environment. */
  secret: string;
}

/** The tokens file. */
export interface TokensFile {
  /** The API tokens. */
  tokens: TokenEntry[];
  /** Webhook secrets by flow name. */
  webhooks: Record<string, WebhookEntry>;
}

/** A tokens file that cannot be read or is not valid. */
export class TokensFileError extends OrchestraError {
  /** Creates the error. */
  constructor(file: string, message: string, options?: ErrorOptions) {
    super(`Cannot use the tokens file "${file}": ${message}`, options);
    this.name = "TokensFileError";
  }
}

/** The SHA-256 of `text`, hex. */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Whether two strings are equal, in time that depends on their length only. */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  if (x.length !== y.length) {
    timingSafeEqual(x, x);
    return false;
  }
  return timingSafeEqual(x, y);
}

/**
 * Reads and checks a tokens file (YAML or JSON); a missing file is an empty one when
 * `missingOk`.
 */
export async function readTokensFile(file: string, missingOk = false): Promise<TokensFile> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    if (missingOk && e instanceof Deno.errors.NotFound) return { tokens: [], webhooks: {} };
    throw new TokensFileError(file, errorMessage(e), { cause: e });
  }
  let data: unknown;
  try {
    data = parseYaml(text) ?? {};
  } catch (e) {
    throw new TokensFileError(file, `it is not YAML or JSON: ${errorMessage(e)}`);
  }
  return checkTokens(file, data);
}

function checkTokens(file: string, data: unknown): TokensFile {
  const problems: string[] = [];
  const o = (data ?? {}) as Record<string, unknown>;
  if (typeof o !== "object" || Array.isArray(o)) {
    throw new TokensFileError(file, "it must be a mapping with `tokens:` and `webhooks:`");
  }
  for (const k of Object.keys(o)) {
    if (k !== "tokens" && k !== "webhooks") problems.push(`unknown key "${k}" (tokens, webhooks)`);
  }
  const tokens: TokenEntry[] = [];
  const list = o.tokens ?? [];
  if (!Array.isArray(list)) problems.push("tokens must be a list of { name, role, sha256 }");
  else {
    list.forEach((t: Record<string, unknown>, i) => {
      if (typeof t?.name !== "string" || t.name === "") problems.push(`tokens[${i}] needs a name`);
      if (!ROLES.includes(t?.role as Role)) {
        problems.push(
          `tokens[${i}].role must be viewer or operator, got ${JSON.stringify(t?.role)}`,
        );
      }
      if (typeof t?.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(t.sha256)) {
        problems.push(
          `tokens[${i}].sha256 must be 64 hex digits (orchestra serve token add writes it)`,
        );
      }
      if (tokens.some((x) => x.name === t?.name)) {
        problems.push(`tokens[${i}]: the name "${t?.name}" is used twice`);
      }
      tokens.push(t as unknown as TokenEntry);
    });
  }
  const webhooks: Record<string, WebhookEntry> = {};
  const hooks = o.webhooks ?? {};
  if (typeof hooks !== "object" || Array.isArray(hooks)) {
    problems.push("webhooks must be a mapping of flow name → { secret: NAME }");
  } else {
    for (const [flow, w] of Object.entries(hooks as Record<string, Record<string, unknown>>)) {
      if (typeof w?.secret !== "string" || w.secret === "") {
        problems.push(
          `webhooks.${flow} needs secret: NAME (a name in the secrets file or the environment)`,
        );
      } else webhooks[flow] = { secret: w.secret };
    }
  }
  if (problems.length) throw new TokensFileError(file, problems.join("; "));
  return { tokens, webhooks };
}

/** A new token: 32 random bytes, base64url, prefixed `orc_` so it is recognisable. */
export function newToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return "orc_" + btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

/**
 * Adds a token to the file (created `0600` when missing) and returns it: the only time it is
 * shown. A name already there is refused.
 */
export async function addToken(file: string, name: string, role: Role): Promise<string> {
  const current = await readTokensFile(file, true);
  if (current.tokens.some((t) => t.name === name)) {
    throw new TokensFileError(file, `it has a token named "${name}" already; pick another name`);
  }
  const token = newToken();
  current.tokens.push({ name, role, sha256: await sha256Hex(token) });
  const body: Record<string, unknown> = { tokens: current.tokens };
  if (Object.keys(current.webhooks).length) body.webhooks = current.webhooks;
  await Deno.writeTextFile(
    file,
    "# orchestra serve's tokens: SHA-256 hashes (orchestra serve token add NAME --role ROLE)\n" +
      stringifyYaml(body),
    { mode: 0o600 },
  );
  await Deno.chmod(file, 0o600).catch(() => {});
  return token;
}

/** The entry of the token presented, if it is one of the file's. */
export async function findToken(
  tokens: readonly TokenEntry[],
  presented: string,
): Promise<TokenEntry | undefined> {
  const hash = await sha256Hex(presented);
  let found: TokenEntry | undefined;
  // Every entry is compared, so the time says nothing about which one matched.
  for (const t of tokens) if (constantTimeEqual(t.sha256, hash)) found ??= t;
  return found;
}
