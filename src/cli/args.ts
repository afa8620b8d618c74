/**
 * Command-line parsing on `node:util`'s `parseArgs`, with errors that say how to fix them.
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";
import { didYouMean } from "../core/suggest.ts";

/** Bad command-line usage: exit code 2. */
export class UsageError extends Error {
  /** The command whose usage was wrong. */
  readonly command: string;
  /** Creates the error. */
  constructor(command: string, message: string) {
    super(message);
    this.name = "UsageError";
    this.command = command;
  }
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** Parsed values and positionals of one command. */
export interface Parsed {
  /** Option values by long name. */
  values: Record<string, string | boolean | string[] | undefined>;
  /** Positional arguments. */
  positionals: string[];
}

/** Parses `args` for `command` against `options`; unknown options get a did-you-mean. */
export function parseCommand(command: string, args: string[], options: Options): Parsed {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: { ...options, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
    return { values: values as Parsed["values"], positionals };
  } catch (e) {
    const msg = (e as Error).message;
    const unknown = /Unknown option '(-{1,2}[^']+)'/.exec(msg);
    if (unknown) {
      const names = Object.keys(options).map((n) => `--${n}`);
      throw new UsageError(
        command,
        `unknown option ${unknown[1]}${didYouMean(unknown[1], names)}`,
      );
    }
    const missing = /Option '(-[^']+)' argument missing/.exec(msg) ??
      /Option '(--[^ ']+)[^']*' argument missing/.exec(msg);
    if (missing) throw new UsageError(command, `option ${missing[1]} needs a value`);
    throw new UsageError(command, msg);
  }
}

/** A whole number ≥ 1 from an option, or a usage error. */
export function positiveInt(command: string, name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(String(value)) || n < 1) {
    throw new UsageError(command, `--${name} must be a whole number ≥ 1, got "${value}"`);
  }
  return n;
}

/** `k=v` pairs from repeated `--param` options. */
export function keyValues(command: string, values: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of values ?? []) {
    const i = kv.indexOf("=");
    if (i <= 0) {
      throw new UsageError(command, `--param needs NAME=VALUE, got "${kv}"`);
    }
    out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}
