#!/usr/bin/env bash
# Long fuzzing runs (issue 14): each target runs until 1,000,000 executions or 15 minutes,
# whichever comes first, under AddressSanitizer with a per-allocation limit (an input that makes
# rewind allocate without bound is a finding) and an RSS limit. Findings land in
# fuzz/artifacts/<target>/; fixed ones are kept in fuzz/regressions/<target>/, which the stable
# test run replays with the corpora (crates/fuzz-targets/tests/corpora.rs).
#
#   scripts/fuzz.sh [TARGET...]        all targets by default
#   FUZZ_RUNS=N FUZZ_SECONDS=S scripts/fuzz.sh ...
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz --locked`); CI does not
# run this script. After a run the grown corpus is minimised (cargo fuzz cmin) before committing.
# A summary line per target goes to fuzz/RUNS.md's table format on stdout.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../fuzz"

runs="${FUZZ_RUNS:-1000000}"
seconds="${FUZZ_SECONDS:-900}"
targets=("$@")
if ((${#targets[@]} == 0)); then
    mapfile -t targets < <(cargo +nightly fuzz list)
fi
mkdir -p logs
cargo +nightly fuzz build -O
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    log="logs/$target.log"
    start=$(date +%s)
    status=0
    cargo +nightly fuzz run -O "$target" -- \
        -runs="$runs" -max_total_time="$seconds" -timeout=20 \
        -rss_limit_mb=3072 -malloc_limit_mb=512 -print_final_stats=1 >"$log" 2>&1 || status=$?
    end=$(date +%s)
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo "?")
    verdict="clean"
    ((status == 0)) || verdict="FINDING (exit $status; see fuzz/$log and fuzz/artifacts/$target/)"
    echo "| $target | $execs | $((end - start)) s | $cov | $verdict |"
done
