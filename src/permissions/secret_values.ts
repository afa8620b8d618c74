/**
 * The secret values a host has handed out during a run (from the secrets file, the
 * environment, decrypted `enc:v1:` params and results restored from their sealed form), and
 * masking by them: of a text, and of a JSON value walked structurally (every string, object
 * key and number), so that nothing that leaves a run (the journal, the cache, the view, the
 * `--json` record) holds one in clear.
 *
 * @module
 */

import { MASK, secretMasker } from "./secrets.ts";

/** A JSON value masked by {@linkcode SecretValues.maskValue}, and whether anything was. */
export interface Masked {
  /** The value with every secret replaced by `***`; the same value when nothing was. */
  value: unknown;
  /** Whether a secret was found (and masked). */
  masked: boolean;
}

/**
 * The secret values known so far, and masking by them.
 *
 * @example
 * ```ts
 * import { SecretValues } from "./secret_values.ts";
 * const secrets = new SecretValues();
 * secrets.add("hunter2");
 * console.assert(secrets.mask("pw=hunter2") === "pw=***");
 * const m = secrets.maskValue({ header: "Bearer hunter2", n: 1 });
 * console.assert(m.masked && JSON.stringify(m.value) === '{"header":"Bearer ***","n":1}');
 * console.assert(!secrets.maskValue({ ok: true }).masked);
 * ```
 */
export class SecretValues {
  readonly #values = new Set<string>();
  #masker: ((text: string) => string) | undefined;

  /** Remembers a value handed out; the empty string is no secret. */
  add(value: string): void {
    if (value === "" || this.#values.has(value)) return;
    this.#values.add(value);
    this.#masker = undefined;
  }

  /** How many values are known: with none, nothing needs masking. */
  get size(): number {
    return this.#values.size;
  }

  /** The values, for sealing. */
  values(): string[] {
    return [...this.#values];
  }

  /** `text` with every known value replaced by `***`. */
  mask(text: string): string {
    if (this.#values.size === 0) return text;
    return (this.#masker ??= secretMasker(this.#values))(text);
  }

  /**
   * A copy of JSON value `value` with every known secret masked in its strings, object keys
   * and numbers (a number that shows a secret becomes the string `***`); `masked` says
   * whether anything was. Unchanged parts are shared, not copied.
   */
  maskValue(value: unknown): Masked {
    if (this.#values.size === 0) return { value, masked: false };
    const text = (s: string): string => this.mask(s);
    const walk = (v: unknown): unknown => {
      if (typeof v === "string") return text(v);
      if (typeof v === "number" || typeof v === "bigint") {
        const shown = String(v);
        return text(shown) === shown ? v : MASK;
      }
      if (Array.isArray(v)) {
        let out: unknown[] | undefined;
        for (let i = 0; i < v.length; i++) {
          const w = walk(v[i]);
          if (w !== v[i]) (out ??= v.slice())[i] = w;
        }
        return out ?? v;
      }
      if (v !== null && typeof v === "object") {
        let changed = false;
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v)) {
          const key = text(k);
          const w = walk(x);
          if (key !== k || w !== x) changed = true;
          out[key] = w;
        }
        return changed ? out : v;
      }
      return v;
    };
    const out = walk(value);
    return { value: out, masked: out !== value };
  }
}
