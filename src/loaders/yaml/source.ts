/**
 * A parsed YAML file that remembers where everything is, so every error can name its
 * file:line:col.
 *
 * @module
 */

import {
  type Document,
  isMap,
  isPair,
  isScalar,
  isSeq,
  type Node as YamlNode,
  type Pair,
  parseDocument,
  visit,
  type YAMLMap,
} from "yaml";
import type { SourceLocation, ValidationIssue } from "../../core/errors.ts";

/** A path into the document: map keys and list indexes. */
export type YamlPath = readonly (string | number)[];

/** One YAML file, parsed, with positions. */
export class YamlSource {
  /** The file's path as shown in messages. */
  readonly file: string;
  /** The file's text. */
  readonly text: string;
  /** The parsed document. */
  readonly doc: Document;
  /** The document as plain data. */
  readonly data: unknown;
  /** Syntax errors, positioned. */
  readonly syntaxIssues: ValidationIssue[];
  /**
   * Keys that were dropped from `data` because no object can hold them as data (a mapping
   * with a key "constructor" is no plain object to the schema library), each at its place.
   */
  readonly keyIssues: ValidationIssue[] = [];
  /** Offsets where lines start. */
  readonly #lineStarts: number[];
  /** Each mapping's pairs by key, built when first looked into. */
  readonly #pairs = new WeakMap<YAMLMap, Map<string, Pair>>();

  /** Parses `text`; syntax errors are collected, not thrown. */
  constructor(file: string, text: string) {
    this.file = file;
    this.text = text;
    // Lines are counted from the text, not by the parser: after some syntax errors its line
    // counter misses line breaks inside unexpected tokens.
    this.#lineStarts = [0];
    for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) {
      this.#lineStarts.push(i + 1);
    }
    // Keys are checked for repeats below, in one pass: the parser's own check compares each
    // key with every other key of its mapping, which takes minutes for 20,000 tasks.
    this.doc = parseDocument(text, { prettyErrors: false, uniqueKeys: false });
    this.syntaxIssues = this.doc.errors.map((e) => ({
      message: `YAML syntax error: ${e.message.split("\n")[0]}`,
      location: this.at(e.pos[0]),
      hint: "check indentation, quotes and brackets on this line",
    }));
    if (this.syntaxIssues.length === 0) this.syntaxIssues.push(...this.#repeatedKeys());
    this.data = undefined;
    if (this.syntaxIssues.length) return;
    try {
      this.data = this.doc.toJS({ maxAliasCount: 100 });
      this.#dropReserved(this.data, []);
    } catch (e) {
      // An alias to an anchor that is not (yet) set, or too many aliases (a "YAML bomb").
      let first: number | undefined;
      let unresolved: number | undefined;
      visit(this.doc, {
        Alias: (_key, node) => {
          first ??= node.range?.[0];
          if (node.resolve(this.doc)) return undefined;
          unresolved = node.range?.[0];
          return visit.BREAK;
        },
      });
      this.syntaxIssues.push({
        message: `YAML error: ${(e as Error).message}`,
        location: this.at(unresolved ?? first ?? 0),
        hint: unresolved !== undefined
          ? "set the anchor (&name) before its aliases (*name)"
          : "use fewer aliases",
      });
    }
  }

  // Removes every key "constructor" below `value` (at `path`), with an issue where it is.
  #dropReserved(value: unknown, path: YamlPath): void {
    if (Array.isArray(value)) {
      value.forEach((v, i) => this.#dropReserved(v, [...path, i]));
      return;
    }
    if (value === null || typeof value !== "object") return;
    if (Object.hasOwn(value, "constructor")) {
      Reflect.deleteProperty(value, "constructor");
      this.keyIssues.push({
        message: 'A key named "constructor" cannot be used in a flow file',
        location: this.locateKey(path, "constructor"),
        hint: "rename it (JavaScript reserves the name on every object)",
      });
    }
    for (const [k, v] of Object.entries(value)) this.#dropReserved(v, [...path, k]);
  }

