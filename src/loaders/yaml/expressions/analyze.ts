/**
 * Static analysis of parsed expressions: which values they read, which functions they call,
 * and the mistakes that can be found before running them.
 *
 * @module
 */

import { children, type Expr } from "./ast.ts";
import { didYouMean } from "../../../core/suggest.ts";
import { arityText, BUILTIN_FUNCTIONS, BUILTINS, STATUS_FUNCTIONS } from "./functions.ts";

/**
 * A value an expression reads: a root name and the static path below it. For
 * `tasks.extract.result.rows[0]` the root is `tasks` and the path
 * `["extract", "result", "rows", 0]`. A computed key that is not a string or number literal
 * ends the path (`a[i].b` gives `a` with path `[]`, and `i`).
 */
export interface Reference {
  /** The name the expression starts with. */
  root: string;
  /** The static keys read below the root, in order. */
  path: (string | number)[];
  /** Offset of the root name. */
  start: number;
  /** Offset just past the last key of the path. */
  end: number;
}

/** A mistake found by {@linkcode checkExpression}. */
export interface ExpressionIssue {
  /** What is wrong, as a sentence, with a "did you mean" when there is a likely name. */
  message: string;
  /** Offset where the mistake starts. */
  start: number;
  /** Offset just past it. */
  end: number;
  /** How to fix it. */
  hint?: string;
}

/** The names and functions an expression may use, for {@linkcode checkExpression}. */
export interface KnownNames {
  /** The root names the context will hold, e.g. `["params", "tasks"]`. */
  roots: readonly string[];
  /** Functions the context will pass besides the built-in ones, e.g. `STATUS_FUNCTIONS`. */
  functions: readonly string[];
}

function walk(expr: Expr, visit: (e: Expr) => boolean | void): void {
  if (visit(expr) === false) return;
  for (const child of children(expr)) walk(child, visit);
}

/**
 * Every value `expr` reads, in source order; each member chain is reported once, with its
 * longest static path.
 *
 * @example
 * ```ts
 * import { parseExpression } from "./parser.ts";
 * import { references } from "./analyze.ts";
 * const [ref] = references(parseExpression("tasks.extract.result.rows[0]"));
 * console.assert(ref.root === "tasks" && ref.path.join() === "extract,result,rows,0");
 * ```
 */
export function references(expr: Expr): Reference[] {
  const out: Reference[] = [];
  walk(expr, (e) => {
    if (e.kind === "name") {
      out.push({ root: e.name, path: [], start: e.start, end: e.end });
      return;
    }
    if (e.kind !== "member") return;
    const chain: (Expr & { kind: "member" })[] = [];
    let base: Expr = e;
    while (base.kind === "member") {
      chain.unshift(base);
      base = base.object;
    }
    if (base.kind === "name") {
      const ref: Reference = { root: base.name, path: [], start: base.start, end: base.end };
      for (const step of chain) {
        const key = step.key;
        if (
          key.kind !== "literal" ||
          !(typeof key.value === "string" || typeof key.value === "number")
        ) {
          break;
        }
        ref.path.push(key.value);
        ref.end = step.end;
      }
      out.push(ref);
    } else {
      out.push(...references(base));
    }
    for (const step of chain) out.push(...references(step.key));
    return false;
  });
  return out;
}

/**
 * Every function call in `expr`, in source order, with the offsets of the function's name.
 *
 * @example
 * ```ts
 * import { parseExpression } from "./parser.ts";
 * import { calledFunctions } from "./analyze.ts";
 * const calls = calledFunctions(parseExpression("success() && contains(a, 'x')"));
 * console.assert(calls.map((c) => c.name).join() === "success,contains");
 * console.assert(calls[1].start === 13 && calls[1].end === 21);
 * ```
 */
export function calledFunctions(expr: Expr): { name: string; start: number; end: number }[] {
  const out: { name: string; start: number; end: number }[] = [];
  walk(expr, (e) => {
    if (e.kind === "call") out.push({ name: e.name, start: e.start, end: e.nameEnd });
  });
  return out;
}

const STATUS: readonly string[] = STATUS_FUNCTIONS;

/**
 * The mistakes in `expr` that can be found before running it, in source order: names that are
 * not among `known.roots`, functions that are neither built in nor among `known.functions`
 * (both with "did you mean"), built-in functions called with the wrong number of arguments,
 * and status functions called with arguments.
 *
 * @example
 * ```ts
 * import { parseExpression } from "./parser.ts";
 * import { checkExpression } from "./analyze.ts";
 * const issues = checkExpression(parseExpression("parms.x && contain(a)"), {
 *   roots: ["params", "a"],
 *   functions: [],
 * });
 * console.assert(issues[0].message === 'Unknown name "parms" (did you mean "params"?)');
 * console.assert(issues[1].message === 'Unknown function "contain" (did you mean "contains"?)');
 * ```
 */
export function checkExpression(expr: Expr, known: KnownNames): ExpressionIssue[] {
  const issues: ExpressionIssue[] = [];
  const functions = [...new Set([...BUILTIN_FUNCTIONS, ...known.functions])];
  for (const ref of references(expr)) {
    if (known.roots.includes(ref.root)) continue;
    let hint = known.roots.length
      ? `expressions can use ${known.roots.map((r) => `"${r}"`).join(", ")}`
      : undefined;
    if (functions.includes(ref.root)) hint = `call the function as ${ref.root}()`;
    issues.push({
      message: `Unknown name "${ref.root}"${didYouMean(ref.root, known.roots)}`,
      start: ref.start,
      end: ref.start + ref.root.length,
      ...(hint === undefined ? {} : { hint }),
    });
  }
  walk(expr, (e) => {
    if (e.kind !== "call") return;
    const builtin = Object.hasOwn(BUILTINS, e.name) ? BUILTINS[e.name] : undefined;
    const n = e.args.length;
    if (builtin) {
      if (n < builtin.min || n > builtin.max) {
        issues.push({
          message: `${e.name}() takes ${arityText(builtin.min, builtin.max)}, got ${n}`,
          start: e.start,
          end: e.end,
          hint: `call it as ${builtin.signature}`,
        });
      }
    } else if (!known.functions.includes(e.name)) {
      issues.push({
        message: `Unknown function "${e.name}"${didYouMean(e.name, functions)}`,
        start: e.start,
        end: e.nameEnd,
        hint: `available functions: ${functions.join(", ")}`,
      });
    } else if (STATUS.includes(e.name) && n > 0) {
      issues.push({
        message: `${e.name}() takes no arguments, got ${n}`,
        start: e.start,
        end: e.end,
        hint: `call it as ${e.name}()`,
      });
    }
  });
  return issues.sort((a, b) => a.start - b.start);
}
