/**
 * The state dir's modes: the directory is the orchestrator's own (`0700`) and every file in
 * it readable and writable by its owner only (`0600`): `state.db` with its `-wal`, `-shm` and
 * `-lock` files, `audit.log`, and the plugin cache. Modes looser than that, left by an older
 * version or by hand, are narrowed. A directory every user may write to (such as `/tmp`) is
 * refused as a state dir: narrowing it would break it for everyone else, and anyone could
 * replace the files in it.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { OrchestraError } from "../core/errors.ts";

/** The state dir cannot be used (a shared directory, or not a directory). */
export class StateDirError extends OrchestraError {
  /** The state dir. */
  readonly dir: string;
  /** Creates the error. */
  constructor(dir: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StateDirError";
    this.dir = dir;
  }
}

/** The files SQLite and the store keep beside `state.db`, created `0600` before it opens. */
const STORE_FILES = ["state.db", "state.db-lock"];

/** Sub-directories whose files are narrowed too (the verified copies of remote plugins). */
const PRIVATE_TREES = ["plugins"];

const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, "0");

async function narrow(path: string, mode: number, want: number): Promise<void> {
  if ((mode & 0o777 & ~want) !== 0) await Deno.chmod(path, want);
}

async function narrowTree(dir: string): Promise<void> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isSymlink) continue; // never follow a link out of the state dir
    const { mode } = await Deno.lstat(path);
    if (mode === null) continue;
    if (entry.isDirectory) {
      await narrow(path, mode, 0o700);
      await narrowTree(path);
    } else if (entry.isFile) await narrow(path, mode, 0o600);
  }
}

/**
 * Creates the state dir `0700` if it is missing, narrows it and its files to `0700`/`0600`,
 * and creates `state.db` and its lock file `0600` so SQLite's `-wal` and `-shm` files (which
 * take the database's mode) are private from the start. On Windows, which has no such modes,
 * it only creates the directory.
 *
 * @throws {StateDirError} when the path is not a directory, or every user may write to it.
 * @example
 * ```ts
 * import { secureStateDir } from "./state_dir.ts";
 * const dir = `${await Deno.makeTempDir()}/.orchestra`;
 * await secureStateDir(dir);
 * console.assert(((await Deno.stat(dir)).mode! & 0o777) === 0o700);
 * console.assert(((await Deno.stat(`${dir}/state.db`)).mode! & 0o777) === 0o600);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function secureStateDir(dir: string): Promise<void> {
  await Deno.mkdir(dirname(dir), { recursive: true });
  try {
    await Deno.mkdir(dir, { mode: 0o700 });
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
  }
  const info = await Deno.stat(dir);
  if (!info.isDirectory) {
    throw new StateDirError(
      dir,
      `The state dir ${dir} is not a directory; point --state-dir (or ORCHESTRA_STATE_DIR, or ` +
        `stateDir in the configuration) at a directory of its own`,
    );
  }
  if (Deno.build.os === "windows" || info.mode === null) return;
  if ((info.mode & 0o002) !== 0) {
    throw new StateDirError(
      dir,
      `The state dir ${dir} is writable by every user (mode ${octal(info.mode)}): anyone could ` +
        `replace its run records and audit log, and Orchestra will not narrow a directory others ` +
        `use; give it a directory of its own, e.g. --state-dir ./.orchestra`,
    );
  }
  await narrow(dir, info.mode, 0o700);
  for (const name of STORE_FILES) {
    try {
      const file = await Deno.open(join(dir, name), {
        read: true,
        write: true,
        create: true,
        mode: 0o600,
      });
      file.close();
    } catch (e) {
      // A state dir that cannot be written: the store says so when it is opened for writing,
      // and commands that only read it go on.
      if (!(e instanceof Deno.errors.PermissionDenied)) throw e;
    }
  }
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isSymlink) continue;
    const { mode } = await Deno.lstat(path);
    if (mode === null) continue;
    if (entry.isFile) await narrow(path, mode, 0o600);
    else if (entry.isDirectory && PRIVATE_TREES.includes(entry.name)) {
      await narrow(path, mode, 0o700);
      await narrowTree(path);
    }
  }
}
