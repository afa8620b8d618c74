/**
 * Static analysis of parsed expressions: which values they read, which functions they call,
 * and the mistakes that can be found before running them. Names are compared as GitHub
 * compares them, without regard to case.
 *
 * @module
 */

import {
  ContextAccess,
  type Expr,
  FunctionCall,
  IndexAccess,
  Literal,
  type Node,
  spanOf,
  Star,
  walk,
} from "./ast.ts";
import { didYouMean } from "../../../core/suggest.ts";
import { GITHUB_FUNCTIONS, KNOWN_FUNCTIONS, STATUS_FUNCTIONS } from "./functions.ts";
import { data } from "@actions/expressions";

/**
 * A value an expression reads: a root name and the static path below it, as written. For
 * `tasks.extract.result.rows[0]` the root is `tasks` and the path
 * `["extract", "result", "rows", 0]`. A computed key that is not a literal, or a `*` filter,
 * ends the path (`a[i].b` gives `a` with path `[]`, and `i`; `a.*.b` gives `a`, filtered).
 */
export interface Reference {
  /** The name the expression starts with. */
  root: string;
  /** The static keys read below the root, in order. */
  path: (string | number)[];
  /** Whether a `*` filter follows the path. */
  filtered: boolean;
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
  /**
   * Functions the context will pass besides GitHub's and Orchestra's own, e.g.
   * `STATUS_FUNCTIONS` in `if:`.
   */
  functions: readonly string[];
}

function keyOf(node: Node): string | number | undefined {
  if (!(node instanceof Literal)) return undefined;
  const v = node.literal;
  if (v.kind === data.Kind.String) return (v as data.StringData).value;
  if (v.kind === data.Kind.Number) return (v as data.NumberData).value;
  return undefined;
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
  walk(expr.tree, (n) => {
    if (n instanceof ContextAccess) {
      const at = expr.tokenStarts.get(n.name)!;
      out.push({
        root: n.name.lexeme,
        path: [],
        filtered: false,
        start: at,
        end: at + n.name.lexeme.length,
      });
      return;
    }
    if (!(n instanceof IndexAccess)) return;
    const chain: IndexAccess[] = [];
    let base: Node = n;
    while (base instanceof IndexAccess) {
      chain.unshift(base);
      base = base.expr;
    }
    if (base instanceof ContextAccess) {
      const at = expr.tokenStarts.get(base.name)!;
      const ref: Reference = {
        root: base.name.lexeme,
        path: [],
        filtered: false,
        start: at,
        end: at + base.name.lexeme.length,
      };
      for (const step of chain) {
        if (step.index instanceof Star) {
          ref.filtered = true;
          break;
        }
        const key = keyOf(step.index);
        if (key === undefined) break;
        ref.path.push(key);
        ref.end = spanOf(expr, step).end;
      }
      out.push(ref);
    } else {
      out.push(...references({ ...expr, tree: base }));
    }
    for (const step of chain) {
      if (!(step.index instanceof Star)) out.push(...references({ ...expr, tree: step.index }));
    }
    return false;
  });
  return out.sort((a, b) => a.start - b.start);
}

/**
 * Every function call in `expr`, in source order, with its name as written and the offsets of
 * the name.
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
  walk(expr.tree, (n) => {
    if (!(n instanceof FunctionCall)) return;
    const at = expr.tokenStarts.get(n.functionName)!;
    out.push({ name: n.functionName.lexeme, start: at, end: at + n.functionName.lexeme.length });
  });
  return out.sort((a, b) => a.start - b.start);
}

const STATUS: readonly string[] = STATUS_FUNCTIONS;

/**
 * The mistakes in `expr` that can be found before running it, in source order: names that are
 * not among `known.roots` and status functions where `known.functions` does not offer them
 * (both with "did you mean"). GitHub's parser already refuses unknown functions and wrong
 * numbers of arguments.
 *
 * @example
 * ```ts
 * import { parseExpression } from "./parser.ts";
 * import { checkExpression } from "./analyze.ts";
 * const issues = checkExpression(parseExpression("parms.x && success()"), {
 *   roots: ["params", "a"],
 *   functions: [],
 * });
 * console.assert(issues[0].message === 'Unknown name "parms" (did you mean "params"?)');
 * console.assert(issues[1].message === 'Unknown function "success"');
 * ```
 */
export function checkExpression(expr: Expr, known: KnownNames): ExpressionIssue[] {
  const issues: ExpressionIssue[] = [];
  const roots = new Set(known.roots.map((r) => r.toLowerCase()));
  const functions = new Set(known.functions.map((f) => f.toLowerCase()));
  const callable = KNOWN_FUNCTIONS.filter((f) => !STATUS.includes(f) || functions.has(f));
  for (const ref of references(expr)) {
    if (roots.has(ref.root.toLowerCase())) continue;
    let hint = known.roots.length
      ? `expressions can use ${known.roots.map((r) => `"${r}"`).join(", ")}`
      : undefined;
    if (callable.some((f) => f.toLowerCase() === ref.root.toLowerCase())) {
      hint = `call the function as ${ref.root}()`;
    }
    issues.push({
      message: `Unknown name "${ref.root}"${didYouMean(ref.root, [...known.roots])}`,
      start: ref.start,
      end: ref.start + ref.root.length,
      ...(hint === undefined ? {} : { hint }),
    });
  }
  for (const call of calledFunctions(expr)) {
    const lower = call.name.toLowerCase();
    if (!STATUS.includes(lower) || functions.has(lower)) continue;
    issues.push({
      message: `Unknown function "${call.name}"${didYouMean(call.name, callable)}`,
      start: call.start,
      end: call.end,
      hint: `available functions: ${callable.join(", ")}`,
    });
  }
  return issues.sort((a, b) => a.start - b.start);
}

/** Whether `name` is one of GitHub's own functions (in any case). */
export function isGitHubFunction(name: string): boolean {
  return GITHUB_FUNCTIONS.some((f) => f.toLowerCase() === name.toLowerCase());
}
