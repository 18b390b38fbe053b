//! How many change objects the stream poller writes per 100k stream records, against moto (the
//! number that decides how much small-file compaction has to do), and how fast it catches up.
//!
//! ```sh
//! # with moto listening (scripts/test.sh starts one; or .venv/bin/moto_server -p 5099 &):
//! AWS_ENDPOINT_URL=http://127.0.0.1:5099 AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing \
//!   AWS_SECRET_ACCESS_KEY=testing cargo bench -p rewind-capture --bench poller_objects
//! REWIND_BENCH_RECORDS=20000 ...   # fewer records
//! ```
//! The workload's changes are applied with BatchWriteItem (puts for INSERT/MODIFY, deletes for
//! REMOVE, 25 per request), then `run_poller` with `--once` semantics and default settings
//! (1,000 records per flush, 5 s batch age) reads the whole stream into a local store.

use aws_sdk_dynamodb::types::{
    AttributeValue, DeleteRequest, PutRequest, ScalarAttributeType, WriteRequest,
};
use rewind_capture::{run_poller, CaptureOptions, Capturer, PollProgress, PollerConfig};
use rewind_store::{LocalStore, Store};
use rewind_workload::{Workload, WorkloadConfig};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

fn attrs(v: &serde_json::Value) -> HashMap<String, AttributeValue> {
    rewind_format::item_from_json(&v.to_string())
        .expect("workload items are DynamoDB JSON")
        .into()
}

async fn flush(ddb: &aws_sdk_dynamodb::Client, table: &str, batch: &mut Vec<WriteRequest>) {
    let mut pending = std::mem::take(batch);
    while !pending.is_empty() {
        let out = ddb
            .batch_write_item()
            .request_items(table, pending)
            .send()
            .await
            .expect("BatchWriteItem");
        pending = out
            .unprocessed_items
            .and_then(|mut u| u.remove(table))
            .unwrap_or_default();
    }
}

fn main() {
    let total: usize = std::env::var("REWIND_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    assert!(
        std::env::var("AWS_ENDPOINT_URL").is_ok(),
        "moto server not reachable: set AWS_ENDPOINT_URL (see the module docs)"
    );
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest()).load().await;
        let ddb = aws_sdk_dynamodb::Client::new(&sdk);
        let streams = aws_sdk_dynamodbstreams::Client::new(&sdk);
        let table = format!("bench-poller-{}", std::process::id());
        rewind_e2e::create_table_with_stream(&ddb, &table, ScalarAttributeType::S).await;

        let started = Instant::now();
        let mut batch = Vec::new();
        let mut keys_in_batch = HashSet::new();
        for record in Workload::new(WorkloadConfig { seed: 7, ..WorkloadConfig::default() }).take(total) {
            let d = &record["dynamodb"];
            let key = d["Keys"].to_string();
            if batch.len() == 25 || !keys_in_batch.insert(key.clone()) {
                flush(&ddb, &table, &mut batch).await;
                keys_in_batch = HashSet::from([key]);
            }
            let request = if record["eventName"] == "REMOVE" {
                WriteRequest::builder().delete_request(DeleteRequest::builder().set_key(Some(attrs(&d["Keys"]))).build().expect("delete")).build()
            } else {
                WriteRequest::builder().put_request(PutRequest::builder().set_item(Some(attrs(&d["NewImage"]))).build().expect("put")).build()
            };
            batch.push(request);
        }
        flush(&ddb, &table, &mut batch).await;
        let write_secs = started.elapsed().as_secs_f64();

        let dir = tempfile::tempdir().expect("tempdir");
        let store: Store = Arc::new(LocalStore::new(dir.path()));
        let capturer = Capturer::new(store, CaptureOptions::default());
        let config = PollerConfig { once: true, ..PollerConfig::new(&table) };
        let started = Instant::now();
        let summary = run_poller(&capturer, &ddb, &streams, &config, std::future::pending(), &|_: &PollProgress| {})
            .await
            .expect("poller");
        let read_secs = started.elapsed().as_secs_f64();
        println!("{total} workload changes written to moto in {write_secs:.1}s");
        println!(
            "poller: {} records read, {} captured, {} objects ({:.1} per 100k records), {} bytes, {:.1}s ({:.0} records/s)",
            summary.records_read,
            summary.records_captured,
            summary.objects,
            summary.objects as f64 * 100_000.0 / summary.records_captured.max(1) as f64,
            summary.bytes_written,
            read_secs,
            summary.records_read as f64 / read_secs
        );
    });
}
