//! Storage size of the change log, at capture time and after small-file compaction, against
//! the peer in the same run: the same stream records (both images) as gzip'd DynamoDB JSON lines,
//! the AWS export format, written both as one file per capture batch and as one whole-stream file.
//!
//! ```sh
//! cargo bench -p rewind-compactor --bench storage_size             # 100k records
//! REWIND_BENCH_RECORDS=30000 cargo bench -p rewind-compactor --bench storage_size
//! REWIND_BENCH_BATCH=200 cargo bench -p rewind-cli --bench storage_size   # 1 s flushes at 200 writes/s
//! ```
//! The seeded e-commerce workload (rewind-workload, seed 42) at its default pace spans several
//! hours, so compaction has finished hours to merge. Prints the figures; asserts only that the
//! merged log holds every captured record.

use flate2::{write::GzEncoder, Compression};
use rewind_capture::{capture_batch, CaptureOptions, ShardBatch, StreamInput};
use rewind_compactor::{merge_small_files, MergeOptions};
use rewind_store::{list_all, LocalStore, ObjectStore, Store};
use rewind_workload::{Workload, WorkloadConfig};
use std::io::Write;
use std::sync::Arc;

/// Records per capture batch; `REWIND_BENCH_BATCH` overrides it (200: what one-second flushes
/// make of 200 writes/s).
fn batch_size() -> usize {
    std::env::var("REWIND_BENCH_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(1000)
}

fn gzip_lines(records: &[serde_json::Value]) -> u64 {
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    for r in records {
        serde_json::to_writer(&mut gz, r).expect("serialise");
        gz.write_all(b"\n").expect("write");
    }
    gz.finish().expect("gzip").len() as u64
}

async fn change_log(store: &Store, table: &str) -> (u64, u64) {
    let prefix = format!("changes/table={table}/");
    let objects = list_all(store.as_ref(), &prefix).await.expect("list");
    (
        objects.len() as u64,
        objects.iter().map(|o| o.size).sum::<u64>(),
    )
}

fn main() {
    let batch = batch_size();
    let total: usize = std::env::var("REWIND_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Store = Arc::new(LocalStore::new(dir.path().join("rewind")));
    let mut workload = Workload::new(WorkloadConfig {
        seed: 42,
        ..WorkloadConfig::default()
    });
    let config = workload.config().clone();
    let records: Vec<serde_json::Value> = workload.by_ref().take(total).collect();
    let json_bytes: u64 = records.iter().map(|r| r.to_string().len() as u64 + 1).sum();
    let peer_whole = gzip_lines(&records);
    let peer_batches: u64 = records.chunks(batch).map(gzip_lines).sum();

    let mut last_stamp_s = 0;
    for chunk in records.chunks(batch) {
        last_stamp_s = chunk
            .iter()
            .filter_map(|r| r["dynamodb"]["ApproximateCreationDateTime"].as_i64())
            .max()
            .unwrap_or(last_stamp_s);
        let batch = ShardBatch {
            table: config.table.clone(),
            stream_label: config.stream_label.clone(),
            shard_id: "shardId-00000001764000000000-0001".into(),
            parent_shard_id: None,
            records: chunk.iter().cloned().map(StreamInput::Lambda).collect(),
            read_through_ms: None,
            shard_ended: false,
        };
        let out = runtime.block_on(capture_batch(
            store.as_ref() as &dyn ObjectStore,
            &batch,
            &CaptureOptions::default(),
            1_764_200_000_000,
        ));
        assert!(out.failure.is_none(), "{:?}", out.failure);
    }
    let (captured_files, captured) = runtime.block_on(change_log(&store, &config.table));

    // Every hour is finished (the clock is an hour past the last record); no grace, and a second
    // run deletes what the first replaced, as the scheduled compactor would an hour later.
    let opts = MergeOptions {
        grace_ms: 0,
        now_ms: (last_stamp_s + 7200) * 1000,
    };
    let finished = last_stamp_s + 3600;
    let first = runtime
        .block_on(merge_small_files(&store, &config.table, finished, &opts))
        .expect("merge");
    runtime
        .block_on(merge_small_files(&store, &config.table, finished, &opts))
        .expect("delete replaced files");
    let (merged_files, merged) = runtime.block_on(change_log(&store, &config.table));
    assert_eq!(
        first.files_merged + merged_files - first.files_written,
        captured_files
    );

    let ratio = |b: u64| b as f64 / peer_whole as f64;
    println!("{total} stream records ({json_bytes} bytes as DynamoDB JSON lines, both images), workload seed 42");
    println!("  peer, gzip'd JSON lines, one file:            {peer_whole:>11} bytes  1.00");
    println!(
        "  peer, gzip'd JSON lines, a file per {batch}:     {peer_batches:>11} bytes  {:.2}",
        ratio(peer_batches)
    );
    println!(
        "  rewind at capture ({captured_files} files):          {captured:>11} bytes  {:.2}",
        ratio(captured)
    );
    println!(
        "  rewind after compaction ({merged_files} files, {} hours): {merged:>11} bytes  {:.2}",
        first.hours_merged,
        ratio(merged)
    );
}
