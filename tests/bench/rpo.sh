#!/usr/bin/env bash
# RPO of continuous capture against moto: a steady writer, `rewind capture` following the stream
# with its default settings, the watermark sampled from `rewind ls` every second under the
# default skew margin (2 s) and under 1 s. Prints p50/p95/p99 per rate and checks that a restore
# at `latest` holds every item written once the capture is stopped with SIGTERM.
#
#   tests/bench/rpo.sh [seconds per rate (60)] [rates (50 200)] [-- extra capture flags]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
SECONDS_PER_RATE="${1:-60}"
RATES="${2:-50 200}"
shift $(( $# > 2 ? 2 : $# )) || true
[[ "${1:-}" == "--" ]] && shift
bench_workdir
bench_setup
for rate in $RATES; do
    start_moto "$WORK/moto-$rate.log"
    mkdir -p "$WORK/store-$rate"
    "$VENV/bin/python" "$ROOT/tests/bench/rpo_driver.py" "$REWIND" "$WORK/store-$rate" "$rate" \
        "$SECONDS_PER_RATE" "$@"
    kill "$MOTO_PID" 2>/dev/null || true
    wait "$MOTO_PID" 2>/dev/null || true
    MOTO_PID=""
done
