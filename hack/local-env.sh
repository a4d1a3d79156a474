#!/usr/bin/env bash
# The local development environment, without Docker (docs/local-development.md):
# kube-apiserver + etcd (envtest binaries, via test/localenv), PostgreSQL (hack/postgres.sh)
# and the AWS emulator (hack/moto.sh), all state under tmp/local/. The emulator is seeded
# with the resources of project retail and their ownership tags (test/localenv): the
# controller refuses resources without them (docs/aws-provider.md#resource-ownership).
#
#   hack/local-env.sh up        start everything (idempotent), seed it, write tmp/local/env
#   hack/local-env.sh down      stop everything, keep the data (etcd, PostgreSQL)
#   hack/local-env.sh clean     down, then remove tmp/local
#   hack/local-env.sh status    say what runs where
#   hack/local-env.sh logs      follow the logs (FOLLOW=0: print the last lines and return)
#   hack/local-env.sh aws       print the exports pointing AWS SDKs and the CLI at the emulator
#   hack/local-env.sh db-shell  psql on the backup history database
#   hack/local-env.sh run       run the controller (go run ./cmd) against the environment
#
# Ports: PostgreSQL 5432 and the emulator 4566 unless taken, then free ones; the choice
# is kept in tmp/local/env for the next start. Override with LOCAL_POSTGRES_PORT and
# LOCAL_AWS_PORT. OWNERSHIP_TAG_KEY changes the key of the seeded project tag (for a
# controller run with --ownership-tag-key).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
state="$root/tmp/local"
cd "$root"
env_file="$state/env"
export MOTO_STATE_DIR="$state/moto" POSTGRES_STATE_DIR="$state/postgres"
K8S_VERSION="${ENVTEST_K8S_VERSION:-${K8S_VERSION:-1.37.2}}"
namespace=proj-retail-prd

say() { echo "local-env: $*" >&2; }
die() { say "error: $*"; exit 1; }

in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# pick_port PREFERRED...: the first preferred port nobody listens on, else a free one.
pick_port() {
  local p
  for p in "$@"; do
    if [[ -n "$p" ]] && ! in_use "$p"; then echo "$p"; return; fi
  done
  free_port
}
# recorded VAR: a value from the env file of the previous start.
recorded() { [[ -f "$env_file" ]] && sed -n "s/^export $1=\([^ ]*\).*/\1/p" "$env_file" | head -1 || true; }

pid_alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# stop_pid FILE NAME [SECONDS]: SIGTERM the process, SIGKILL it after the grace period.
stop_pid() {
  local file="$1" name="$2" grace="${3:-30}" pid i
  pid_alive "$file" || { rm -f "$file"; return 0; }
  pid="$(cat "$file")"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 5; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then say "$name did not stop in ${grace}s; killing it"; kill -KILL "$pid" 2>/dev/null || true; fi
  rm -f "$file"
  say "$name stopped"
}

kubectl_bin() {
  if command -v kubectl >/dev/null 2>&1; then command -v kubectl
  else echo "$(K8S_VERSION="$K8S_VERSION" "$root/hack/build-envtest-assets.sh")/kubectl"; fi
}

