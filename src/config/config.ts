/**
 * Orchestra's configuration: defaults, then a config file, then `ORCHESTRA_*` environment
 * variables, then command-line flags, each later source overriding the earlier ones, with
 * where every effective value came from.
 *
 * @module
 */

import { isAbsolute, resolve } from "node:path";
import { formatIssue, OrchestraError, type ValidationIssue } from "../core/errors.ts";
import { didYouMean } from "../core/suggest.ts";
import { type ConfigEntry, type ConfigFile, findConfigFile, readConfigFile } from "./file.ts";
import {
  checkValue,
  defaultSettings,
  parseText,
  SETTING_SPECS,
  type SettingKey,
  type Settings,
  SETTINGS_BY_KEY,
} from "./settings.ts";

export type {
  DurabilityName,
  LogFormatName,
  LogLevelName,
  SettingKey,
  Settings,
} from "./settings.ts";

/** The environment variable naming a config file, which skips the search. */
export const CONFIG_ENV = "ORCHESTRA_CONFIG";

/**
 * The configuration is invalid. Holds every problem found, in the file, the environment
 * and the flags, not just the first.
 *
 * @example
 * ```ts
 * import { ConfigError } from "./config.ts";
 * const err = new ConfigError([{ message: 'ORCHESTRA_WORKERS must be a whole number ≥ 1, got "0"' }]);
 * console.assert(err.name === "ConfigError" && err.issues.length === 1);
 * ```
 */
export class ConfigError extends OrchestraError {
  /** Every problem found. */
  readonly issues: readonly ValidationIssue[];
  /** Creates the error from a non-empty list of issues. */
  constructor(issues: readonly ValidationIssue[], options?: ErrorOptions) {
    const n = issues.length;
    super(
      `Invalid configuration (${n} problem${n === 1 ? "" : "s"}):\n` +
        issues.map((i) => `  - ${formatIssue(i)}`).join("\n"),
      options,
    );
    this.name = "ConfigError";
    this.issues = issues;
  }
}

/** Where one effective value came from. */
export interface SettingSource {
  /** The source that set the value last. */
  source: "default" | "file" | "env" | "flag";
  /** `path:line` for a file, the variable's name for env, the flag (`--state-dir`) for a flag. */
  detail?: string;
}

/** The effective settings and the source of each. */
export interface ResolvedConfig {
  /** The effective settings; paths are absolute. */
  settings: Settings;
  /** Where each setting's value came from. */
  sources: Record<SettingKey, SettingSource>;
  /** The config file read, if any (absolute). */
  file?: string;
  /** How the file was chosen: `--config`, `ORCHESTRA_CONFIG`, or the search upwards. */
  fileFrom?: "flag" | "env" | "search";
  /** Things worth telling the user that are not errors, e.g. a config file that was ignored. */
  notes: string[];
}

/** Options of {@linkcode resolveConfig}. */
export interface ResolveConfigOptions {
  /** The directory the search starts from; env and flag paths resolve against it. */
  cwd: string;
  /** Reads an environment variable. @default no variables are set */
  env?: (name: string) => string | undefined;
  /** Settings given as command-line flags (already typed). @default {} */
  flags?: Partial<Settings>;
  /** A config file given with `--config`; skips the search and `ORCHESTRA_CONFIG`. */
  configFile?: string;
}

const PATH_KEYS: ReadonlySet<SettingKey> = new Set([
  "stateDir",
  "pluginDirs",
  "policyFile",
  "secretsFile",
  "tokensFile",
]);
const KEBAB_TO_KEY = new Map(SETTING_SPECS.map((s) => [s.kebab, s.key]));

function absolute(base: string, key: SettingKey, value: unknown): unknown {
  if (!PATH_KEYS.has(key)) return value;
  const one = (p: string) => isAbsolute(p) ? p : resolve(base, p);
  return Array.isArray(value) ? value.map(one) : one(value as string);
}

