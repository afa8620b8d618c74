/**
 * Whether this process may start permission-scoped workers. Orchestra runs tasks (and reads
 * plugin manifests) in Web Workers started with `deno: { permissions }`, which Deno allows only
 * with `--unstable-worker-options` (or `"unstable": ["worker-options"]` in the deno.json in
 * use). Without it, Deno does not throw: it prints a line and ends the whole process with exit
 * code 70, in the middle of a run. So the CLI asks once, before a command touches anything:
 *
 * 1. the flag on the process's command line, or a `--config` file that enables it: yes;
 * 2. otherwise the same command line is started again with {@linkcode PROBE_VARIABLE} set,
 *    and `main.ts` answers by starting one such worker: exit 0 is yes, 70 is no.
 *
 * Where the command line cannot be read (`deno run` outside Linux), the answer is "yes": the
 * first worker would tell.
 *
 * @module
 */

import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The variable that makes `main.ts` answer the probe instead of running a command. */
export const PROBE_VARIABLE = "ORCHESTRA_PROBE_WORKER_OPTIONS";

/** What the probe prints when a worker with `deno.permissions` started. */
const PROBE_OK = "orchestra: worker options available";

/** The error the CLI prints when worker options are unavailable. */
export const WORKER_OPTIONS_MISSING =
  `Orchestra needs Deno's worker options to run tasks in permission-scoped workers, and this ` +
  `Deno was started without them.
  fix: add --unstable-worker-options to the Deno command line:
    deno run -A --unstable-worker-options main.ts …
  or "unstable": ["worker-options"] to the deno.json in use; for an installed command, install it
  again with the flag:
    deno install -g -A -f --unstable-worker-options --name orchestra jsr:@orchestra/orchestra/cli
`;

/**
 * Answers the probe in the process started by {@linkcode workerOptionsAvailable}: starts one
 * worker with `deno.permissions` (Deno ends the process with 70 when it may not) and prints
 * the marker.
 */
export function answerProbe(): void {
  const worker = new Worker("data:text/javascript,", {
    type: "module",
    deno: { permissions: "none" },
  });
  worker.terminate();
  console.log(PROBE_OK);
}

/**
 * Whether the Deno flags of a command line (those before the script) enable worker options:
 * the flag, or a `--config` file holding `"unstable": [..., "worker-options"]`. `undefined`
 * when they do not say (a config file may be discovered, or the flag may be missing).
 *
 * @example
 * ```ts
 * import { flagsEnableWorkerOptions } from "./worker_options.ts";
 * const none = () => "";
 * console.assert(flagsEnableWorkerOptions(["run", "-A", "--unstable-worker-options"], "/", none));
 * console.assert(flagsEnableWorkerOptions(["run", "-A"], "/", none) === undefined);
 * const config = () => '{ "unstable": ["worker-options"] }';
 * console.assert(flagsEnableWorkerOptions(["run", "--config", "deno.json"], "/x", config));
 * ```
 */
export function flagsEnableWorkerOptions(
  flags: readonly string[],
  cwd: string,
  readText: (path: string) => string,
): boolean | undefined {
  for (let i = 0; i < flags.length; i++) {
    const flag = flags[i];
    if (flag === "--unstable-worker-options") return true;
    let config: string | undefined;
    if (flag === "--config" || flag === "-c") config = flags[++i];
    else if (flag.startsWith("--config=")) config = flag.slice("--config=".length);
    if (config === undefined) continue;
    try {
      const path = config.startsWith("file:") ? fileURLToPath(config) : resolve(cwd, config);
      if (/"unstable"\s*:\s*\[[^\]]*"worker-options"/.test(readText(path))) return true;
    } catch {
      // unreadable here: let the probe decide
    }
  }
  return undefined;
}

/** This process's command line, where it can be read. */
function commandLine(): string[] | undefined {
  if (Deno.build.standalone) return [Deno.execPath()];
  if (Deno.build.os !== "linux") return undefined;
  try {
    const raw = new TextDecoder().decode(Deno.readFileSync("/proc/self/cmdline"));
    return raw.split("\0").filter((a, i, all) => a !== "" || i < all.length - 1);
  } catch {
    return undefined;
  }
}

let cached: Promise<boolean> | undefined;

/**
 * Whether workers with `deno.permissions` can start in this process; asked once per process.
 * Only `main.ts` may ask: the probe starts its command line again.
 */
export function workerOptionsAvailable(entry: string): Promise<boolean> {
  return cached ??= probe(entry);
}

async function probe(entry: string): Promise<boolean> {
  // Only the CLI's own entry point knows the probe variable: any other program started again
  // would run its work twice.
  if (Deno.mainModule !== entry) return true;
  const argv = commandLine();
  if (argv === undefined) return true;
  const cwd = Deno.cwd();
  if (!Deno.build.standalone) {
    // argv: deno, its flags, the script, then the script's own arguments (Deno.args).
    const flags = argv.slice(1, Math.max(1, argv.length - Deno.args.length - 1));
    if (flagsEnableWorkerOptions(flags, cwd, Deno.readTextFileSync)) return true;
  }
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: argv.slice(1),
      cwd,
      env: { [PROBE_VARIABLE]: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(30_000),
    }).output();
    if (out.code === 0 && new TextDecoder().decode(out.stdout).includes(PROBE_OK)) return true;
    // Deno's own words when the flag is missing; any other failure is not ours to judge.
    return !new TextDecoder().decode(out.stderr).includes("--unstable-worker-options");
  } catch {
    return true;
  }
}
