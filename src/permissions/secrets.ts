/**
 * Secrets: providers that look values up by name (environment variables, dotenv files, a
 * static map), resolving a list of names against them in order, and masking the values in
 * anything that leaves a task (logs, events, `--json`, error messages; see `masking.ts`).
 *
 * @module
 */

import { errorMessage, OrchestraError } from "../core/errors.ts";
import { FileReadError, readBoundedTextFile } from "../fs/read_bounded.ts";

/** Somewhere secrets can be looked up by name. */
export interface SecretProvider {
  /** Says where `name` is looked up, for messages: `environment variable APP_TOKEN`. */
  describe(name: string): string;
  /** The secret's value, or `undefined` if this provider does not have it. */
  get(name: string): string | undefined | Promise<string | undefined>;
}

/** Options of {@linkcode envSecrets}. */
export interface EnvSecretsOptions {
  /** Put before each name: with `"APP_"`, secret `TOKEN` is variable `APP_TOKEN`. @default "" */
  prefix?: string;
  /** Reads a variable. @default Deno.env.get */
  env?: (name: string) => string | undefined;
}

/**
 * Secrets from environment variables, optionally with a prefix.
 *
 * @example
 * ```ts
 * import { envSecrets } from "./secrets.ts";
 * const p = envSecrets({ prefix: "APP_", env: (n) => n === "APP_TOKEN" ? "t0k3n" : undefined });
 * console.assert(p.get("TOKEN") === "t0k3n" && p.describe("TOKEN") === "environment variable APP_TOKEN");
 * ```
 */
export function envSecrets(options: EnvSecretsOptions = {}): SecretProvider {
  const prefix = options.prefix ?? "";
  const env = options.env ?? ((name: string) => Deno.env.get(name));
  return {
    describe: (name) => `environment variable ${prefix}${name}`,
    get(name) {
      try {
        return env(`${prefix}${name}`);
      } catch (e) {
        throw new SecretProviderError(
          `Cannot read environment variable ${prefix}${name} for secret "${name}": ${
            errorMessage(e)
          }`,
          { cause: e },
        );
      }
    },
  };
}

/**
 * Secrets from a fixed map, e.g. given by code or tests.
 *
 * @example
 * ```ts
 * import { staticSecrets } from "./secrets.ts";
 * console.assert(staticSecrets({ TOKEN: "x" }).get("TOKEN") === "x");
 * ```
 */
export function staticSecrets(values: Readonly<Record<string, string>>): SecretProvider {
  return {
    describe: (name) => `the static map (key ${name})`,
    get: (name) => Object.hasOwn(values, name) ? values[name] : undefined,
  };
}

/**
 * Secrets from a dotenv file, read once on first use. A missing or unreadable file is a
 * {@linkcode SecretProviderError}; a malformed one a {@linkcode DotenvSyntaxError}.
 *
 * @example
 * ```ts
 * import { dotenvSecrets } from "./secrets.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "export TOKEN='t0k3n' # for the API\n");
 * console.assert(await dotenvSecrets(path).get("TOKEN") === "t0k3n");
 * await Deno.remove(path);
 * ```
 */
export function dotenvSecrets(path: string): SecretProvider {
  let values: Promise<Record<string, string>> | undefined;
  const load = async () => {
    let text: string;
    try {
      text = await readBoundedTextFile(path, { what: "dotenv file" });
    } catch (e) {
      throw new SecretProviderError(
        e instanceof FileReadError
          ? e.message
          : e instanceof Deno.errors.NotFound
          ? `Dotenv file "${path}" does not exist; create it or remove it from the secret providers`
          : `Cannot read dotenv file "${path}": ${errorMessage(e)}`,
        { cause: e },
      );
    }
    return parseDotenv(text, path);
  };
  return {
    describe: (name) => `dotenv file ${path} (key ${name})`,
    async get(name) {
      const all = await (values ??= load());
      return Object.hasOwn(all, name) ? all[name] : undefined;
    },
  };
}

/** A secret provider could not be read (e.g. a dotenv file is missing). */
export class SecretProviderError extends OrchestraError {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SecretProviderError";
  }
}

/** Secrets no provider has. */
export class SecretNotFoundError extends OrchestraError {
  /** The names not found. */
  readonly names: readonly string[];
  /** Creates the error; `tried` says, per name, where it was looked for. */
  constructor(names: readonly string[], tried: (name: string) => string[]) {
    const line = (n: string) => `secret "${n}" is not set (tried ${tried(n).join(", ")})`;
    super(
      names.length === 1
        ? `${line(names[0]).replace(/^s/, "S")}`
        : `${names.length} secrets are not set:\n${names.map((n) => `  - ${line(n)}`).join("\n")}`,
    );
    this.name = "SecretNotFoundError";
    this.names = names;
  }
}

/** A dotenv file is malformed; `file`, `line` and `col` say where. */
export class DotenvSyntaxError extends SyntaxError {
  /** The file. */
  readonly file: string;
  /** 1-based line. */
  readonly line: number;
  /** 1-based column. */
  readonly col: number;
  /** Creates the error. */
  constructor(file: string, line: number, col: number, message: string) {
    super(`${file}:${line}:${col}: ${message}`);
    this.name = "DotenvSyntaxError";
    this.file = file;
    this.line = line;
    this.col = col;
  }
}