function keyOf(written: string): SettingKey | undefined {
  return Object.hasOwn(SETTINGS_BY_KEY, written)
    ? written as SettingKey
    : KEBAB_TO_KEY.get(written);
}

function unknownKey(entry: ConfigEntry): ValidationIssue {
  const kebab = entry.key.includes("-");
  const names = SETTING_SPECS.map((s) => kebab ? s.kebab : s.key);
  const near = didYouMean(entry.key, names);
  return {
    message: `Unknown setting "${entry.key}"${near}`,
    location: entry.location,
    ...(near ? {} : { hint: `the settings are ${names.join(", ")}` }),
  };
}

function applyFile(file: ConfigFile, config: ResolvedConfig, issues: ValidationIssue[]): void {
  const dir = resolve(file.path, "..");
  const seen = new Map<SettingKey, ConfigEntry>();
  for (const entry of file.entries) {
    const key = keyOf(entry.key);
    if (key === undefined) {
      issues.push(unknownKey(entry));
      continue;
    }
    const first = seen.get(key);
    if (first) {
      issues.push({
        message:
          `Setting "${key}" is given twice, as "${first.key}" on line ${first.location.line} ` +
          `and as "${entry.key}"`,
        location: entry.location,
        hint: "keep one of them",
      });
      continue;
    }
    seen.set(key, entry);
    if (entry.value === null) continue; // `key:` with no value leaves the setting unset
    const checked = checkValue(key, entry.value);
    if (!checked.ok) {
      issues.push({
        message: `Setting "${key}" ${checked.problem}`,
        location: (checked.item !== undefined && entry.itemLocations?.[checked.item]) ||
          entry.valueLocation,
        ...(checked.hint ? { hint: checked.hint } : {}),
      });
      continue;
    }
    set(config, key, absolute(dir, key, checked.value), {
      source: "file",
      detail: `${file.path}:${entry.location.line}`,
    });
  }
}

function set(
  config: ResolvedConfig,
  key: SettingKey,
  value: unknown,
  source: SettingSource,
): void {
  (config.settings as unknown as Record<string, unknown>)[key] = value;
  config.sources[key] = source;
}

