/**
 * Connection strings as they may be shown: the password replaced by `***`, so that a store URL
 * printed by `orchestra config`, an error or a log line never carries it.
 *
 * @module
 */

/** What a masked password reads as. */
export const MASK = "***";

/**
 * The URL with its password (if any) replaced by `***`; everything else as written. Text that
 * is not a URL is returned with anything between `://user:` and the last `@` masked, so that
 * a malformed connection string does not leak its password either.
 *
 * @example
 * ```ts
 * import { maskPassword } from "./connection_url.ts";
 * console.assert(
 *   maskPassword("postgres://ada:s3cret@db.internal:5432/orchestra?sslmode=require") ===
 *     "postgres://ada:***@db.internal:5432/orchestra?sslmode=require",
 * );
 * console.assert(maskPassword("postgres://ada@db/orchestra") === "postgres://ada@db/orchestra");
 * ```
 */
export function maskPassword(url: string): string {
  // Written by hand rather than through `new URL()`: the URL class re-encodes what it
  // prints, and the user should see the string they wrote, less the password.
  const scheme = url.indexOf("://");
  if (scheme < 0) return url;
  const authorityStart = scheme + 3;
  const rest = url.slice(authorityStart);
  const end = rest.search(/[/?#]/);
  const authority = end < 0 ? rest : rest.slice(0, end);
  const at = authority.lastIndexOf("@");
  if (at < 0) return url;
  const colon = authority.indexOf(":");
  if (colon < 0 || colon > at) return url;
  return url.slice(0, authorityStart) + authority.slice(0, colon + 1) + MASK +
    authority.slice(at) + (end < 0 ? "" : rest.slice(end));
}

/**
 * Every occurrence of the URL's password in `text` masked (for messages from a driver, which may
 * quote the connection string or the password).
 *
 * @example
 * ```ts
 * import { maskPasswordIn } from "./connection_url.ts";
 * const url = "postgres://ada:s3cret@db/orchestra";
 * console.assert(maskPasswordIn(`cannot use ${url}: s3cret rejected`, url) ===
 *   "cannot use postgres://ada:***@db/orchestra: *** rejected");
 * ```
 */
export function maskPasswordIn(text: string, url: string): string {
  let out = text.replaceAll(url, maskPassword(url));
  const password = passwordOf(url);
  if (password) {
    out = out.replaceAll(password, MASK);
    const decoded = safeDecode(password);
    if (decoded !== password && decoded !== "") out = out.replaceAll(decoded, MASK);
  }
  return out;
}

function passwordOf(url: string): string {
  const masked = maskPassword(url);
  if (masked === url) return "";
  const scheme = url.indexOf("://") + 3;
  const authority = url.slice(scheme).split(/[/?#]/)[0];
  return authority.slice(authority.indexOf(":") + 1, authority.lastIndexOf("@"));
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
