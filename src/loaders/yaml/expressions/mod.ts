/**
 * The expression language of YAML flows: `${{ … }}` as in GitHub Actions, with GitHub's
 * meaning. Parsing and evaluation are GitHub's own (`@actions/expressions`); this module adds
 * what Orchestra needs around them: offsets for `file:line:col`, static checks, lazy and
 * case-insensitive contexts over plain values, templates, shell quoting, and a few functions
 * GitHub lacks.
 *
 * ```ts
 * import { parseTemplate, renderTemplate } from "./mod.ts";
 * const t = parseTemplate("${{ params.factor == '21' }}");
 * console.assert(renderTemplate(t, { values: { params: { factor: 21 } } }) === true);
 * ```
 *
 * The language, in short (GitHub's):
 *
 * - Literals: `null`, `true`, `false`, numbers (`42`, `-1.5`, `2e3`, `0xff`, `0o17`, `NaN`,
 *   `Infinity`), strings in single quotes (`'it''s'`: a doubled quote is a quote).
 * - Contexts and members: `params.region`, `tasks.extract.result.rows[0]`, `a['key']`,
 *   `labels.*.name` (a filter: the `name` of every item). Names, members and function names
 *   are case-insensitive; a missing member is `null`.
 * - Operators, loosest first: `||`, `&&` (both return an operand), `==` `!=`, `<` `<=` `>` `>=`,
 *   `!`. Comparison is loose as GitHub's: text is compared without regard to case, and values
 *   of different types are compared as numbers (`1 == '1'`, `null == false`); arrays and
 *   objects are equal only to themselves.
 * - Functions: GitHub's (`contains`, `startsWith`, `endsWith`, `format`, `join`, `toJSON`,
 *   `fromJSON`, `case`), Orchestra's (see `functions.ts`) and the status functions of `if:`.
 * - Text of a value (`format`, `join`, a `${{ }}` inside longer text): see `toText`.
 *
 * @module
 */

// Errors
export { ExpressionError, type ExpressionErrorOptions, ExpressionSyntaxError } from "./errors.ts";

// Syntax tree and parsing
export { children, type Expr, type Node, type Span, spanOf, walk } from "./ast.ts";
export {
  MAX_EXPRESSION_LENGTH,
  MAX_NESTING,
  parseExpression,
  type ParseOptions,
} from "./parser.ts";

// Evaluation
export { type EvalContext, evaluate } from "./evaluate.ts";
export { GITHUB_FUNCTIONS, KNOWN_FUNCTIONS, signatureOf, STATUS_FUNCTIONS } from "./functions.ts";
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
