#!/usr/bin/env bash
# A backup, then a restore and a verification (make demo-restore; docs/restore.md):
#   1. hack/demo.sh: the local environment, the controller, a backup of the sample
#      library (liferay-test-dl, document_library/) and database, Succeeded
#   2. "accidentally" delete two documents from the live library
#   3. kubectl lc2 restore create --skip-existing --wait: a RestoreRequest of that backup into
#      the live library with existingObjects: Skip: only the two missing documents come
#      back, byte for byte; nothing else is touched
#   4. kubectl lc2 backup verify: a RestoreRequest with verifyOnly: true, waited for; the
#      backup is checked, nothing is written
#   5. the restores' history rows in PostgreSQL
# The environment stays up afterwards; make local-down stops it. Run it again for another round.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
state="$root/tmp/local"
cd "$root"
timeout_s="${DEMO_TIMEOUT:-180}"
ns=proj-retail-prd
live=liferay-test-dl
deleted=(document_library/20097/20121/1002/1.0 document_library/20097/20121/1005/1.0)
untouched=document_library/20097/20121/1003/1.0

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
fail() {
  echo "demo-restore: FAILED: $*" >&2
  if [[ -f "$state/manager.log" ]]; then
    echo "--- last 40 lines of $state/manager.log ---" >&2
    tail -n 40 "$state/manager.log" >&2
  fi
  echo "(the environment is still up: make local-status, make local-logs, make local-down)" >&2
  exit 1
}

step "Part 1: a backup (make demo)"
rm -f "$state/demo-last-backup"
hack/demo.sh
backup="$(cat "$state/demo-last-backup")"
# shellcheck disable=SC1091
. "$state/env"
kubectl() { "$LOCAL_KUBECTL" "$@"; }
lc2() { bin/kubectl-lc2 -n "$ns" "$@"; } # built by hack/demo.sh; kubectl lc2 once installed
# The emulator keeps objects private like S3 does: sign requests (curl >= 7.75) with the dummy keys.
s3() { curl -fsS --aws-sigv4 "aws:amz:$AWS_REGION:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" "$@"; }
stamp="$(date -u +%Y%m%d-%H%M%S)"
work="$state/demo-restore-$stamp"
mkdir -p "$work"

step "Part 2: deleting ${#deleted[@]} documents from the live library s3://$live/document_library/"
for key in "${deleted[@]}" "$untouched"; do
  s3 "$AWS_ENDPOINT_URL/$live/$key" -o "$work/before-$(basename "$(dirname "$key")")" || fail "could not read s3://$live/$key"
done
for key in "${deleted[@]}"; do
  s3 -X DELETE "$AWS_ENDPOINT_URL/$live/$key" -o /dev/null || fail "could not delete s3://$live/$key"
  echo "deleted s3://$live/$key"
done
etag() { s3 -I "$AWS_ENDPOINT_URL/$live/$1" | tr -d '\r' | grep -iE '^(etag|last-modified):'; } # same content, same write
etag "$untouched" >"$work/untouched-etag-before" || fail "could not read the ETag of s3://$live/$untouched"

restore="retail-undelete-$stamp"
step "Part 3: RestoreRequest $restore: backup $backup into s3://$live/document_library/, existingObjects: Skip"
lc2 restore create --from "$backup" --name "$restore" --target-bucket "$live" --target-prefix document_library/ \
  --skip-existing --wait --timeout "${timeout_s}s" || fail "RestoreRequest $restore did not succeed"
lc2 restore describe "$restore" --manifest=false
for key in "${deleted[@]}"; do
  id="$(basename "$(dirname "$key")")"
  s3 "$AWS_ENDPOINT_URL/$live/$key" -o "$work/after-$id" || fail "s3://$live/$key was not restored"
  cmp -s "$work/before-$id" "$work/after-$id" || fail "s3://$live/$key differs from what was deleted"
  echo "restored, byte for byte: s3://$live/$key ($(wc -c <"$work/after-$id") bytes)"
done
etag "$untouched" | cmp -s - "$work/untouched-etag-before" ||
  fail "s3://$live/$untouched changed, although it was there"
echo "left as it was: s3://$live/$untouched (and every other document that was there)"

step "Part 4: kubectl lc2 backup verify $backup: a verifyOnly RestoreRequest, writes nothing"
lc2 backup verify "$backup" --timeout "${timeout_s}s" | tee "$work/verify.out" || fail "the verification of $backup did not succeed"
verify="$(sed -n 's/^verification \([^ ]*\) Succeeded:.*/\1/p' "$work/verify.out")"
[[ -n "$verify" ]] || fail "kubectl lc2 backup verify printed no Succeeded verification"
kubectl get rr -n "$ns" "$verify" -o jsonpath='{.status.conditions[?(@.type=="Verified")].message}{"\n"}'

step "Part 5: history rows in PostgreSQL (backup_history.restore_requests)"
query="SELECT name, phase, verify_only, backup_id, target_bucket, target_prefix, existing_objects,
  objects_restored, objects_skipped, bytes_restored, objects_missing, objects_different, duration_seconds
  FROM restore_requests WHERE namespace = '$ns' AND name IN ('$restore', '$verify') ORDER BY requested_at"
psql_bin="$(command -v psql || true)"
[[ -n "$psql_bin" ]] || psql_bin="$(ls -d /usr/lib/postgresql/*/bin/psql 2>/dev/null | sort -V | tail -1)"
rows=""
for _ in $(seq 1 60); do # archival runs shortly after each phase change
  rows="$(PGPASSWORD="$DB_PASSWORD" "$psql_bin" -h "$DB_HOST" -p "$DB_PORT" -U "$DB_USER" -d "$DB_NAME" -x -c "$query" 2>&1 || true)"
  [[ "$(grep -c "phase .*Succeeded" <<<"$rows")" == 2 ]] && break
  sleep 0.5
done
echo "$rows"
[[ "$(grep -c "phase .*Succeeded" <<<"$rows")" == 2 ]] || fail "the two restores have no Succeeded history rows after 30s"

cat <<MSG

Demo complete: backup $backup, two deleted documents restored with Skip (nothing else
touched), and the backup verified. Deleting a Succeeded RestoreRequest removes nothing it
restored; re-creating it is refused (AlreadyRestored) unless annotated
backup.liferay.cloud/allow-repeat: "true". See docs/restore.md.
  . tmp/local/env && kubectl get rr -A -o wide      bin/kubectl-lc2 -n $ns restore describe $restore      make local-down
MSG
