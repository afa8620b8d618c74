/**
 * `orchestra config`: print the effective settings and where each came from, and the flags
 * every command that reads the configuration shares.
 *
 * @module
 */

import { isAbsolute, relative } from "node:path";
import { maskPassword } from "../../core/connection_url.ts";
import { formatIssue, type ValidationIssue } from "../../core/errors.ts";
import {
  ConfigError,
  resolveConfig,
  type ResolvedConfig,
  type Settings,
  type SettingSource,
} from "../../config/config.ts";
import { parseText, SETTING_SPECS, type SettingKey } from "../../config/settings.ts";
import { formatBytes } from "../../executors/process.ts";
import { type Parsed, UsageError } from "../args.ts";
import type { Io } from "../io.ts";
import { renderProblems, renderTable } from "../render.ts";

/**
 * The flags of every setting, and `--config FILE`: spread them into a command's options to
 * let it take the same settings.
 */
export const SETTINGS_OPTIONS = {
  config: { type: "string" },
  "state-dir": { type: "string" },
  concurrency: { type: "string", short: "c" },
  "plugin-dir": { type: "string", multiple: true },
  "log-level": { type: "string" },
  "log-format": { type: "string" },
  "policy-file": { type: "string" },
  "secrets-file": { type: "string" },
  workers: { type: "string" },
  executor: { type: "string" },
  durability: { type: "string" },
  "max-output": { type: "string" },
  store: { type: "string" },
} as const;

/** The flags of a command that only reads the state dir: `--config FILE`, `--state-dir DIR`. */
export const STORE_OPTIONS = {
  config: { type: "string" },
  "state-dir": { type: "string" },
} as const;

/** The flags of a command that reads or changes recorded runs: those, and `--store URL`. */
export const RECORDS_OPTIONS = {
  ...STORE_OPTIONS,
  store: { type: "string" },
} as const;

/** Options of `config`. */
export const CONFIG_OPTIONS = {
  ...SETTINGS_OPTIONS,
  // Only serve takes it otherwise: it is no setting of a run.
  tokens: { type: "string" },
  json: { type: "boolean" },
} as const;

/** Help of `config`. */
export const CONFIG_HELP = `Usage: orchestra config [options]

Print the effective settings and where each came from. Each source overrides the one
before: the default, the config file, an ORCHESTRA_* environment variable, a flag.

The config file is the first orchestra.yaml (or .yml), or deno.json(c) with an
"orchestra" key, found from the current directory upwards; --config or ORCHESTRA_CONFIG
names one instead. Its keys are the setting names, in camelCase or kebab-case; relative
paths in it resolve against its directory, those in variables and flags against the
current directory.

Settings:
  SETTING      FLAG                  VARIABLE               DEFAULT
  stateDir     --state-dir DIR       ORCHESTRA_STATE_DIR    ./.orchestra
  concurrency  -c, --concurrency N   ORCHESTRA_CONCURRENCY  unlimited
  pluginDirs   --plugin-dir DIR      ORCHESTRA_PLUGIN_DIRS  none (repeat the flag; a:b)
  logLevel     --log-level LEVEL     ORCHESTRA_LOG_LEVEL    info (or debug, warning, error)
  logFormat    --log-format FORMAT   ORCHESTRA_LOG_FORMAT   text (or json)
  policyFile   --policy-file FILE    ORCHESTRA_POLICY_FILE  none
  secretsFile  --secrets-file FILE   ORCHESTRA_SECRETS_FILE none
  workers      --workers N           ORCHESTRA_WORKERS      the number of cores
  executor     --executor NAME       ORCHESTRA_EXECUTOR     inline (or worker, process)
  durability   --durability LEVEL    ORCHESTRA_DURABILITY   full (or normal)
  maxOutput    --max-output SIZE     ORCHESTRA_MAX_OUTPUT   16MiB (a run: step's stdout)
  store        --store URL           ORCHESTRA_STORE        none: SQLite in the state dir
  tokensFile   --tokens FILE         ORCHESTRA_TOKENS_FILE  none (orchestra serve's API tokens)

A run: step that prints more than maxOutput on stdout (its result) fails, naming the limit;
its output is never cut short silently.

Store: postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE keeps runs, journals and cached
results in PostgreSQL, shared by every process pointed at it (?sslmode=require for TLS,
?schema=NAME for another schema than "orchestra"); the password is shown as ***.

Durability: full fsyncs each journal batch, so a power cut or OS crash loses nothing
recorded; normal is faster, but a power cut or OS crash may lose the last batches (a
killed process loses nothing).

Options:
      --config FILE         Read the settings from FILE, not the search (also ORCHESTRA_CONFIG)
      --json                Print { file, settings, sources } as JSON on stdout
  -h, --help                Show this help

Invalid settings in any source are all reported at once (exit 2).

Examples:
  orchestra config
  ORCHESTRA_LOG_LEVEL=debug orchestra config --concurrency 8 --json
`;

function optionName(key: SettingKey): string {
  return SETTING_SPECS.find((s) => s.key === key)!.flag.slice(2);
}

/** Reads the setting flags; each bad value is an issue naming its flag. */
function readSettingsFlags(
  values: Parsed["values"],
): { flags: Partial<Settings>; issues: ValidationIssue[] } {
  const flags: Record<string, unknown> = {};
  const issues: ValidationIssue[] = [];
  for (const s of SETTING_SPECS) {
    const raw = values[optionName(s.key)];
    if (raw === undefined || typeof raw === "boolean") continue;
    if (s.kind === "paths") {
      // Each repetition is one path: no splitting on ":" as for the variable.
      const paths = Array.isArray(raw) ? raw : [raw];
      if (paths.some((p) => p === "")) issues.push({ message: `${s.flag} must not be empty` });
      else flags[s.key] = paths;
      continue;
    }
    const parsed = parseText(s.key, Array.isArray(raw) ? raw[raw.length - 1] : raw);
    if (parsed.ok) flags[s.key] = parsed.value;
    else issues.push({ message: `${s.flag} ${parsed.problem}` });
  }
  return { flags: flags as Partial<Settings>, issues };
}

