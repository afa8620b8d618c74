/**
 * Encrypted params: `enc:v1:` values made by `orchestra secret encrypt` (AES-256-GCM through
 * WebCrypto, with a key derived from `ORCHESTRA_SECRET_KEY`). They stay encrypted in the run
 * record and are decrypted only when a task that uses them starts. With the same key, a
 * {@linkcode Sealer} keeps a task result that holds a secret encrypted in the state store, so
 * that `resume` can restore its true value.
 *
 * @module
 */

import { OrchestraError } from "../core/errors.ts";

/** The prefix of an encrypted value. */
export const ENCRYPTED_PREFIX = "enc:v1:";

/** The environment variable that holds the key. */
export const SECRET_KEY_VARIABLE = "ORCHESTRA_SECRET_KEY";

/** Whether a value is an encrypted param. */
export function isEncrypted(value: unknown): value is string {
  return typeof value === "string" && value.startsWith(ENCRYPTED_PREFIX);
}

async function keyFrom(secret: string): Promise<CryptoKey> {
  if (!secret) {
    throw new OrchestraError(
      `No key to encrypt or decrypt params: set ${SECRET_KEY_VARIABLE} (any long random string)`,
    );
  }
  const raw = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(secret));
  return crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
}

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/**
 * Encrypts `plain` into an `enc:v1:` value.
 *
 * @example
 * ```ts
 * import { decryptValue, encryptValue } from "./encrypted.ts";
 * const enc = await encryptValue("hunter2", "my key");
 * console.assert(enc.startsWith("enc:v1:") && await decryptValue(enc, "my key") === "hunter2");
 * ```
 */
export async function encryptValue(plain: string, secret: string): Promise<string> {
  return encryptWith(await keyFrom(secret), plain);
}

async function encryptWith(key: CryptoKey, plain: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const data = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, new TextEncoder().encode(plain)),
  );
  const out = new Uint8Array(iv.length + data.length);
  out.set(iv);
  out.set(data, iv.length);
  return ENCRYPTED_PREFIX + toBase64(out);
}

/** Decrypts an `enc:v1:` value; a wrong key or a damaged value is a clear error. */
export async function decryptValue(value: string, secret: string): Promise<string> {
  if (!isEncrypted(value)) return value;
  return decryptWith(await keyFrom(secret), value);
}

async function decryptWith(key: CryptoKey, value: string): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.from(atob(value.slice(ENCRYPTED_PREFIX.length)), (c) => c.charCodeAt(0));
  } catch {
    throw new OrchestraError(`An encrypted param is damaged (not base64 after "enc:v1:")`);
  }
  try {
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: bytes.slice(0, 12) },
      key,
      bytes.slice(12),
    );
    return new TextDecoder().decode(plain);
  } catch {
    throw new OrchestraError(
      `An encrypted param cannot be decrypted: ${SECRET_KEY_VARIABLE} is not the key it was ` +
        `encrypted with, or the value was changed`,
    );
  }
}

/** A copy of `value` with every encrypted string decrypted; `found` receives the plaintexts. */
export async function decryptDeep(
  value: unknown,
  decrypt: (v: string) => Promise<string>,
  found: (plain: string) => void,
): Promise<unknown> {
  if (isEncrypted(value)) {
    const plain = await decrypt(value);
    found(plain);
    return plain;
  }
  if (Array.isArray(value)) return Promise.all(value.map((v) => decryptDeep(v, decrypt, found)));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = await decryptDeep(v, decrypt, found);
    return out;
  }
  return value;
}

/** Whether `value` holds an encrypted string anywhere. */
export function holdsEncrypted(value: unknown): boolean {
  if (isEncrypted(value)) return true;
  if (Array.isArray(value)) return value.some(holdsEncrypted);
  if (value !== null && typeof value === "object") return Object.values(value).some(holdsEncrypted);
  return false;
}

/** A JSON value opened by {@linkcode Sealer.unseal}, with the secrets it holds. */
export interface Unsealed {
  /** The true value. */
  value: unknown;
  /** The secret values it held when it was sealed: to be masked wherever it goes. */
  secrets: string[];
}

/**
 * Seals JSON values with the key of `ORCHESTRA_SECRET_KEY` (derived once): a result that holds
 * a secret is stored sealed, so the state dir never holds it in clear and `resume` still gets
 * the true value back.
 *
 * @example
 * ```ts
 * import { Sealer } from "./encrypted.ts";
 * const sealer = new Sealer("my key");
 * const sealed = await sealer.seal({ header: "Bearer t0k3n" }, ["t0k3n"]);
 * console.assert(sealed.startsWith("enc:v1:") && !sealed.includes("t0k3n"));
 * const { value, secrets } = await sealer.unseal(sealed);
 * console.assert((value as { header: string }).header === "Bearer t0k3n" && secrets[0] === "t0k3n");
 * ```
 */
export class Sealer {
  readonly #key: Promise<CryptoKey>;

  /** A sealer with the key derived from `secret` (which must not be empty). */
  constructor(secret: string) {
    this.#key = keyFrom(secret);
    this.#key.catch(() => {}); // reported by seal() and unseal()
  }

  /** `value` and the secrets it holds, encrypted into an `enc:v1:` string. */
  async seal(value: unknown, secrets: readonly string[]): Promise<string> {
    return encryptWith(await this.#key, JSON.stringify({ value, secrets }));
  }

  /** Opens what {@linkcode Sealer.seal} made; a wrong key or damage is a clear error. */
  async unseal(sealed: string): Promise<Unsealed> {
    const o = JSON.parse(await decryptWith(await this.#key, sealed)) as Partial<Unsealed>;
    return {
      value: o.value ?? null,
      secrets: Array.isArray(o.secrets) ? o.secrets.filter((v) => typeof v === "string") : [],
    };
  }
}