stop_localenv() {
  stop_pid "$state/localenv.pid" "kube-apiserver/etcd (localenv)" 60
  # After a SIGKILL of localenv its etcd and kube-apiserver (own process groups) live on.
  if [[ -f "$state/localenv.children" ]]; then
    local pid comm
    while read -r pid comm; do
      if [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$comm" ]]; then
        say "stopping leftover $comm ($pid)"; kill -TERM "$pid" 2>/dev/null || true
      fi
    done <"$state/localenv.children"
    rm -f "$state/localenv.children"
  fi
  rm -f "$state/ready"
}

cmd_down() {
  stop_pid "$state/manager.pid" "controller (manager)" 30
  stop_pid "$state/store.pid" "store emulator (make demo PROVIDER=...)" 30
  stop_localenv
  if [[ -d "$MOTO_STATE_DIR" ]]; then
    local port i
    port="$(cat "$MOTO_STATE_DIR/port" 2>/dev/null || true)"
    "$root/hack/moto.sh" stop >/dev/null
    # hack/moto.sh does not wait; keep the port for the next start.
    for ((i = 0; i < 50; i++)); do [[ -n "$port" ]] && in_use "$port" || break; sleep 0.1; done
    say "AWS emulator stopped (its state is in memory: the next start seeds it again)"
  fi
  if [[ -d "$POSTGRES_STATE_DIR" ]]; then "$root/hack/postgres.sh" stop >/dev/null; say "PostgreSQL stopped (data kept in $POSTGRES_STATE_DIR)"; fi
}

cmd_up() {
  mkdir -p "$state/bin"
  started=() ok=0 # globals: the EXIT trap reads them
  # On failure, stop what this run started and show why.
  trap 'if [[ $ok == 0 ]]; then
          say "start failed; stopping what this run started: ${started[*]:-nothing}"
          for s in "${started[@]}"; do case "$s" in
            localenv) tail -n 30 "$state/localenv.log" >&2 2>/dev/null || true; stop_localenv ;;
            moto) "$root/hack/moto.sh" stop >/dev/null ;;
            postgres) "$root/hack/postgres.sh" stop >/dev/null ;;
          esac; done
        fi' EXIT
  trap 'exit 130' INT TERM

  say "building the envtest binaries if needed (kube-apiserver, etcd, kubectl v$K8S_VERSION; first time ~6 min)"
  local assets
  assets="$(K8S_VERSION="$K8S_VERSION" "$root/hack/build-envtest-assets.sh")"

  local pg_port aws_port
  if "$root/hack/postgres.sh" status >/dev/null 2>&1; then
    pg_port="$(cat "$POSTGRES_STATE_DIR/port")"
  else
    pg_port="$(pick_port "${LOCAL_POSTGRES_PORT:-}" "$(recorded DB_PORT)" 5432)"
    "$root/hack/postgres.sh" start "$pg_port" >&2
    started+=(postgres)
  fi
  # Ask hack/moto.sh only when our emulator runs: its probe has no timeout.
  if pid_alive "$MOTO_STATE_DIR/pid" && "$root/hack/moto.sh" status >/dev/null 2>&1; then
    aws_port="$(cat "$MOTO_STATE_DIR/port")"
  else
    aws_port="$(pick_port "${LOCAL_AWS_PORT:-}" "$(recorded LOCAL_AWS_PORT)" 4566)"
    "$root/hack/moto.sh" start "$aws_port" >&2
    started+=(moto)
  fi
  local endpoint="http://127.0.0.1:$aws_port"

  if pid_alive "$state/localenv.pid" && [[ -f "$state/ready" ]]; then
    say "kube-apiserver already running ($(cat "$state/ready"))"
    if [[ " ${started[*]} " == *" moto "* ]]; then
      say "the emulator was restarted: restart the API server to seed it again"; stop_localenv
    else
      # Seeding is idempotent: this brings an emulator seeded by an older version up to
      # date (files, buckets, instance and their ownership tags).
      say "seeding the emulator again (idempotent)"
      go build -o "$state/bin/localenv" ./test/localenv
      "$state/bin/localenv" -seed-only -aws-endpoint "$endpoint" >>"$state/localenv.log" 2>&1 ||
        die "seeding the emulator failed; see $state/localenv.log"
    fi
  fi
  if ! pid_alive "$state/localenv.pid"; then
    say "building test/localenv"
    go build -o "$state/bin/localenv" ./test/localenv
    rm -f "$state/ready"
    # A simple command, so $! is localenv itself (setsid execs it in a new session).
    KUBEBUILDER_ASSETS="$assets" AWS_ENDPOINT_URL="$endpoint" \
      setsid "$state/bin/localenv" -dir "$state" -crds "$root/config/crd/bases" -aws-endpoint "$endpoint" \
      >>"$state/localenv.log" 2>&1 </dev/null &
    echo $! >"$state/localenv.pid"
    started+=(localenv)
    say "starting kube-apiserver and etcd (log: $state/localenv.log)"
    local i
    for ((i = 0; i < 600; i++)); do
      [[ -f "$state/ready" ]] && break
      pid_alive "$state/localenv.pid" || die "localenv exited; see $state/localenv.log"
      sleep 0.2
    done
    [[ -f "$state/ready" ]] || die "kube-apiserver not ready after 120s; see $state/localenv.log"
  fi

  cat >"$env_file" <<ENV
# Written by hack/local-env.sh up: the local environment. Source it: . tmp/local/env
export KUBECONFIG=$state/kubeconfig
export KUBEBUILDER_ASSETS=$assets
export LOCAL_KUBECTL=$(kubectl_bin)
export LOCAL_AWS_PORT=$aws_port
export AWS_ENDPOINT_URL=$endpoint
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export DB_HOST=127.0.0.1
export DB_PORT=$pg_port
export DB_NAME=backup_history DB_USER=backup DB_PASSWORD=backup_dev_password DB_SSL_MODE=disable
export ENABLE_ARCHIVAL=true
ENV
  ok=1
  trap - EXIT
  cat <<MSG

