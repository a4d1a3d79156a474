#!/usr/bin/env bash
# make demo PROVIDER=gcp|azure|local: the main job on another store, no Docker:
#   1. start the local environment (hack/local-env.sh up: kube-apiserver, PostgreSQL, moto)
#      and the store's emulator (test/storeenv: fake-gcs-server behind its label proxy,
#      Azurite, or versitygw), seeded with project retail's document library
#      liferay-test-dl (labelled as retail's) and the shared backup bucket liferay-backups
#   2. run the manager with PROVIDERS=aws,<provider> and the store's settings
#   3. a BackupRequest on the store: a Full backup of the library and, on azure and local
#      (the on-premises path: no RDS at all), a verified dump of a local Liferay-shaped
#      PostgreSQL database named by a Secret (the dumper runs as the manager's child)
#   4. kubectl lc2 restore create --wait: every file restored under restored/<backup>/ of
#      the library's bucket, then kubectl lc2 backup verify: each stored file's SHA-256
#      checked against the sealed manifest; the dump is restored by bin/lc2-dump restore
#      into an empty database and every table compared with the source
# The environment stays up afterwards; make local-down stops it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
state="$root/tmp/local"
cd "$root"
provider="${PROVIDER:?PROVIDER must be gcp, azure or local}"
case "$provider" in gcp | azure | local) ;; *) echo "demo: PROVIDER must be aws, gcp, azure or local, got $provider" >&2; exit 2 ;; esac
timeout_s="${DEMO_TIMEOUT:-180}"
ns=proj-retail-prd

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
fail() {
  echo "demo: FAILED: $*" >&2
  for log in "$state/manager.log" "$state/store.log"; do
    [[ -f "$log" ]] && { echo "--- last 30 lines of $log ---" >&2; tail -n 30 "$log" >&2; }
  done
  echo "(the environment is still up: make local-status, make local-down)" >&2
  exit 1
}
stop_pidfile() {
  local f="$1" pid
  [[ -f "$f" ]] || return 0
  pid="$(cat "$f")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  fi
  rm -f "$f"
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
lc2() { bin/kubectl-lc2 -n "$ns" "$@"; }

# The dumper stores dumps on aws, azure and local (docs/dumps.md): no dump on gcp.
dump=false
[[ "$provider" != gcp ]] && dump=true
# shellcheck source=hack/demo-db.sh
. hack/demo-db.sh
if $dump; then
  step "The database lportal_retail_prd and the Secret retail-prd-db naming it"
  demo_db_seed
fi

step "Starting the $provider store's emulator, seeded (hack/store-env.sh)"
stop_pidfile "$state/manager.pid"
hack/store-env.sh "$provider" || fail "the $provider emulator did not start"

step "Starting the controller with PROVIDERS=aws,$provider"
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
metrics_port=8080 probe_port=8081
port_free "$metrics_port" || metrics_port="$(free_port)"
port_free "$probe_port" || probe_port="$(free_port)"
(
  # shellcheck disable=SC1091
  . "$state/store.env"
  PROGRESS_INTERVAL=2s DUMP_RUNNER=process DUMPER_COMMAND="$root/bin/lc2-dump" exec setsid bin/manager --metrics-bind-address=":$metrics_port" --metrics-secure=false \
    --health-probe-bind-address=":$probe_port" >>"$state/manager.log" 2>&1 </dev/null
) &
echo $! >"$state/manager.pid"
for _ in $(seq 1 150); do
  curl -fsS -o /dev/null "http://127.0.0.1:$probe_port/readyz" 2>/dev/null && break
  kill -0 "$(cat "$state/manager.pid")" 2>/dev/null || fail "the controller exited at start"
  sleep 0.2
done
curl -fsS -o /dev/null "http://127.0.0.1:$probe_port/readyz" || fail "the controller is not ready after 30s"

name="prd-$provider-$(date -u +%Y%m%d%H%M%S)"
step "BackupRequest $name: the sample's document library on $provider (kubectl apply, then waited for)"
# A document-library backup: the database of a gcp, azure or local environment is a dump
# (make demo-dump shows one), and the aws demo's RDS instance has no place here.
kubectl apply -f - <<YAML
apiVersion: backup.liferay.cloud/v1alpha1
kind: BackupRequest
metadata: {name: $name, namespace: $ns}
spec:
  projectId: retail
  environment: prd
  provider: $provider
$($dump && printf '  database:\n    type: dump\n    dump:\n      connectionSecretRef: {name: retail-prd-db}')
  documentLibrary:
    sourceBucket: liferay-test-dl
    sourcePrefix: document_library/
    destinationBucket: liferay-backups
    destinationPrefix: retail/prd/$name/
    excludeGeneratedFiles: true
  retentionDays: 30
YAML
kubectl wait -n "$ns" "br/$name" --for=jsonpath='{.status.phase}'=Succeeded --timeout="${timeout_s}s" ||
  { kubectl get -n "$ns" "br/$name" -o yaml >&2 || true; fail "BackupRequest $name did not succeed"; }
lc2 backup list
total="$(kubectl get -n "$ns" "br/$name" -o jsonpath='{.status.documentLibrary.objectsTotal}')"
location="$(kubectl get -n "$ns" "br/$name" -o jsonpath='{.status.manifest.location}')"
echo "backup $name: $total files, manifest $location"
[[ "$total" == 24 ]] || fail "the backup holds $total files, not the 24 documents of the sample"

step "kubectl lc2 backup describe $name: its manifest read from the $provider store and verified"
(
  # shellcheck disable=SC1091
  . "$state/store.env"
  lc2 backup describe "$name"
) | tee "$state/demo-store-describe.out"
grep -q "verifies, and matches status.manifest.checksum" "$state/demo-store-describe.out" ||
  fail "kubectl lc2 backup describe did not verify the manifest on $provider"

restore="$name-restore"
step "kubectl lc2 restore create $restore: every file under restored/$name/ of liferay-test-dl"
lc2 restore create --from "$name" --name "$restore" --target-bucket liferay-test-dl --target-prefix "restored/$name/" \
  --wait --timeout "${timeout_s}s" || fail "RestoreRequest $restore did not succeed"
restored="$(kubectl get -n "$ns" "rr/$restore" -o jsonpath='{.status.documentLibrary.objectsRestored}')"
echo "restored $restored files"
[[ "$restored" == "$total" ]] || fail "restored $restored files of $total"

step "kubectl lc2 backup verify $name: every stored file against the sealed manifest"
lc2 backup verify "$name" --timeout "${timeout_s}s" | tee "$state/demo-verify.out" || fail "the verification of $name did not succeed"
grep -q "Succeeded" "$state/demo-verify.out" || fail "kubectl lc2 backup verify printed no Succeeded verification"

if $dump; then
  location="$(kubectl get -n "$ns" "br/$name" -o jsonpath='{.status.database.dump.location}')"
  step "The dump $location: bin/lc2-dump restore into the empty lportal_restored, every table compared"
  kubectl get -n "$ns" "br/$name" -o jsonpath='{.status.database.dump}' && echo
  path="${location#*://}"
  bucket="${path%%/*}" key="${path#*/}"
  [[ "$key" == */database/dump.pgdump ]] || fail "status.database.dump.location is $location"
  (
    # shellcheck disable=SC1091
    . "$state/store.env"
    LC2_STORE_PROVIDER="$provider" LC2_DUMP_BUCKET="$bucket" LC2_DUMP_PREFIX="${key%database/dump.pgdump}" \
      LC2_DB_HOST="$DB_HOST" LC2_DB_PORT="$DB_PORT" LC2_DB_DATABASE=lportal_restored LC2_DB_USER="$DB_USER" \
      LC2_DB_PASSWORD="$DB_PASSWORD" LC2_DB_SSLMODE=disable LC2_DB_SECRET_REF=local/demo \
      bin/lc2-dump restore >"$state/demo-store-restore.json"
  ) || fail "lc2-dump restore failed: $(cat "$state/demo-store-restore.json")"
  demo_db_compare demo-store
  echo "every table equal (rows and ordered checksum)"
fi

cat <<MSG

Demo complete on $provider: BackupRequest $ns/$name Succeeded ($total files), restored
($restored files) and verified against its manifest. The controller and the emulator keep
running: make local-status, make local-down.
MSG
