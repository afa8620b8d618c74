/**
 * The legs of a matrix task in one run: the matrix's expressions evaluated with the run's
 * params, then expanded as on GitHub (see `matrix.ts`); and the name a task or a leg shows.
 *
 * @module
 */

import type { CompiledTask } from "./compiled.ts";
import { renderTemplate, toText } from "./expressions/mod.ts";
import { legId, matrixLegs } from "./matrix.ts";
import { MatrixExpression } from "./matrix_compile.ts";
import type { Leg, Values } from "./values.ts";

/**
 * The legs of `c` for a run with `values` (its params).
 *
 * @throws {TypeError} when the matrix, evaluated, has no legs or is not a matrix.
 */
export function legsOf(c: CompiledTask, values: Values): Leg[] {
  const m = c.matrix!;
  const taken = new Set<string>();
  const id = c.spec.id;
  if (m.legs) return m.legs.map((l) => ({ id: legId(id, l, taken), values: l }));
  const spec = evaluateMatrix(m.spec, values);
  if (spec === null || typeof spec !== "object" || Array.isArray(spec)) {
    throw new TypeError(
      `The matrix of task "${id}" must be a mapping of lists, got ${
        JSON.stringify(spec)?.slice(0, 80)
      }`,
    );
  }
  const legs = matrixLegs(spec as Record<string, unknown>);
  if ("error" in legs) throw new TypeError(`Task "${id}": ${legs.error}; ${legs.hint}`);
  return legs.legs.map((l) => ({ id: legId(id, l, taken), values: l }));
}

function evaluateMatrix(v: unknown, values: Values): unknown {
  if (v instanceof MatrixExpression) return renderTemplate(v.template, { values });
  if (Array.isArray(v)) return v.map((x) => evaluateMatrix(x, values));
  if (v !== null && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, evaluateMatrix(x, values)]));
  }
  return v;
}

/**
 * The name task `c` (or one of its legs, with `leg` its matrix values) shows: its `name:` with
 * its `${{ }}` rendered from `values` (params, run), as written when that fails. A leg whose
 * name has no `${{ }}` gets its values after it, as on GitHub: `Build (linux, 20)`.
 */
export function titleOf(c: CompiledTask, values: Values, leg?: Record<string, unknown>): string {
  let shown = c.spec.displayName ?? c.spec.id;
  if (c.title) {
    try {
      shown = toText(
        renderTemplate(c.title, { values: leg ? { ...values, matrix: leg } : values }),
      );
    } catch {
      // Shown as written: a name never fails a run.
    }
  }
  if (!leg || c.title) return shown;
  const label = Object.values(leg).map((v) => typeof v === "string" ? v : JSON.stringify(v));
  return `${shown} (${label.join(", ")})`;
}
