#!/usr/bin/env bash
# State at T over the same Parquet files: rewind's reconstruction (restore --dry-run: read,
# spill, continuity check, fold; nothing written) against DuckDB running the equivalent window
# query (newest version per key, base rows below changes, REMOVE means absent) over exactly the
# files rewind's plan pins: the snapshot's bucket files and the change files after it. Both must
# agree on the items and on the total bytes of their images: the dry run measures every live
# item's image, so the query sums length(new_image) too (a bare count(*) lets DuckDB skip
# decoding the images, which is not the same work).
#
#   tests/bench/state_vs_duckdb.sh [items (500000)] [ms between records (4)] [insert % (25)] [snapshot minutes before T (60)]
#
# The defaults seed 2.0M change records over 2.2 hours and take the snapshot an hour before T,
# so the state at T is read from about 1.3M rows (snapshot rows + the changes after it).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
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

t0=$(now)
/usr/bin/time -f "%M" -o "$WORK/rewind.rss" "$REWIND" --output json restore --table shop \
    --store "$STORE" --at "$END" --to dynamodb://unused --dry-run --spill-dir "$WORK" >"$WORK/rewind.json"
t1=$(now)

# Peak RSS of each side too: rewind spills to disk to stay bounded, DuckDB works in memory.
/usr/bin/time -f "%M" -o "$WORK/duckdb.rss" "$VENV/bin/python" - "$STORE" "$WORK/rewind.json" "$t0" "$t1" <<'PY'
import duckdb, json, os, sys, time
store, report_path, t0, t1 = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
r = json.load(open(report_path))
manifest = json.load(open(os.path.join(store, r["base"])))
base_files = [os.path.join(store, f["key"]) for f in manifest["files"]]
change_files = [os.path.join(store, f["key"]) for f in r["files"]]
from_ms, until_ms = manifest["changes_from_ms"], (int(__import__("datetime").datetime.fromisoformat(r["at"].replace("Z", "+00:00")).timestamp()) + 1) * 1000
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
con.execute("SET threads TO 2")
start = time.time()
items, image_bytes = con.execute(query).fetchone()
duck = time.time() - start
rewind = t1 - t0
print(f"state at {r['at']}: {len(base_files)} snapshot files + {len(change_files)} change files, {r['rows_read']} rows")
print(f"rewind (restore --dry-run, whole process): {rewind:6.2f} s  {r['items']} items, {r['item_bytes']} image bytes")
print(f"DuckDB window query (in process):          {duck:6.2f} s  {items} items, {image_bytes} image bytes")
print(f"rewind / DuckDB: {rewind / duck:.2f}")
assert (items, image_bytes) == (r["items"], r["item_bytes"]), "the two disagree"
PY
printf 'peak RSS: rewind %s MiB, DuckDB (python process) %s MiB\n' \
    "$(( $(cat "$WORK/rewind.rss") / 1024 ))" "$(( $(tail -1 "$WORK/duckdb.rss") / 1024 ))"
