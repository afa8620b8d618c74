/**
 * Glob patterns with `*` (any run of characters, not crossing the separator if there is one)
 * and `**` (any run of characters at all), matched by walking every position the pattern can
 * be at. Besides "does it match", that answers the two questions policy rules need about a
 * value that stands for many: can some extension of this text still match (overlap), and
 * does every extension match (cover).
 *
 * @module
 */

const STAR = -1;
const GLOBSTAR = -2;

/** A compiled glob: characters, and star tokens. */
export interface Glob {
  /** The pattern as written. */
  readonly source: string;
  /** Characters, and star tokens (negative numbers). */
  readonly tokens: readonly (string | number)[];
  /** The character `*` does not match, if any. */
  readonly sep: string | undefined;
}

/** Compiles `pattern`; with `sep` (e.g. "/"), `*` stops at it and `**` does not. */
export function compileGlob(pattern: string, sep?: string): Glob {
  const tokens: (string | number)[] = [];
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] !== "*") tokens.push(pattern[i]);
    else if (pattern[i + 1] === "*") {
      while (pattern[i + 1] === "*") i++;
      tokens.push(GLOBSTAR);
    } else tokens.push(sep === undefined ? GLOBSTAR : STAR);
  }
  return { source: pattern, tokens, sep };
}

function closure(glob: Glob, states: Set<number>): Set<number> {
  for (const i of states) {
    // A star may match nothing: the position after it is reachable too. The set grows while
    // iterating, which visits the added positions as well.
    if (typeof glob.tokens[i] === "number") states.add(i + 1);
  }
  return states;
}

/** The pattern positions reachable after reading all of `text`. */
export function globStates(glob: Glob, text: string): Set<number> {
  let states = closure(glob, new Set([0]));
  for (const c of text) {
    const next = new Set<number>();
    for (const i of states) {
      const t = glob.tokens[i];
      if (t === undefined) continue;
      if (t === GLOBSTAR || (t === STAR && c !== glob.sep)) next.add(i);
      else if (t === c) next.add(i + 1);
    }
    if (next.size === 0) return next;
    states = closure(glob, next);
  }
  return states;
}

/** Whether `glob` matches all of `text`. */
export function globMatches(glob: Glob, text: string): boolean {
  return globStates(glob, text).has(glob.tokens.length);
}

/** Whether some text starting with `prefix` (including `prefix` itself) matches `glob`. */
export function globMatchesSomeExtension(glob: Glob, prefix: string): boolean {
  return globStates(glob, prefix).size > 0;
}

/** Whether every text starting with `prefix` (including `prefix` itself) matches `glob`. */
export function globMatchesEveryExtension(glob: Glob, prefix: string): boolean {
  for (const i of globStates(glob, prefix)) {
    if (i < glob.tokens.length && glob.tokens.slice(i).every((t) => t === GLOBSTAR)) return true;
  }
  return false;
}

/**
 * Whether `pattern` matches `text` as a simple glob where `*` matches any run of characters.
 *
 * @example
 * ```ts
 * import { matchesGlob } from "./_glob.ts";
 * console.assert(matchesGlob("etl-*", "etl-daily"));
 * console.assert(!matchesGlob("etl-*", "report"));
 * ```
 */
export function matchesGlob(pattern: string, text: string): boolean {
  return globMatches(compileGlob(pattern), text);
}
