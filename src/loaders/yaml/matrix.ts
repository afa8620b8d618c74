/**
 * A strategy matrix as on GitHub: every combination of the keys' values is a leg; `exclude`
 * removes the legs it matches, then each `include` entry extends the legs whose original
 * values it matches, or becomes a leg of its own. Each leg is a task of its own, with an id
 * that names its values: `build[os=linux,node=20]`.
 *
 * @module
 */

import { toText } from "./expressions/mod.ts";

/** GitHub's limit, kept: a matrix of more legs is a mistake more often than not. */
export const MAX_LEGS = 256;

/** A matrix's legs, or why it has none. */
export type MatrixLegs = { legs: Record<string, unknown>[] } | { error: string; hint: string };

/**
 * The legs of a matrix whose values are known.
 *
 * @example
 * ```ts
 * import { matrixLegs } from "./matrix.ts";
 * const r = matrixLegs({
 *   os: ["linux", "mac"],
 *   node: [18, 20],
 *   exclude: [{ os: "mac", node: 18 }],
 *   include: [{ os: "linux", experimental: true }, { os: "windows", node: 20 }],
 * });
 * console.assert("legs" in r && r.legs.length === 4);
 * console.assert("legs" in r && r.legs[0].experimental === true && r.legs[3].os === "windows");
 * ```
 */
export function matrixLegs(matrix: Record<string, unknown>): MatrixLegs {
  const { include, exclude, ...axes } = matrix;
  for (const [key, values] of Object.entries(axes)) {
    if (!Array.isArray(values)) {
      return {
        error: `matrix.${key} must be a list of values, got ${describe(values)}`,
        hint: `e.g. ${key}: [a, b]`,
      };
    }
  }
  for (const [name, list] of [["include", include], ["exclude", exclude]] as const) {
    if (list === undefined) continue;
    if (
      !Array.isArray(list) ||
      list.some((e) => e === null || typeof e !== "object" || Array.isArray(e))
    ) {
      return {
        error: `matrix.${name} must be a list of mappings, got ${describe(list)}`,
        hint: `e.g. ${name}: [{ os: linux, node: 20 }]`,
      };
    }
  }
  const keys = Object.keys(axes);
  let legs: Record<string, unknown>[] = keys.length ? [{}] : [];
  for (const key of keys) {
    legs = legs.flatMap((leg) => (axes[key] as unknown[]).map((v) => ({ ...leg, [key]: v })));
  }
  const excluded = (exclude ?? []) as Record<string, unknown>[];
  legs = legs.filter((leg) =>
    !excluded.some((e) => Object.entries(e).every(([k, v]) => same(leg[k], v)))
  );
  const original = legs.map((leg) => ({ ...leg }));
  const extra: Record<string, unknown>[] = [];
  for (const entry of (include ?? []) as Record<string, unknown>[]) {
    let added = false;
    legs.forEach((leg, i) => {
      const fits = Object.entries(entry).every(([k, v]) =>
        !keys.includes(k) || same(original[i][k], v)
      );
      if (!fits) return;
      Object.assign(leg, entry);
      added = true;
    });
    if (!added) extra.push({ ...entry });
  }
  legs.push(...extra);
  if (legs.length === 0) {
    return {
      error: "The matrix has no legs",
      hint: "give its keys values, or take out the `exclude` entries that remove every leg",
    };
  }
  if (legs.length > MAX_LEGS) {
    return {
      error: `The matrix has ${legs.length} legs, more than ${MAX_LEGS}`,
      hint: "use fewer values, or `foreach:` over a list (up to 10,000 items)",
    };
  }
  return { legs };
}

/**
 * The id of a leg: the task's id and the leg's values, `build[os=linux,node=20]`. Characters
 * that ids cannot hold become `_`; a leg whose id is taken gets `,leg=N`.
 *
 * @example
 * ```ts
 * import { legId } from "./matrix.ts";
 * console.assert(legId("build", { os: "ubuntu latest", node: 20 }, new Set()) === "build[os=ubuntu_latest,node=20]");
 * ```
 */
export function legId(task: string, leg: Record<string, unknown>, taken: Set<string>): string {
  const part = (v: string) => v.replace(/[\s\[\]#,=]/g, "_").slice(0, 40) || "_";
  const pairs = Object.entries(leg).map(([k, v]) => `${part(k)}=${part(textOf(v))}`);
  let id = `${task}[${pairs.join(",")}]`;
  for (let n = 2; taken.has(id); n++) id = `${task}[${[...pairs, `leg=${n}`].join(",")}]`;
  taken.add(id);
  return id;
}

// A list or a mapping is written as JSON: GitHub's text of one ("Array") would name no leg.
function textOf(v: unknown): string {
  if (v !== null && typeof v === "object") return JSON.stringify(v);
  try {
    return toText(v);
  } catch {
    return String(v);
  }
}

function same(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  return typeof v === "object" ? "a mapping" : `${typeof v} ${JSON.stringify(v)}`;
}
