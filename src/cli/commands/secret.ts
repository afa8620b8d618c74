/**
 * `orchestra secret encrypt [VALUE]`: an `enc:v1:` value to pass as a param; it is decrypted
 * only when a task that uses it starts, with the key in `ORCHESTRA_SECRET_KEY`.
 *
 * @module
 */

import { encryptValue, SECRET_KEY_VARIABLE } from "../../permissions/encrypted.ts";
import { type Parsed, UsageError } from "../args.ts";
import type { Io } from "../io.ts";

/** Options of `secret`. */
export const SECRET_OPTIONS = {} as const;

/** Help of `secret`. */
export const SECRET_HELP = `Usage: orchestra secret encrypt [VALUE]

Encrypt a value (given, or read from standard input) for use as a param:
  orchestra run flow.ts -p token="$(orchestra secret encrypt "$TOKEN")"
The value stays encrypted in the run record and logs; it is decrypted (AES-GCM) only when a
task that uses it starts, with the key in ${SECRET_KEY_VARIABLE}, and masked wherever it
would be shown.

Options:
  -h, --help                Show this help
`;

/** Runs `orchestra secret`. */
export async function secretCommand(parsed: Parsed, io: Io): Promise<number> {
  const [action, value, ...rest] = parsed.positionals;
  if (action !== "encrypt") {
    throw new UsageError("secret", `unknown action ${JSON.stringify(action ?? "")}: use "encrypt"`);
  }
  if (rest.length) throw new UsageError("secret", `unexpected argument "${rest[0]}"`);
  const key = io.env(SECRET_KEY_VARIABLE);
  if (!key) {
    io.stderr(
      `error: ${SECRET_KEY_VARIABLE} is not set; set it to a long random string (and keep it ` +
        `for the runs that decrypt)\n`,
    );
    return 2;
  }
  const plain = value ?? (await new Response(Deno.stdin.readable).text()).replace(/\r?\n$/, "");
  io.stdout(`${await encryptValue(plain, key)}\n`);
  return 0;
}
