#!/usr/bin/env bash
# Runs PostgreSQL for the backup history on its own, for the local environment.
#   hack/postgres.sh start [PORT]   start in the background (default port 5432), state under tmp/postgres;
#                                   first start creates database backup_history, user backup / backup_dev_password
#   hack/postgres.sh stop           stop it (data kept)
#   hack/postgres.sh status         say whether it answers
#   hack/postgres.sh shell          psql on backup_history as user backup
#   hack/postgres.sh env            print the DB_* variables for the controller
# Works as root: the server then runs as the postgres OS user.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
state="${POSTGRES_STATE_DIR:-$root/tmp/postgres}"
data="$state/data"
sock="$state/sock"
port_file="$state/port"
db_name=backup_history db_user=backup db_password=backup_dev_password

find_bin() {
  local d
  if command -v initdb >/dev/null 2>&1; then
    d="$(dirname "$(readlink -f "$(command -v initdb)")")"
    if [[ -x "$d/postgres" && -x "$d/pg_ctl" ]]; then echo "$d"; return; fi
  fi
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [[ -x "$d/initdb" ]]; then echo "$d"; return; fi
  done
  echo "PostgreSQL server binaries (initdb, pg_ctl) not found; install postgresql" >&2; exit 1
}

# as_pg runs a command as the postgres OS user when we are root (initdb and postgres refuse root).
as_pg() {
  if [[ "$(id -u)" == 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

port() { cat "$port_file" 2>/dev/null || echo 5432; }

psql_bin() { command -v psql || echo "$(find_bin)/psql"; }

case "${1:-}" in
  start)
    port="${2:-5432}"
    bin="$(find_bin)"
    mkdir -p "$state"
    if [[ -f "$data/postmaster.pid" ]] && as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
      echo "postgres already running on port $(port)"; exit 0
    fi
    if [[ "$(id -u)" == 0 ]]; then
      id postgres >/dev/null 2>&1 || { echo "running as root needs the postgres OS user" >&2; exit 1; }
      # The postgres user must reach the state dir: make the path traversable.
      d="$state"; while [[ "$d" != / ]]; do chmod o+x "$d" 2>/dev/null || true; d="$(dirname "$d")"; done
      chown postgres: "$state"
    fi
    mkdir -p "$sock"; [[ "$(id -u)" == 0 ]] && chown postgres: "$sock"
    fresh=0
    if [[ ! -f "$data/PG_VERSION" ]]; then
      # Superuser: trust over the socket in $sock only; TCP clients need a password.
      pwfile="$state/.pw"; head -c 24 /dev/urandom | base64 >"$pwfile"
      [[ "$(id -u)" == 0 ]] && chown postgres: "$pwfile"
      as_pg "$bin/initdb" -D "$data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
        --pwfile="$pwfile" -E UTF8 --locale=C >"$state/initdb.log" 2>&1 ||
        { rm -f "$pwfile"; cat "$state/initdb.log" >&2; exit 1; }
      rm -f "$pwfile"
      fresh=1
    fi
    echo "$port" >"$port_file"
    as_pg "$bin/pg_ctl" -D "$data" -l "$state/postgres.log" -w -t 30 \
      -o "-p $port -h 127.0.0.1 -k $sock" start >/dev/null ||
      { echo "postgres did not start; see $state/postgres.log" >&2; exit 1; }
    if [[ "$fresh" == 1 ]]; then
      as_pg "$(psql_bin)" -h "$sock" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -q <<SQL
CREATE ROLE $db_user LOGIN PASSWORD '$db_password';
CREATE DATABASE $db_name OWNER $db_user;
SQL
    fi
    echo "postgres listening on 127.0.0.1:$port (database $db_name, user $db_user)" ;;
  stop)
    bin="$(find_bin)"
    if [[ -f "$data/postmaster.pid" ]]; then as_pg "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null || true; fi
    echo "postgres stopped" ;;
  status)
    if [[ -f "$data/postmaster.pid" ]] && as_pg "$(find_bin)/pg_ctl" -D "$data" status >/dev/null 2>&1; then
      echo "postgres: running on 127.0.0.1:$(port)"
    else
      echo "postgres: not running"; exit 1
    fi ;;
  shell)
    PGPASSWORD="$db_password" exec "$(psql_bin)" -h 127.0.0.1 -p "$(port)" -U "$db_user" -d "$db_name" ;;
  env)
    cat <<ENV
export DB_HOST=127.0.0.1 DB_PORT=$(port) DB_NAME=$db_name DB_USER=$db_user DB_PASSWORD=$db_password DB_SSL_MODE=disable
ENV
    ;;
  *) echo "usage: $0 start [PORT] | stop | status | shell | env" >&2; exit 2 ;;
esac
