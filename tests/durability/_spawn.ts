/** Helpers of the durability tests: the real entry point in a child process, seeded randomness. */

import { main } from "../../src/cli/main.ts";
import { fakeIo, ROOT } from "../cli/_io.ts";

export { ROOT };

/** `deno run … main.ts ARGS` as a child process, from the repository root. */
export function orchestra(args: string[], piped = true): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-prompt", "--unstable-worker-options", `${ROOT}/main.ts`, ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: piped ? "piped" : "null",
    stderr: piped ? "piped" : "null",
  }).spawn();
}

/** Runs `orchestra ARGS` in a child process to the end. */
export async function orchestraOutput(
  args: string[],
): Promise<{ code: number; out: string; err: string }> {
  const { code, stdout, stderr } = await orchestra(args).output();
  const dec = new TextDecoder();
  return { code, out: dec.decode(stdout), err: dec.decode(stderr) };
}

/** Runs `orchestra ARGS` in this process (cheaper, for read-only commands). */
export async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = fakeIo();
  const code = await main(args, io);
  return { code, out: io.out, err: io.err };
}

/** A run as `runs --json` lists it. */
export interface ListedRun {
  runId: string;
  flow: string;
  status: string;
  startedAt: string;
  finishedAt: string | null;
}

/** `runs --json --limit 1000 --state-dir DIR`, newest first. */
export async function listRuns(dir: string): Promise<ListedRun[]> {
  const r = await cli(["runs", "--json", "--limit", "1000", "--state-dir", dir]);
  if (r.code !== 0) throw new Error(`runs failed: ${r.err}`);
  return JSON.parse(r.out).runs;
}

/** The seeded generator mulberry32: numbers in [0, 1). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The lines of a file, none if it does not exist. */
export async function lines(path: string): Promise<string[]> {
  try {
    return (await Deno.readTextFile(path)).split("\n").filter((l) => l !== "");
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}
