/**
 * `shell`: runs a command with `sh -c`, like a `run:` task, from a worker that may start the
 * shell and read the few host variables the command receives. On Linux the command runs in a
 * session of its own with a watchdog, so cancelling the task (or terminating its worker) stops
 * everything the command started.
 *
 * @module
 */

import { resolve } from "node:path";
import { z } from "zod";
import type { PermissionSet } from "../src/core/permissions.ts";
import {
  BASE_ENV_NAMES,
  CommandFailedError,
  logOutputLines,
  parseOutput,
} from "../src/executors/process.ts";
import { definePlugin, type PluginDefinition, type WithDefaults } from "../src/plugins/contract.ts";

// How much of a command's output is kept for its result (its first 200 lines are logged).
const MAX_CAPTURE = 16 * 1024 * 1024;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const envName = z.string().regex(ENV_NAME, "expected a variable name such as MY_VAR");

/** The params of the `shell` plugin, defaults applied. */
export interface ShellParams {
  /** The command, run with `sh -c`. */
  command: string;
  /** Values for the command's positional parameters, `$1`, `$2`, …: data, never code. */
  args: string[];
  /** How the output becomes the result: `auto` (JSON when it parses), `text` or `json`. */
  output: "auto" | "text" | "json";
  /** Where it runs, relative to the flow file's directory. */
  cwd?: string;
  /** Variables set for the command. */
  env: Record<string, string | number | boolean>;
  /** Host variables passed through. */
  passEnv: string[];
  /** Variables whose values are secrets: variable name → secret name. */
  secretEnv: Record<string, string>;
}

/** The params of the `shell` plugin as a task passes them (those with defaults optional). */
export type ShellInput =
  & Omit<WithDefaults<ShellParams, "output" | "env" | "passEnv" | "secretEnv">, "args">
  & {
    /** Values for `"$1"`, `"$2"`, …; numbers and booleans become text. @default [] */
    args?: (string | number | boolean)[];
  };

const params: z.ZodType<ShellParams, ShellInput> = z.strictObject({
  // In a YAML flow, each `${{ }}` in it becomes a variable set in `env`, as in `run:`.
  command: z.string().min(1).meta({ "x-orchestra-quote": "shell", "x-orchestra-env": "env" })
    .describe(
      "The command, run with `sh -c`; its stdout is the result. In a YAML flow, values of " +
        "${{ }} reach it as data (never as shell code)",
    ),
  args: z.array(z.union([z.string(), z.number(), z.boolean()]).transform(String)).default([])
    .describe('Values for the positional parameters "$1", "$2", …: data, never shell code'),
  output: z.enum(["auto", "text", "json"]).default("auto").describe(
    "How stdout becomes the result: auto (JSON when it parses, else text), text, or json",
  ),
  cwd: z.string().optional().describe(
    "Where it runs, relative to the flow file's directory; that directory when not given",
  ),
  env: z.record(envName, z.union([z.string(), z.number(), z.boolean()])).default({}).describe(
    "Variables set for the command, by name",
  ),
  passEnv: z.array(envName).default([]).describe(
    "Host variables passed through to the command (besides PATH, HOME, LANG, TZ, TMPDIR)",
  ),
  secretEnv: z.record(envName, z.string()).default({}).describe(
    "Variables whose values are secrets: variable name → secret name",
  ),
});

/** What a command's process is: `setsid` (its own session) on Linux, else `sh`. */
const GROUPED = Deno.build.os === "linux";

/**
 * The program the worker starts. On Linux, `setsid` runs this wrapper as the leader of a new
 * process group. The wrapper starts the command, and a watchdog that waits for the wrapper's
 * stdin to close: when the task is cancelled, or its worker is terminated (which closes the
 * pipe), the watchdog sends SIGTERM to the whole group, then SIGKILL after 5 seconds. When the
 * command ends by itself, the wrapper kills the watchdog first.
 */
const WRAPPER = `exec 3<&0
cmd=$1
shift
sh -c "$cmd" sh "$@" 3<&- </dev/null &
c=$!
{ trap '' TERM; cat <&3; kill -TERM 0; sleep 5; kill -KILL 0; } >/dev/null 2>&1 &
w=$!
exec 3<&-
wait "$c"
code=$?
kill -KILL "$w" 2>/dev/null
exit "$code"`;

function resolvePath(path: string, base: string): string {
  return resolve(base, path);
}

function known(value: unknown, what: string): void {
  if (typeof value === "string" && value.includes("${{")) {
    throw new TypeError(`they depend on ${what}, known only when the task runs`);
  }
}

async function collect(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<string> {
  let text = "";
  let pending = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    if (text.length < MAX_CAPTURE) text += chunk;
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const l of lines) onLine(l);
  }
  if (pending) onLine(pending);
  return text;
}

/** Options of {@linkcode runCommand}. */
interface RunOptions {
  cwd: string;
  env: Record<string, string>;
  signal: AbortSignal;
  onLine: (stream: "stdout" | "stderr", line: string) => void;
}

