#!/usr/bin/env bash
# Restore time at the end of a long history: from the newest snapshot plus the changes after it,
# against the change log alone (restore --ignore-snapshots), in one run, on the same files; and
# the change objects before and after small-file compaction. Reconstruction only (--dry-run:
# read, spill, fold, nothing written), so the figures are rewind's, not a target's.
#
#   tests/bench/snapshot_restore.sh [items (250000)] [ms between records (20)] [insert % (50)] [merge|no-merge]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ITEMS="${1:-250000}"
STEP="${2:-20}"
INSERT_PERCENT="${3:-50}"
MERGE="${4:-merge}"
bench_workdir
bench_setup
STORE="$WORK/store"
mkdir -p "$STORE"
"$ROOT/target/release/examples/seed_items" "$STORE" "$ITEMS" "$STEP" "$INSERT_PERCENT" >"$WORK/seed.json"
objects() { find "$STORE/changes" -name '*.parquet' | wc -l; }
bytes() { find "$STORE/changes" -name '*.parquet' -printf '%s\n' | awk '{ s += $1 } END { print s }'; }
before_objects=$(objects)
before_bytes=$(bytes)

dry() { # label, extra args...: prints seconds and writes the report
    local label="$1"; shift
    local t0 t1
    t0=$(now)
    "$REWIND" --output json restore --table shop --store "$STORE" --at latest --to dynamodb://unused \
        --dry-run --spill-dir "$WORK" "$@" >"$WORK/$label.json"
    t1=$(now)
    "$VENV/bin/python" -c "print(f'{$t1 - $t0:.2f}')"
}
alone_before=$(dry alone-before --ignore-snapshots)

# Snapshot ten minutes before the end; merge finished hours (no grace: a benchmark), then a
# second run deletes the merged originals.
SNAP="$("$VENV/bin/python" - "$WORK/alone-before.json" <<'PY'
import datetime, json, sys
r = json.load(open(sys.argv[1]))
parse = lambda t: datetime.datetime.fromisoformat(t.replace("Z", "+00:00"))
start, end = (parse(t) for t in r["window"][0].split(" .. "))
# Ten minutes before the end, or half-way for a short history.
print(max(end - datetime.timedelta(minutes=10), start + (end - start) / 2).strftime("%Y-%m-%dT%H:%M:%SZ"))
PY
)"
MERGE_ARGS=(--grace-seconds 0)
[[ "$MERGE" == "no-merge" ]] && MERGE_ARGS=(--no-merge)
t0=$(now)
"$REWIND" --output json compact --table shop --store "$STORE" --no-probe "${MERGE_ARGS[@]}" --at "$SNAP" >"$WORK/compact1.json"
t1=$(now)
"$REWIND" --output json compact --table shop --store "$STORE" --no-probe "${MERGE_ARGS[@]}" --at "$SNAP" >"$WORK/compact2.json"
after_objects=$(objects)
after_bytes=$(bytes)

alone_after=$(dry alone-after --ignore-snapshots)
with_snapshot=$(dry snapshot)

"$VENV/bin/python" - "$WORK" "$alone_before" "$alone_after" "$with_snapshot" "$before_objects" "$after_objects" "$before_bytes" "$after_bytes" "$t0" "$t1" <<'PY'
import json, sys
w = sys.argv[1]
alone_before, alone_after, snap = map(float, sys.argv[2:5])
ob, oa, bb, ba = map(int, sys.argv[5:9])
t0, t1 = map(float, sys.argv[9:11])
seed = json.load(open(f"{w}/seed.json"))
a = json.load(open(f"{w}/alone-after.json"))
s = json.load(open(f"{w}/snapshot.json"))
assert a["items"] == s["items"], (a["items"], s["items"])
print(f"history: {seed['records']} records, {seed['items']} live items; restore point {s['at']}")
print(f"change objects: {ob} ({bb} bytes) before compaction, {oa} ({ba} bytes) after; compaction took {t1 - t0:.1f} s")
print(f"changes alone, small files:   {alone_before:7.2f} s")
print(f"changes alone, merged files:  {alone_after:7.2f} s  ({a['rows_read']} rows read)")
print(f"snapshot + changes:           {snap:7.2f} s  ({s['rows_read']} rows read, base {s['base']})")
print(f"snapshot + changes vs changes alone (merged): {alone_after / snap:.1f}x faster; items equal: {a['items']}")
PY
