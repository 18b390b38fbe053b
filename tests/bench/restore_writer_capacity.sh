#!/usr/bin/env bash
# The restore writer's own capacity: items/s and items per client CPU-second against a local
# DynamoDB endpoint that answers BatchWriteItem at once (replay/examples/instant_dynamodb.rs,
# one thread), so the client is what is measured. In the same run, against the same endpoint,
# with the same items (about 1 KB each by DynamoDB's item size):
#
#   1. `rewind restore --to dynamodb://...` from a seeded store: the whole restore (read, spill,
#      fold, write), its wall time and CPU seconds (user + system of the process);
#   2. the writer alone: the already-reconstructed items fed to rewind's DynamoDB target
#      (prepare, write_bucket per bucket, finish; replay/examples/writer_capacity.rs);
#   3. the peer: tests/bench/boto3_loader.py (8 threads, 25-item BatchWriteItem calls).
#
# The endpoint counts the put requests it receives; every run must deliver every item.
#
#   tests/bench/restore_writer_capacity.sh [items (200000)] [pad bytes (530: items of about 1 KB)]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ITEMS="${1:-200000}"
PAD="${2:-530}"
bench_workdir
bench_setup
(cd "$ROOT" && cargo build --release --quiet -p rewind-replay --example instant_dynamodb \
    --example writer_capacity)

STORE="$WORK/store"
"$ROOT/target/release/examples/seed_items" "$STORE" "$ITEMS" 2 50 "$PAD" >"$WORK/seed.json"
# The reconstructed items, for the writer alone and the peer (not timed).
"$REWIND" --output json restore --table shop --store "$STORE" --at latest \
    --to "file://$WORK/export" --spill-dir "$WORK" >"$WORK/export.json" 2>/dev/null

"$ROOT/target/release/examples/instant_dynamodb" 0 >"$WORK/instant.out" 2>"$WORK/instant.err" &
INSTANT_PID=$!
BENCH_PIDS+=("$INSTANT_PID")
until grep -q listening "$WORK/instant.out" 2>/dev/null; do sleep 0.1; done
ENDPOINT="http://$(awk '/listening/ { print $3 }' "$WORK/instant.out")"
export AWS_ENDPOINT_URL="$ENDPOINT" AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
    AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
received() { curl -s "$ENDPOINT/stats" | "$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["items"])'; }

# Runs a client (its JSON result into NAME.json, its log into NAME.log), recording what the
# endpoint saw meanwhile: "items-received endpoint-cpu-seconds wall-seconds" (the endpoint idles
# while a client reads its items, so its CPU seconds are those of the writing). args: name command...
run() {
    local name="$1"; shift
    local r0 e0 t0
    r0=$(received); e0=$(proc_cpu "$INSTANT_PID"); t0=$(now)
    if ! "$@" >"$WORK/$name.json" 2>"$WORK/$name.log"; then
        cat "$WORK/$name.log" >&2
        exit 1
    fi
    echo "$(received) $r0 $(proc_cpu "$INSTANT_PID") $e0 $(now) $t0" |
        awk '{ print $1 - $2, $3 - $4, $5 - $6 }' >"$WORK/$name.endpoint"
}

# 1. The whole restore; client CPU is the process's user + system time.
run restore /usr/bin/time -f "%e %U %S" -o "$WORK/restore.time" "$REWIND" --output json restore \
    --table shop --store "$STORE" --at latest --to dynamodb://bench-rewind --spill-dir "$WORK"
BUCKETS="$(json "$WORK/restore.json" "['buckets']")"
# 2. The writer alone, with the restore's bucket count.
run writer "$ROOT/target/release/examples/writer_capacity" "$WORK/export" bench-writer "$BUCKETS"
# 3. The peer.
run boto3 "$VENV/bin/python" "$ROOT/tests/bench/boto3_loader.py" --table bench-boto3 \
    --input "$WORK/export" --threads 8

"$VENV/bin/python" - "$WORK" "$ITEMS" "$PAD" "$(nproc)" <<'PY'
import json, sys
work, seeded, pad, cores = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
load = lambda name: json.load(open(f"{work}/{name}.json"))
endpoint = lambda name: [float(x) for x in open(f"{work}/{name}.endpoint").read().split()]
restore, writer, boto = load("restore"), load("writer"), load("boto3")
wall, user, sys_ = [float(x) for x in open(f"{work}/restore.time").read().split()]
items = restore["items"]
print(f"seeded {seeded} items (pad {pad} bytes), {items} live at the end, {restore['buckets']} buckets")
print(f"item size: {boto['ddb_bytes'] / boto['items']:.0f} B by DynamoDB's count (names + values), "
      f"{boto['json_bytes'] / boto['items']:.0f} B as DynamoDB JSON")
rows = [
    ("rewind restore (whole)", items, wall, user + sys_, "restore"),
    ("rewind writer alone", writer["items"], writer["seconds"], writer["cpu_seconds"], "writer"),
    ("boto3 loader, 8 threads", boto["items"], boto["seconds"], boto["cpu_seconds"], "boto3"),
]
print(f"{'client':26} {'items':>7} {'seconds':>8} {'items/s':>9} {'client CPU s':>12} {'items/CPU-s':>11}  endpoint")
rate = {}
for label, n, s, cpu, name in rows:
    got, ecpu, _ = endpoint(name)
    rate[name] = (n / s, n / cpu)
    ok = "all received" if got == n else f"RECEIVED {got:.0f} OF {n}"
    print(f"{label:26} {n:7d} {s:8.2f} {n / s:9.0f} {cpu:12.2f} {n / cpu:11.0f}  "
          f"{ok}, {100 * ecpu / s:.0f} % of a core")
print(f"(rewind restore: the whole process, {user:.2f} s user + {sys_:.2f} s system; the writer and the "
      f"loader: writing only, their items read before the clock starts)")
w, r, b = rate["writer"], rate["restore"], rate["boto3"]
print(f"writer alone: {w[0]:.0f} items/s (target >= 40,000: {'met' if w[0] >= 40000 else 'MISSED'})")
print(f"writer / boto3 loader: {w[0] / b[0]:.1f}x items/s (target >= 10x: {'met' if w[0] >= 10 * b[0] else 'MISSED'}), "
      f"{w[1] / b[1]:.1f}x items per CPU-second")
print(f"whole restore / boto3 loader: {r[0] / b[0]:.1f}x items/s, {r[1] / b[1]:.1f}x items per CPU-second")
print(f"machine: {cores} cores")
PY
