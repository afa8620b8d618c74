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
  --host HOST        The address to listen on (default 127.0.0.1). Any other address
                     needs --tokens: serve refuses to start without them
  --port PORT        The port (default 8080; 0 picks a free one)
  --tokens FILE      The tokens file (or ORCHESTRA_TOKENS_FILE): API tokens by role,
                     hashed, and each webhook flow's secret name
  --grace DURATION   How long running runs get to end on SIGTERM (default 30s); those
                     still going are interrupted and resumed at the next start
  --name NAME        This server's name in the state store (default HOSTNAME:PORT)
  --state-dir, --store, --policy-file, --secrets-file, --workers, --executor,
  --concurrency, --log-level, --log-format: as for orchestra run
  -h, --help         Show this help

token add NAME --role ROLE prints a new token once (stdout) and writes its SHA-256 to the
tokens file (--tokens, ORCHESTRA_TOKENS_FILE, or ./orchestra.tokens.yaml), created 0600.

Exit codes: 0 stopped by SIGTERM or Ctrl-C after draining, 2 bad input (a path that does
not exist, no tokens on a non-loopback address, an unreadable tokens file or store).
`;
