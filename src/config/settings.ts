/**
 * The settings Orchestra reads from its configuration: their names in every source (file
 * key, environment variable, flag), their defaults, and the one check each value passes
 * whatever its source.
 *
 * @module
 */

import { delimiter } from "node:path";
import { maskPassword } from "../core/connection_url.ts";
import { EXECUTOR_KINDS, type ExecutorKind } from "../core/model.ts";
import { didYouMean } from "../core/suggest.ts";

/** The log levels a configuration accepts, lowest first. */
export const LOG_LEVELS: readonly LogLevelName[] = ["debug", "info", "warning", "error"];

/** A log level a configuration accepts. */
export type LogLevelName = "debug" | "info" | "warning" | "error";

/** The log formats a configuration accepts. */
export const LOG_FORMATS: readonly LogFormatName[] = ["text", "json"];

/** A log format: text lines or JSON lines. */
export type LogFormatName = "text" | "json";

/** The durability levels a configuration accepts. */
export const DURABILITIES: readonly DurabilityName[] = ["full", "normal"];

/**
 * How hard the state store works to keep the journal: `full` fsyncs each journal batch, so a
 * power cut or OS crash loses nothing recorded; `normal` fsyncs less often (at WAL
 * checkpoints), so a power cut or OS crash may lose the last batches, though a killed
 * process loses nothing.
 */
export type DurabilityName = "full" | "normal";

/** The effective settings, with every path absolute. */
export interface Settings {
  /** Where runs, journals and caches are kept. @default "./.orchestra" */
  stateDir: string;
  /** How many tasks run at once; `undefined` is unlimited. @default undefined */
  concurrency?: number;
  /** Directories plugins are loaded from. @default [] */
  pluginDirs: string[];
  /** The lowest level logged. @default "info" */
  logLevel: LogLevelName;
  /** Text or JSON log lines. @default "text" */
  logFormat: LogFormatName;
  /** A file of permission policy, if any. @default undefined */
  policyFile?: string;
  /** A dotenv file of secrets, looked up before the environment. @default undefined */
  secretsFile?: string;
  /** How many worker processes or threads a pool may start. @default the number of cores */
  workers: number;
  /** Where tasks run unless they say otherwise. @default "inline" */
  executor: ExecutorKind;
  /**
   * `full`: each journal batch is fsynced; `normal`: a power cut or OS crash may lose the
   * last batches, a killed process loses nothing. @default "full"
   */
  durability: DurabilityName;
  /**
   * The most a `run:` step may print on stdout (its result), in bytes; a step that prints
   * more fails (its output is never cut short silently). @default 16 MiB
   */
  maxOutput: number;
  /**
   * A PostgreSQL store (`postgres://user@host:port/db`) for runs, journals and caches instead
   * of SQLite in the state dir; unset keeps SQLite. @default undefined
   */
  store?: string;
  /**
   * `orchestra serve`'s tokens file: API tokens by role (hashed) and each webhook flow's
   * secret name. `serve token add` writes it. @default undefined
   */
  tokensFile?: string;
}

/** The name of one setting. */
export type SettingKey = keyof Settings;

/** How a setting's value is checked and parsed. */
export type SettingKind = "path" | "paths" | "count" | "choice" | "size" | "store";

/** One setting's names in every source, and its kind. */
export interface SettingSpec {
  /** The setting's name, also its key in a config file. */
  key: SettingKey;
  /** The kebab-case key a config file may use instead. */
  kebab: string;
  /** The environment variable, e.g. `ORCHESTRA_STATE_DIR`. */
  env: string;
  /** The command-line flag, e.g. `--state-dir`. */
  flag: string;
  /** How the value is checked. */
  kind: SettingKind;
  /** The allowed values of a `choice`. */
  choices?: readonly string[];
  /** One line for help texts. */
  description: string;
}

function spec(
  key: SettingKey,
  kind: SettingKind,
  description: string,
  choices?: readonly string[],
  flagName?: string,
): SettingSpec {
  const kebab = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  const env = `ORCHESTRA_${kebab.replaceAll("-", "_").toUpperCase()}`;
  // The flag is singular for a list: it is repeated once per item.
  const flag = flagName ?? `--${kind === "paths" ? kebab.replace(/s$/, "") : kebab}`;
  return { key, kebab, env, flag, kind, description, ...(choices ? { choices } : {}) };
}

