#!/usr/bin/env bash
# Dead-code gate (make deadcode, part of make verify), with golang.org/x/tools/cmd/deadcode:
# Rapid Type Analysis of what the mains call. Two passes, e2e build tag included:
#
#   test  deadcode -test ./...   from every main (cmd, test/localenv, test/bench/...) and
#         every test binary. A finding is code nothing runs: delete it.
#   prod  deadcode ./cmd/...     from the controller's main alone, over api/, cmd/ and
#         internal/. A finding is production code only its tests keep alive: delete it,
#         move it into the tests, or, when it is deliberate API, allowlist it.
#
# Deliberate exceptions are in hack/deadcode-allowlist.txt, one per line:
#   <pass> <package relative to the module>.<func or Type.method> <reason>
# An entry that matches no finding fails the gate too, so the list cannot go stale.
set -euo pipefail

DEADCODE="${DEADCODE:?path to the deadcode binary (make deadcode builds it)}"
cd "$(dirname "$0")/.."
ALLOWLIST="${DEADCODE_ALLOWLIST:-hack/deadcode-allowlist.txt}"
MODULE="$(go list -m)"
module_re="${MODULE//./\\.}"
record='{{range .Funcs}}{{$.Path}}.{{.Name}} {{.Position}}{{"\n"}}{{end}}'

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Findings as "<pass> <package>.<func> <file:line:col>", package relative to the module.
"$DEADCODE" -tags e2e -test -f "$record" ./... >"$work/test.raw"
"$DEADCODE" -tags e2e -filter "^${module_re}/(api|cmd|internal)(/|\$)" -f "$record" ./cmd/... >"$work/prod.raw"
for pass in test prod; do
  sed -e "s#^${MODULE}/##" -e "s#^#${pass} #" "$work/$pass.raw"
done | sort >"$work/findings"

# Allowlist entries as "<pass> <package>.<func>"; every entry needs a reason.
if ! awk 'NF && $1 !~ /^#/ && (NF < 3 || ($1 != "test" && $1 != "prod")) { print FILENAME ":" FNR ": want <test|prod> <package>.<func> <reason>: " $0; bad = 1 }
          END { exit bad }' "$ALLOWLIST"; then
  exit 1
fi
awk 'NF && $1 !~ /^#/ { print $1, $2 }' "$ALLOWLIST" | sort -u >"$work/allowed"

status=0
unexpected="$(awk 'NR == FNR { allowed[$1 " " $2] = 1; next } !(($1 " " $2) in allowed)' "$work/allowed" "$work/findings")"
if [[ -n "$unexpected" ]]; then
  echo "deadcode: unreachable functions (test: nothing calls them; prod: only tests do)."
  echo "Delete them, or move test-only code into the tests; a deliberate exception goes"
  echo "into $ALLOWLIST with its reason."
  awk '{ printf "  %s: %s (%s)\n", $3, $2, $1 }' <<<"$unexpected"
  status=1
fi
stale="$(awk 'NR == FNR { found[$1 " " $2] = 1; next } !(($1 " " $2) in found)' "$work/findings" "$work/allowed")"
if [[ -n "$stale" ]]; then
  echo "deadcode: $ALLOWLIST entries that match no finding any more; remove them:"
  sed 's/^/  /' <<<"$stale"
  status=1
fi
if [[ $status -eq 0 ]]; then
  echo "deadcode: no unreachable functions ($(wc -l <"$work/allowed") allowlisted)"
fi
exit $status
