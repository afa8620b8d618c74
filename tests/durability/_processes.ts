/** Helpers of the durability tests that watch real processes: bounded waits, groups, pids. */

import { groupAlive } from "../../src/executors/process_group.ts";
import { orchestra } from "./_spawn.ts";

export { groupAlive };

/** Polls `check` every 20 ms until it holds; throws `what` after `ms` (a bound, not a timing). */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  ms = 20_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The text of a file, or "" while it does not exist. */
export async function text(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return "";
    throw e;
  }
}

/** The process group id a stubborn step wrote to `pidfile`, once it has. */
export async function stepGroup(pidfile: string): Promise<number> {
  await waitFor(`the step to write ${pidfile}`, async () => /^\d+\s*$/.test(await text(pidfile)));
  return Number((await text(pidfile)).trim());
}

/** Waits until no process of the group is alive (zombies do not count). */
export async function groupGone(pgid: number, ms = 12_000): Promise<void> {
  await waitFor(`process group ${pgid} to end`, () => !groupAlive(pgid), ms);
}

/** The pids of this machine's processes whose parent is `ppid` and command line has `word`. */
export function childrenWith(ppid: number, word: string): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const cmd = Deno.readTextFileSync(`/proc/${e.name}/cmdline`).replaceAll("\0", " ");
      if (parent === ppid && cmd.includes(word)) out.push(Number(e.name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** `orchestra ARGS` as a child process whose output is collected as it comes. */
export function spawnOrchestra(args: string[]): {
  child: Deno.ChildProcess;
  out: () => string;
  err: () => string;
  done: Promise<{ code: number; signal: Deno.Signal | null }>;
} {
  const child = orchestra(args);
  let out = "", err = "";
  const read = async (stream: ReadableStream<Uint8Array>, add: (s: string) => void) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) add(chunk);
  };
  const outDone = read(child.stdout, (s) => (out += s));
  const errDone = read(child.stderr, (s) => (err += s));
  const done = (async () => {
    const status = await child.status;
    await Promise.all([outDone, errDone]);
    return { code: status.code, signal: status.signal };
  })();
  return { child, out: () => out, err: () => err, done };
}