/**
 * Turns parsed setting flags (see {@linkcode SETTINGS_OPTIONS}) into settings for
 * `resolveConfig`; throws a `ConfigError` naming every bad flag.
 *
 * @example
 * ```ts
 * import { settingsFlags } from "./config.ts";
 * const flags = settingsFlags({ concurrency: "4", "plugin-dir": ["a", "b"] });
 * console.assert(flags.concurrency === 4 && flags.pluginDirs?.length === 2);
 * ```
 */
export function settingsFlags(values: Parsed["values"]): Partial<Settings> {
  const { flags, issues } = readSettingsFlags(values);
  if (issues.length) throw new ConfigError(issues);
  return flags;
}

/** A path relative to the current directory when inside it (`./…` with `dot`), else as is. */
export function shownPath(io: Io, path: string, dot: boolean): string {
  const rel = relative(io.cwd, path);
  if (rel === "") return ".";
  if (rel.startsWith("..") || isAbsolute(rel)) return path;
  return dot ? `./${rel}` : rel;
}

function shownValue(io: Io, key: SettingKey, value: unknown): string {
  if (value === undefined) {
    if (key === "store") return "none (SQLite in the state dir)";
    return key === "concurrency" ? "unlimited" : "none";
  }
  if (key === "store") return maskPassword(value as string);
  if (Array.isArray(value)) {
    return value.length ? value.map((p) => shownPath(io, p, true)).join(", ") : "none";
  }
  if (key === "stateDir" || key === "policyFile" || key === "secretsFile" || key === "tokensFile") {
    return shownPath(io, value as string, true);
  }
  if (key === "maxOutput") return formatBytes(value as number).replace(" ", "");
  return String(value);
}

function shownSource(io: Io, source: SettingSource): string {
  if (source.source !== "file" || !source.detail) return source.detail ?? source.source;
  const [, path, line] = /^(.*):(\d+)$/.exec(source.detail) ?? [, source.detail, ""];
  return `${shownPath(io, path!, false)}${line ? `:${line}` : ""}`;
}

function table(rows: string[][]): string {
  return renderTable(rows) + "\n";
}

function renderConfig(io: Io, config: ResolvedConfig): string {
  const from = config.fileFrom === "flag"
    ? " (from --config)"
    : config.fileFrom === "env"
    ? " (from ORCHESTRA_CONFIG)"
    : "";
  const head = config.file
    ? `Config file: ${shownPath(io, config.file, false)}${from}\n`
    : `Config file: none (no orchestra.yaml, orchestra.yml, or deno.json(c) with an ` +
      `"orchestra" key from ${io.cwd} upwards)\n`;
  const rows = [["SETTING", "VALUE", "SOURCE"]];
  for (const s of SETTING_SPECS) {
    rows.push([
      s.key,
      shownValue(io, s.key, config.settings[s.key]),
      shownSource(io, config.sources[s.key]),
    ]);
  }
  return `${head}\n${table(rows)}`;
}

function renderIssues(io: Io, issues: readonly ValidationIssue[]): string {
  const n = issues.length;
  const lines = issues.map((i) => {
    const shown = i.location
      ? { ...i, location: { ...i.location, file: shownPath(io, i.location.file, false) } }
      : i;
    return `  ${formatIssue(shown).replaceAll("\n", "\n  ")}`;
  });
  return `error: invalid configuration (${n} problem${n === 1 ? "" : "s"}):\n${lines.join("\n")}\n`;
}

/**
 * The settings a command runs with (file, environment and its flags), or the exit code 2
 * after printing every configuration problem.
 */
export async function commandSettings(parsed: Parsed, io: Io): Promise<Settings | number> {
  try {
    const { settings } = await resolveConfig({
      cwd: io.cwd,
      env: io.env,
      flags: settingsFlags(parsed.values),
      ...(typeof parsed.values.config === "string" ? { configFile: parsed.values.config } : {}),
    });
    return settings;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    io.stderr(renderProblems("the configuration", e.issues));
    return 2;
  }
}

/** Runs `orchestra config`. */
export async function configCommand(parsed: Parsed, io: Io): Promise<number> {
  if (parsed.positionals.length) {
    throw new UsageError("config", `unexpected argument "${parsed.positionals[0]}"`);
  }
  const { flags, issues } = readSettingsFlags(parsed.values);
  let config: ResolvedConfig | undefined;
  let all = issues;
  try {
    config = await resolveConfig({
      cwd: io.cwd,
      env: io.env,
      flags,
      ...(typeof parsed.values.config === "string" ? { configFile: parsed.values.config } : {}),
    });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    all = [...e.issues, ...issues];
  }
  if (all.length || !config) {
    io.stderr(renderIssues(io, all));
    return 2;
  }
  for (const note of config.notes) io.stderr(`note: ${note}\n`);
  if (parsed.values.json) {
    const settings = Object.fromEntries(
      SETTING_SPECS.map((s) => [s.key, config.settings[s.key] ?? null]),
    );
    if (typeof settings.store === "string") settings.store = maskPassword(settings.store);
    io.stdout(
      JSON.stringify({ file: config.file ?? null, settings, sources: config.sources }, null, 2) +
        "\n",
    );
  } else {
    io.stdout(renderConfig(io, config));
  }
  return 0;
}