/**
 * Resolves the effective settings from, in increasing precedence: the defaults, a config
 * file, `ORCHESTRA_*` environment variables and command-line flags. Every problem in any
 * source is reported at once as a {@linkcode ConfigError}.
 *
 * The config file is `--config FILE` (`configFile`) or `ORCHESTRA_CONFIG` if given;
 * otherwise the first directory from `cwd` upwards with an `orchestra.yaml` (or `.yml`), or a
 * `deno.json(c)` with an `orchestra` key, holds it (the YAML file wins in one directory). Keys
 * are the setting names, in camelCase or kebab-case; relative paths resolve against the
 * file's directory, while paths from the environment and flags resolve against `cwd`. A key
 * with no value leaves the setting unset. An empty environment variable counts as unset.
 *
 * A sample `orchestra.yaml` (every key is optional):
 *
 * ```yaml
 * # Where runs, journals and caches are kept.  ORCHESTRA_STATE_DIR, --state-dir
 * stateDir: ./.orchestra
 * # Tasks at once; leave out for unlimited.     ORCHESTRA_CONCURRENCY, --concurrency
 * concurrency: 4
 * # Plugin directories.                         ORCHESTRA_PLUGIN_DIRS (a:b), --plugin-dir (repeat)
 * pluginDirs: [./plugins, /opt/orchestra/plugins]
 * # debug, info, warning or error.              ORCHESTRA_LOG_LEVEL, --log-level
 * logLevel: info
 * # text or json.                               ORCHESTRA_LOG_FORMAT, --log-format
 * log-format: text
 * # Permission policy.                          ORCHESTRA_POLICY_FILE, --policy-file
 * policyFile: ./policy.yaml
 * # Pool size; defaults to the number of cores. ORCHESTRA_WORKERS, --workers
 * workers: 8
 * # inline, worker or process.                  ORCHESTRA_EXECUTOR, --executor
 * executor: worker
 * # full (fsync each journal batch) or normal   ORCHESTRA_DURABILITY, --durability
 * # (a power cut or OS crash may lose the last batches; a killed process loses nothing).
 * durability: full
 * ```
 *
 * The same in `deno.json`: `{ "orchestra": { "concurrency": 4, "logLevel": "debug" } }`.
 *
 * Reading a YAML file needs `--allow-read` and, for npm:yaml,
 * `--allow-env=LOG_TOKENS,LOG_STREAM`.
 *
 * @example
 * ```ts
 * import { resolveConfig } from "./config.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/orchestra.yaml`, "concurrency: 4\nlogLevel: warning\n");
 * const env: Record<string, string> = { ORCHESTRA_LOG_LEVEL: "debug" };
 * const { settings, sources } = await resolveConfig({
 *   cwd: dir,
 *   env: (name) => env[name],
 *   flags: { workers: 2 },
 * });
 * console.assert(settings.concurrency === 4 && sources.concurrency.source === "file");
 * console.assert(settings.logLevel === "debug" && sources.logLevel.detail === "ORCHESTRA_LOG_LEVEL");
 * console.assert(settings.workers === 2 && sources.workers.detail === "--workers");
 * console.assert(settings.stateDir === `${dir}/.orchestra` && sources.stateDir.source === "default");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function resolveConfig(options: ResolveConfigOptions): Promise<ResolvedConfig> {
  const { cwd, env = () => undefined, flags = {} } = options;
  const defaults = defaultSettings();
  const config: ResolvedConfig = {
    settings: { ...defaults, stateDir: resolve(cwd, defaults.stateDir) },
    sources: Object.fromEntries(
      SETTING_SPECS.map((s) => [s.key, { source: "default" }]),
    ) as Record<SettingKey, SettingSource>,
    notes: [],
  };
  const issues: ValidationIssue[] = [];

  const fromEnv = env(CONFIG_ENV) || undefined;
  const explicit = options.configFile ?? fromEnv;
  let file: ConfigFile | undefined;
  if (explicit !== undefined) {
    file = await readConfigFile(resolve(cwd, explicit));
    config.fileFrom = options.configFile !== undefined ? "flag" : "env";
    if (!file.hasSettings) {
      file.issues.push({
        message: `"${file.path}" has no "orchestra" key`,
        hint: `add "orchestra": { … } with the settings, or name an orchestra.yaml`,
      });
    }
  } else {
    const found = await findConfigFile(cwd);
    file = found.file;
    config.notes.push(...found.notes);
    if (file) config.fileFrom = "search";
  }
  if (file) {
    config.file = file.path;
    issues.push(...file.issues);
    applyFile(file, config, issues);
  }

  for (const s of SETTING_SPECS) {
    const text = env(s.env);
    if (text === undefined || text === "") continue;
    const parsed = parseText(s.key, text);
    if (!parsed.ok) issues.push({ message: `${s.env} ${parsed.problem}` });
    else set(config, s.key, absolute(cwd, s.key, parsed.value), { source: "env", detail: s.env });
  }

  for (const [name, value] of Object.entries(flags)) {
    if (value === undefined) continue;
    if (!Object.hasOwn(SETTINGS_BY_KEY, name)) {
      issues.push({
        message: `Unknown setting "${name}"${didYouMean(name, Object.keys(SETTINGS_BY_KEY))}`,
      });
      continue;
    }
    const s = SETTINGS_BY_KEY[name as SettingKey];
    const checked = checkValue(s.key, value);
    if (!checked.ok) {
      issues.push({ message: `${s.flag} ${checked.problem}` });
      continue;
    }
    set(config, s.key, absolute(cwd, s.key, checked.value), { source: "flag", detail: s.flag });
  }

  if (issues.length) throw new ConfigError(issues);
  return config;
}
