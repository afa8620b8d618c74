/**
 * Process groups as the operating system sees them: whether any process of a group is still
 * alive, what identifies a group's leader beyond its pid, and stopping a whole group (SIGTERM,
 * a grace period, SIGKILL) until none of it is left.
 *
 * On Linux this reads `/proc`: a zombie (a dead process its parent has not reaped yet, which
 * PID 1 may take seconds to do) does not count as alive, and a leader is identified by the boot
 * id and its start time, so a later process that got the same pid is never mistaken for it.
 *
 * @module
 */

const LINUX = Deno.build.os === "linux";

interface ProcStat {
  pid: number;
  state: string;
  pgrp: number;
  startTime: string;
}

/** Parses `/proc/<pid>/stat`: the command name may hold spaces and parentheses. */
function parseStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(")");
  if (close < 0) return undefined;
  const pid = Number(text.slice(0, text.indexOf(" ")));
  const f = text.slice(close + 2).split(" ");
  // After the name: state (field 3), ppid, pgrp (5), …, starttime (22).
  return { pid, state: f[0], pgrp: Number(f[2]), startTime: f[19] };
}

function readStat(pid: number | string): ProcStat | undefined {
  try {
    return parseStat(Deno.readTextFileSync(`/proc/${pid}/stat`));
  } catch {
    return undefined; // gone meanwhile, or no /proc
  }
}

let bootId: string | undefined;

function currentBootId(): string {
  if (bootId === undefined) {
    try {
      bootId = Deno.readTextFileSync("/proc/sys/kernel/random/boot_id").trim();
    } catch {
      bootId = "";
    }
  }
  return bootId;
}

/**
 * What identifies the process `pid` beyond its number: `<boot id>:<start time>` on Linux, `""`
 * where it cannot be known (then a recorded group is never signalled by a later process).
 */
export function processIdentity(pid: number): string {
  if (!LINUX) return "";
  const stat = readStat(pid);
  return stat ? `${currentBootId()}:${stat.startTime}` : "";
}

/** Sends `signal` to every process of the group; false when the group is gone. */
export function signalGroup(pgid: number, signal: Deno.Signal): boolean {
  try {
    Deno.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a process of the group is alive (zombies do not count). Without `/proc` it asks the
 * kernel, which counts zombies too: the answer may then stay true a little longer.
 */
export function groupAlive(pgid: number): boolean {
  // SIGCONT is harmless to a running process and wakes a stopped one, which SIGTERM needs.
  if (!signalGroup(pgid, "SIGCONT")) return false;
  if (!LINUX) return true;
  let entries: Iterable<Deno.DirEntry>;
  try {
    entries = Deno.readDirSync("/proc");
  } catch {
    return true;
  }
  for (const e of entries) {
    if (e.name.charCodeAt(0) > 57 || e.name.charCodeAt(0) < 48) continue;
    const stat = readStat(e.name);
    if (stat && stat.pgrp === pgid && stat.state !== "Z" && stat.state !== "X") return true;
  }
  return false;
}

/**
 * Whether the group `pgid` is still the one whose leader had `identity`: its leader is that
 * same process, or the leader is gone but members are left (a pid is not reused while a group
 * of that number exists). False for a group that ended, or a number now used by another.
 */
export function sameGroup(pgid: number, identity: string): boolean {
  if (!LINUX || identity === "") return false;
  const [boot] = identity.split(":");
  if (boot !== currentBootId()) return false; // recorded before a reboot
  const leader = readStat(pgid);
  if (leader !== undefined && leader.state !== "Z") {
    return `${currentBootId()}:${leader.startTime}` === identity;
  }
  return groupAlive(pgid);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Stops a whole process group: SIGTERM, up to `graceMs` for it to end, then SIGKILL; resolves
 * once no process of it is alive (or, should one survive SIGKILL, after 2 more seconds).
 *
 * @example
 * ```ts
 * import { groupAlive, stopGroup } from "./process_group.ts";
 * const child = new Deno.Command("setsid", { args: ["sleep", "30"] }).spawn();
 * await stopGroup(child.pid, 1000);
 * await child.status;
 * console.assert(!groupAlive(child.pid));
 * ```
 */
export async function stopGroup(pgid: number, graceMs: number): Promise<void> {
  if (!signalGroup(pgid, "SIGTERM")) return;
  const deadline = Date.now() + graceMs;
  let wait = 5;
  while (Date.now() < deadline) {
    if (!groupAlive(pgid)) return;
    await sleep(Math.min(wait, Math.max(1, deadline - Date.now())));
    wait = Math.min(wait * 2, 100);
  }
  signalGroup(pgid, "SIGKILL");
  for (let i = 0; i < 40 && groupAlive(pgid); i++) await sleep(50);
}
