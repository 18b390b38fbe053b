"""The benchmarks' peer loader: items into a DynamoDB table with boto3, the way one writes a
parallel loader by hand: BatchWriteItem calls of 25 puts from N threads (default 8), each thread
with its own client, unprocessed items retried with exponential backoff and full jitter.

    python boto3_loader.py --table T --input EXPORT_OR_FILE [--threads 8]

--input: a rewind export (its data/*.json.gz), a directory of *.json.gz / *.json / *.jsonl
files, or one such file; each line is an item in DynamoDB JSON, bare or as {"Item": {...}}
(binary values base64, as in DynamoDB JSON). The table must exist. Items are read and
converted before the clock starts; the time and CPU seconds (this process, every thread) are
of the writing alone. The endpoint, region and credentials come from the environment
(AWS_ENDPOINT_URL, AWS_REGION, ...).

Prints one JSON object: items, seconds, items_per_s, cpu_seconds, items_per_cpu_s, calls,
unprocessed_retries, json_bytes and ddb_bytes (the items' size as DynamoDB JSON and as DynamoDB
counts item size).
"""

import argparse
import base64
import glob
import gzip
import json
import os
import queue
import random
import threading
import time
from decimal import Decimal

import boto3
from botocore.config import Config

BATCH = 25


def decode(value):
    """A DynamoDB JSON value as boto3's low-level client takes it (bytes for binary)."""
    (kind, x), = value.items()
    if kind == "B":
        return {"B": base64.b64decode(x)}
    if kind == "BS":
        return {"BS": [base64.b64decode(b) for b in x]}
    if kind == "L":
        return {"L": [decode(v) for v in x]}
    if kind == "M":
        return {"M": {k: decode(v) for k, v in x.items()}}
    return value


def number_size(n):
    digits = len(Decimal(n).normalize().as_tuple().digits)
    return (digits + 1) // 2 + 1


def value_size(value):
    """DynamoDB's item size accounting (attribute names and values; documented rules)."""
    (kind, x), = value.items()
    if kind == "S":
        return len(x.encode())
    if kind == "N":
        return number_size(x)
    if kind == "B":
        return len(base64.b64decode(x))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in x)
    if kind == "NS":
        return sum(number_size(n) for n in x)
    if kind == "BS":
        return sum(len(base64.b64decode(b)) for b in x)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in x)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(v) for k, v in x.items())
    raise ValueError(f"unknown type {kind}")


def input_files(path):
    if os.path.isfile(path):
        return [path]
    if os.path.isdir(os.path.join(path, "data")):
        path = os.path.join(path, "data")
    files = []
    for pattern in ("*.json.gz", "*.jsonl", "*.json"):
        files += glob.glob(os.path.join(path, pattern))
    return sorted(set(files))


def read_items(path):
    items, json_bytes, ddb_bytes = [], 0, 0
    for name in input_files(path):
        opener = gzip.open if name.endswith(".gz") else open
        with opener(name, "rt", encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                item = json.loads(line)
                if len(item) == 1 and isinstance(item.get("Item"), dict) and "Item" not in item["Item"]:
                    item = item["Item"]  # {"Item": {...}} (an export line)
                json_bytes += len(json.dumps(item, separators=(",", ":")))
                ddb_bytes += sum(len(k.encode()) + value_size(v) for k, v in item.items())
                items.append({k: decode(v) for k, v in item.items()})
    return items, json_bytes, ddb_bytes


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--table", required=True)
    p.add_argument("--input", required=True)
    p.add_argument("--threads", type=int, default=8)
    args = p.parse_args()

    items, json_bytes, ddb_bytes = read_items(args.input)
    batches = queue.SimpleQueue()
    for i in range(0, len(items), BATCH):
        batches.put([{"PutRequest": {"Item": it}} for it in items[i : i + BATCH]])
    config = Config(
        max_pool_connections=4,
        retries={"mode": "standard", "max_attempts": 10},
    )
    # boto3 sessions are not thread-safe: one client per thread, made before the clock starts.
    clients = [boto3.session.Session().client("dynamodb", config=config) for _ in range(args.threads)]
    lock = threading.Lock()
    totals = {"calls": 0, "unprocessed_retries": 0, "written": 0}
    errors = []

    def work(client):
        calls = retries = written = 0
        try:
            while True:
                try:
                    requests = batches.get_nowait()
                except queue.Empty:
                    break
                attempt = 0
                while requests:
                    out = client.batch_write_item(RequestItems={args.table: requests})
                    calls += 1
                    left = out.get("UnprocessedItems", {}).get(args.table, [])
                    written += len(requests) - len(left)
                    requests = left
                    if requests:
                        retries += 1
                        time.sleep(random.uniform(0, min(5.0, 0.025 * 2**attempt)))
                        attempt += 1
        except Exception as e:  # reported below: the run is then not a measurement
            errors.append(repr(e))
        with lock:
            totals["calls"] += calls
            totals["unprocessed_retries"] += retries
            totals["written"] += written

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    t0, c0 = time.perf_counter(), time.process_time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    if errors:
        raise SystemExit(f"boto3 loader failed: {errors[0]} ({len(errors)} thread(s))")
    assert totals["written"] == len(items), totals
    print(
        json.dumps(
            {
                "items": len(items),
                "threads": args.threads,
                "seconds": seconds,
                "items_per_s": len(items) / seconds,
                "cpu_seconds": cpu,
                "items_per_cpu_s": len(items) / cpu if cpu else None,
                "calls": totals["calls"],
                "unprocessed_retries": totals["unprocessed_retries"],
                "json_bytes": json_bytes,
                "ddb_bytes": ddb_bytes,
            }
        )
    )


if __name__ == "__main__":
    main()
