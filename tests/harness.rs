//! The test harness itself: moto server answers with the credentials `scripts/test.sh`
//! exports, the virtualenv's Python has pyarrow and DuckDB, and workload records are read by
//! them as they are. If these fail, every other end-to-end failure is noise.

use rewind_e2e::{moto_endpoint, run_python};
use rewind_workload::{lambda_event, Workload, WorkloadConfig};
use std::io::Write as _;

#[test]
fn moto_serves_s3_and_dynamodb_with_the_exported_settings() {
    let endpoint = moto_endpoint();
    let out = run_python(
        r#"
import sys, boto3
endpoint = sys.argv[1]
s3 = boto3.client("s3", endpoint_url=endpoint)
s3.create_bucket(Bucket="rewind-harness-check")
names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
assert "rewind-harness-check" in names, names
ddb = boto3.client("dynamodb", endpoint_url=endpoint)
print(type(ddb.list_tables()["TableNames"]).__name__)
"#,
        &[&endpoint],
    );
    assert_eq!(out.trim(), "list");
}

#[test]
fn python_has_pyarrow_and_duckdb() {
    let out = run_python(
        r#"
import sys, tempfile, os
import pyarrow as pa, pyarrow.parquet as pq, duckdb, pytz
d = tempfile.mkdtemp()
path = os.path.join(d, "t.parquet")
pq.write_table(pa.table({"k": ["a", "b"], "v": [1, 2]}), path, compression="zstd")
# DuckDB 2 relations have no fetchone(); a connection's execute() still does.
n = duckdb.connect().execute(f"select sum(v) from read_parquet('{path}')").fetchone()[0]
print(n)
"#,
        &[],
    );
    assert_eq!(out.trim(), "3");
}

#[test]
fn workload_events_are_read_by_python_as_lambda_would_deliver_them() {
    let records: Vec<_> = Workload::new(WorkloadConfig::default()).take(500).collect();
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    serde_json::to_writer(&mut file, &lambda_event(&records)).expect("write event");
    file.flush().expect("flush");
    let path = file.path().to_str().expect("utf-8 temp path");
    let out = run_python(
        r#"
import sys, json, base64, duckdb
event = json.load(open(sys.argv[1]))
recs = event["Records"]
kinds = {r["eventName"] for r in recs}
assert kinds == {"INSERT", "MODIFY", "REMOVE"}, kinds
for r in recs:
    for img in ("NewImage", "OldImage"):
        for v in r["dynamodb"].get(img, {}).values():
            if "B" in v:
                base64.b64decode(v["B"], validate=True)
q = "select count(*) from (select unnest(Records) from read_json(?, maximum_object_size=100000000))"
rows = duckdb.connect().execute(q, [sys.argv[1]]).fetchone()[0]
print(len(recs), rows)
"#,
        &[path],
    );
    assert_eq!(out.trim(), "500 500");
}
