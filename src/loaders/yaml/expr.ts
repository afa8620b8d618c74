/**
 * The parts of the expression language the YAML compiler uses, in one place.
 *
 * @module
 */

export { checkExpression, references } from "./expressions/analyze.ts";
export type { Expr } from "./expressions/ast.ts";
export { ExpressionError, ExpressionSyntaxError } from "./expressions/errors.ts";
export { evaluate } from "./expressions/evaluate.ts";
export { BUILTIN_FUNCTIONS, STATUS_FUNCTIONS } from "./expressions/functions.ts";
export { parseExpression } from "./expressions/parser.ts";
export { shellQuote } from "./expressions/shell.ts";
export { parseTemplate, renderTemplate } from "./expressions/template.ts";
export type { Template } from "./expressions/template.ts";
export { isTruthy } from "./expressions/values.ts";
