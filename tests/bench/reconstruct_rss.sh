#!/usr/bin/env bash
# Peak RSS of reconstruction (restore --dry-run: read, spill, fold; nothing written) and of a
# whole restore into a file:// export, at 100k and 1M items (about 1 KB each, 2 records per
# item): memory must stay bounded by a bucket, not grow with the table. The stores are seeded by
# replay/examples/seed_items.rs (the workload generator holds every item in memory and does not
# fit 1M items).
#
#   tests/bench/reconstruct_rss.sh [small (100000)] [large (1000000)]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
bench_workdir
bench_setup

measure() { # name, command...: prints "<peak RSS KiB> <seconds>"
    local name="$1"; shift
    /usr/bin/time -f "%M %e" -o "$WORK/$name.time" "$@" >"$WORK/$name.out"
    cat "$WORK/$name.time"
}

for users in "${1:-100000}" "${2:-1000000}"; do
    store="$WORK/u$users/store"
    mkdir -p "$store"
    "$ROOT/target/release/examples/seed_items" "$store" "$users" >"$WORK/seed$users.json"
    read -r dry_rss dry_s < <(measure "dry$users" "$REWIND" --output json restore --table shop \
        --store "$store" --at latest --to dynamodb://unused --dry-run --spill-dir "$WORK")
    read -r exp_rss exp_s < <(measure "exp$users" "$REWIND" --output json restore --table shop \
        --store "$store" --at latest --to "file://$WORK/export-$users" --spill-dir "$WORK")
    items="$(json "$WORK/dry$users.out" "['items']")"
    records="$(json "$WORK/dry$users.out" "['rows_read']")"
    bytes="$(json "$WORK/dry$users.out" "['bytes']")"
    echo "$users items seeded: $items live items, $records records, $bytes bytes of Parquet"
    echo "  reconstruction (dry run): peak RSS $((dry_rss / 1024)) MiB, ${dry_s} s"
    echo "  restore into an export:   peak RSS $((exp_rss / 1024)) MiB, ${exp_s} s"
    echo "$users $items $dry_rss $exp_rss" >>"$WORK/rss"
    rm -rf "$WORK/u$users" "$WORK/export-$users"
done
"$VENV/bin/python" - "$WORK/rss" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
(u1, i1, d1, e1), (u2, i2, d2, e2) = [[int(x) for x in r] for r in rows]
print(f"items {i2 / i1:.1f}x: reconstruction peak RSS {d2 / d1:.2f}x, restore peak RSS {e2 / e1:.2f}x")
PY