/**
 * Every setting, in the order `orchestra config` lists them.
 *
 * @example
 * ```ts
 * import { SETTING_SPECS } from "./settings.ts";
 * const dirs = SETTING_SPECS.find((s) => s.key === "pluginDirs")!;
 * console.assert(dirs.env === "ORCHESTRA_PLUGIN_DIRS" && dirs.flag === "--plugin-dir");
 * ```
 */
export const SETTING_SPECS: readonly SettingSpec[] = [
  spec("stateDir", "path", "Where runs, journals and caches are kept"),
  spec("concurrency", "count", "How many tasks run at once (unset: unlimited)"),
  spec("pluginDirs", "paths", "Directories plugins are loaded from"),
  spec("logLevel", "choice", "The lowest level logged", LOG_LEVELS),
  spec("logFormat", "choice", "Text or JSON log lines", LOG_FORMATS),
  spec("policyFile", "path", "A file of permission policy"),
  spec("secretsFile", "path", "A dotenv file of secrets (looked up before the environment)"),
  spec("workers", "count", "How many workers a pool may start"),
  spec("executor", "choice", "Where tasks run unless they say otherwise", EXECUTOR_KINDS),
  spec(
    "durability",
    "choice",
    "full: each journal batch is fsynced; normal: a power cut or OS crash may lose the " +
      "last batches, a killed process loses nothing",
    DURABILITIES,
  ),
  spec(
    "maxOutput",
    "size",
    "The most a run: step may print on stdout (16MiB, 1GiB, bytes); more fails the step",
  ),
  spec(
    "store",
    "store",
    "A PostgreSQL store for runs, journals and caches (postgres://user@host:port/db) " +
      "instead of SQLite in the state dir",
  ),
  // Only orchestra serve (and config) take its flag, --tokens as the issue names it.
  spec(
    "tokensFile",
    "path",
    "orchestra serve's tokens file (API tokens by role, webhook secrets)",
    undefined,
    "--tokens",
  ),
];

/** The spec of each setting by name. */
export const SETTINGS_BY_KEY: Readonly<Record<SettingKey, SettingSpec>> = Object.fromEntries(
  SETTING_SPECS.map((s) => [s.key, s]),
) as Record<SettingKey, SettingSpec>;

/**
 * The defaults, before paths are resolved against the working directory.
 *
 * @example
 * ```ts
 * import { defaultSettings } from "./settings.ts";
 * const d = defaultSettings();
 * console.assert(d.stateDir === "./.orchestra" && d.concurrency === undefined);
 * console.assert(d.workers >= 1 && d.executor === "inline");
 * ```
 */
export function defaultSettings(): Settings {
  return {
    stateDir: "./.orchestra",
    concurrency: undefined,
    pluginDirs: [],
    logLevel: "info",
    logFormat: "text",
    policyFile: undefined,
    secretsFile: undefined,
    workers: Math.max(1, navigator.hardwareConcurrency || 1),
    executor: "inline",
    durability: "full",
    maxOutput: 16 * 1024 * 1024,
    store: undefined,
    tokensFile: undefined,
  };
}

const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};

/** A size as text (`16MiB`, `64 MB`, `1g`, `1048576`) in bytes, or undefined. */
function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  if (!m) return undefined;
  const unit = UNITS[m[2].toLowerCase()];
  if (unit === undefined) return undefined;
  const n = Math.round(Number(m[1]) * unit);
  return Number.isSafeInteger(n) && n >= 1 ? n : undefined;
}

const SIZE_PROBLEM = "must be a size such as 16MiB, 512KiB, 1GiB or a number of bytes";

/** A checked value, or what is wrong with it (and, for a list, the 0-based bad `item`). */
export type Checked =
  | { ok: true; value: unknown }
  | { ok: false; problem: string; hint?: string; item?: number };

function describe(value: unknown): string {
  if (typeof value === "string") return `"${value}" (a string)`;
  if (Array.isArray(value)) return "a list";
  if (value !== null && typeof value === "object") return "a mapping";
  return String(value);
}

function fail(problem: string, hint?: string, item?: number): Checked {
  return {
    ok: false,
    problem,
    ...(hint === undefined ? {} : { hint }),
    ...(item === undefined ? {} : { item }),
  };
}

/**
 * A store URL: `postgres://` or `postgresql://`. Anything else is refused here, with the value
 * shown with its password masked; the store checks the rest when it connects.
 */
function checkStore(value: unknown, text: boolean): Checked {
  if (typeof value === "string" && /^postgres(ql)?:\/\/./.test(value)) return { ok: true, value };
  const shown = typeof value === "string"
    ? `"${maskPassword(value)}"${text ? "" : " (a string)"}`
    : describe(value);
  return fail(
    `must be a PostgreSQL URL (postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE), got ${shown}`,
    "for SQLite leave store unset: stateDir says where its file goes",
  );
}

