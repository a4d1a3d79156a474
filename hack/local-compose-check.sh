#!/usr/bin/env bash
# Checks docker-compose.yml and its LocalStack init script without Docker (make compose-check):
#   - docker-compose.yml parses as YAML and keeps the ports, images and environment the
#     Docker-free path and docs/local-development.md promise
#   - hack/localstack-init/ready.d/*.sh pass `bash -n` (and shellcheck, when installed)
#   - when the AWS CLI is installed: init-aws.sh seeds a throwaway moto server with the
#     same objects as test/localenv (SKIP_SEED_CHECK=1 skips this)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

python="$root/.venv/moto/bin/python"
if ! "$python" -c 'import yaml' 2>/dev/null; then
  python="$(hack/setup-moto.sh | xargs dirname)/python" # the moto virtualenv brings PyYAML
fi
"$python" - docker-compose.yml <<'PY'
import sys, yaml

path = sys.argv[1]
with open(path) as f:
    doc = yaml.safe_load(f)
errors = []

def want(cond, msg):
    if not cond:
        errors.append(msg)

services = doc.get("services") or {}
for name in ("localstack", "postgres", "moto", "moto-init"):
    want(name in services, f"service {name} missing")
ls, pg = services.get("localstack", {}), services.get("postgres", {})
want("127.0.0.1:4566:4566" in ls.get("ports", []), "localstack must publish 4566")
want("localstack/localstack" in ls.get("image", ""), "localstack image")
want(any(v.endswith(":/etc/localstack/init/ready.d:ro") and v.startswith("./hack/localstack-init/ready.d")
         for v in ls.get("volumes", [])), "localstack must mount hack/localstack-init/ready.d")
want(pg.get("image") == "postgres:15", "postgres image must be postgres:15")
want("127.0.0.1:5432:5432" in pg.get("ports", []), "postgres must publish 5432")
want(pg.get("environment") == {"POSTGRES_DB": "backup_history", "POSTGRES_USER": "backup",
                               "POSTGRES_PASSWORD": "backup_dev_password"}, "postgres environment")
want("127.0.0.1:4566:5000" in services.get("moto", {}).get("ports", []), "moto must publish 4566")
for name, svc in services.items():
    want("image" in svc, f"service {name} has no image")
    for dep in (svc.get("depends_on") or {}):
        want(dep in services, f"service {name} depends on unknown service {dep}")
    for vol in svc.get("volumes", []):
        src = vol.split(":")[0]
        want(not src.startswith(".") or __import__("os").path.exists(src), f"service {name}: {src} does not exist")
        want(src.startswith(".") or src in (doc.get("volumes") or {}), f"service {name}: volume {src} not declared")
if errors:
    sys.exit(f"{path}: " + "; ".join(errors))
print(f"{path}: valid YAML, services {', '.join(services)}")
PY

for s in hack/localstack-init/ready.d/*.sh; do
  bash -n "$s"
  if command -v shellcheck >/dev/null 2>&1; then shellcheck "$s"; fi
  echo "$s: shell syntax ok"
done

if [[ "${SKIP_SEED_CHECK:-0}" == 1 ]]; then exit 0; fi
if ! command -v aws >/dev/null 2>&1 || ! aws --version >/dev/null 2>&1; then
  echo "AWS CLI not installed: init-aws.sh not run (SKIP_SEED_CHECK=1 silences this)"; exit 0
fi
# Run the init script against a throwaway moto server and compare with the native seed.
export MOTO_STATE_DIR="$root/tmp/compose-check/moto"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
trap 'hack/moto.sh stop >/dev/null; rm -rf "$root/tmp/compose-check"' EXIT
hack/moto.sh start "$port" >/dev/null
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
bash hack/localstack-init/ready.d/init-aws.sh
objects="$(aws --endpoint-url "$AWS_ENDPOINT_URL" s3api list-objects-v2 --bucket liferay-test-dl \
  --query 'length(Contents)' --output text)"
instance="$(aws --endpoint-url "$AWS_ENDPOINT_URL" rds describe-db-instances --db-instance-identifier retail-prd-db \
  --query 'DBInstances[0].Engine' --output text)"
[[ "$objects" == 21 && "$instance" == postgres ]] ||
  { echo "init-aws.sh seeded $objects objects and instance engine '$instance'; want 21 and postgres" >&2; exit 1; }
echo "init-aws.sh: seeded 21 objects and RDS instance retail-prd-db (postgres) on moto"
