/**
 * Help texts of every command.
 *
 * @module
 */

import { AUDIT_HELP } from "./commands/audit.ts";
import { CACHE_HELP } from "./commands/cache.ts";
import { CONFIG_HELP } from "./commands/config.ts";
import { PLUGINS_HELP } from "./commands/plugins.ts";
import { SECRET_HELP } from "./commands/secret.ts";

/** The top-level help. */
export const MAIN_HELP = `orchestra — run workflows written in TypeScript

Usage:
  orchestra <command> [options]

Commands:
  run FILE        Run a flow, with a live view of its tasks
  validate FILE   Check a flow without running it; print every problem
  describe FILE   Show a flow's tasks, dependencies, executors, permissions and retries
  graph FILE      Print a flow's graph as Mermaid, Graphviz dot or JSON
  runs            List recorded runs (runs prune --older-than 30d removes old ones)
  status RUN      A run's tasks, what is running now, timings
  logs RUN [TASK] What a run's tasks logged (--follow to keep reading)
  cancel RUN      Stop a run that another process is running
  resume RUN      Run again what did not succeed; succeeded tasks are restored
  retry RUN --from TASK  Run a task and everything after it again
  cache clear     Remove every cached task result
  plugins         List plugins, show one's manual (info), scaffold one (new), re-pin (update)
  schema          Print the JSON Schema of flow, config or policy files (for editors)
  config          Show the effective settings and where each came from
  audit           Show the permission decisions recorded in the audit log
  secret encrypt  Encrypt a param value (decrypted only when a task uses it)
  help [COMMAND]  Show help for a command

Options:
  -h, --help      Show help (also after any command)
  -V, --version   Show the version

Exit codes: 0 success, 1 the run failed, 2 bad input, 130 cancelled with Ctrl-C.
During development: deno task orchestra <command> …
`;

const RUN_ID_HELP = (cmd: string, what: string, extra = "") =>
  `Usage: orchestra ${cmd}

${what}
Runs are recorded in <state dir>/state.db (see "orchestra config"); RUN may be a prefix of
the run id.

Options:
${extra}      --state-dir DIR       The state dir (default ./.orchestra)
      --json                Print JSON
  -h, --help                Show this help
`;

