/**
 * Run ownership through advisory file locks: the owner of a run holds an exclusive `flock` on
 * `<state dir>/runs/<run id>.lock` for the run's lifetime. The operating system releases the
 * lock when the process dies however it dies (SIGKILL, a crash, an OOM kill), and only then: a
 * zombie or a reused PID changes nothing. The file holds the owner's pid, host and claim time,
 * for messages only.
 *
 * A lock file is removed when its lease is released, while still locked. A claimer that locked
 * a file which was removed meanwhile (it opened it just before) notices that the path now names
 * another file and tries again, so two claimers can never both hold a run.
 *
 * @module
 */

import { OrchestraError } from "../core/errors.ts";
import { currentOwner, type RunClaim, type RunLease, type RunOwner } from "./ownership.ts";

/** The folder of lock files inside a state dir. */
export const LOCK_DIR = "runs";

const UNKNOWN: RunOwner = { pid: 0, host: "", since: "" };

/** The lock file's name: run ids are plain, anything else is escaped. */
function fileName(runId: string): string {
  return /^[A-Za-z0-9._-]+$/.test(runId) && !runId.startsWith(".")
    ? `${runId}.lock`
    : `${encodeURIComponent(runId).replaceAll(".", "%2E")}.lock`;
}

function parseOwner(text: string): RunOwner {
  try {
    const o = JSON.parse(text);
    return {
      pid: typeof o.pid === "number" ? o.pid : 0,
      host: typeof o.host === "string" ? o.host : "",
      since: typeof o.since === "string" ? o.since : "",
    };
  } catch {
    return UNKNOWN; // written a moment after the lock was taken: not yet there
  }
}

async function readOwner(file: Deno.FsFile): Promise<RunOwner> {
  const buf = new Uint8Array(4096);
  let text = "";
  await file.seek(0, Deno.SeekMode.Start);
  for (;;) {
    const n = await file.read(buf);
    if (n === null) break;
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  return parseOwner(text);
}

async function samePath(file: Deno.FsFile, path: string): Promise<boolean> {
  try {
    const [a, b] = await Promise.all([file.stat(), Deno.stat(path)]);
    return a.ino === b.ino && a.dev === b.dev;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * Claims and probes runs through lock files in `<stateDir>/runs/`.
 *
 * @example
 * ```ts
 * import { FileRunOwnership } from "./file_ownership.ts";
 * const dir = await Deno.makeTempDir();
 * const a = new FileRunOwnership(dir), b = new FileRunOwnership(dir);
 * const claim = await a.claimRun("r1");
 * console.assert(claim.lease !== undefined);
 * console.assert((await b.claimRun("r1")).heldBy?.pid === Deno.pid);
 * await claim.lease!.release();
 * console.assert((await b.runOwner("r1")) === undefined);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class FileRunOwnership {
  readonly #dir: string;
  readonly #held = new Map<string, RunLease>();

  /** Lock files go to `<stateDir>/runs/`. */
  constructor(stateDir: string) {
    this.#dir = `${stateDir.replace(/[\\/]+$/, "")}/${LOCK_DIR}`;
  }

  /** The lock file of a run. */
  path(runId: string): string {
    return `${this.#dir}/${fileName(runId)}`;
  }

  /** Whether this object holds the run's lease. */
  holds(runId: string): boolean {
    return this.#held.has(runId);
  }

  /** Claims the run: takes its lock, or says who holds it. */
  async claimRun(runId: string, owner?: Partial<RunOwner>): Promise<RunClaim> {
    const held = this.#held.get(runId);
    if (held !== undefined) return { heldBy: held.owner };
    await Deno.mkdir(this.#dir, { recursive: true, mode: 0o700 });
    const path = this.path(runId);
    for (let attempt = 0;; attempt++) {
      const file = await Deno.open(path, { read: true, write: true, create: true, mode: 0o600 });
      let kept = false;
      try {
        if (!(await file.tryLock(true))) return { heldBy: await this.#holder(file) };
        // Locked a file that its releasing owner removed meanwhile: try the new one.
        if (!(await samePath(file, path))) {
          if (attempt < 100) continue;
          throw new OrchestraError(
            `Cannot claim run "${runId}": its lock file "${path}" keeps being replaced`,
          );
        }
        const me = currentOwner(owner);
        await file.truncate(0);
        await file.write(new TextEncoder().encode(JSON.stringify(me) + "\n"));
        const lease = this.#lease(runId, me, file, path);
        this.#held.set(runId, lease);
        kept = true;
        return { lease };
      } finally {
        if (!kept) file.close();
      }
    }
  }

  /** Who holds the run's lock now, if anyone. Needs only read access to the state dir. */
  async runOwner(runId: string): Promise<RunOwner | undefined> {
    const held = this.#held.get(runId);
    if (held !== undefined) return held.owner;
    let file: Deno.FsFile;
    try {
      file = await Deno.open(this.path(runId), { read: true });
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return undefined; // never claimed, or released
      throw e;
    }
    try {
      // A shared lock is refused exactly while an owner holds its exclusive one.
      if (await file.tryLock(false)) {
        await file.unlock();
        return undefined;
      }
      return await this.#holder(file);
    } finally {
      file.close();
    }
  }

  /** Releases every lease this object holds. */
  async releaseAll(): Promise<void> {
    await Promise.all([...this.#held.values()].map((l) => l.release()));
  }

  /** Releases the lease of one run, if this object holds it. */
  async release(runId: string): Promise<void> {
    await this.#held.get(runId)?.release();
  }

  async #holder(file: Deno.FsFile): Promise<RunOwner> {
    // The owner writes its name right after it takes the lock: give it a moment.
    for (let i = 0; i < 20; i++) {
      const owner = await readOwner(file);
      if (owner.pid !== 0) return owner;
      await new Promise((r) => setTimeout(r, 5));
    }
    return UNKNOWN;
  }

  #lease(runId: string, owner: RunOwner, file: Deno.FsFile, path: string): RunLease {
    let released = false;
    const release = async () => {
      if (released) return;
      released = true;
      if (this.#held.get(runId) === lease) this.#held.delete(runId);
      try {
        // Removed while locked: a claimer that opened it meanwhile sees the path moved on.
        await Deno.remove(path);
      } catch {
        // a read-only dir or already gone: the unlocked file is free to claim anyway
      }
      file.close();
    };
    const lease: RunLease = { runId, owner, release };
    return lease;
  }
}
