#!/usr/bin/env bash
# Runs bench-reconcile for two commits alternately (A, B, A, B, ...) on this machine,
# so that a load that changes over time (a shared machine) hits both alike, and
# records the load average before and after each run. Each commit is built once, in a
# throwaway worktree under a temporary directory, and run from there (its own CRDs).
#
#   hack/bench-reconcile-pair.sh OLD NEW [ROUNDS] [-- bench flags]
#   hack/bench-reconcile-pair.sh 19a1ea6 HEAD 2 -- -requests 400 -projects 40 -floor=false
#
# Prints, per run, the commit, the load averages and the benchmark's summary lines;
# the full output of each run stays in the printed directory.
#
# BENCH_PATCH=file applies a patch to each tree that lacks it before building, so two
# commits run the same benchmark (a tree that already has it is left alone):
#   git diff 5decec3 0a410db -- test/bench/reconcile > /tmp/waitready.patch
#   BENCH_PATCH=/tmp/waitready.patch hack/bench-reconcile-pair.sh 19a1ea6 0a410db 2
set -euo pipefail

if [[ $# -lt 2 ]]; then
  sed -n '2,17p' "$0" >&2
  exit 2
fi
old="$1" new="$2"
shift 2
rounds=2
if [[ $# -gt 0 && "$1" != "--" ]]; then
  rounds="$1"
  shift
fi
[[ "${1:-}" == "--" ]] && shift

root="$(git rev-parse --show-toplevel)"
assets="$(K8S_VERSION="${K8S_VERSION:-1.37.2}" "$root/hack/build-envtest-assets.sh")"
work="$(mktemp -d)"
cleanup() {
  for c in "$old" "$new"; do
    git -C "$root" worktree remove --force "$work/tree-$c" >/dev/null 2>&1 || true
  done
}
trap cleanup EXIT

for c in "$old" "$new"; do
  git -C "$root" worktree add --detach "$work/tree-$c" "$c" >/dev/null
  if [[ -n "${BENCH_PATCH:-}" ]] && ! git -C "$work/tree-$c" apply --reverse --check "$BENCH_PATCH" 2>/dev/null; then
    git -C "$work/tree-$c" apply "$BENCH_PATCH"
  fi
  (cd "$work/tree-$c" && go build -o "$work/bench-$c" ./test/bench/reconcile)
done

echo "bench-reconcile-pair: $old vs $new, $rounds rounds, flags: ${*:-(defaults)}; outputs in $work"
for round in $(seq 1 "$rounds"); do
  for c in "$old" "$new"; do
    out="$work/run-$round-$c.txt"
    before="$(cut -d' ' -f1-3 /proc/loadavg)"
    rc=0
    (cd "$work/tree-$c" && KUBEBUILDER_ASSETS="$assets" "$work/bench-$c" "$@") >"$out" 2>&1 || rc=$?
    after="$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "== round $round, $c ($(git -C "$root" rev-parse --short "$c")), exit $rc, load average before: $before, after: $after"
    grep -E 'all Succeeded|free slot|work queue wait|reconcile pass|slot idle|cloud calls|ours / floor|^  (floor|ours) ' "$out" || true
  done
done
trap - EXIT
cleanup
