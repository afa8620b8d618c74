/**
 * Help texts of every command. `tests/cli/help_test.ts` compares each with the command's
 * option table, so a flag cannot be taken without being listed, nor listed without being
 * taken.
 *
 * @module
 */

import { AUDIT_HELP } from "./commands/audit.ts";
import { CACHE_HELP } from "./commands/cache.ts";
import { CONFIG_HELP } from "./commands/config.ts";
import { PLUGINS_HELP } from "./commands/plugins.ts";
import { SCHEDULES_HELP } from "./commands/schedules.ts";
import { SERVE_HELP } from "./commands/serve_help.ts";
import { SECRET_HELP } from "./commands/secret.ts";
import { STORE_HELP } from "./commands/store.ts";

/** The top-level help. */
export const MAIN_HELP = `orchestra — run workflows written in TypeScript or YAML

Usage:
  orchestra <command> [options]

Commands:
  init [NAME]     Write a starter flow (NAME.ts, or NAME.yaml with --yaml) that runs at once
  run FILE        Run a flow (.ts or .yaml), with a live view of its tasks
  validate FILE   Check a flow without running it; print every problem
  describe FILE   Show a flow's tasks, dependencies, executors, permissions and retries
  graph FILE      Print a flow's graph as Mermaid, Graphviz dot or JSON
  runs            List recorded runs (runs prune --older-than 30d removes old ones)
  status RUN      A run's tasks, what is running now, timings
  logs RUN [TASK] What a run's tasks logged (--follow to keep reading)
  cancel RUN      Stop a run (an interrupted one is marked cancelled)
  resume RUN      Run again what did not succeed; succeeded tasks are restored
  retry RUN [--from TASK]  Run it again as a new run linked to it
  cache clear     Remove cached task results and authorization decisions
  store           Migrate a PostgreSQL store (migrate), copy a SQLite history into it (copy)
  plugins         List plugins, show one's manual (info), scaffold one (new), re-pin (update)
  schema          Print the JSON Schema of flow, config or policy files (for editors)
  config          Show the effective settings and where each came from
  audit           Show the permission decisions recorded in the audit log
  secret encrypt  Encrypt a param value (decrypted only when a task uses it)
  serve [DIR…]    Serve flows: schedules, an HTTP API, webhooks, metrics (serve token add)
  schedules [DIR] The schedules of the flows under DIR, each with its next five times
  completions SHELL  Print a completion script for bash, zsh or fish
  help [COMMAND]  Show help for a command

Options:
  -h, --help      Show help (also after any command)
  -V, --version   Show the version

Exit codes: 0 success, 1 the run failed, 2 bad input, 130/143/129 cancelled by SIGINT
(Ctrl-C), SIGTERM or SIGHUP.
Paths on the command line are relative to where you run it; paths inside a flow (permissions,
task code, run: steps, plugin params) to the flow file's folder, where its tasks run.
During development: deno task orchestra <command> …
`;

/** The options every command that reads a flow takes, as `run`, `validate` and others list them. */
const FLOW_HELP =
  `  -p, --param NAME=VALUE    Set a param (repeatable); values are converted to the param's type
      --params-file FILE    Read params from a JSON or YAML file (--param wins)
      --flow NAME           Which flow, when FILE exports several
      --no-sandbox          Import a TypeScript flow's module into the orchestrator (all its
                            rights) instead of its flow isolate (no permissions), like
                            sandbox: false; a policy with sandbox: required refuses it`;

/** The options that decide what a flow is allowed and where its plugins come from. */
const SOURCES_HELP =
  `      --plugin-dir DIR      Look for plugins in DIR too (repeatable; before ./plugins)
      --policy-file FILE    The local permission policy (default: the first
                            orchestra.policy.yaml from the current directory upwards)
      --secrets-file FILE   A dotenv file of secrets, looked up before the environment
      --state-dir DIR       Where runs, cached results and pinned plugins are kept, which no
                            grant may cover (default ./.orchestra)
      --config FILE         Use this configuration file instead of searching for one`;

