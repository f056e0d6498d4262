#!/usr/bin/env bash
# A throwaway PostgreSQL server for tollgate's tests, on loopback only.
#
#   scripts/pg.sh start    # start (or reuse) it; prints the test database URL on stdout
#   scripts/pg.sh url      # print the URL (does not start anything)
#   scripts/pg.sh status   # exit 0 when it is accepting connections
#   scripts/pg.sh stop     # stop it (the data stays for the next start)
#   scripts/pg.sh crash    # stop it the hard way (pg_ctl -m immediate: no shutdown checkpoint,
#                          # clients cut off), as a crash or a lost database host would
#   scripts/pg.sh destroy  # stop it and delete its data directory
#
# Settings (environment):
#   TOLLGATE_TEST_PG_DIR   cluster directory   (default /tmp/tollgate-pg; must be reachable by
#                          the postgres user when run as root, so not under /root)
#   TOLLGATE_TEST_PG_PORT  TCP port            (default 54329, listens on 127.0.0.1 only)
#   TOLLGATE_TEST_PG_DB    database to create  (default tollgate_test)
#   TOLLGATE_TEST_PG_DURABLE=1  keep fsync and synchronous commit on (crash tests: without
#                          them an immediate stop loses the last acknowledged commits)
#
# The cluster uses trust authentication for loopback and the socket directory inside the
# cluster directory, and runs with fsync off: it holds test data only. When run as root the
# server runs as the `postgres` user (PostgreSQL refuses to run as root). Idempotent: a
# running server is reused, a stopped one is started, a missing or half-made one is created.
set -euo pipefail

# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

PG_DIR="${TOLLGATE_TEST_PG_DIR:-/tmp/tollgate-pg}"
PG_PORT="${TOLLGATE_TEST_PG_PORT:-54329}"
PG_DB="${TOLLGATE_TEST_PG_DB:-tollgate_test}"
PG_DATA="$PG_DIR/data"
PG_LOG="$PG_DIR/server.log"
PG_URL="postgres://postgres@127.0.0.1:${PG_PORT}/${PG_DB}"

pg_bin_dir() {
  local d
  # Newest installed major version first.
  d="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin 2>/dev/null | sort -V | tail -n 1)"
  if [ -n "$d" ] && [ -x "$d/initdb" ]; then
    printf '%s' "$d"
    return 0
  fi
  # Not Debian's layout: fall back to PATH.
  d="$(command -v initdb 2>/dev/null || true)"
  [ -n "$d" ] || return 1
  dirname "$d"
}

# Run a command as the cluster owner.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# Is anything accepting PostgreSQL connections on our port?
accepting() {
  "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 2 >/dev/null 2>&1
}

psql_q() {
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@"
}

create_cluster() {
  tg_log "postgres: creating cluster in $PG_DATA"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || tg_die "postgres: no 'postgres' user (is the postgresql package installed?)"
  fi
  mkdir -p "$PG_DIR"
  rm -rf "$PG_DATA"
  [ "$(id -u)" = 0 ] && chown postgres: "$PG_DIR"
  chmod 0700 "$PG_DIR"
  as_owner "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
    --no-sync >"$PG_DIR/initdb.log" 2>&1 || {
    cat "$PG_DIR/initdb.log" >&2
    tg_die "postgres: initdb failed"
  }
}

start_server() {
  # Port, address and socket directory are given on the command line, not written into the
  # cluster, so TOLLGATE_TEST_PG_PORT can change between runs.
  local opts="-c listen_addresses=127.0.0.1 -p $PG_PORT -c unix_socket_directories=$PG_DIR"
  if [ "${TOLLGATE_TEST_PG_DURABLE:-0}" = 1 ]; then
    # Crash tests: a commit must survive an immediate stop, as in production.
    opts+=" -c max_connections=200"
  else
    opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
  fi
  tg_log "postgres: starting on 127.0.0.1:$PG_PORT"
  # 9>&-: the server must not inherit (and so hold forever) the start lock.
  if ! as_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -o "$opts" -w -t 60 start >/dev/null 2>&1 9>&-; then
    tail -n 30 "$PG_LOG" >&2 2>/dev/null || true
    tg_die "postgres: pg_ctl start failed (log: $PG_LOG)"
  fi
}

ensure_database() {
  local exists
  exists="$(psql_q -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" ||
    tg_die "postgres: cannot query 127.0.0.1:$PG_PORT as user postgres (not our server?)"
  if [ "$exists" != 1 ]; then
    tg_log "postgres: creating database $PG_DB"
    psql_q -d postgres -c "CREATE DATABASE \"$PG_DB\"" >/dev/null ||
      # Lost a race with a concurrent start: fine if it exists now.
      [ "$(psql_q -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" = 1 ] ||
      tg_die "postgres: cannot create database $PG_DB"
  fi
}

cmd_start() {
  # One start at a time (two test runs starting together).
  if command -v flock >/dev/null 2>&1; then
    exec 9>"${PG_DIR%/}.lock"
    flock -w 120 9 || tg_die "postgres: another start holds ${PG_DIR%/}.lock"
  fi
  if accepting; then
    tg_log "postgres: reusing the server on 127.0.0.1:$PG_PORT"
  else
    if [ ! -s "$PG_DATA/PG_VERSION" ] || [ ! -s "$PG_DATA/postgresql.conf" ]; then
      create_cluster
    fi
    # A server of ours that is running but not accepting on this port (port changed): stop it.
    if as_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
      as_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 30 stop >/dev/null 2>&1 || true
    fi
    start_server
    tg_wait_until 50 0.2 accepting || tg_die "postgres: not accepting connections (log: $PG_LOG)"
  fi
  ensure_database
  printf '%s\n' "$PG_URL"
}

cmd_stop() {
  if [ -s "$PG_DATA/PG_VERSION" ] && as_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
    as_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null
    tg_log "postgres: stopped"
  else
    tg_log "postgres: not running from $PG_DATA"
  fi
}

cmd_crash() {
  as_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w -t 60 stop >/dev/null
  tg_log "postgres: crashed (immediate stop)"
}

main() {
  local cmd="${1:-start}"
  case "$cmd" in
  url)
    printf '%s\n' "$PG_URL"
    return 0
    ;;
  -h | --help | help)
    sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    return 0
    ;;
  esac
  PG_BIN="$(pg_bin_dir)" || tg_die "postgres: no PostgreSQL server binaries (apt-get install postgresql)"
  case "$cmd" in
  start) cmd_start ;;
  status) accepting ;;
  stop) cmd_stop ;;
  crash) cmd_crash ;;
  destroy)
    cmd_stop
    rm -rf "$PG_DIR"
    tg_log "postgres: removed $PG_DIR"
    ;;
  *) tg_die "usage: scripts/pg.sh start|url|status|stop|crash|destroy" ;;
  esac
}

main "$@"
