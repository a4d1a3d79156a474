#!/usr/bin/env bash
# Seeds the AWS emulator of docker-compose.yml exactly like `make local-up` (test/localenv):
#   - buckets liferay-test-dl and liferay-backups
#   - liferay-test-dl/document_library/: 15 user documents (20097/20121/<fileEntryId>/<version>)
#     and 6 generated files (thumbnails, previews, Adaptive Media) that excludeGeneratedFiles skips
#   - RDS instance retail-prd-db (engine postgres)
#   - ownership tags (docs/aws-provider.md#resource-ownership): liferay-test-dl and
#     retail-prd-db carry backup.liferay.cloud/project-id=retail, the shared backup bucket
#     liferay-backups carries backup.liferay.cloud/shared-backup-bucket=true
#     (OWNERSHIP_TAG_KEY changes the project tag's key, like the controller's --ownership-tag-key)
# LocalStack runs it from /etc/localstack/init/ready.d with awslocal; elsewhere (the moto
# profile, or by hand) it uses the AWS CLI with AWS_ENDPOINT_URL. Running it twice is harmless.
set -euo pipefail

if command -v awslocal >/dev/null 2>&1; then
  aws_() { awslocal "$@"; }
else
  endpoint="${AWS_ENDPOINT_URL:-http://localhost:4566}"
  export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
  export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
  aws_() { aws --endpoint-url "$endpoint" "$@"; }
fi
log() { echo "init-aws: $*"; }

project=retail
tag_key="${OWNERSHIP_TAG_KEY:-backup.liferay.cloud/project-id}"
shared_tag=backup.liferay.cloud/shared-backup-bucket

# bucket NAME TAG_KEY TAG_VALUE: create the bucket unless it exists, then set its tags.
bucket() {
  if aws_ s3api head-bucket --bucket "$1" >/dev/null 2>&1; then
    log "bucket $1 exists"
  else
    aws_ s3api create-bucket --bucket "$1" >/dev/null
    log "created bucket $1"
  fi
  aws_ s3api put-bucket-tagging --bucket "$1" --tagging "TagSet=[{Key=$2,Value=$3}]"
  log "tagged bucket $1 $2=$3"
}
bucket liferay-test-dl "$tag_key" "$project" # the project's document library
bucket liferay-backups "$shared_tag" true     # shared by every project, each under <projectId>/

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# User documents: the same names and bytes as test/localenv's sampleFiles.
for i in $(seq 0 11); do
  id=$((1001 + i))
  versions="1.0"
  if ((i % 4 == 0)); then versions="1.0 1.1"; fi
  for v in $versions; do
    mkdir -p "$work/20097/20121/$id"
    yes "document $id version $v" | head -n $((64 * (i + 1))) >"$work/20097/20121/$id/$v" || true
  done
done
# Generated files Liferay can rebuild (provider.GeneratedFilePatterns).
for p in \
  20097/0/document_thumbnail/20121/1001/1.0.jpg \
  20097/0/document_thumbnail/20121/1002/1.0.jpg \
  20097/0/document_preview/20121/1001/1.0/1.png \
  20097/0/document_preview/20121/1003/1.0/1.png \
  20097/0/adaptive/6d2f1c7e/20121/20121/1001/1.0 \
  20097/0/adaptive/6d2f1c7e/20121/20121/1002/1.0; do
  mkdir -p "$work/$(dirname "$p")"
  echo "regenerable rendition of $p" >"$work/$p"
done
aws_ s3 cp --recursive --only-show-errors "$work" s3://liferay-test-dl/document_library/
log "seeded s3://liferay-test-dl/document_library/ with $(find "$work" -type f | wc -l) objects"

if arn="$(aws_ rds describe-db-instances --db-instance-identifier retail-prd-db \
  --query 'DBInstances[0].DBInstanceArn' --output text 2>/dev/null)"; then
  aws_ rds add-tags-to-resource --resource-name "$arn" --tags "Key=$tag_key,Value=$project"
  log "RDS instance retail-prd-db exists; tagged $tag_key=$project"
elif aws_ rds create-db-instance --db-instance-identifier retail-prd-db --db-instance-class db.t3.micro \
  --engine postgres --engine-version 15.4 --allocated-storage 20 \
  --master-username liferay --master-user-password liferay-password \
  --tags "Key=$tag_key,Value=$project" >/dev/null; then
  log "created RDS instance retail-prd-db (postgres), tagged $tag_key=$project"
else
  # LocalStack's community image has no RDS (a Pro service).
  log "WARNING: could not create RDS instance retail-prd-db: RDS needs LocalStack Pro" \
    "(LOCALSTACK_AUTH_TOKEN) or the moto profile; document-library-only backups still work"
fi
log "done"
