#!/usr/bin/env bash
# Build berth and run benchmarks (not part of the test suite; speed is measured here, never in tests).
# Each benchmark starts its own yardstick (containerd in temp dirs) and berthd, drives both through
# the same CRI client, and reports berth/yardstick ratios.
#
#   scripts/bench.sh [BENCH...] [-- BENCH OPTIONS]
#   scripts/bench.sh                                   # every benchmark (pull, lifecycle, exec) with defaults
#   scripts/bench.sh pull -- --rounds 5 --out /tmp/pull.json --cpu-prof /tmp/prof
#   scripts/bench.sh lifecycle -- --n 20 --out /tmp/lifecycle.json --cpu-prof /tmp/prof
#   scripts/bench.sh exec -- --n 100 --out /tmp/exec.json --cpu-prof /tmp/prof
# Options after -- go to every benchmark named, so give options to one benchmark at a time.
#
# Env: BERTH_BENCH_FROM_SOURCE=1 runs berthd and the benchmark under tsx instead of dist/ (slower
# start-up and more memory: not for published numbers). BERTH_BENCH_SKIP_BUILD=1 reuses dist/.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench: run as root (daemons mount overlayfs)" >&2; exit 1; }

benches=()
while [ $# -gt 0 ]; do
  case "$1" in
    --) shift; break ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) benches+=("$1"); shift ;;
  esac
done
[ ${#benches[@]} -gt 0 ] || benches=(pull lifecycle exec)

for b in "${benches[@]}"; do
  [ -f "bench/$b.ts" ] || { echo "bench: no benchmark bench/$b.ts" >&2; exit 1; }
done

for bin in containerd docker-registry runc conmon catatonit; do
  command -v "$bin" >/dev/null || { echo "bench: $bin is not installed (apt-get install containerd docker-registry runc conmon catatonit)" >&2; exit 1; }
done

if [ "${BERTH_BENCH_FROM_SOURCE:-0}" = 1 ]; then
  run() { node --import tsx "bench/$1.ts" "${@:2}"; }
else
  if [ "${BERTH_BENCH_SKIP_BUILD:-0}" != 1 ]; then
    echo "bench: npm run build" >&2
    # tsc still emits JavaScript when some file fails to type-check (e.g. work in progress elsewhere);
    # say so loudly, and go on only if what the benchmarks need was emitted.
    if ! npm run --silent build >&2; then
      echo "bench: WARNING: the build reported errors (above); using the JavaScript it emitted" >&2
    fi
  fi
  for f in dist/src/daemon/main.js native/build/Release/berth_sys.node; do
    [ -f "$f" ] || { echo "bench: $f is missing: the build failed" >&2; exit 1; }
  done
  run() { [ -f "dist/bench/$1.js" ] || { echo "bench: dist/bench/$1.js is missing: the build failed" >&2; return 1; }; node "dist/bench/$1.js" "${@:2}"; }
fi

echo "bench: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) (other work on this machine skews results)" >&2
status=0
for b in "${benches[@]}"; do
  echo "=== bench $b" >&2
  run "$b" "$@" || status=$?
done
exit $status
