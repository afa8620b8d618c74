/**
 * The fsync floor of this disk, which bounds a durable chain (each task waits for the previous
 * result to be durable, so a chain cannot beat one fsync per task): rewriting 4 KiB of a file
 * and fsyncing it (or fdatasyncing it), appending 4 KiB and fsyncing (the file grows, so the
 * file system also commits its metadata), and one-row SQLite transactions in WAL mode with
 * `synchronous=FULL` (what `durability: "full"` sets) and `NORMAL`, on a WAL that has reached
 * its steady size. Run it next to `durable_bench.ts`:
 *
 *     deno bench -A bench/fsync_bench.ts
 */

import { DatabaseSync } from "node:sqlite";

const dir = await Deno.makeTempDir({ prefix: "orchestra-fsync-bench-" });
globalThis.addEventListener("unload", () => {
  try {
    Deno.removeSync(dir, { recursive: true });
  } catch {
    // best effort
  }
});

const page = new Uint8Array(4096).fill(7);
const file = await Deno.open(`${dir}/file`, { create: true, read: true, write: true });
file.writeSync(page);
file.syncSync();

Deno.bench({
  name: "rewrite 4 KiB + fsync",
  group: "one durable write",
  baseline: true,
  fn() {
    file.seekSync(0, Deno.SeekMode.Start);
    file.writeSync(page);
    file.syncSync();
  },
});

Deno.bench({
  name: "rewrite 4 KiB + fdatasync",
  group: "one durable write",
  fn() {
    file.seekSync(0, Deno.SeekMode.Start);
    file.writeSync(page);
    file.syncDataSync();
  },
});

const growing = await Deno.open(`${dir}/growing`, { create: true, write: true, append: true });
Deno.bench({
  name: "append 4 KiB + fsync (the file grows)",
  group: "one durable write",
  fn() {
    growing.writeSync(page);
    growing.syncSync();
  },
});

for (const synchronous of ["FULL", "NORMAL"] as const) {
  const db = new DatabaseSync(`${dir}/${synchronous}.db`);
  db.exec("PRAGMA journal_mode = WAL");
  db.exec(`PRAGMA synchronous = ${synchronous}`);
  db.exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)");
  const insert = db.prepare("INSERT INTO t (v) VALUES (?)");
  // Past one automatic checkpoint, so that the WAL is rewritten in place rather than grown.
  for (let i = 0; i < 2000; i++) insert.run("x".repeat(100));
  Deno.bench({
    name: `SQLite WAL, synchronous=${synchronous}: one-row transaction`,
    group: "one durable write",
    fn() {
      db.exec("BEGIN IMMEDIATE");
      insert.run("x".repeat(100));
      db.exec("COMMIT");
    },
  });
}