Local environment is up (state in tmp/local/):
  Kubernetes API   $(cat "$state/ready")   CRD installed, namespace $namespace (project retail)
  AWS emulator     $endpoint   buckets liferay-test-dl (document_library/), liferay-backups; RDS retail-prd-db
                   tags: liferay-test-dl and retail-prd-db ${OWNERSHIP_TAG_KEY:-backup.liferay.cloud/project-id}=retail,
                         liferay-backups backup.liferay.cloud/shared-backup-bucket=true
  PostgreSQL       127.0.0.1:$pg_port   database backup_history, user backup / backup_dev_password

Use it:
  . tmp/local/env                # KUBECONFIG, AWS_*, DB_* for this shell
  kubectl get br -A              # kubectl: $(kubectl_bin)
  make local-run                 # run the controller against it
  make demo                      # or: a complete backup in one command
  make local-status | local-logs | db-shell | aws-local | local-down | local-clean
MSG
}

cmd_status() {
  local rc=0
  if pid_alive "$state/localenv.pid" && [[ -f "$state/ready" ]]; then
    echo "kube-apiserver: running on $(cat "$state/ready") (kubeconfig $state/kubeconfig)"
  else
    echo "kube-apiserver: not running"; rc=1
  fi
  if pid_alive "$MOTO_STATE_DIR/pid"; then
    "$root/hack/moto.sh" status | sed 's/^moto/AWS emulator (moto)/' || rc=1
  else
    echo "AWS emulator (moto): not running"; rc=1
  fi
  "$root/hack/postgres.sh" status | sed 's/^postgres/PostgreSQL/' || rc=1
  if pid_alive "$state/manager.pid"; then
    echo "controller: running, pid $(cat "$state/manager.pid") (log $state/manager.log)"
  else
    echo "controller: not running (make local-run or make demo)"
  fi
  if [[ $rc == 0 && -f "$env_file" ]]; then
    # shellcheck disable=SC1090
    . "$env_file"
    echo "BackupRequests:"
    "$LOCAL_KUBECTL" get br -A 2>&1 | sed 's/^/  /'
  fi
  return $rc
}

cmd_logs() {
  local files=() f
  for f in "$state/localenv.log" "$MOTO_STATE_DIR/moto.log" "$POSTGRES_STATE_DIR/postgres.log" "$state/manager.log"; do
    [[ -f "$f" ]] && files+=("$f")
  done
  [[ ${#files[@]} -gt 0 ]] || die "no logs under $state (make local-up first)"
  if [[ "${FOLLOW:-1}" == 0 ]]; then exec tail -n "${LINES_SHOWN:-20}" "${files[@]}"; fi
  exec tail -n "${LINES_SHOWN:-20}" -F "${files[@]}"
}

require_env() { [[ -f "$env_file" ]] || die "no $env_file: run make local-up first"; }

cmd_aws() {
  require_env
  cat <<MSG
# Point AWS SDKs and the AWS CLI at the local emulator: eval "\$(make -s aws-local)"
$(grep -E '^export (AWS_)' "$env_file")
# for example: aws s3 ls s3://liferay-test-dl --recursive; aws rds describe-db-instances
#              aws s3api get-bucket-tagging --bucket liferay-backups
MSG
}

cmd_run() {
  require_env
  # shellcheck disable=SC1090
  . "$env_file"
  if pid_alive "$state/manager.pid"; then
    say "stopping the controller make demo started (pid $(cat "$state/manager.pid")), so only one reconciles"
    stop_pid "$state/manager.pid" "controller (manager)" 30
  fi
  local metrics probe
  metrics="$(pick_port "${METRICS_PORT:-8080}")" probe="$(pick_port "${PROBE_PORT:-8081}")"
  say "controller: metrics http://127.0.0.1:$metrics/metrics, probes http://127.0.0.1:$probe/healthz"
  SNAPSHOT_POLL_INITIAL="${SNAPSHOT_POLL_INITIAL:-2s}" SNAPSHOT_POLL_MAX="${SNAPSHOT_POLL_MAX:-10s}" \
    exec go run ./cmd --metrics-bind-address=":$metrics" --metrics-secure=false \
    --health-probe-bind-address=":$probe" "$@"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  clean)
    cmd_down
    rm -rf "$state"
    say "removed $state" ;;
  status) cmd_status ;;
  logs) cmd_logs ;;
  aws) cmd_aws ;;
  db-shell) require_env; exec "$root/hack/postgres.sh" shell ;;
  run) shift; cmd_run "$@" ;;
  *) echo "usage: $0 up | down | clean | status | logs | aws | db-shell | run [controller flags]" >&2; exit 2 ;;
esac
