/**
 * The help of `orchestra serve`.
 *
 * @module
 */

/** Help of `serve`. */
export const SERVE_HELP = `Usage: orchestra serve [DIR|FILE…] [options]
       orchestra serve token add NAME --role viewer|operator [--tokens FILE]

Serve the flows under the paths (default: the current folder; TS and YAML, watched): run
their schedules, answer the HTTP API (/api/v1, OpenAPI at /api/v1/openapi.json), take
webhooks (POST /hooks/FLOW), and export /metrics, /healthz and /readyz. Each flow folder
gets a runner process working in it, so relative paths mean the flow file's folder.

Options:
      --host HOST           The address to listen on (default 127.0.0.1). Any other address
                            needs tokens: serve refuses to start without them
      --port PORT           The port (default 8080; 0 picks a free one)
      --tokens FILE         The tokens file (the tokensFile setting, ORCHESTRA_TOKENS_FILE):
                            API tokens by role, hashed, and each webhook flow's secret name
      --grace DURATION      How long running runs get to end on SIGTERM (default 30s); those
                            still going are interrupted, and resumed at the next start
      --name NAME           This server's name in the state store (default HOSTNAME:PORT);
                            the next server of that name resumes what this one left
      --role ROLE           token add: viewer (read) or operator (start, cancel, retry)
  -c, --concurrency N       Run at most N tasks of a run at once (default: the flow's)
      --log-level LEVEL     debug, info, warning or error (default: info)
      --log-format FORMAT   text or json (JSON lines on stderr; default: text)
      --executor KIND       Where tasks that choose no executor run: inline (default),
                            worker or process
      --workers N           Workers per module and permission set (default: CPU cores)
      --durability LEVEL    full (default) or normal, as for orchestra run
      --store URL           Keep runs in PostgreSQL instead (postgres://user@host:port/db)
      --max-output SIZE     The most a run: step may print on stdout (default 16MiB)
      --plugin-dir DIR      Look for plugins in DIR too (repeatable; before ./plugins)
      --policy-file FILE    The local permission policy (default: the first
                            orchestra.policy.yaml from the current directory upwards)
      --secrets-file FILE   A dotenv file of secrets, looked up before the environment
      --state-dir DIR       Where runs are recorded (default ./.orchestra)
      --config FILE         Use this configuration file instead of searching for one
  -h, --help                Show this help

token add NAME --role ROLE prints a new token once (stdout) and writes its SHA-256 to the
tokens file (the tokensFile setting, or ./orchestra.tokens.yaml), created 0600.

Exit codes: 0 stopped by SIGTERM or Ctrl-C after draining, 2 bad input (a path that does
not exist, no tokens on a non-loopback address, an unreadable tokens file or store).
`;
