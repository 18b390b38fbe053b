#!/usr/bin/env bash
# State at T over the same Parquet files, on N cores for each N of a list: rewind's
# reconstruction (restore --dry-run: read, spill, continuity check, fold; nothing written) against
# DuckDB running the equivalent window query (newest version per key, base rows below changes,
# REMOVE means absent) over exactly the files rewind's plan pins: the snapshot's bucket files and
# the change files after it. Both sides are pinned to the same N cores (taskset), rewind with
# `--threads N`, DuckDB with `SET threads TO N`. Both must agree on the items and on the total
# bytes of their images: the dry run measures every live item's image, so the query sums
# length(new_image) too (a bare count(*) lets DuckDB skip decoding the images, which is not the
# same work).
#
#   tests/bench/state_vs_duckdb.sh [--cores 1,2,4,...] [--runs R] [items (500000)] [ms between records (4)] [insert % (25)] [snapshot minutes before T (60)]
#
# --cores defaults to 1, 2, 4, ... up to this host's cores (and the host's count itself); each N
# is run R times (default 3), alternating the two sides, and the median is reported. The defaults
# seed 2.0M change records over 2.2 hours and take the snapshot an hour before T, so the state at
# T is read from about 1.2M rows (snapshot rows + the changes after it).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
HOST_CORES="$(nproc)"
CORES=""
RUNS=3
while [[ "${1:-}" == --* ]]; do
    case "$1" in
        --cores) CORES="${2//,/ }"; shift 2 ;;
        --runs) RUNS="$2"; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
if [[ -z "$CORES" ]]; then
    n=1
    while (( n < HOST_CORES )); do CORES+="$n "; n=$(( n * 2 )); done
    CORES+="$HOST_CORES"
fi
for n in $CORES; do
    (( n >= 1 && n <= HOST_CORES )) || { echo "--cores: $n is not between 1 and this host's $HOST_CORES" >&2; exit 2; }
done
ITEMS="${1:-500000}"
STEP="${2:-4}"
INSERT_PERCENT="${3:-25}"
SNAP_MINUTES="${4:-60}"
bench_workdir
bench_setup
STORE="$WORK/store"
mkdir -p "$STORE"
"$ROOT/target/release/examples/seed_items" "$STORE" "$ITEMS" "$STEP" "$INSERT_PERCENT" >"$WORK/seed.json"
# A snapshot before the end, so the state at the end is snapshot + changes.
"$REWIND" --output json restore --table shop --store "$STORE" --at latest --to dynamodb://unused \
    --dry-run --spill-dir "$WORK" >"$WORK/probe.json"
END="$(json "$WORK/probe.json" "['at']")"
SNAP="$("$VENV/bin/python" -c "import datetime,sys; t=datetime.datetime.fromisoformat(sys.argv[1].replace('Z','+00:00')); print((t-datetime.timedelta(minutes=int(sys.argv[2]))).strftime('%Y-%m-%dT%H:%M:%SZ'))" "$END" "$SNAP_MINUTES")"
"$REWIND" --output json compact --table shop --store "$STORE" --no-probe --no-merge --at "$SNAP" >"$WORK/compact.json"

# One timed run of each side on cores 0..N-1; appends "side N seconds peak-RSS-KiB" lines.
run_rewind() {
    local n="$1" t0 t1
    t0=$(now)
    taskset -c "0-$(( n - 1 ))" /usr/bin/time -f "%M" -o "$WORK/rewind.rss" "$REWIND" --output json \
        restore --table shop --store "$STORE" --at "$END" --to dynamodb://unused --dry-run \
        --spill-dir "$WORK" --threads "$n" >"$WORK/rewind.json"
    t1=$(now)
    echo "rewind $n $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') $(tail -1 "$WORK/rewind.rss")" >>"$WORK/times"
}
run_duckdb() {
    local n="$1"
    taskset -c "0-$(( n - 1 ))" /usr/bin/time -f "%M" -o "$WORK/duckdb.rss" "$VENV/bin/python" - \
        "$STORE" "$WORK/rewind.json" "$n" >"$WORK/duckdb.out" <<'PY'
import duckdb, json, os, sys, time, datetime
store, report_path, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
r = json.load(open(report_path))
manifest = json.load(open(os.path.join(store, r["base"])))
base_files = [os.path.join(store, f["key"]) for f in manifest["files"]]
change_files = [os.path.join(store, f["key"]) for f in r["files"]]
from_ms = manifest["changes_from_ms"]
until_ms = (int(datetime.datetime.fromisoformat(r["at"].replace("Z", "+00:00")).timestamp()) + 1) * 1000
query = f"""
WITH versions AS (
    SELECT key, new_image, event_name, stream_label, sequence_number, 0 AS tier
    FROM read_parquet({base_files!r})
    UNION ALL
    SELECT key, new_image, event_name, stream_label, sequence_number, 1 AS tier
    FROM read_parquet({change_files!r})
    WHERE epoch_ms(approximate_creation_time) >= {from_ms} AND epoch_ms(approximate_creation_time) < {until_ms}
),
newest AS (
    SELECT * FROM versions
    QUALIFY row_number() OVER (PARTITION BY key ORDER BY tier DESC, stream_label DESC, sequence_number DESC) = 1
)
SELECT count(*), sum(length(new_image)) FROM newest WHERE event_name <> 'REMOVE'
"""
con = duckdb.connect()
con.execute(f"SET threads TO {threads}")
start = time.time()
items, image_bytes = con.execute(query).fetchone()
took = time.time() - start
assert (items, image_bytes) == (r["items"], r["item_bytes"]), f"the two disagree: DuckDB {items} items, {image_bytes} bytes; rewind {r['items']}, {r['item_bytes']}"
print(f"{took} {items} {image_bytes} {len(base_files)} {len(change_files)} {r['rows_read']}")
PY
    read -r took items bytes base_n change_n rows <"$WORK/duckdb.out"
    echo "duckdb $n $took $(tail -1 "$WORK/duckdb.rss")" >>"$WORK/times"
    echo "state at $END: $base_n snapshot files + $change_n change files, $rows rows read; $items items, $bytes image bytes (both sides agree)" >"$WORK/what"
}

: >"$WORK/times"
for n in $CORES; do
    for (( r = 0; r < RUNS; r++ )); do
        # Alternate which side goes first, so neither always finds the page cache warmer.
        if (( r % 2 == 0 )); then run_rewind "$n"; run_duckdb "$n"; else run_duckdb "$n"; run_rewind "$n"; fi
    done
done
cat "$WORK/what"
"$VENV/bin/python" - "$WORK/times" "$CORES" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
cores = [int(c) for c in sys.argv[2].split()]
def med(side, n, col):
    return statistics.median(float(r[col]) for r in rows if r[0] == side and int(r[1]) == n)
print(f"{'cores':>5} | {'rewind s':>8} | {'DuckDB s':>8} | {'rewind/DuckDB':>13} | {'rewind speedup':>14} | {'DuckDB speedup':>14} | peak RSS rewind / DuckDB")
for n in cores:
    rw, dk = med("rewind", n, 2), med("duckdb", n, 2)
    rw1, dk1 = med("rewind", cores[0], 2), med("duckdb", cores[0], 2)
    print(f"{n:>5} | {rw:8.2f} | {dk:8.2f} | {rw / dk:13.2f} | {rw1 / rw:13.2f}x | {dk1 / dk:13.2f}x | "
          f"{med('rewind', n, 3) / 1024:.0f} MiB / {med('duckdb', n, 3) / 1024:.0f} MiB")
print("(median of each side's runs; speedups against the first N of the list)")
PY
