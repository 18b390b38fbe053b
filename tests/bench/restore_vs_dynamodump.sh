#!/usr/bin/env bash
# Restore rate into moto: `rewind restore` (from the backup) next to dynamodump restoring the
# same items (dumped from rewind's restored table) into the same moto server, in the same run;
# then both tables are verified item by item against the backup (`rewind verify`).
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

"$VENV/bin/dynamodump" -m backup -s shop-rewind -r us-east-1 --host 127.0.0.1 --port "$MOTO_PORT" \
    --accessKey testing --secretKey testing --dumpPath "$WORK/dump" --log ERROR
mv "$WORK/dump/shop-rewind" "$WORK/dump/shop-dynamodump"
# dynamodump would create the table from the dumped schema, but passes moto's empty
# GlobalSecondaryIndexes list back to CreateTable, which refuses it: create the table here and
# time dynamodump's data restore only (its table creation is not counted; rewind's is).
"$VENV/bin/python" - <<'PY'
import boto3
ddb = boto3.client("dynamodb")
ddb.create_table(
    TableName="shop-dynamodump",
    AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk")],
    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    BillingMode="PAY_PER_REQUEST",
)
PY
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

"$VENV/bin/python" - "$ITEMS" "$t0" "$t1" "$t2" "$t3" "$c0" "$c1" "$c2" "$c3" <<'PY'
import sys
items, t0, t1, t2, t3, c0, c1, c2, c3 = int(sys.argv[1]), *map(float, sys.argv[2:])
r, d = items / (t1 - t0), items / (t3 - t2)
print(f"items: {items}")
print(f"rewind restore:      {t1 - t0:7.2f} s  {r:8.0f} items/s  (moto busy {100 * (c1 - c0) / (t1 - t0):.0f} % of a core)")
print(f"dynamodump restore:  {t3 - t2:7.2f} s  {d:8.0f} items/s  (moto busy {100 * (c3 - c2) / (t3 - t2):.0f} % of a core)")
print(f"rewind / dynamodump: {r / d:.2f}x")
PY
echo "verified against the backup at $T:"
verify shop-rewind
verify shop-dynamodump
# What dynamodump changed in the first differing item: its attribute types, side by side.
FIRST="$("$VENV/bin/python" -c 'import json,sys; d=json.load(open(sys.argv[1]))["differences"]; print(d[0]["key"] if d else "")' "$WORK/verify-shop-dynamodump.json")"
if [[ -n "$FIRST" ]]; then
    "$VENV/bin/python" - "$FIRST" <<'PY'
import boto3, json, sys
key = json.loads(sys.argv[1])
ddb = boto3.client("dynamodb")
a = ddb.get_item(TableName="shop-rewind", Key=key)["Item"]
b = ddb.get_item(TableName="shop-dynamodump", Key=key)["Item"]
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
        print(f"      {path}: backup {str(x)[:60]}  dynamodump {str(y)[:60]}")
walk(a, b, "item")
PY
fi