const ESCAPES: Record<string, string> = { n: "\n", r: "\r", t: "\t", '"': '"', "\\": "\\" };

/**
 * Parses dotenv text: `KEY=VALUE` lines, `#` comments (whole lines, or after whitespace in an
 * unquoted value), an optional `export ` before the key, values in single quotes (literal),
 * double quotes (`\n`, `\t`, `\"`, `\\` escapes) or backquotes, any of which may span lines.
 * There is no `${VAR}` expansion. A later key overrides an earlier one.
 *
 * @throws {DotenvSyntaxError} naming the file, line and column of the first problem.
 * @example
 * ```ts
 * import { parseDotenv } from "./secrets.ts";
 * const env = parseDotenv('# db\nexport DB_USER=app\nDB_PASS="p#ss\\nword" # comment\nURL=http://x/#a\n');
 * console.assert(env.DB_USER === "app" && env.DB_PASS === "p#ss\nword" && env.URL === "http://x/#a");
 * ```
 */
export function parseDotenv(text: string, file = "<dotenv>"): Record<string, string> {
  const out: Record<string, string> = {};
  const starts = [0];
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  const fail = (offset: number, message: string): never => {
    let line = 0;
    while (line + 1 < starts.length && starts[line + 1] <= offset) line++;
    throw new DotenvSyntaxError(file, line + 1, offset - starts[line] + 1, message);
  };
  const eol = (from: number) => {
    const i = text.indexOf("\n", from);
    return i < 0 ? text.length : i;
  };
  let pos = 0;
  while (pos < text.length) {
    const end = eol(pos);
    const lineText = text.slice(pos, end);
    const indent = lineText.length - lineText.trimStart().length;
    const body = lineText.trim();
    if (body === "" || body.startsWith("#")) {
      pos = end + 1;
      continue;
    }
    let at = pos + indent;
    const exported = /^export[ \t]+/.exec(text.slice(at, end));
    if (exported) at += exported[0].length;
    const m = /^([A-Za-z_][A-Za-z0-9_.-]*)[ \t]*=[ \t]*/.exec(text.slice(at, end));
    if (!m) {
      fail(
        at,
        text.slice(at, end).includes("=")
          ? `"${text.slice(at, end).split("=")[0].trim()}" is not a valid variable name`
          : `expected KEY=VALUE, got "${body}"`,
      );
    }
    const key = m![1];
    at += m![0].length;
    const quote = text[at];
    if (quote === '"' || quote === "'" || quote === "`") {
      let value = "";
      let i = at + 1;
      for (; i < text.length && text[i] !== quote; i++) {
        if (quote === '"' && text[i] === "\\" && i + 1 < text.length) {
          const next = text[++i];
          value += ESCAPES[next] ?? `\\${next}`;
        } else value += text[i];
      }
      if (i >= text.length) fail(at, `the ${quote} quote of ${key} is never closed`);
      const after = eol(i + 1);
      const rest = text.slice(i + 1, after).trim();
      if (rest !== "" && !rest.startsWith("#")) {
        fail(
          i + 1 + text.slice(i + 1, after).indexOf(rest[0]),
          `unexpected text after the closing ${quote} quote of ${key}`,
        );
      }
      out[key] = value;
      pos = after + 1;
      continue;
    }
    let value = text.slice(at, end).replace(/\r$/, "");
    const comment = /(^|[ \t])#/.exec(value);
    if (comment) value = value.slice(0, comment.index);
    out[key] = value.trim();
    pos = end + 1;
  }
  return out;
}

/**
 * Resolves `names` against `providers`, in order: the first provider that has a name gives
 * its value. Throws a {@linkcode SecretNotFoundError} naming every missing secret and every
 * place it was looked for.
 *
 * @example
 * ```ts
 * import { envSecrets, resolveSecrets, staticSecrets } from "./secrets.ts";
 * const values = await resolveSecrets(
 *   [envSecrets({ env: () => undefined }), staticSecrets({ TOKEN: "x" })],
 *   ["TOKEN"],
 * );
 * console.assert(values.TOKEN === "x");
 * ```
 */
export async function resolveSecrets(
  providers: readonly SecretProvider[],
  names: Iterable<string>,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const missing: string[] = [];
  for (const name of new Set(names)) {
    let found: string | undefined;
    for (const p of providers) {
      found = await p.get(name);
      if (found !== undefined) break;
    }
    if (found === undefined) missing.push(name);
    else out[name] = found;
  }
  if (missing.length) {
    throw new SecretNotFoundError(
      missing,
      (n) => providers.length ? providers.map((p) => p.describe(n)) : ["no providers configured"],
    );
  }
  return out;
}

// Masking lives in its own module; it is part of what this one offers.
export {
  MASK,
  type Masker,
  maskSecrets,
  maskValue,
  secretMasker,
  SHORT_SECRET_LENGTH,
} from "./masking.ts";
