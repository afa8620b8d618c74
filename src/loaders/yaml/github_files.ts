/**
 * The files a `run:` step writes to, as on a GitHub runner: `$GITHUB_OUTPUT` (its outputs),
 * `$GITHUB_ENV` (variables for the steps after it), `$GITHUB_PATH` (directories put in front of
 * `PATH` for the steps after it) and `$GITHUB_STEP_SUMMARY` (Markdown shown with the run).
 *
 * @module
 */

import { join } from "node:path";
import { OrchestraError } from "../../core/errors.ts";
import { FileReadError, MAX_FILE_BYTES, readBoundedTextFile } from "../../fs/read_bounded.ts";

/** GitHub's limit for a step's summary: 1 MiB. */
export const MAX_SUMMARY_BYTES = 1024 * 1024;

/** The files of one step, in a directory of their own. */
export interface StepFiles {
  /** The directory (also `$RUNNER_TEMP`). */
  dir: string;
  /** `$GITHUB_OUTPUT`. */
  output: string;
  /** `$GITHUB_ENV`. */
  env: string;
  /** `$GITHUB_PATH`. */
  path: string;
  /** `$GITHUB_STEP_SUMMARY`. */
  summary: string;
}

/** What a step wrote to its files. */
export interface StepWrites {
  /** Its outputs. */
  outputs: Record<string, string>;
  /** Variables for the steps after it. */
  env: Record<string, string>;
  /** Directories for the front of `PATH`, in the order they go there. */
  path: string[];
  /** Its summary, Markdown ("" when it wrote none). */
  summary: string;
}

/** A step wrote a line its file cannot hold. */
export class StepFileError extends OrchestraError {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StepFileError";
  }
}

/** Makes a step's files, empty, in a new temporary directory. */
export async function makeStepFiles(): Promise<StepFiles> {
  const dir = await Deno.makeTempDir({ prefix: "orchestra-step-" });
  const files: StepFiles = {
    dir,
    output: join(dir, "output"),
    env: join(dir, "env"),
    path: join(dir, "path"),
    summary: join(dir, "step_summary.md"),
  };
  for (const f of [files.output, files.env, files.path, files.summary]) {
    await Deno.writeTextFile(f, "", { mode: 0o600 });
  }
  return files;
}

/** The variables a step gets that name its files. */
export function stepFileEnv(files: StepFiles): Record<string, string> {
  return {
    GITHUB_OUTPUT: files.output,
    GITHUB_ENV: files.env,
    GITHUB_PATH: files.path,
    GITHUB_STEP_SUMMARY: files.summary,
    RUNNER_TEMP: files.dir,
  };
}

/**
 * Reads what a step wrote, then removes its files. A file the step removed reads as empty.
 *
 * @throws {StepFileError} when the step made one of them something other than a regular file
 *   (a FIFO would block the read forever), or wrote more than the limit (1 MiB for the
 *   summary, as on GitHub; 16 MiB for the others).
 */
export async function readStepFiles(files: StepFiles): Promise<StepWrites> {
  try {
    const read = async (f: string, name: string, limit = MAX_FILE_BYTES) => {
      try {
        return await readBoundedTextFile(f, { what: "step file", shown: name, limit });
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) return "";
        if (!(e instanceof FileReadError)) throw e;
        const mib = limit / (1024 * 1024);
        throw new StepFileError(
          e.reason === "too-large"
            ? `The step wrote more than ${mib} MiB to $${name}; write less (large data to a ` +
              "file, and its path as the output)"
            : `The step replaced $${name} with something that is not a regular file; write ` +
              "to the file it was given",
          { cause: e },
        );
      }
    };
    const [output, env, path, summary] = await Promise.all([
      read(files.output, "GITHUB_OUTPUT"),
      read(files.env, "GITHUB_ENV"),
      read(files.path, "GITHUB_PATH"),
      read(files.summary, "GITHUB_STEP_SUMMARY", MAX_SUMMARY_BYTES),
    ]);
    return {
      outputs: parseKeyValues(output, "GITHUB_OUTPUT"),
      env: parseKeyValues(env, "GITHUB_ENV"),
      path: path.split("\n").map((l) => l.trim()).filter((l) => l !== ""),
      summary: summary.trim(),
    };
  } finally {
    await Deno.remove(files.dir, { recursive: true }).catch(() => {});
  }
}

const NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/**
 * Parses the `name=value` and `name<<DELIMITER … DELIMITER` lines of a `$GITHUB_OUTPUT` or
 * `$GITHUB_ENV` file.
 *
 * @throws {StepFileError} for a line that is neither, or a delimiter that never comes.
 *
 * @example
 * ```ts
 * import { parseKeyValues } from "./github_files.ts";
 * const out = parseKeyValues("ok=true\nbody<<EOF\nline 1\nline 2\nEOF\n", "GITHUB_OUTPUT");
 * console.assert(out.ok === "true" && out.body === "line 1\nline 2");
 * ```
 */
export function parseKeyValues(text: string, file: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === "") continue;
    const heredoc = /^([^=]+?)<<(.+)$/.exec(line);
    const eq = line.indexOf("=");
    if (heredoc && (eq < 0 || eq > line.indexOf("<<"))) {
      const [, name, delimiter] = heredoc;
      const end = lines.indexOf(delimiter, i + 1);
      if (end < 0) {
        throw new StepFileError(
          `$${file} line ${i + 1}: "${name}<<${delimiter}" has no closing line "${delimiter}"`,
        );
      }
      out[checkName(name, file, i)] = lines.slice(i + 1, end).join("\n");
      i = end;
      continue;
    }
    if (eq <= 0) {
      throw new StepFileError(
        `$${file} line ${i + 1}: expected name=value or name<<DELIMITER, got ${
          JSON.stringify(line.slice(0, 80))
        }`,
      );
    }
    out[checkName(line.slice(0, eq), file, i)] = line.slice(eq + 1);
  }
  return out;
}

function checkName(name: string, file: string, i: number): string {
  if (!NAME.test(name)) {
    throw new StepFileError(`$${file} line ${i + 1}: "${name}" is not a valid name`);
  }
  return name;
}