/** How a run goes: what `run`, `resume` and `retry` share. */
const RUNNING_HELP =
  `  -c, --concurrency N       Run at most N tasks at once (default: the flow's, else unlimited)
      --json                Print the run record as one JSON document on stdout
  -q, --quiet               Print only the summary
  -v, --verbose             Log at debug level
      --log-level LEVEL     debug, info, warning or error (default: info)
      --log-format FORMAT   text or json (JSON lines on stderr; default: text)
      --executor KIND       Where tasks that choose no executor run: inline (default),
                            worker or process
      --workers N           Workers per module and permission set (default: CPU cores)
      --durability LEVEL    full (default: fsync each journal batch) or normal (a power cut
                            or OS crash may lose the last batches; a killed process loses
                            nothing)
      --store URL           Keep runs in PostgreSQL instead (postgres://user@host:port/db)
      --max-output SIZE     The most a run: step may print on stdout (default 16MiB);
                            more fails the step`;

const RUN_ID_HELP = (cmd: string, what: string, extra = "") =>
  `Usage: orchestra ${cmd}

${what}
Runs are recorded in <state dir>/state.db, or in the PostgreSQL store of --store (see
"orchestra config"); RUN may be a prefix of the run id (a prefix that matches several runs
is refused, listing them).

Options:
${extra}      --json                Print JSON
      --state-dir DIR       The state dir (default ./.orchestra)
      --store URL           A PostgreSQL store instead (postgres://user@host:port/db)
      --config FILE         Use this configuration file instead of searching for one
  -h, --help                Show this help
`;

const CONTINUE_HELP = (cmd: string, what: string, extra: string) =>
  `Usage: orchestra ${cmd}

${what}
The flow file is the run's own; RUN may be a prefix of the run id.

Options:
${extra}
${RUNNING_HELP}
      --no-sandbox          Import the flow's module into the orchestrator, not a flow isolate
      --plugin-dir DIR      Look for plugins in DIR too (repeatable; before ./plugins)
      --policy-file FILE    The local permission policy (default: the first
                            orchestra.policy.yaml from the current directory upwards)
      --secrets-file FILE   A dotenv file of secrets, looked up before the environment
      --state-dir DIR       The state dir the run is recorded in (default ./.orchestra)
      --config FILE         Use this configuration file instead of searching for one
  -h, --help                Show this help
`;