function checkChoice(s: SettingSpec, value: unknown, shown: string): Checked {
  const choices = s.choices ?? [];
  if (typeof value === "string" && choices.includes(value)) return { ok: true, value };
  let near = "";
  if (typeof value === "string" && value !== "") {
    // A prefix is a likely abbreviation ("warn") even when too short for an edit-distance hit.
    const prefixed = choices.find((c) => c.startsWith(value.toLowerCase()));
    near = didYouMean(value, choices) || (prefixed ? ` (did you mean "${prefixed}"?)` : "");
  }
  return fail(`must be one of ${choices.join(", ")}, got ${shown}${near}`);
}

/**
 * Checks a typed value, as read from a config file or passed as a flag by code. `problem`
 * completes a sentence whose subject names the setting: `must be …, got …`.
 *
 * @example
 * ```ts
 * import { checkValue } from "./settings.ts";
 * console.assert(checkValue("workers", 4).ok);
 * const bad = checkValue("workers", "4");
 * console.assert(!bad.ok && bad.problem === 'must be a whole number ≥ 1, got "4" (a string)');
 * ```
 */
export function checkValue(key: SettingKey, value: unknown): Checked {
  const s = SETTINGS_BY_KEY[key];
  switch (s.kind) {
    case "path":
      if (typeof value === "string" && value !== "") return { ok: true, value };
      return fail(`must be a path (a non-empty string), got ${describe(value)}`);
    case "paths": {
      if (!Array.isArray(value)) {
        const hint = typeof value === "string"
          ? `write a list, even of one: ${key}: ["${value}"]`
          : undefined;
        return fail(`must be a list of paths, got ${describe(value)}`, hint);
      }
      const bad = value.findIndex((v) => typeof v !== "string" || v === "");
      if (bad >= 0) {
        return fail(
          `must be a list of paths, but item ${bad + 1} is ${describe(value[bad])}`,
          undefined,
          bad,
        );
      }
      return { ok: true, value: [...value] };
    }
    case "count":
      if (typeof value === "number" && Number.isInteger(value) && value >= 1) {
        return { ok: true, value };
      }
      return fail(
        `must be a whole number ≥ 1, got ${describe(value)}`,
        typeof value === "string" && /^\d+$/.test(value)
          ? `write it without quotes: ${key}: ${value}`
          : undefined,
      );
    case "choice":
      return checkChoice(s, value, typeof value === "string" ? `"${value}"` : describe(value));
    case "size": {
      const n = typeof value === "number"
        ? (Number.isSafeInteger(value) && value >= 1 ? value : undefined)
        : typeof value === "string"
        ? parseSize(value)
        : undefined;
      return n === undefined
        ? fail(`${SIZE_PROBLEM}, got ${describe(value)}`)
        : { ok: true, value: n };
    }
    case "store":
      return checkStore(value, false);
  }
}

/**
 * Parses a setting from text, as given in an environment variable or a flag. A list of
 * paths is split on the OS path-list separator (`:`, or `;` on Windows).
 *
 * @example
 * ```ts
 * import { parseText } from "./settings.ts";
 * const dirs = parseText("pluginDirs", "a:b");
 * console.assert(dirs.ok && JSON.stringify(dirs.value) === '["a","b"]');
 * const n = parseText("concurrency", "four");
 * console.assert(!n.ok && n.problem === 'must be a whole number ≥ 1, got "four"');
 * ```
 */
export function parseText(key: SettingKey, text: string): Checked {
  const s = SETTINGS_BY_KEY[key];
  switch (s.kind) {
    case "path":
      return text === "" ? fail("must be a path, got an empty string") : { ok: true, value: text };
    case "paths":
      return { ok: true, value: text.split(delimiter).filter((p) => p !== "") };
    case "count": {
      const n = Number(text);
      if (/^\s*\d+\s*$/.test(text) && n >= 1) return { ok: true, value: n };
      return fail(`must be a whole number ≥ 1, got "${text}"`);
    }
    case "choice":
      return checkChoice(s, text.trim(), `"${text}"`);
    case "size": {
      const n = parseSize(text);
      return n === undefined ? fail(`${SIZE_PROBLEM}, got "${text}"`) : { ok: true, value: n };
    }
    case "store":
      return checkStore(text.trim(), true);
  }
}
