#!/usr/bin/env bash
# make demo-dump: a logical dump of a local Liferay-shaped database, backed up and restored.
#   1. hack/demo.sh: the local environment and the controller (database dumps run as its
#      child process, bin/lc2-dump: --dump-runner=process), and a backup of the sample
#   2. a database lportal_retail_prd in the local PostgreSQL, seeded from hack/demo-liferay.sql,
#      and the Secret retail-prd-db naming it (host, port, database, user, password, sslmode)
#   3. kubectl lc2 backup create prd --database-type dump --connection-secret retail-prd-db --wait:
#      the dumper streams pg_dump into the emulator, reads the stored dump back in full
#      (pg_restore -f /dev/null) and writes dump.json; the BackupRequest shows the dump
#   4. kubectl lc2 restore create --connection-secret retail-restored-db --wait: a RestoreRequest
#      has the dumper load the stored dump into the empty database lportal_restored (and count
#      its largest tables against dump.json), and every table is compared with the source:
#      row count and an ordered checksum
# The environment stays up afterwards; make local-down stops it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
state="$root/tmp/local"
cd "$root"
ns=proj-retail-prd
timeout_s="${DEMO_TIMEOUT:-180}"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
fail() {
  echo "demo-dump: FAILED: $*" >&2
  if [[ -f "$state/manager.log" ]]; then
    echo "--- last 40 lines of $state/manager.log ---" >&2
    tail -n 40 "$state/manager.log" >&2
  fi
  echo "(the environment is still up: make local-status, make local-logs, make local-down)" >&2
  exit 1
}

mkdir -p "$state"
step "Part 1: the local environment and the controller (make demo)"
hack/demo.sh >"$state/demo-dump-demo.out" 2>&1 || { cat "$state/demo-dump-demo.out" >&2; fail "make demo failed"; }
echo "make demo passed (output in $state/demo-dump-demo.out)"
# shellcheck disable=SC1091
. "$state/env"
kubectl() { "$LOCAL_KUBECTL" "$@"; }
lc2() { bin/kubectl-lc2 -n "$ns" "$@"; }
s3() { curl -fsS --aws-sigv4 "aws:amz:$AWS_REGION:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" "$@"; }
# shellcheck source=hack/demo-db.sh
. hack/demo-db.sh

step "Part 2: the database lportal_retail_prd and the Secret retail-prd-db"
demo_db_seed

step "Part 3: kubectl lc2 backup create prd --database-type dump --connection-secret retail-prd-db --wait"
out="$state/demo-dump-create.out"
set +e
lc2 backup create prd --database-type dump --connection-secret retail-prd-db --wait --timeout "${timeout_s}s" | tee "$out"
rc=${PIPESTATUS[0]}
set -e
name="$(sed -n 's|^backuprequest.backup.liferay.cloud/\(prd-[0-9]*\) created$|\1|p' "$out")"
[[ -n "$name" ]] || fail "kubectl lc2 backup create printed no name"
((rc == 0)) || { kubectl get -n "$ns" "br/$name" -o yaml >&2 || true; fail "BackupRequest $name did not succeed"; }
location="$(kubectl get -n "$ns" "br/$name" -o jsonpath='{.status.database.dump.location}')"
[[ "$location" == s3://*/database/dump.pgdump ]] || fail "status.database.dump.location is $location"
kubectl get -n "$ns" "br/$name" -o jsonpath='{.status.database.dump}' && echo
lc2 backup describe "$name" | grep -E "Database|Dump" || true
path="${location#s3://}"
record="$state/demo-dump.json"
s3 "$AWS_ENDPOINT_URL/${path%dump.pgdump}dump.json" -o "$record" || fail "could not read dump.json"
grep -q '"state": "Succeeded"' "$record" || fail "dump.json does not say Succeeded: $(cat "$record")"
grep -q "$DB_PASSWORD" "$record" && fail "dump.json holds the password"
echo "dump.json: $record"

step "Part 4: kubectl lc2 restore create --from $name --connection-secret retail-restored-db --wait, then every table compared"
kubectl -n "$ns" delete secret retail-restored-db --ignore-not-found >/dev/null
kubectl -n "$ns" create secret generic retail-restored-db --from-literal=engine=postgres --from-literal=host="$DB_HOST" \
  --from-literal=port="$DB_PORT" --from-literal=database=lportal_restored --from-literal=user="$DB_USER" \
  --from-literal=password="$DB_PASSWORD" --from-literal=sslmode=disable >/dev/null
out="$state/demo-dump-restore.out"
set +e
lc2 restore create --from "$name" --connection-secret retail-restored-db --wait --timeout "${timeout_s}s" | tee "$out"
rc=${PIPESTATUS[0]}
set -e
restore="$(sed -n 's|^restorerequest.backup.liferay.cloud/\(.*\) created$|\1|p' "$out")"
[[ -n "$restore" ]] || fail "kubectl lc2 restore create printed no name"
((rc == 0)) || { kubectl get -n "$ns" "rr/$restore" -o yaml >&2 || true; fail "RestoreRequest $restore did not succeed"; }
kubectl get -n "$ns" "rr/$restore" -o jsonpath='{.status.database.dump}' && echo
reindex="$(kubectl get -n "$ns" "rr/$restore" -o jsonpath='{.status.conditions[?(@.type=="SearchReindexRequired")].status}')"
[[ "$reindex" == True ]] || fail "RestoreRequest $restore has no SearchReindexRequired=True"
demo_db_compare demo-dump
echo
echo "demo-dump: OK: $name stored a verified dump at $location; RestoreRequest $restore loaded it, every table equal (rows and checksum)"
