#!/usr/bin/env bash
# One command, the main job end to end (make demo):
#   1. start the local environment (hack/local-env.sh up: kube-apiserver, emulator, PostgreSQL),
#      the emulator seeded with project retail's bucket and RDS instance tagged
#      backup.liferay.cloud/project-id=retail and the shared backup bucket liferay-backups
#      tagged backup.liferay.cloud/shared-backup-bucket=true (the controller refuses
#      untagged resources: reason ResourceNotOwned)
#   2. build bin/manager and the kubectl lc2 plugin (bin/kubectl-lc2), run the manager in
#      the background against it (log tmp/local/manager.log)
#   3. kubectl lc2 backup create prd --wait: the spec of config/samples/local/backuprequest.yaml
#      (flags the first time, then taken from the newest backup), named prd-<UTC stamp>
#   4. kubectl lc2 backup list and backup describe: the BackupRequest, its events, its
#      manifest (checksum verified) and its history row; the checks read both directly too
# The environment stays up afterwards; make local-down stops it. Run it again for another backup.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
state="$root/tmp/local"
cd "$root"
timeout_s="${DEMO_TIMEOUT:-180}"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
fail() {
  echo "demo: FAILED: $*" >&2
  if [[ -f "$state/manager.log" ]]; then
    echo "--- last 40 lines of $state/manager.log ---" >&2
    tail -n 40 "$state/manager.log" >&2
  fi
  echo "(the environment is still up: make local-status, make local-logs, make local-down)" >&2
  exit 1
}

step "Starting the local environment (make local-up)"
hack/local-env.sh up
# shellcheck disable=SC1091
. "$state/env"
kubectl() { "$LOCAL_KUBECTL" "$@"; }

step "Building bin/manager, bin/lc2-dump and bin/kubectl-lc2"
go build -o bin/manager ./cmd
go build -o bin/lc2-dump ./cmd/lc2-dump
go build -o bin/kubectl-lc2 ./cmd/kubectl-lc2
lc2() { bin/kubectl-lc2 "$@"; } # kubectl lc2, once installed (make install-plugin)

step "Starting the controller in the background"
if [[ -f "$state/manager.pid" ]] && kill -0 "$(cat "$state/manager.pid")" 2>/dev/null; then
  echo "restarting the controller of a previous demo (pid $(cat "$state/manager.pid")) with the new binary"
  kill -TERM "$(cat "$state/manager.pid")"
  for _ in $(seq 1 150); do kill -0 "$(cat "$state/manager.pid")" 2>/dev/null || break; sleep 0.2; done
fi
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
metrics_port=8080 probe_port=8081
port_free "$metrics_port" || metrics_port="$(free_port)"
port_free "$probe_port" || probe_port="$(free_port)"
# No kubelet here: database dumps run as the manager's child process (bin/lc2-dump).
SNAPSHOT_POLL_INITIAL=2s SNAPSHOT_POLL_MAX=10s PROGRESS_INTERVAL=2s DUMP_RUNNER=process DUMPER_COMMAND="$root/bin/lc2-dump" \
  setsid bin/manager --metrics-bind-address=":$metrics_port" --metrics-secure=false \
  --health-probe-bind-address=":$probe_port" >>"$state/manager.log" 2>&1 </dev/null &
echo $! >"$state/manager.pid"
for _ in $(seq 1 150); do
  curl -fsS -o /dev/null "http://127.0.0.1:$probe_port/readyz" 2>/dev/null && break
  kill -0 "$(cat "$state/manager.pid")" 2>/dev/null || fail "the controller exited at start"
  sleep 0.2
done
curl -fsS -o /dev/null "http://127.0.0.1:$probe_port/readyz" || fail "the controller is not ready after 30s"
echo "controller pid $(cat "$state/manager.pid"): metrics http://127.0.0.1:$metrics_port/metrics, log $state/manager.log"

# The spec of config/samples/local/backuprequest.yaml; after the first run the plugin
# takes it from the newest backup of prd and these flags only repeat it.
step "kubectl lc2 backup create prd --wait (up to ${timeout_s}s)"
out="$state/demo-backup-create.out"
set +e
lc2 -n proj-retail-prd backup create prd --provider aws --project retail --db-instance retail-prd-db \
  --source-bucket liferay-test-dl --source-prefix document_library/ --destination-bucket liferay-backups \
  --exclude-generated-files --retention-days 30 --wait --timeout "${timeout_s}s" | tee "$out"
