"""The RPO of continuous capture, measured from outside (tests/bench/rpo.sh runs this).

A writer puts new items into a moto table at a steady rate while `rewind capture` follows the
table's stream into a local store. About once a second (at a random phase of the second) the sampler runs `rewind --output json ls` (once
per skew margin) and takes RPO(t) = t - the end of the watermark second: the span of acknowledged
writes a restore could not reach if everything stopped at t. (The issue's figures took the
watermark's start instead, one second more; both are printed.) At the end the writer stops, the
capture is stopped with SIGTERM, and a dry-run restore at `latest` must hold every item written:
nothing lost.

    rpo_driver.py REWIND STORE_DIR RATE SECONDS [capture args...]
"""

import datetime
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time

import boto3

rewind, store, rate, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
capture_args = sys.argv[5:]
MARGINS = ["2s", "1s"]
table = f"rpo{rate}"

ddb = boto3.client("dynamodb")
ddb.create_table(
    TableName=table,
    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
    BillingMode="PAY_PER_REQUEST",
    StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
)

def rewind_json(*args):
    """Runs rewind with --output json; its JSON, or exits with its stderr."""
    done = subprocess.run([rewind, "--output", "json", *args], capture_output=True)
    if done.returncode != 0:
        sys.exit(f"rewind {' '.join(args)} exited {done.returncode}: {done.stderr.decode()[-2000:]}")
    return json.loads(done.stdout)


# A restore needs a base: the full backup of the (empty) table, as an operator would take it.
rewind_json("backup", "--table", table, "--store", store)
capture = subprocess.Popen(
    [rewind, "--output", "json", "capture", "--table", table, "--store", store, *capture_args],
    stdout=subprocess.PIPE,
    stderr=subprocess.DEVNULL,
)

written = 0
behind = 0.0  # the writer's largest lag behind its schedule, s
stop_writing = threading.Event()


def writer():
    """Puts item i at start + i / rate (an absolute schedule: a slow call does not slow the rate)."""
    global written, behind
    client = boto3.client("dynamodb")
    start = time.time()
    payload = "x" * 200
    while not stop_writing.is_set():
        due = start + written / rate
        now = time.time()
        if due > now:
            time.sleep(due - now)
        else:
            behind = max(behind, now - due)
        client.put_item(
            TableName=table,
            Item={"pk": {"S": f"item-{written:08d}"}, "n": {"N": str(written)}, "p": {"S": payload}},
        )
        written += 1


def watermark_end(margin):
    """The end of the watermark second `ls` reports under `margin`, epoch seconds (None: none yet)."""
    data = rewind_json("--skew-margin", margin, "ls", "--store", store)
    tables = data if isinstance(data, list) else data.get("tables", [data])
    mark = next((t.get("watermark") for t in tables if t.get("table") == table), None)
    if mark is None:
        return None
    return datetime.datetime.fromisoformat(mark.replace("Z", "+00:00")).timestamp() + 1


thread = threading.Thread(target=writer, daemon=True)
thread.start()
samples = {m: [] for m in MARGINS}
began = time.time()
warmup = 5  # the capture's first shard listing and iterator
next_sample = began + warmup
while time.time() < began + warmup + seconds:
    time.sleep(max(0.0, next_sample - time.time()))
    # Once a second on average, at a random phase: the watermark moves in whole seconds, so
    # samples taken at one fixed phase of the second would all see the same fraction of it.
    next_sample += random.uniform(0.5, 1.5)
    for margin in MARGINS:
        end = watermark_end(margin)
        taken = time.time()  # after ls returned: the RPO is not flattered by ls's own time
        if end is not None:
            samples[margin].append(taken - end)
stop_writing.set()
thread.join()
total = written

# Let the watermark pass the last write (the margin, the whole second, an idle sleep and some
# slack), then stop the capture as systemd would.
time.sleep(6)
capture.send_signal(signal.SIGTERM)
summary_text, _ = capture.communicate(timeout=60)
if capture.returncode != 0:
    sys.exit(f"capture exited {capture.returncode} after SIGTERM")
summary = json.loads(summary_text)

dry = rewind_json("restore", "--table", table, "--store", store, "--at", "latest",
                  "--to", "dynamodb://unused", "--dry-run")
changes = os.path.join(store, "changes", f"table={table}")
files = [os.path.join(d, f) for d, _, fs in os.walk(changes) for f in fs if f.endswith(".parquet")]
bytes_ = sum(os.path.getsize(f) for f in files)


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


print(f"{rate} writes/s for {seconds} s: {total} items written (writer at most {behind:.2f} s behind its schedule)")
print(f"capture: {summary['records_captured']} records captured, {len(files)} change files, {bytes_} bytes "
      f"({len(files) / (seconds + warmup + 3) * 3600:.0f} files/hour, {bytes_ / max(total, 1):.0f} bytes/record)")
for margin in MARGINS:
    s = samples[margin]
    if not s:
        sys.exit(f"no watermark sampled with margin {margin}")
    print(f"  margin {margin}: RPO p50 {pct(s, 50):.2f} s  p95 {pct(s, 95):.2f} s  p99 {pct(s, 99):.2f} s  "
          f"max {max(s):.2f} s  ({len(s)} samples; from the watermark's start: p99 {pct(s, 99) + 1:.2f} s)")
    print(f"RESULT rate={rate} margin={margin} p50={pct(s, 50):.2f} p95={pct(s, 95):.2f} "
          f"p99={pct(s, 99):.2f} max={max(s):.2f} samples={len(s)}")
print(f"restore --dry-run at latest: {dry['items']} items of {total} written")
if summary["records_captured"] != total:
    sys.exit(f"LOST: capture took {summary['records_captured']} records, {total} were written")
if dry["items"] != total:
    sys.exit(f"LOST: the store restores {dry['items']} items, {total} were written")
