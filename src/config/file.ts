/**
 * Config files: finding one from a directory upwards, and reading its settings with the
 * position of each, from `orchestra.yaml` or the `orchestra` key of `deno.json(c)`.
 *
 * @module
 */

import { dirname, join, resolve } from "node:path";
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import { errorMessage, type SourceLocation, type ValidationIssue } from "../core/errors.ts";
import { FileReadError, readBoundedTextFile } from "../fs/read_bounded.ts";
import { JsoncSyntaxError, type JsonNode, parseJsonc, toValue } from "./_jsonc.ts";

/** The file names searched for in each directory, in order of precedence. */
export const CONFIG_FILE_NAMES: readonly string[] = [
  "orchestra.yaml",
  "orchestra.yml",
  "deno.json",
  "deno.jsonc",
];

/** One `key: value` of a config file, with where it was written. */
export interface ConfigEntry {
  /** The key as written (camelCase or kebab-case). */
  key: string;
  /** Where the key is. */
  location: SourceLocation;
  /** The value, as plain data. */
  value: unknown;
  /** Where the value is. */
  valueLocation: SourceLocation;
  /** Where each item is, when the value is a list. */
  itemLocations?: SourceLocation[];
}

/** The settings section of one config file. */
export interface ConfigFile {
  /** The file's absolute path. */
  path: string;
  /** Whether the file has a settings section (a `deno.json` may not). */
  hasSettings: boolean;
  /** Every key of the section, in file order. */
  entries: ConfigEntry[];
  /** What is wrong with the file's syntax or shape. */
  issues: ValidationIssue[];
}

/** What a search from a directory upwards found. */
export interface FoundConfig {
  /** The file used, if one was found. */
  file?: ConfigFile;
  /** Files found but not used, e.g. a `deno.json` beside an `orchestra.yaml`. */
  notes: string[];
}

type Format = "yaml" | "deno" | "json";

function formatOf(path: string): Format {
  const name = path.replace(/^.*[\\/]/, "");
  if (name === "deno.json" || name === "deno.jsonc") return "deno";
  return /\.jsonc?$/i.test(name) ? "json" : "yaml";
}

function locator(path: string, text: string): (offset: number) => SourceLocation {
  const starts = [0];
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  return (offset) => {
    let lo = 0, hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { file: path, line: lo + 1, col: offset - starts[lo] + 1 };
  };
}

function describeNode(node: unknown): string {
  if (isSeq(node)) return "a list";
  if (isScalar(node)) return node.value === null ? "nothing" : JSON.stringify(node.value);
  return "something else";
}

function readYaml(path: string, text: string): ConfigFile {
  const file: ConfigFile = { path, hasSettings: true, entries: [], issues: [] };
  const at = locator(path, text);
  let doc;
  try {
    doc = parseDocument(text, { lineCounter: new LineCounter(), prettyErrors: false });
  } catch (e) {
    // npm:yaml reads LOG_TOKENS and LOG_STREAM from the environment while parsing.
    const hint = e instanceof Deno.errors.NotCapable
      ? "npm:yaml reads the LOG_TOKENS and LOG_STREAM variables; run with " +
        "--allow-env=LOG_TOKENS,LOG_STREAM (or --allow-env)"
      : undefined;
    file.issues.push({
      message: `Cannot parse "${path}": ${errorMessage(e)}`,
      ...(hint ? { hint } : {}),
    });
    return file;
  }
  if (doc.errors.length) {
    for (const e of doc.errors) {
      file.issues.push({ message: `Invalid YAML: ${e.message}`, location: at(e.pos[0]) });
    }
    return file;
  }
  const root = doc.contents;
  if (root === null) return file; // an empty file sets nothing
  if (!isMap(root)) {
    file.issues.push({
      message: `A config file must hold a mapping of settings, got ${describeNode(root)}`,
      location: at(root.range?.[0] ?? 0),
      hint: "write one setting per line, e.g. concurrency: 4",
    });
    return file;
  }
  for (const pair of root.items) {
    const keyNode = pair.key as Node | null;
    const location = at(keyNode?.range?.[0] ?? 0);
    if (!isScalar(keyNode) || typeof keyNode.value !== "string") {
      file.issues.push({
        message: `Setting names must be strings, got ${describeNode(keyNode)}`,
        location,
      });
      continue;
    }
    const valueNode = pair.value as Node | null;
    let value: unknown = null;
    try {
      value = valueNode ? valueNode.toJS(doc) : null;
    } catch (e) {
      file.issues.push({
        message: `Setting "${keyNode.value}" cannot be read: ${errorMessage(e)}`,
        location,
      });
      continue;
    }
    file.entries.push({
      key: keyNode.value,
      location,
      value,
      valueLocation: valueNode?.range ? at(valueNode.range[0]) : location,
      ...(isSeq(valueNode)
        ? {
          itemLocations: valueNode.items.map((n) =>
            at((n as Node | null)?.range?.[0] ?? valueNode.range?.[0] ?? 0)
          ),
        }
        : {}),
    });
  }
  return file;
}

