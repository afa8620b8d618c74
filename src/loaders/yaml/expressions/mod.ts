/**
 * The expression language of YAML flows: `${{ … }}` as in GitHub Actions, evaluated without
 * JavaScript `eval`, without access to prototypes, and with bounded size and depth.
 *
 * ```ts
 * import { parseTemplate, renderTemplate } from "./mod.ts";
 * const t = parseTemplate("${{ params.factor * 2 }}");
 * console.assert(renderTemplate(t, { values: { params: { factor: 21 } } }) === 42);
 * ```
 *
 * The language, in short:
 *
 * - Literals: `null`, `true`, `false`, numbers (`42`, `1.5`, `2e3`, `0xff`), strings in single
 *   quotes (`'it''s'`: a doubled quote is a quote) or double quotes with JSON escapes
 *   (`"a\nb"`), arrays `[1, 'a']` and objects `{a: 1, 'b c': 2}`.
 * - Names and members: `params.factor`, `tasks.extract.result.rows[0]`, `a['key']`, `a[i]`.
 *   After a `.`, a name may contain `-` (`tasks.my-task.result`); so `a.b-1` reads the member
 *   `b-1`: write `a.b - 1` to subtract. A missing member is `null`. Only own data properties of
 *   plain objects (string keys) and arrays (integer indexes) are read: `x.constructor`,
 *   `x.__proto__` and `list.length` are `null` (use `length(list)`).
 * - Operators, loosest first: `||`, `&&` (both return an operand), `==` `!=` (deep equality,
 *   no coercion), `<` `<=` `>` `>=` (two numbers or two strings), `+` `-`, `*` `/` `%`, unary
 *   `!` `-`. `+` adds numbers, or joins text when either side is a string. Other arithmetic on
 *   non-numbers, division by zero and overflow are errors, so results stay JSON.
 * - Functions: see `BUILTIN_FUNCTIONS` (documented in `functions.ts`), plus those passed in
 *   `EvalContext.functions`, such as the `STATUS_FUNCTIONS`.
 * - Interpolation: strings as they are, `null` as `""`, numbers and booleans via `String`,
 *   arrays and objects as compact JSON (see `toText`).
 *
 * @module
 */

// Errors
export { ExpressionError, type ExpressionErrorOptions, ExpressionSyntaxError } from "./errors.ts";

// Syntax tree and parsing
export type {
  ArrayExpr,
  BinaryExpr,
  BinaryOperator,
  CallExpr,
  Expr,
  LiteralExpr,
  MemberExpr,
  NameExpr,
  ObjectEntry,
  ObjectExpr,
  Span,
  UnaryExpr,
} from "./ast.ts";
export { MAX_EXPRESSION_LENGTH, MAX_NESTING, parseExpression } from "./parser.ts";

// Evaluation
export { type EvalContext, evaluate } from "./evaluate.ts";
export { BUILTIN_FUNCTIONS, STATUS_FUNCTIONS } from "./functions.ts";
export { isTruthy, toText } from "./values.ts";

// Templates and shell quoting
export {
  parseTemplate,
  type RenderOptions,
  renderTemplate,
  type Template,
  type TemplatePart,
} from "./template.ts";
export { shellQuote } from "./shell.ts";

// Analysis
export {
  calledFunctions,
  checkExpression,
  type ExpressionIssue,
  type KnownNames,
  type Reference,
  references,
} from "./analyze.ts";