  // Each key of a mapping written twice, at the second one.
  #repeatedKeys(): ValidationIssue[] {
    const out: ValidationIssue[] = [];
    visit(this.doc, {
      Map: (_key, map) => {
        const seen = new Set<string>();
        for (const pair of map.items) {
          const k = keyOf(pair.key);
          if (k === undefined) continue;
          if (seen.has(k)) {
            out.push({
              message: "YAML syntax error: Map keys must be unique",
              location: this.at((pair.key as YamlNode).range?.[0] ?? 0),
              hint: "each key may appear once in a mapping",
            });
          }
          seen.add(k);
        }
      },
    });
    return out;
  }

  /** The location of a character offset. */
  at(offset: number): SourceLocation {
    const at = Math.max(0, Math.min(offset, this.text.length));
    const starts = this.#lineStarts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= at) lo = mid;
      else hi = mid - 1;
    }
    const line = lo + 1;
    const col = at - starts[lo] + 1;
    return { file: this.file, line, col };
  }

  /** The node at `path` (a value), or the closest existing ancestor. */
  node(path: YamlPath): YamlNode | undefined {
    let node: unknown = this.doc.contents;
    for (const key of path) {
      if (isMap(node)) {
        const pair = this.#pair(node, String(key));
        if (!pair) return node as YamlNode;
        node = pair.value ?? pair.key;
      } else if (isSeq(node) && typeof key === "number" && node.items[key] !== undefined) {
        node = node.items[key];
      } else {
        return (node ?? undefined) as YamlNode | undefined;
      }
    }
    return (node ?? undefined) as YamlNode | undefined;
  }

  // The pair of `key` in `map` (the first, as written), from an index built once per mapping:
  // locating every task of a large flow must not scan its mapping each time.
  #pair(map: YAMLMap, key: string): Pair | undefined {
    let index = this.#pairs.get(map);
    if (!index) {
      index = new Map();
      for (const p of map.items) {
        const k = isPair(p) ? keyOf(p.key) : undefined;
        if (k !== undefined && !index.has(k)) index.set(k, p as Pair);
      }
      this.#pairs.set(map, index);
    }
    return index.get(key);
  }

  /** Where the value at `path` starts (or its closest existing ancestor). */
  locate(path: YamlPath): SourceLocation {
    const node = this.node(path);
    return this.at(node?.range?.[0] ?? 0);
  }

  /** Where the key `key` of the mapping at `path` is written. */
  locateKey(path: YamlPath, key: string): SourceLocation {
    const map = this.node(path);
    if (isMap(map)) {
      const k = this.#pair(map, key)?.key as YamlNode | undefined;
      if (k?.range) return this.at(k.range[0]);
    }
    return this.locate(path);
  }

  /**
   * Where character `offset` of the string value at `path` is written. Escapes, indentation
   * and folding can shift a value from its source, so the value is walked alongside its
   * source text, from the same occurrence of `${{` when there is one.
   */
  locateInString(path: YamlPath, offset: number): SourceLocation {
    const node = this.node(path);
    if (!isScalar(node) || typeof node.value !== "string" || !node.range) return this.locate(path);
    const value = node.value;
    const raw = this.text.slice(node.range[0], node.range[1]);
    let v = 0;
    let r = contentStart(raw, node.type);
    const start = value.lastIndexOf("${{", offset);
    if (start >= 0) {
      const rawStart = nthIndex(raw, "${{", occurrences(value.slice(0, start), "${{"));
      if (rawStart >= 0) [v, r] = [start, rawStart];
    }
    return this.at(node.range[0] + align(value, v, offset, raw, r, node.type));
  }
}

/** Where a scalar's content starts in its source: after the quote or the block header. */
function contentStart(raw: string, type: string | undefined): number {
  if (type === "QUOTE_DOUBLE" || type === "QUOTE_SINGLE") return 1;
  if (type === "BLOCK_LITERAL" || type === "BLOCK_FOLDED") {
    const nl = raw.indexOf("\n");
    return nl < 0 ? raw.length : nl + 1;
  }
  return 0;
}

/**
 * The source offset of value offset `target`, walking value (from `v`) and source (from `r`)
 * together: escapes take several source characters, indentation and folded line breaks are
 * source whitespace the value lacks or has as one space.
 */
function align(
  value: string,
  v: number,
  target: number,
  raw: string,
  r: number,
  type: string | undefined,
): number {
  const space = (c: string | undefined) => c === " " || c === "\t" || c === "\n" || c === "\r";
  while (v < target && r < raw.length) {
    const c = raw[r];
    if (type === "QUOTE_DOUBLE" && c === "\\") {
      const next = raw[r + 1];
      if (next === "\n" || next === "\r") { // an escaped line break is not in the value
        r += 2;
        while (r < raw.length && space(raw[r])) r++;
        continue;
      }
      r += next === "x" ? 4 : next === "u" ? 6 : next === "U" ? 10 : 2;
      v++;
    } else if (type === "QUOTE_SINGLE" && c === "'" && raw[r + 1] === "'") {
      r += 2;
      v++;
    } else if (c === value[v] || (space(c) && space(value[v]))) {
      r++;
      v++;
    } else if (space(c)) {
      r++;
    } else {
      r++;
      v++;
    }
  }
  return Math.min(r, raw.length);
}

function keyOf(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return undefined;
}

function occurrences(text: string, needle: string): number {
  let n = 0;
  for (let i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + needle.length)) n++;
  return n;
}

function nthIndex(text: string, needle: string, nth: number): number {
  let i = text.indexOf(needle);
  for (let k = 0; k < nth && i >= 0; k++) i = text.indexOf(needle, i + needle.length);
  return i;
}
