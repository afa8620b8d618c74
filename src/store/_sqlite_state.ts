/**
 * The `state` table of the SQLite store: small values by scope and key, with an optional
 * expiry (see `Store.stateGet`). Each function runs inside the caller's read or write.
 *
 * @module
 */

import { fromJson } from "./_journal.ts";
import type { SqliteConnection } from "./_sqlite_connection.ts";
import type { StateEntry } from "./store.ts";

type StateRow = { key: string; value: string | null; expires_at: number | bigint | null };

function entry(r: StateRow): StateEntry {
  return {
    key: r.key,
    value: fromJson(r.value),
    ...(r.expires_at === null ? {} : { expiresAt: Number(r.expires_at) }),
  };
}

/** An unexpired entry. */
export function selectState(
  conn: SqliteConnection,
  scope: string,
  key: string,
  now: number,
): StateEntry | undefined {
  const r = conn.stmt(
    `SELECT key, value, expires_at FROM state WHERE scope = ? AND key = ?
     AND (expires_at IS NULL OR expires_at > ?)`,
  ).get(scope, key, now) as StateRow | undefined;
  return r ? entry(r) : undefined;
}

/** The unexpired entries of a scope, by key. */
export function listState(conn: SqliteConnection, scope: string, now: number): StateEntry[] {
  return (conn.stmt(
    `SELECT key, value, expires_at FROM state WHERE scope = ?
     AND (expires_at IS NULL OR expires_at > ?) ORDER BY key`,
  ).all(scope, now) as unknown as StateRow[]).map(entry);
}

/** Writes an entry (JSON text), replacing the one of its key. */
export function upsertState(
  conn: SqliteConnection,
  scope: string,
  key: string,
  json: string | null,
  expiresAt: number | undefined,
): void {
  conn.stmt(
    `INSERT INTO state (scope, key, value, expires_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value,
     expires_at = excluded.expires_at`,
  ).run(scope, key, json, expiresAt ?? null);
}

/** Writes an entry unless an unexpired one holds the key; returns that one. */
export function insertNewState(
  conn: SqliteConnection,
  scope: string,
  key: string,
  json: string | null,
  options: { expiresAt?: number; now: number },
): StateEntry | undefined {
  conn.stmt("DELETE FROM state WHERE scope = ? AND expires_at <= ?").run(scope, options.now);
  const there = conn.stmt(
    "SELECT key, value, expires_at FROM state WHERE scope = ? AND key = ?",
  ).get(scope, key) as StateRow | undefined;
  if (there) return entry(there);
  conn.stmt("INSERT INTO state (scope, key, value, expires_at) VALUES (?, ?, ?, ?)")
    .run(scope, key, json, options.expiresAt ?? null);
  return undefined;
}

/** Removes an entry; whether there was one. */
export function deleteState(conn: SqliteConnection, scope: string, key: string): boolean {
  return Number(
    conn.stmt("DELETE FROM state WHERE scope = ? AND key = ?").run(scope, key).changes,
  ) >
    0;
}
