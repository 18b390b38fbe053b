#!/usr/bin/env bash
# State at T over the same Parquet files: rewind's reconstruction (restore --dry-run: read,
# spill, fold; nothing written) against DuckDB running the equivalent window query (newest
# version per key, base rows below changes, REMOVE means absent) over exactly the files rewind's
# plan pins: the snapshot's bucket files and the change files after it. Both must count the same
# items.
#
#   tests/bench/state_vs_duckdb.sh [items (500000)] [ms between records (4)] [insert % (25)]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ITEMS="${1:-500000}"
STEP="${2:-4}"
INSERT_PERCENT="${3:-25}"
bench_workdir
bench_setup
STORE="$WORK/store"
mkdir -p "$STORE"
"$ROOT/target/release/examples/seed_items" "$STORE" "$ITEMS" "$STEP" "$INSERT_PERCENT" >"$WORK/seed.json"
# A snapshot half an hour before the end, so the state at the end is snapshot + changes.
"$REWIND" --output json restore --table shop --store "$STORE" --at latest --to dynamodb://unused \
    --dry-run --spill-dir "$WORK" >"$WORK/probe.json"
END="$(json "$WORK/probe.json" "['at']")"
SNAP="$("$VENV/bin/python" -c "import datetime,sys; t=datetime.datetime.fromisoformat(sys.argv[1].replace('Z','+00:00')); print((t-datetime.timedelta(minutes=30)).strftime('%Y-%m-%dT%H:%M:%SZ'))" "$END")"
"$REWIND" --output json compact --table shop --store "$STORE" --no-probe --no-merge --at "$SNAP" >"$WORK/compact.json"

t0=$(now)
"$REWIND" --output json restore --table shop --store "$STORE" --at "$END" --to dynamodb://unused \
    --dry-run --spill-dir "$WORK" >"$WORK/rewind.json"
t1=$(now)

"$VENV/bin/python" - "$STORE" "$WORK/rewind.json" "$t0" "$t1" <<'PY'
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
SELECT count(*) FROM newest WHERE event_name <> 'REMOVE'
"""
con = duckdb.connect()
con.execute("SET threads TO 2")
start = time.time()
items = con.execute(query).fetchone()[0]
duck = time.time() - start
rewind = t1 - t0
print(f"state at {r['at']}: {len(base_files)} snapshot files + {len(change_files)} change files, {r['rows_read']} rows")
print(f"rewind (restore --dry-run, whole process): {rewind:6.2f} s  {r['items']} items")
print(f"DuckDB window query (in process):          {duck:6.2f} s  {items} items")
print(f"rewind / DuckDB: {rewind / duck:.2f}")
assert items == r["items"], "the two disagree"
PY