rc=${PIPESTATUS[0]}
set -e
name="$(sed -n 's|^backuprequest.backup.liferay.cloud/\(prd-[0-9]*\) created$|\1|p' "$out")"
[[ -n "$name" ]] || fail "kubectl lc2 backup create printed no name"
if ((rc != 0)); then
  kubectl get -n proj-retail-prd "br/$name" -o yaml >&2 || true
  fail "BackupRequest $name did not succeed (kubectl lc2 exit $rc)"
fi
[[ "$(kubectl get -n proj-retail-prd "br/$name" -o jsonpath='{.status.phase}')" == Succeeded ]] ||
  fail "BackupRequest $name is not Succeeded"

step "kubectl lc2 backup list -n proj-retail-prd"
lc2 -n proj-retail-prd backup list

location="$(kubectl get -n proj-retail-prd "br/$name" -o jsonpath='{.status.manifest.location}')"
step "Manifest $location"
[[ "$location" == s3://* ]] || fail "status.manifest.location is empty"
path="${location#s3://}"
# The emulator keeps objects private like S3 does: sign the GET (curl >= 7.75) with the dummy keys.
curl -fsS --aws-sigv4 "aws:amz:$AWS_REGION:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" "$AWS_ENDPOINT_URL/$path" >"$state/demo-manifest.json" ||
  fail "could not read the manifest from the emulator"
if command -v jq >/dev/null 2>&1; then # the file list, abbreviated to three entries
  jq '.documentLibrary.files |= (if length > 3 then .[:3] + ["... \(length - 3) more"] else . end)' "$state/demo-manifest.json"
else
  cat "$state/demo-manifest.json"
fi
echo "(full manifest: $state/demo-manifest.json)"

step "History row in PostgreSQL (backup_history.backup_requests)"
query="SELECT name, project_id, environment, phase, db_instance_id, db_snapshot_id, db_engine,
  dl_source_bucket, dl_destination_bucket, dl_destination_prefix, dl_object_count, dl_objects_excluded,
  dl_total_bytes, manifest_location, manifest_checksum, start_time, completion_time, duration_seconds, expires_at
  FROM backup_requests WHERE namespace = 'proj-retail-prd' AND name = '$name'"
psql_bin="$(command -v psql || true)"
[[ -n "$psql_bin" ]] || psql_bin="$(ls -d /usr/lib/postgresql/*/bin/psql 2>/dev/null | sort -V | tail -1)"
row=""
for _ in $(seq 1 60); do # archival runs shortly after the backup ends
  row="$(PGPASSWORD="$DB_PASSWORD" "$psql_bin" -h "$DB_HOST" -p "$DB_PORT" -U "$DB_USER" -d "$DB_NAME" -x -c "$query" 2>&1 || true)"
  grep -q "phase .*Succeeded" <<<"$row" && break
  sleep 0.5
done
echo "$row"
grep -q "phase .*Succeeded" <<<"$row" || fail "no Succeeded history row for $name after 30s"

step "kubectl lc2 backup describe $name (the object, its events, its manifest, its history row)"
lc2 -n proj-retail-prd backup describe "$name" | tee "$state/demo-describe.out"
grep -q "verifies, and matches status.manifest.checksum" "$state/demo-describe.out" ||
  fail "kubectl lc2 backup describe did not verify the manifest"
grep -qE "^History \(backup_requests\):" "$state/demo-describe.out" && grep -A1 "^History" "$state/demo-describe.out" | grep -q "Succeeded" ||
  fail "kubectl lc2 backup describe did not show the Succeeded history row"
echo "$name" >"$state/demo-last-backup" # hack/demo-restore.sh restores this backup

cat <<MSG

Demo complete: BackupRequest proj-retail-prd/$name Succeeded.
The environment and the controller keep running:
  . tmp/local/env && bin/kubectl-lc2 backup list -A      make local-status      make local-logs
  make demo (another backup)               make db-shell          make local-down (stop; make local-clean removes the data)
  make demo-restore (a backup, then a restore of deleted files and a verification: docs/restore.md)
MSG
