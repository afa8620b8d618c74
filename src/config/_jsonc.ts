/**
 * A small JSON-with-comments parser that keeps where each key and value starts, so problems
 * in a `deno.json(c)` can be reported at their line and column. Accepts what Deno accepts
 * in its config: `//` and `/* *\/` comments and trailing commas.
 *
 * @module
 */

/** A parsed JSON value with the offset of its first character. */
export type JsonNode =
  | { kind: "object"; offset: number; entries: JsonEntry[] }
  | { kind: "array"; offset: number; items: JsonNode[] }
  | { kind: "scalar"; offset: number; value: string | number | boolean | null };

/** One `"key": value` of an object. */
export interface JsonEntry {
  /** The key. */
  key: string;
  /** Offset of the key's opening quote. */
  keyOffset: number;
  /** The value. */
  value: JsonNode;
}

/** The text is not valid JSON(C); `offset` is where parsing stopped. */
export class JsoncSyntaxError extends SyntaxError {
  /** Offset of the offending character. */
  readonly offset: number;
  /** Creates the error. */
  constructor(message: string, offset: number) {
    super(message);
    this.name = "JsoncSyntaxError";
    this.offset = offset;
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
// JSON forbids raw control characters inside strings.
// deno-lint-ignore no-control-regex
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;

/** Parses `text`; throws {@linkcode JsoncSyntaxError}. */
export function parseJsonc(text: string): JsonNode {
  let i = 0;

  function skip(): void {
    while (i < text.length) {
      const c = text[i];
      if (c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\uFEFF") i++;
      else if (text.startsWith("//", i)) {
        const end = text.indexOf("\n", i);
        i = end < 0 ? text.length : end + 1;
      } else if (text.startsWith("/*", i)) {
        const end = text.indexOf("*/", i + 2);
        if (end < 0) throw new JsoncSyntaxError("Unterminated comment", i);
        i = end + 2;
      } else return;
    }
  }

  function unexpected(): never {
    if (i >= text.length) throw new JsoncSyntaxError("Unexpected end of file", i);
    throw new JsoncSyntaxError(`Unexpected character ${JSON.stringify(text[i])}`, i);
  }

  function string(): string {
    STRING.lastIndex = i;
    const m = STRING.exec(text);
    if (!m) throw new JsoncSyntaxError("Invalid string", i);
    i += m[0].length;
    return JSON.parse(m[0]);
  }

  function value(): JsonNode {
    skip();
    const offset = i;
    const c = text[i];
    if (c === "{") {
      i++;
      const entries: JsonEntry[] = [];
      for (skip(); text[i] !== "}"; skip()) {
        if (text[i] !== '"') unexpected();
        const keyOffset = i;
        const key = string();
        skip();
        if (text[i] !== ":") unexpected();
        i++;
        entries.push({ key, keyOffset, value: value() });
        skip();
        if (text[i] === ",") i++;
        else if (text[i] !== "}") unexpected();
      }
      i++;
      return { kind: "object", offset, entries };
    }
    if (c === "[") {
      i++;
      const items: JsonNode[] = [];
      for (skip(); text[i] !== "]"; skip()) {
        items.push(value());
        skip();
        if (text[i] === ",") i++;
        else if (text[i] !== "]") unexpected();
      }
      i++;
      return { kind: "array", offset, items };
    }
    if (c === '"') return { kind: "scalar", offset, value: string() };
    for (const [word, v] of [["true", true], ["false", false], ["null", null]] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return { kind: "scalar", offset, value: v };
      }
    }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m) unexpected();
    i += m[0].length;
    return { kind: "scalar", offset, value: Number(m[0]) };
  }

  const root = value();
  skip();
  if (i < text.length) unexpected();
  return root;
}

/** The plain value of a node (a later duplicate key wins, as in `JSON.parse`). */
export function toValue(node: JsonNode): unknown {
  switch (node.kind) {
    case "scalar":
      return node.value;
    case "array":
      return node.items.map(toValue);
    case "object":
      return Object.fromEntries(node.entries.map((e) => [e.key, toValue(e.value)]));
  }
}
