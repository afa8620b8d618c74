/**
 * The supervisor: a small `sh` process, in a session of its own, that stops the process groups
 * of this process's tasks if this process dies without doing it itself (SIGKILL, a crash, an
 * OOM kill).
 *
 * It learns of each group as it starts and ends (`+PGID` and `-PGID` lines on its stdin). Its
 * stdin is a pipe whose write end only this process holds (Deno opens pipes close-on-exec, so
 * no child inherits it): when this process dies, however it dies, the kernel closes that end
 * and the supervisor reads end-of-file. Then it sends SIGTERM to every group still listed,
 * waits up to the grace period for them to end, and sends SIGKILL. No PID is probed to decide
 * that this process died. When this process exits normally its groups were already stopped,
 * the list is empty and the supervisor just exits.
 *
 * @module
 */

const SCRIPT = `trap '' INT TERM HUP QUIT
groups=" "
while IFS= read -r line; do
  case "$line" in
    +*) groups="$groups\${line#+} " ;;
    -*) g="\${line#-}"; kept=" "
        for x in $groups; do [ "$x" = "$g" ] || kept="$kept$x "; done
        groups="$kept" ;;
  esac
done
[ "$groups" = " " ] && exit 0
for g in $groups; do kill -TERM -"$g" 2>/dev/null; done
i=0
while [ "$i" -lt "$1" ]; do
  alive=""
  for g in $groups; do kill -0 -"$g" 2>/dev/null && alive="$alive $g"; done
  [ -z "$alive" ] && exit 0
  sleep 0.1
  i=$((i + 1))
done
for g in $groups; do kill -KILL -"$g" 2>/dev/null; done`;

/** Options of a {@linkcode Supervisor}. */
export interface SupervisorOptions {
  /** Time between SIGTERM and SIGKILL once this process died. @default 5000 */
  graceMs?: number;
}

/**
 * Watches process groups on behalf of this process; started on first use.
 *
 * @example
 * ```ts ignore
 * import { Supervisor } from "./supervisor.ts";
 * const supervisor = new Supervisor({ graceMs: 2000 });
 * supervisor.watch(4711); // if this process dies now, group 4711 is stopped
 * supervisor.unwatch(4711);
 * ```
 */
export class Supervisor {
  readonly #graceMs: number;
  #writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  #broken = false;
  readonly #encoder = new TextEncoder();

  /** Prepares the supervisor; its process starts with the first watched group. */
  constructor(options: SupervisorOptions = {}) {
    this.#graceMs = options.graceMs ?? 5000;
  }

  /** Whether the supervisor process could be started (on a system with `setsid` and `sh`). */
  get available(): boolean {
    return !this.#broken;
  }

  /**
   * Stops `pgid` too if this process dies; resolves once the supervisor has been told (the
   * line is in its pipe), never rejects.
   */
  watch(pgid: number): Promise<void> {
    return this.#send(`+${pgid}\n`);
  }

  /** `pgid` ended: forget it. */
  unwatch(pgid: number): Promise<void> {
    return this.#send(`-${pgid}\n`);
  }

  #send(line: string): Promise<void> {
    const writer = this.#start();
    if (writer === undefined) return Promise.resolve();
    return writer.write(this.#encoder.encode(line)).catch(() => {
      this.#broken = true; // it died: the groups are stopped by this process alone
    });
  }

  #start(): WritableStreamDefaultWriter<Uint8Array> | undefined {
    if (this.#writer !== undefined || this.#broken) return this.#writer;
    try {
      const ticks = String(Math.max(1, Math.ceil(this.#graceMs / 100)));
      const linux = Deno.build.os === "linux";
      const child = new Deno.Command(linux ? "setsid" : "sh", {
        args: [...(linux ? ["sh"] : []), "-c", SCRIPT, "orchestra-supervisor", ticks],
        stdin: "piped",
        stdout: "null",
        stderr: "null",
        clearEnv: true,
        env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
      }).spawn();
      // Neither the child nor its pipe may keep this process alive.
      child.unref();
      this.#writer = child.stdin.getWriter();
    } catch {
      this.#broken = true;
    }
    return this.#writer;
  }
}
