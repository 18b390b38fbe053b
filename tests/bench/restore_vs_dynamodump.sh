#!/usr/bin/env bash
# Restore rate into moto: `rewind restore` (from the backup) next to, in the same run, into the
# same moto server, with the same items:
#   - moto's ceiling for a client: a parallel boto3 BatchWriteItem loader
#     (tests/bench/boto3_loader.py, 8 threads, 25 items a call) loading the state at the same
#     point (read from a rewind export of it, before its clock starts) into a fresh table;
#   - dynamodump restoring a dump of rewind's restored table.
# Then every table is verified item by item against the backup (`rewind verify`).
#
#   tests/bench/restore_vs_dynamodump.sh [initial-users (default 3000, about 10k items)]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
USERS="${1:-3000}"
bench_workdir
bench_setup
start_moto "$WORK/moto.log"

seed_store "$WORK/demo" "$USERS" 40
STORE="$WORK/demo/store"
T="$(json "$WORK/demo.json" "['restorable'][0].split(' .. ')[-1]")"

c0=$(moto_cpu)
t0=$(now)
"$REWIND" --output json restore --table shop --store "$STORE" --at "$T" --to dynamodb://shop-rewind >"$WORK/rewind.json"
t1=$(now)
c1=$(moto_cpu)
ITEMS="$(json "$WORK/rewind.json" "['items']")"

create_table() { # name: keys pk, sk (strings), on demand, as the demo table
    "$VENV/bin/python" - "$1" <<'PY'
import boto3, sys
ddb = boto3.client("dynamodb")
ddb.create_table(
    TableName=sys.argv[1],
    AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk")],
    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    BillingMode="PAY_PER_REQUEST",
)
PY
}

# The boto3 loader: the state at T as rewind exports it (not timed), into a table created here.
"$REWIND" --output json restore --table shop --store "$STORE" --at "$T" --to "file://$WORK/export" \
    >/dev/null 2>"$WORK/export.log"
create_table shop-boto3
c4=$(moto_cpu)
"$VENV/bin/python" "$ROOT/tests/bench/boto3_loader.py" --table shop-boto3 --input "$WORK/export" \
    --threads 8 >"$WORK/boto3.json"
c5=$(moto_cpu)

"$VENV/bin/dynamodump" -m backup -s shop-rewind -r us-east-1 --host 127.0.0.1 --port "$MOTO_PORT" \
    --accessKey testing --secretKey testing --dumpPath "$WORK/dump" --log ERROR
mv "$WORK/dump/shop-rewind" "$WORK/dump/shop-dynamodump"
# dynamodump would create the table from the dumped schema, but passes moto's empty
# GlobalSecondaryIndexes list back to CreateTable, which refuses it: create the table here and
# time dynamodump's data restore only (its table creation is not counted; rewind's is).
create_table shop-dynamodump
c2=$(moto_cpu)
t2=$(now)
"$VENV/bin/dynamodump" -m restore -s shop-dynamodump -r us-east-1 --host 127.0.0.1 --port "$MOTO_PORT" \
    --accessKey testing --secretKey testing --dumpPath "$WORK/dump" --log ERROR --noConfirm --dataOnly
t3=$(now)
c3=$(moto_cpu)

verify() {
    # Exit 1 means differences: reported below, not a failure of the benchmark.
    "$REWIND" --output json verify --table shop --store "$STORE" --at "$T" --against "dynamodb://$1" >"$WORK/verify-$1.json" || true
    "$VENV/bin/python" - "$WORK/verify-$1.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"    {r['target']}: {r['matching']} matching, {r['missing']} missing, {r['extra']} extra, {r['differing']} differing")
for d in r["differences"][:3]:
    print(f"      {d['kind']}: {d['key']}")
PY
}

"$VENV/bin/python" - "$ITEMS" "$WORK/boto3.json" "$t0" "$t1" "$t2" "$t3" "$c0" "$c1" "$c2" "$c3" "$c4" "$c5" <<'PY'
import json, sys
items, loader = int(sys.argv[1]), json.load(open(sys.argv[2]))
t0, t1, t2, t3, c0, c1, c2, c3, c4, c5 = map(float, sys.argv[3:])
r, d, l = items / (t1 - t0), items / (t3 - t2), loader["items"] / loader["seconds"]
print(f"items: {items} ({loader['json_bytes'] / loader['items']:.0f} B as DynamoDB JSON, "
      f"{loader['ddb_bytes'] / loader['items']:.0f} B by DynamoDB's item size, on average)")
print(f"rewind restore:        {t1 - t0:7.2f} s  {r:8.0f} items/s  (moto busy {100 * (c1 - c0) / (t1 - t0):.0f} % of a core)")
print(f"boto3 loader (8 thr.): {loader['seconds']:7.2f} s  {l:8.0f} items/s  (moto busy {100 * (c5 - c4) / loader['seconds']:.0f} % of a core; "
      f"loader CPU {loader['cpu_seconds']:.2f} s)")
print(f"dynamodump restore:    {t3 - t2:7.2f} s  {d:8.0f} items/s  (moto busy {100 * (c3 - c2) / (t3 - t2):.0f} % of a core)")
print(f"rewind / boto3 loader: {r / l:.2f}x (target >= 0.8: {'met' if r >= 0.8 * l else 'MISSED'})")
print(f"rewind / dynamodump:   {r / d:.2f}x (target >= 1: {'met' if r >= d else 'MISSED'})")
PY
echo "verified against the backup at $T:"
verify shop-rewind
verify shop-boto3
verify shop-dynamodump
# What a tool changed in its first differing item, next to the backup's value (rewind's table,
# when it verified exact).
explain() { # table
    local first
    first="$("$VENV/bin/python" -c 'import json,sys; d=json.load(open(sys.argv[1]))["differences"]; print(d[0]["key"] if d else "")' "$WORK/verify-$1.json")"
    [[ -z "$first" ]] && return 0
    echo "  first item $1 got wrong:"
    "$VENV/bin/python" - "$first" "$1" <<'PY'
import boto3, json, sys
key, table = json.loads(sys.argv[1]), sys.argv[2]
ddb = boto3.client("dynamodb")
a = ddb.get_item(TableName="shop-rewind", Key=key).get("Item")
b = ddb.get_item(TableName=table, Key=key).get("Item")
def walk(x, y, path):
    if x == y:
        return
    if isinstance(x, dict) and isinstance(y, dict) and x.keys() == y.keys():
        for k in x:
            walk(x[k], y[k], f"{path}.{k}")
    elif isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
        for i, (p, q) in enumerate(zip(x, y)):
            walk(p, q, f"{path}[{i}]")
    else:
        print(f"      {path}: backup {str(x)[:60]}  {table} {str(y)[:60]}")
walk(a, b, "item")
PY
}
explain shop-boto3
explain shop-dynamodump
