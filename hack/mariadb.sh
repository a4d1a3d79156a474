#!/usr/bin/env bash
# Runs MariaDB on its own, for the local environment (a Liferay-style database to dump).
#   hack/mariadb.sh start [PORT]   start in the background (default port 3306), state under tmp/mariadb;
#                                  first start creates database lportal, user lportal / lportal_dev_password
#   hack/mariadb.sh stop           stop it (data kept)
#   hack/mariadb.sh status         say whether it answers
#   hack/mariadb.sh shell          mariadb client on lportal as user lportal
#   hack/mariadb.sh env            print the MARIADB_* variables
# Works as root: the server then runs as the mysql OS user. Listens on 127.0.0.1 only.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
state="${MARIADB_STATE_DIR:-$root/tmp/mariadb}"
data="$state/data"
sock="$state/mysqld.sock"
pid_file="$state/mariadb.pid"
port_file="$state/port"
db_name=lportal db_user=lportal db_password=lportal_dev_password

find_bin() {
  local name="$1" d
  if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return; fi
  for d in /usr/sbin /usr/libexec /usr/local/sbin /usr/bin; do
    if [[ -x "$d/$name" ]]; then echo "$d/$name"; return; fi
  done
  echo "$name not found; install mariadb-server (Debian: apt-get install mariadb-server)" >&2; exit 1
}

# as_mysql runs a command as the mysql OS user when we are root (mariadbd refuses root).
as_mysql() {
  if [[ "$(id -u)" == 0 ]]; then
    runuser -u mysql -- "$@"
  else
    "$@"
  fi
}

port() { cat "$port_file" 2>/dev/null || echo 3306; }

running() { [[ -f "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null; }

case "${1:-}" in
  start)
    port="${2:-3306}"
    server="$(find_bin mariadbd)"
    if running; then echo "mariadb already running on port $(port)"; exit 0; fi
    mkdir -p "$state"
    if [[ "$(id -u)" == 0 ]]; then
      id mysql >/dev/null 2>&1 || { echo "running as root needs the mysql OS user" >&2; exit 1; }
      # The mysql user must reach the state dir: make the path traversable.
      d="$state"; while [[ "$d" != / ]]; do chmod o+x "$d" 2>/dev/null || true; d="$(dirname "$d")"; done
      chown mysql: "$state"
    fi
    init=()
    if [[ ! -d "$data/mysql" ]]; then
      # root@localhost keeps socket authentication only; TCP clients need the password.
      as_mysql "$(find_bin mariadb-install-db)" --no-defaults --datadir="$data" \
        --auth-root-authentication-method=socket --skip-test-db --skip-name-resolve \
        >"$state/install-db.log" 2>&1 || { cat "$state/install-db.log" >&2; exit 1; }
      cat >"$state/init.sql" <<SQL
CREATE USER '$db_user'@'%' IDENTIFIED BY '$db_password';
CREATE DATABASE $db_name CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
GRANT ALL PRIVILEGES ON $db_name.* TO '$db_user'@'%';
GRANT RELOAD, PROCESS, LOCK TABLES, REPLICATION CLIENT, SHOW VIEW, EVENT, TRIGGER ON *.* TO '$db_user'@'%';
SQL
      [[ "$(id -u)" == 0 ]] && chown mysql: "$state/init.sql"
      init=(--init-file="$state/init.sql")
    fi
    echo "$port" >"$port_file"
    as_mysql setsid "$server" --no-defaults --datadir="$data" --socket="$sock" --port="$port" \
      --bind-address=127.0.0.1 --skip-name-resolve --pid-file="$pid_file" --log-error="$state/mariadb.log" \
      --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci "${init[@]}" \
      </dev/null >/dev/null 2>&1 &
    # Wait until it answers (mariadb-admin ping succeeds even before the user can log in).
    for _ in $(seq 1 600); do
      if MYSQL_PWD="$db_password" "$(find_bin mariadb-admin)" --no-defaults -h 127.0.0.1 -P "$port" \
        -u "$db_user" --connect-timeout=2 status >/dev/null 2>&1; then
        rm -f "$state/init.sql"
        echo "mariadb listening on 127.0.0.1:$port (database $db_name, user $db_user)"; exit 0
      fi
      if ! kill -0 $! 2>/dev/null; then break; fi
      sleep 0.1
    done
    echo "mariadb did not start; see $state/mariadb.log" >&2; exit 1 ;;
  stop)
    if running; then
      pid="$(cat "$pid_file")"
      kill -TERM "$pid"
      while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    fi
    echo "mariadb stopped" ;;
  status)
    if running; then
      echo "mariadb: running on 127.0.0.1:$(port)"
    else
      echo "mariadb: not running"; exit 1
    fi ;;
  shell)
    MYSQL_PWD="$db_password" exec "$(find_bin mariadb)" --no-defaults -h 127.0.0.1 -P "$(port)" -u "$db_user" "$db_name" ;;
  env)
    cat <<ENV
export MARIADB_HOST=127.0.0.1 MARIADB_PORT=$(port) MARIADB_DATABASE=$db_name MARIADB_USER=$db_user MARIADB_PASSWORD=$db_password
ENV
    ;;
  *) echo "usage: $0 start [PORT] | stop | status | shell | env" >&2; exit 2 ;;
esac