function readJson(path: string, text: string, format: "deno" | "json"): ConfigFile {
  const file: ConfigFile = { path, hasSettings: format === "json", entries: [], issues: [] };
  const at = locator(path, text);
  let root: JsonNode;
  try {
    root = parseJsonc(text);
  } catch (e) {
    if (!(e instanceof JsoncSyntaxError)) throw e;
    file.issues.push({ message: `Invalid JSON: ${e.message}`, location: at(e.offset) });
    return file;
  }
  let section: JsonNode | undefined = root;
  if (format === "deno") {
    const entry = root.kind === "object"
      ? root.entries.findLast((e) => e.key === "orchestra")
      : undefined;
    section = entry?.value;
    if (!section) return file;
    file.hasSettings = true;
  }
  if (section.kind !== "object") {
    file.issues.push({
      message: format === "deno"
        ? `The "orchestra" key must hold an object of settings, got ${
          JSON.stringify(toValue(section))
        }`
        : `A config file must hold an object of settings`,
      location: at(section.offset),
    });
    return file;
  }
  for (const e of section.entries) {
    file.entries.push({
      key: e.key,
      location: at(e.keyOffset),
      value: toValue(e.value),
      valueLocation: at(e.value.offset),
      ...(e.value.kind === "array"
        ? { itemLocations: e.value.items.map((n) => at(n.offset)) }
        : {}),
    });
  }
  return file;
}

/** The text of `path`, or `undefined` when there is no such file. */
async function readText(path: string): Promise<string | undefined> {
  try {
    return await readBoundedTextFile(path, { what: "configuration file" });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

function parse(path: string, text: string): ConfigFile {
  const format = formatOf(path);
  return format === "yaml" ? readYaml(path, text) : readJson(path, text, format);
}

function unreadable(path: string, e: unknown): ConfigFile {
  return {
    path,
    hasSettings: true,
    entries: [],
    issues: [{
      message: e instanceof FileReadError
        ? e.message
        : `Cannot read config file "${path}": ${errorMessage(e)}`,
    }],
  };
}

/**
 * Reads the settings of `path`: a YAML file, the `orchestra` key of a `deno.json(c)`, or
 * the whole object of any other `.json(c)` file. Problems are returned, not thrown.
 *
 * @example
 * ```ts
 * import { readConfigFile } from "./file.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/orchestra.yaml`, "logLevel: debug\n");
 * const file = await readConfigFile(`${dir}/orchestra.yaml`);
 * console.assert(file.entries[0].key === "logLevel" && file.entries[0].location.line === 1);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readConfigFile(path: string): Promise<ConfigFile> {
  let text: string | undefined;
  try {
    text = await readText(path);
  } catch (e) {
    return unreadable(path, e);
  }
  if (text === undefined) return unreadable(path, "no such file");
  return parse(path, text);
}

/**
 * Searches `dir` and each parent up to the root for the first directory with an
 * `orchestra.yaml` (or `.yml`), or a `deno.json(c)` with an `orchestra` key, and reads it.
 * In one directory `orchestra.yaml` wins; the others found there are noted.
 *
 * @example
 * ```ts
 * import { findConfigFile } from "./file.ts";
 * const root = await Deno.makeTempDir();
 * await Deno.mkdir(`${root}/a/b`, { recursive: true });
 * await Deno.writeTextFile(`${root}/deno.json`, '{ "orchestra": { "workers": 2 } }');
 * const found = await findConfigFile(`${root}/a/b`);
 * console.assert(found.file?.path === `${root}/deno.json`);
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export async function findConfigFile(dir: string): Promise<FoundConfig> {
  for (let d = resolve(dir);; d = dirname(d)) {
    const found: ConfigFile[] = [];
    for (const name of CONFIG_FILE_NAMES) {
      const path = join(d, name);
      let text: string | undefined;
      try {
        text = await readText(path);
      } catch (e) {
        found.push(unreadable(path, e));
        continue;
      }
      if (text === undefined) continue;
      const file = parse(path, text);
      // A deno.json that cannot be parsed may hide an `orchestra` key: report it.
      if (file.hasSettings || file.issues.length) found.push(file);
    }
    if (found.length) {
      const [file, ...others] = found;
      const notes = others.filter((o) => o.hasSettings && !o.issues.length).map((o) =>
        `${formatOf(o.path) === "deno" ? `The "orchestra" key of ` : ""}"${o.path}" is ` +
        `ignored: "${file.path}" in the same directory takes precedence`
      );
      return { file, notes };
    }
    if (dirname(d) === d) return { notes: [] };
  }
}