/** Help of each command. */
export const COMMAND_HELP: Record<string, string> = {
  runs: `Usage: orchestra runs [--flow F] [--status S] [--limit N] [--json]
       orchestra runs prune --older-than 30d

List recorded runs, newest first, or remove finished runs older than a duration.
Runs are recorded in <state dir>/state.db, or in the PostgreSQL store of --store (see
"orchestra config").

Options:
      --flow NAME           Only runs of this flow
      --status STATUS       running, interrupted, succeeded, failed or cancelled
  -n, --limit N             How many (default 20)
      --older-than AGE      prune: remove finished runs older than AGE (30m, 12h, 30d)
      --json                Print JSON
      --state-dir DIR       The state dir (default ./.orchestra)
      --store URL           A PostgreSQL store instead (postgres://user@host:port/db)
      --config FILE         Use this configuration file instead of searching for one
  -h, --help                Show this help
`,
  status: RUN_ID_HELP(
    "status RUN [--json]",
    "Show a run: its status, who runs it, the tasks running now, a table of every task, the\nrun it retries and its retries. A run whose process died is interrupted.",
  ),
  logs: RUN_ID_HELP(
    "logs RUN [TASK] [--follow] [--json]",
    "Print what a run's tasks logged, or one task's; --json prints one object per line\n(time, level, task, message, props). A detached run's own output shows as [process].",
    "  -f, --follow              Keep printing until the run ends\n",
  ),
  cancel: RUN_ID_HELP(
    "cancel RUN",
    "Ask the process running RUN to stop; it notices within a second and records the run as\ncancelled. An interrupted run (its process died) is marked cancelled at once.",
  ),
  resume: CONTINUE_HELP(
    "resume RUN [--force] [options]",
    "Run RUN again: tasks that succeeded keep their results and do not run; the rest run.\n" +
      "One process runs a run at a time: a resume of a run another process runs exits 2 naming\n" +
      "it. What a dead owner left running is stopped first. A flow file changed since the run\n" +
      "began is refused unless --force.",
    "      --force               Resume even though the flow file changed",
  ),
  retry: CONTINUE_HELP(
    "retry RUN [--from TASK] [--param NAME=VALUE] [--force] [options]",
    "Run RUN again as a new run linked to it (RUN and its failure stay as they were): TASK\n" +
      "and everything downstream of it run again (a map item: the item, its group and what\n" +
      "needs the group), the other results are kept; without --from, what did not succeed.",
    "      --from TASK           The task to start again from\n" +
      "  -p, --param NAME=VALUE    Override a param of RUN (repeatable)\n" +
      "      --params-file FILE    Override params from a JSON or YAML file (--param wins)\n" +
      "      --force               Even though the flow file changed",
  ),
  audit: AUDIT_HELP,
  cache: CACHE_HELP,
  store: STORE_HELP,
  plugins: PLUGINS_HELP,
  secret: SECRET_HELP,
  config: CONFIG_HELP,
  serve: SERVE_HELP,
  schedules: SCHEDULES_HELP,
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

Run the flow in FILE: a .ts module that exports a flow, or a .yaml flow file. The flow is
validated first; an invalid flow or invalid params start no task (exit 2). Its tasks run in
the flow file's folder: relative paths in it mean that folder.

Options:
${FLOW_HELP}
      --dry-run             Validate and print the plan (order, executors, grants); run nothing
      --detach              Start the run in the background; print its run id and return
                            (with --json: { "runId": … }); follow it with status and logs
${RUNNING_HELP}
${SOURCES_HELP}
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
file:line:col and a hint. Exit 0 when valid, 2 otherwise. Required params without a value
are planned with placeholders.

Options:
${FLOW_HELP}
      --json                Print { valid, flow, tasks, issues } as JSON on stdout
${SOURCES_HELP}
  -h, --help                Show this help
`,
  describe: `Usage: orchestra describe FILE [options]

Show the flow's params, permission ceiling and tasks: dependencies, executor,
permissions, retries, timeout, cache and priority. Required params without a value are
planned with placeholders (and the output says so).

Options:
${FLOW_HELP}
      --json                Print the flow graph as JSON
${SOURCES_HELP}
  -h, --help                Show this help
`,
  graph: `Usage: orchestra graph FILE [options]

Print the flow's dependency graph. Required params without a value are planned with
placeholders.

Options:
  -f, --format FORMAT       mermaid (default), dot or json
      --json                The same as --format json
${FLOW_HELP}
${SOURCES_HELP}
  -h, --help                Show this help

Example:
  orchestra graph examples/etl.ts --format dot | dot -Tsvg > etl.svg
`,
  init: `Usage: orchestra init [NAME] [--yaml] [--force]

Write a starter flow in the current directory that runs at once: NAME.ts (NAME is "flow"
unless given), or NAME.yaml with --yaml, with the JSON Schema beside it (flow.schema.json,
named in the file's # yaml-language-server: $schema=… line) so editors complete and check it.
A TypeScript flow gets a deno.json mapping @orchestra/orchestra (and enabling worker
options) when the directory has none. Existing files are kept unless --force.

Options:
      --yaml                Write a YAML flow instead of a TypeScript one
      --force               Overwrite files that exist
  -h, --help                Show this help

Examples:
  orchestra init && orchestra run flow.ts
  orchestra init etl --yaml && orchestra run etl.yaml
`,
  completions: `Usage: orchestra completions bash|zsh|fish

Print a script that completes orchestra's commands, subcommands, flags and their values
in your shell. Install it:
  bash:  orchestra completions bash > ~/.local/share/bash-completion/completions/orchestra
  zsh:   orchestra completions zsh > "\${fpath[1]}/_orchestra"   (then: compinit)
  fish:  orchestra completions fish > ~/.config/fish/completions/orchestra.fish

Options:
  -h, --help                Show this help
`,
  help: `Usage: orchestra help [COMMAND]

Show the list of commands, or the help of COMMAND (the same as orchestra COMMAND --help).

Options:
  -h, --help                Show this help
`,
};
