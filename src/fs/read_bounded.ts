/**
 * Reading the files a user names (flow files, includes, params, policy, secrets and
 * configuration files) without trusting what they are: each must be a regular file no larger
 * than a limit. A FIFO would block the read forever and a device such as `/dev/zero` would
 * fill the memory; both are refused before anything is read, and a file that grows past the
 * limit while it is read is refused too (at most limit + 1 bytes are ever read).
 *
 * @module
 */

import { OrchestraError } from "../core/errors.ts";

/** The largest file read by default: 16 MiB. */
export const MAX_FILE_BYTES: number = 16 * 1024 * 1024;

/** Options of {@linkcode readBoundedTextFile} and {@linkcode checkRegularFile}. */
export interface BoundedReadOptions {
  /** What the file is, for messages: `"params file"`, `"include"`. */
  what: string;
  /** How the file is shown in messages. @default the path as given */
  shown?: string;
  /** The most bytes the file may hold. @default MAX_FILE_BYTES */
  limit?: number;
}

/** Why a file was refused. */
export type FileRefusal = "not-regular" | "too-large";

/**
 * A file named by the user is not a regular file, or is larger than the limit. The message
 * says which file, what it is, and the limit.
 */
export class FileReadError extends OrchestraError {
  /** The file, as shown. */
  readonly path: string;
  /** Why it was refused. */
  readonly reason: FileRefusal;
  /** Creates the error. */
  constructor(path: string, reason: FileRefusal, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "FileReadError";
    this.path = path;
    this.reason = reason;
  }
}

/** What kind of file `info` describes, for messages. */
function kindOf(info: Deno.FileInfo): string {
  if (info.isDirectory) return "a directory";
  if (info.isFifo) return "a FIFO (named pipe)";
  if (info.isCharDevice) return "a character device";
  if (info.isBlockDevice) return "a block device";
  if (info.isSocket) return "a socket";
  return "not a regular file";
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

function tooLarge(shown: string, what: string, limit: number): FileReadError {
  return new FileReadError(
    shown,
    "too-large",
    `The ${what} "${shown}" is larger than ${formatBytes(limit)}, the limit for a ${what}; ` +
      `split it or make it smaller`,
  );
}

/**
 * Checks that `path` is a regular file (a symbolic link to one is fine) no larger than the
 * limit, and returns its information. Errors of the file system (`Deno.errors.NotFound`, …)
 * pass through unchanged, so callers keep their own wording for a missing file.
 *
 * @throws {FileReadError} when it is a FIFO, a device, a directory or too large.
 * @example
 * ```ts
 * import { checkRegularFile, FileReadError } from "./read_bounded.ts";
 * try {
 *   await checkRegularFile("/dev/null", { what: "params file" });
 * } catch (e) {
 *   console.assert(e instanceof FileReadError && /character device/.test(e.message));
 * }
 * ```
 */
export async function checkRegularFile(
  path: string,
  options: BoundedReadOptions,
): Promise<Deno.FileInfo> {
  const shown = options.shown ?? path;
  const limit = options.limit ?? MAX_FILE_BYTES;
  const info = await Deno.stat(path);
  if (!info.isFile) {
    throw new FileReadError(
      shown,
      "not-regular",
      `The ${options.what} "${shown}" is ${kindOf(info)}, not a regular file; ` +
        `give the path of a regular file`,
    );
  }
  if (info.size > limit) throw tooLarge(shown, options.what, limit);
  return info;
}

/**
 * The bytes of a regular file of at most `limit` bytes (see {@linkcode checkRegularFile}).
 *
 * @throws {FileReadError} when it is not a regular file or holds more than the limit.
 * @example
 * ```ts
 * import { readBoundedFile } from "./read_bounded.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "abc");
 * console.assert((await readBoundedFile(path, { what: "file" })).length === 3);
 * await Deno.remove(path);
 * ```
 */
export async function readBoundedFile(
  path: string,
  options: BoundedReadOptions,
): Promise<Uint8Array<ArrayBuffer>> {
  const shown = options.shown ?? path;
  const limit = options.limit ?? MAX_FILE_BYTES;
  const info = await checkRegularFile(path, options);
  using file = await Deno.open(path, { read: true });
  // It was regular when looked at; what was opened must be too (it may have been replaced).
  const opened = await file.stat();
  if (!opened.isFile) {
    throw new FileReadError(
      shown,
      "not-regular",
      `The ${options.what} "${shown}" changed ` +
        `into ${kindOf(opened)} while it was read; give the path of a regular file`,
    );
  }
  // Never more than limit + 1 bytes, however much the file holds or grows meanwhile.
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  let total = 0;
  let size = Math.min(info.size + 1, limit + 1);
  while (total <= limit) {
    const chunk = new Uint8Array(Math.min(size, limit + 1 - total));
    const n = await file.read(chunk);
    if (n === null) break;
    chunks.push(chunk.subarray(0, n));
    total += n;
    size = 64 * 1024;
  }
  if (total > limit) throw tooLarge(shown, options.what, limit);
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * The text of a regular file of at most `limit` bytes, decoded as UTF-8: what every file a
 * user names is read with.
 *
 * @throws {FileReadError} when it is not a regular file or holds more than the limit.
 * @example
 * ```ts
 * import { readBoundedTextFile } from "./read_bounded.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "name: etl\n");
 * console.assert(await readBoundedTextFile(path, { what: "flow file" }) === "name: etl\n");
 * await Deno.remove(path);
 * ```
 */
export async function readBoundedTextFile(
  path: string,
  options: BoundedReadOptions,
): Promise<string> {
  return new TextDecoder().decode(await readBoundedFile(path, options));
}