async function runCommand(
  command: string,
  args: string[],
  options: RunOptions,
): Promise<string> {
  const { signal } = options;
  signal.throwIfAborted();
  const child = new Deno.Command(GROUPED ? "setsid" : "sh", {
    args: GROUPED ? ["sh", "-c", WRAPPER, "sh", command, ...args] : ["-c", command, "sh", ...args],
    cwd: options.cwd,
    env: options.env,
    clearEnv: true,
    stdin: GROUPED ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdin = GROUPED ? child.stdin.getWriter() : undefined;
  let released = false;
  const release = () => {
    if (released || !stdin) return;
    released = true;
    stdin.close().catch(() => {}); // the wrapper may be gone already
  };
  const onAbort = () => {
    if (GROUPED) release(); // the watchdog stops the group
    else {
      try {
        child.kill("SIGTERM");
      } catch {
        // already gone
      }
    }
  };
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    const [stdout, stderr, status] = await Promise.all([
      collect(child.stdout, (l) => options.onLine("stdout", l)),
      collect(child.stderr, (l) => options.onLine("stderr", l)),
      child.status,
    ]);
    if (signal.aborted) throw signal.reason;
    if (status.code !== 0) {
      const tail = stderr.trimEnd().split("\n").slice(-5).join("\n").slice(-2000);
      throw new CommandFailedError(status.code, tail);
    }
    return stdout;
  } finally {
    signal.removeEventListener("abort", onAbort);
    release();
  }
}

function result(stdout: string, output: ShellParams["output"]): unknown {
  if (output === "auto") return parseOutput(stdout);
  const text = stdout.trim();
  if (output === "text") return text;
  if (text === "") return null;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(`output: json, but the output is not JSON (${(e as Error).message})`);
  }
}

/** The `shell` plugin. */
const shell: PluginDefinition<ShellParams, ShellInput, unknown> = definePlugin<
  ShellParams,
  ShellInput,
  unknown
>({
  name: "shell",
  version: "1.1.0",
  description: "Runs a shell command (sh -c); its result is its output, parsed as JSON if it is.",
  params,
  secrets: (p) => Object.values(p.secretEnv ?? {}),
  permissions: (p: { passEnv?: unknown }): PermissionSet => {
    const pass = Array.isArray(p.passEnv) ? p.passEnv.map(String) : [];
    for (const name of pass) known(name, `the variable name "${name}"`);
    return {
      run: [GROUPED ? "setsid" : "sh"],
      env: [...new Set([...BASE_ENV_NAMES, ...pass])],
    };
  },
  result: "stdout trimmed: with output: auto (the default) parsed as JSON when it is JSON, else " +
    "the text, null when empty; output: text keeps the text, output: json requires JSON",
  docs: `Runs \`command\` with \`sh -c\`, in the flow file's directory (or \`cwd\`, relative
to it), and returns its output: stdout trimmed, parsed as JSON when it parses, else the text,
and \`null\` when there is none. Every line of output also goes to the task's log.

**Environment.** The command does not inherit the host's environment. It receives \`PATH\`,
\`HOME\`, \`LANG\`, \`TZ\` and \`TMPDIR\` from the host, the host variables named in
\`passEnv\`, the values in \`env\`, and in \`secretEnv\` variables whose values are secrets
(\`TOKEN: API_TOKEN\` sets \`$TOKEN\` to the secret \`API_TOKEN\`, which the task then
declares).

**Values are data.** In a YAML flow, each \`\${{ }}\` in \`command\` becomes a variable of its
own in \`env\` (as in \`run:\`), so a value can never inject shell syntax, wherever it stands;
places where the shell would run a value as code (arithmetic, \`eval\`) are refused when the
flow is validated. From TypeScript, never build the command from values: pass them in
\`args\` (the command reads \`"$1"\`, \`"$2"\`, …) or \`env\` (\`"$NAME"\`). A command that
still holds \`\${{ }}\` when it runs is refused.

**Output.** \`output: auto\` (the default) parses stdout as JSON when it parses; \`text\`
keeps it as text (trimmed); \`json\` requires JSON.

**Errors.** A non-zero exit fails the task with the exit code and the last lines of stderr.
The task's \`timeout:\` and cancellation stop the command and everything it started (SIGTERM
to its process group, SIGKILL 5 seconds later).

**Permissions.** The worker may start \`setsid\` (on Linux; \`sh\` elsewhere) and read the
host variables above. Starting a program leaves Deno's sandbox: the command itself can do
whatever the user running Orchestra can, so a flow's ceiling or a policy must allow \`run\`.`,
  example: `count:
  uses: shell
  with:
    command: wc -l < "$FILE"
    cwd: data
    env: { FILE: sales.csv }
`,
  run: async (p, ctx) => {
    if (p.command.includes("${{")) {
      // Only a YAML flow renders `${{ }}`, and what it renders holds none: this came from code.
      throw new TypeError(
        "The command holds ${{ }}, which is not rendered here (only in a YAML flow); pass " +
          'values in `args` and read them as "$1", "$2", …, or in `env` as "$NAME"',
      );
    }
    const env: Record<string, string> = {};
    for (const name of BASE_ENV_NAMES) {
      try {
        const v = Deno.env.get(name);
        if (v !== undefined) env[name] = v;
      } catch {
        // not granted (the task's own permissions replaced the plugin's): not passed on
      }
    }
    for (const name of p.passEnv) {
      const v = Deno.env.get(name);
      if (v !== undefined) env[name] = v;
    }
    for (const [k, v] of Object.entries(p.env)) env[k] = String(v);
    for (const [k, secret] of Object.entries(p.secretEnv)) env[k] = ctx.secret(secret);
    const out = await runCommand(p.command, p.args, {
      cwd: p.cwd === undefined ? ctx.dir : resolvePath(p.cwd, ctx.dir),
      env,
      signal: ctx.signal,
      onLine: logOutputLines(ctx.log),
    });
    return result(out, p.output);
  },
});

export default shell;
