/**
 * Compiling `strategy:`: the matrix's expressions checked (a matrix is expanded when the run
 * starts, so it may read params but no task's results), its legs made when it holds no
 * expressions, and `fail-fast` and `max-parallel`.
 *
 * @module
 */

import type { Checker, Scope } from "./checker.ts";
import type { CompiledMatrix } from "./compiled.ts";
import {
  ExpressionSyntaxError,
  parseTemplate,
  references,
  type Template,
} from "./expressions/mod.ts";
import { matrixLegs } from "./matrix.ts";
import type { TaskSpec } from "./spec.ts";
import type { YamlPath } from "./source.ts";

/** A template inside a matrix (a class, so no value written in the file can pass for one). */
export class MatrixExpression {
  /** The parsed text. */
  readonly template: Template;
  /** Wraps `template`. */
  constructor(template: Template) {
    this.template = template;
  }
}

/** Compiles `t`'s `strategy:`. */
export function compileMatrix(
  checker: Checker,
  t: TaskSpec,
  scope: Scope,
): CompiledMatrix | undefined {
  const strategy = t.fields.strategy!;
  const path = [...t.path, "strategy"];
  const mScope: Scope = { ...scope, place: "strategy" };
  let dynamic = false;
  const walk = (v: unknown, at: YamlPath): unknown => {
    if (typeof v === "string" && v.includes("${{")) {
      dynamic = true;
      const template = matrixTemplate(checker, v, at, mScope);
      return template ? new MatrixExpression(template) : v;
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, [...at, i]));
    if (v !== null && typeof v === "object") {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, [...at, k])]));
    }
    return v;
  };
  const spec = walk(strategy.matrix, [...path, "matrix"]);
  const out: CompiledMatrix = {
    spec,
    failFast: typeof strategy["fail-fast"] === "boolean" ? strategy["fail-fast"] : true,
  };
  if (typeof strategy["fail-fast"] === "string") {
    const tpl = checker.template(strategy["fail-fast"], [...path, "fail-fast"], mScope);
    out.failFast = tpl ?? true;
  }
  if (strategy["max-parallel"] !== undefined) out.maxParallel = strategy["max-parallel"];
  const keys = matrixKeys(strategy.matrix);
  if (keys) out.keys = keys;
  if (!dynamic) {
    const legs = matrixLegs(strategy.matrix as Record<string, unknown>);
    if ("error" in legs) {
      checker.issueAt(
        t,
        t.source.locate([...path, "matrix"]),
        `Task "${t.id}": ${legs.error}`,
        legs.hint,
      );
      return undefined;
    }
    out.legs = legs.legs;
  }
  return out;
}

// The keys a leg may have: the axes and what `include` adds, when they are all written out.
function matrixKeys(matrix: unknown): string[] | undefined {
  if (matrix === null || typeof matrix !== "object" || Array.isArray(matrix)) return undefined;
  const { include, exclude: _, ...axes } = matrix as Record<string, unknown>;
  const keys = new Set(Object.keys(axes));
  if (include !== undefined) {
    if (!Array.isArray(include)) return undefined;
    for (const entry of include) {
      if (entry === null || typeof entry !== "object" || Array.isArray(entry)) return undefined;
      for (const k of Object.keys(entry)) keys.add(k);
    }
  }
  return [...keys];
}

// A matrix is expanded when the run starts: its expressions may read params, not tasks.
function matrixTemplate(
  checker: Checker,
  text: string,
  path: YamlPath,
  scope: Scope,
): Template | undefined {
  let parsed: Template | undefined;
  try {
    parsed = parseTemplate(text);
  } catch (e) {
    if (!(e instanceof ExpressionSyntaxError)) throw e;
  }
  const t = scope.task;
  for (const part of parsed?.parts ?? []) {
    if (typeof part === "string") continue;
    const read = references(part.expr).find((r) => r.root === "tasks" || r.root === "needs");
    if (!read || !t) continue;
    checker.issueAt(
      t,
      t.source.locateInString(path, read.start),
      `A matrix of task "${t.id}" reads ${read.root}.${String(read.path[0] ?? "")}, which is ` +
        "known only after the run started",
      "a matrix is expanded when the run starts, from literals and params; for a list a task " +
        "computes, use `foreach:` (read ${{ item }})",
    );
    return undefined;
  }
  return checker.template(text, path, scope);
}