/** Help of each command. */
export const COMMAND_HELP: Record<string, string> = {
  runs: RUN_ID_HELP(
    "runs [--flow F] [--status S] [--limit N] [--json]\n       orchestra runs prune --older-than 30d",
    "List recorded runs, newest first, or remove finished runs older than a duration.",
    "      --flow NAME           Only runs of this flow\n      --status STATUS       running, succeeded, failed or cancelled\n  -n, --limit N             How many (default 20)\n",
  ),
  status: RUN_ID_HELP(
    "status RUN [--json]",
    "Show a run: its status, the tasks running now, a table of every task.",
  ),
  logs: RUN_ID_HELP(
    "logs RUN [TASK] [--follow]",
    "Print what a run's tasks logged, or one task's.",
    "  -f, --follow              Keep printing until the run ends\n",
  ),
  cancel: RUN_ID_HELP(
    "cancel RUN",
    "Ask the process running RUN to stop; it notices within a second and records the run as cancelled.",
  ),
  resume: RUN_ID_HELP(
    "resume RUN [--force]",
    "Run RUN again: tasks that succeeded keep their results and do not run; the rest run.\nA flow file changed since the run began is refused unless --force.",
    "      --force               Resume even though the flow file changed\n",
  ),
  retry: RUN_ID_HELP(
    "retry RUN --from TASK",
    "Run TASK and everything downstream of it again, keeping the other results.",
    "      --from TASK           The task to start again from\n      --force               Even though the flow file changed\n",
  ),
  audit: AUDIT_HELP,
  cache: CACHE_HELP,
  plugins: PLUGINS_HELP,
  secret: SECRET_HELP,
  config: CONFIG_HELP,
  schema: `Usage: orchestra schema [flow|config|policy] [options]

Print a JSON Schema: of YAML flow files (flow, the default; generated from the same definition
the loader validates with), of orchestra.yaml (config) or of orchestra.policy.yaml (policy).
Point your editor at it, e.g. with a first line
  # yaml-language-server: $schema=./flow.schema.json

Options:
  -o, --output FILE         Write it to FILE instead of stdout
  -h, --help                Show this help
`,
  run: `Usage: orchestra run FILE [options]

Run the flow in FILE: a .ts module that exports a flow, or a .yaml flow file. The flow is validated first; an invalid
flow or invalid params start no task (exit 2).

Options:
  -p, --param NAME=VALUE    Set a param (repeatable); values are converted to the param's type
      --params-file FILE    Read params from a JSON or YAML file (--param wins)
      --flow NAME           Which flow to run when FILE exports several
  -c, --concurrency N       Run at most N tasks at once (default: the flow's, else unlimited)
      --dry-run             Validate and print the plan (order, executors, grants); run nothing
      --detach              Start the run in the background; print its run id and return
                            (with --json: { "runId": … }); follow it with status and logs
      --json                Print the run record as one JSON document on stdout
  -q, --quiet               Print only the summary
  -v, --verbose             Log at debug level
      --log-level LEVEL     debug, info, warning or error (default: info)
      --log-format FORMAT   text or json (JSON lines on stderr; default: text)
      --executor KIND       Run tasks that choose no executor inline (default) or in workers
      --workers N           Workers per module and permission set (default: CPU cores)
      --state-dir DIR       Where runs and cached results are kept (default ./.orchestra)
      --durability LEVEL    full (default: fsync each journal batch) or normal (a power cut
                            or OS crash may lose the last batches; a killed process loses
                            nothing)
      --config FILE         Use this configuration file instead of searching for one
  -h, --help                Show this help

Settings (concurrency, log level and format, …) also come from orchestra.yaml or an
"orchestra" key in deno.json, found from the current directory upwards, and from
ORCHESTRA_* environment variables; flags win. See "orchestra config".

The live view and logs go to stderr; stdout carries only --json output.
Ctrl-C once stops new work, aborts running tasks and records the run as cancelled
(exit 130); a second Ctrl-C exits at once.

Examples:
  orchestra run examples/etl.ts
  orchestra run examples/etl.yaml
  orchestra run examples/params.ts --param region=eu --param limit=5 --json
  orchestra run examples/etl.ts --detach
`,
  validate: `Usage: orchestra validate FILE [options]

Validate the flow exported by FILE and print every problem found, each with its
file:line:col and a hint. Exit 0 when valid, 2 otherwise.

Options:
  -p, --param NAME=VALUE    Params to validate with (repeatable)
      --params-file FILE    Params from a JSON or YAML file
      --flow NAME           Which flow, when FILE exports several
      --json                Print { valid, flow, issues } as JSON on stdout
  -h, --help                Show this help
`,
  describe: `Usage: orchestra describe FILE [options]

Show the flow's params, permission ceiling and tasks: dependencies, executor,
permissions, retries, timeout, cache and priority.

Options:
  -p, --param NAME=VALUE    Params to plan with (repeatable)
      --params-file FILE    Params from a JSON or YAML file
      --flow NAME           Which flow, when FILE exports several
      --json                Print the flow graph as JSON
  -h, --help                Show this help
`,
  graph: `Usage: orchestra graph FILE [options]

Print the flow's dependency graph.

Options:
  -f, --format FORMAT       mermaid (default), dot or json
  -p, --param NAME=VALUE    Params to plan with (repeatable)
      --params-file FILE    Params from a JSON or YAML file
      --flow NAME           Which flow, when FILE exports several
  -h, --help                Show this help

Example:
  orchestra graph examples/etl.ts --format dot | dot -Tsvg > etl.svg
`,
};
