#!/usr/bin/env bash
# A throwaway PostgreSQL server on 127.0.0.1 for the tests (and for trying Orchestra's
# PostgreSQL store by hand). CI (.ci/run) uses it; so can developers:
#
#   .ci/postgres.sh install              install Debian's postgresql when initdb is missing
#   eval "$(.ci/postgres.sh start)"      start a server: prints `export` lines for
#                                        ORCHESTRA_TEST_POSTGRES (its URL) and ORCHESTRA_PG_DIR
#   deno task test                       the PostgreSQL tests now run instead of skipping
#   .ci/postgres.sh stop                 stop it by its PID and remove its directory
#
# `start [DIR]` makes a fresh data directory in DIR (default: a new temporary directory),
# listens on 127.0.0.1 on a free port (and a Unix socket in DIR, not in /var/run), with a
# random password for the superuser "orchestra" and a database "orchestra". TLS is on with a
# self-signed certificate when openssl is there (DIR/server.crt; sslmode=disable and require
# both work, and verify-full with sslrootcert=DIR/server.crt). The server is tuned for tests
# (fsync=off): never keep data you care about in it.
# `stop [DIR]` (default: $ORCHESTRA_PG_DIR) stops that server by the PID in its
# postmaster.pid and removes DIR. PostgreSQL refuses to run as root: as root, the server runs
# as the user "postgres" (made by Debian's package) or "nobody".
set -euo pipefail

log() { printf 'postgres.sh: %s\n' "$*" >&2; }

# The newest installed server's binaries.
bindir() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
      printf '%s\n' "$d"
      return 0
    fi
  done
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
    pg_config --bindir
    return 0
  fi
  return 1
}

cmd_install() {
  if bindir >/dev/null; then
    log "PostgreSQL is installed ($(bindir))"
    return 0
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    log "PostgreSQL is missing and there is no apt-get: install PostgreSQL 15 or newer"
    return 1
  fi
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  log "PostgreSQL is missing: installing Debian's postgresql package"
  # No default cluster on port 5432: the tests start their own server.
  if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
    $sudo mkdir -p /etc/postgresql-common
    echo "create_main_cluster = false" | $sudo tee /etc/postgresql-common/createcluster.conf >/dev/null
  fi
  # .ci/run may have updated the package lists already (installing chromium).
  [ -n "${ORCHESTRA_APT_UPDATED:-}" ] || $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold postgresql >&2
  bindir >/dev/null || { log "apt-get installed postgresql, but no initdb was found"; return 1; }
}

# Runs a server binary as the server's user (PostgreSQL refuses root).
as_server() {
  if [ -n "${RUN_AS:-}" ]; then
    runuser -u "$RUN_AS" -- "$@"
  else
    "$@"
  fi
}

# A port nothing listens on now (the start retries if another process takes it first).
free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      printf '%s\n' "$port"
      return 0
    fi
  done
  return 1
}

cmd_start() {
  local bin dir password port started=""
  bin=$(bindir) || {
    log "PostgreSQL is not installed: run .ci/postgres.sh install (or apt-get install postgresql)"
    return 1
  }
  dir=${1:-$(mktemp -d "${TMPDIR:-/tmp}/orchestra-pg.XXXXXX")}
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ -e "$dir/data" ]; then
    log "$dir/data exists: stop that server first (.ci/postgres.sh stop $dir), or pick another DIR"
    return 1
  fi
  RUN_AS=""
  if [ "$(id -u)" -eq 0 ]; then
    if id postgres >/dev/null 2>&1; then RUN_AS=postgres; else RUN_AS=nobody; fi
  fi
  password=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
  printf '%s\n' "$password" >"$dir/password"
  chmod 0700 "$dir"
  chmod 0600 "$dir/password"
  if [ -n "$RUN_AS" ]; then
    chown -R "$RUN_AS" "$dir"
    if ! runuser -u "$RUN_AS" -- test -w "$dir"; then
      log "the user \"$RUN_AS\" cannot write $dir (is a parent directory closed to it?): pick a DIR under /tmp"
      return 1
    fi
  fi
  as_server "$bin/initdb" -D "$dir/data" -U orchestra --pwfile="$dir/password" \
    --auth-local=scram-sha-256 --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 \
    --no-sync --no-instructions >"$dir/initdb.log" 2>&1 || {
    log "initdb failed:"
    cat "$dir/initdb.log" >&2
    return 1
  }
  local ssl=()
  if command -v openssl >/dev/null 2>&1 && openssl req -new -x509 -days 3 -nodes \
    -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$dir/server.key" -out "$dir/server.crt" >/dev/null 2>&1; then
    chmod 0600 "$dir/server.key"
    [ -n "$RUN_AS" ] && chown "$RUN_AS" "$dir/server.key" "$dir/server.crt"
    ssl=(-c ssl=on -c "ssl_cert_file=$dir/server.crt" -c "ssl_key_file=$dir/server.key")
  fi
  for _ in 1 2 3 4 5; do
    port=$(free_port) || { log "found no free port"; return 1; }
    if as_server "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 -s \
      -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c full_page_writes=off ${ssl[*]}" \
      start >&2; then
      started=1
      break
    fi
    # Most likely another process took the port: try another.
    tail -n 5 "$dir/server.log" >&2 || true
  done
  if [ -z "$started" ]; then
    log "the server did not start (see $dir/server.log)"
    return 1
  fi
  if ! PGPASSWORD=$password "$bin/psql" -h 127.0.0.1 -p "$port" -U orchestra -d postgres -qAt \
    -c "CREATE DATABASE orchestra" >&2; then
    log "could not create the database \"orchestra\": stopping the server"
    cmd_stop "$dir"
    return 1
  fi
  log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, pid" \
    "$(head -n 1 "$dir/data/postmaster.pid"), data in $dir"
  printf 'export ORCHESTRA_TEST_POSTGRES=%q\n' \
    "postgres://orchestra:$password@127.0.0.1:$port/orchestra"
  printf 'export ORCHESTRA_PG_DIR=%q\n' "$dir"
}

cmd_stop() {
  local dir=${1:-${ORCHESTRA_PG_DIR:-}}
  if [ -z "$dir" ]; then
    log "stop needs the server's DIR (or ORCHESTRA_PG_DIR)"
    return 1
  fi
  local pidfile="$dir/data/postmaster.pid" pid
  if [ -f "$pidfile" ]; then
    pid=$(head -n 1 "$pidfile")
    # SIGINT is PostgreSQL's fast shutdown: it rolls back open transactions and exits. A
    # clean exit removes postmaster.pid; a PID alone may linger as a zombie, so wait for that.
    kill -INT "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      [ -f "$pidfile" ] || break
      sleep 0.1
    done
    if [ -f "$pidfile" ]; then
      log "the server (pid $pid) did not stop within 10 s: killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  case "$dir" in
  "" | "/") ;;
  *) rm -rf "$dir" ;;
  esac
}

case "${1:-}" in
install) cmd_install ;;
start) cmd_start "${2:-}" ;;
stop) cmd_stop "${2:-}" ;;
*)
  sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
  ;;
esac
