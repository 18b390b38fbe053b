//! Capture throughput on the local store: stream records -> conversion -> Parquet -> durable
//! object -> checkpoint, 1,000-record batches (Lambda's largest DynamoDB batch is 10,000; the
//! poller flushes at 1,000 by default). The peer, in the same run and on the same records and
//! disk, is a JSON-lines + gzip writer (the AWS export format) writing one file per batch.
//!
//! ```sh
//! cargo bench -p rewind-capture --bench capture_throughput            # 100k records
//! REWIND_BENCH_RECORDS=20000 cargo bench -p rewind-capture --bench capture_throughput
//! ```
//! Prints the figures; asserts nothing (timing belongs in benchmarks, not tests).

use flate2::{write::GzEncoder, Compression};
use rewind_capture::{capture_batch, CaptureOptions, ShardBatch, StreamInput};
use rewind_store::{LocalStore, ObjectStore};
use rewind_workload::{Workload, WorkloadConfig};
use std::io::{BufWriter, Write};
use std::time::{Duration, Instant};

const BATCH: usize = 1000;

fn main() {
    let total: usize = std::env::var("REWIND_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::new(dir.path().join("rewind"));
    let peer_dir = dir.path().join("peer");
    std::fs::create_dir_all(&peer_dir).expect("peer dir");
    let mut workload = Workload::new(WorkloadConfig {
        seed: 42,
        ..WorkloadConfig::default()
    });
    let config = workload.config().clone();
    let (mut rewind_time, mut peer_time) = (Duration::ZERO, Duration::ZERO);
    let (mut objects, mut bytes, mut peer_bytes, mut json_bytes) = (0usize, 0u64, 0u64, 0u64);
    let mut done = 0;
    while done < total {
        let n = BATCH.min(total - done);
        let records: Vec<_> = workload.by_ref().take(n).collect();
        json_bytes += records
            .iter()
            .map(|r| r.to_string().len() as u64 + 1)
            .sum::<u64>();

        // Peer: JSON lines + gzip, one file per batch, fsync'd like the local store does.
        let started = Instant::now();
        let path = peer_dir.join(format!("{done:09}.json.gz"));
        let file = std::fs::File::create(&path).expect("create");
        let mut out =
            BufWriter::with_capacity(256 * 1024, GzEncoder::new(file, Compression::default()));
        for r in &records {
            serde_json::to_writer(&mut out, r).expect("serialise");
            out.write_all(b"\n").expect("write");
        }
        let file = out
            .into_inner()
            .map_err(|e| e.into_error())
            .expect("flush")
            .finish()
            .expect("gzip");
        file.sync_all().expect("fsync");
        peer_time += started.elapsed();
        peer_bytes += std::fs::metadata(&path).expect("stat").len();

        let batch = ShardBatch {
            table: config.table.clone(),
            stream_label: config.stream_label.clone(),
            shard_id: "shardId-00000001764000000000-0001".into(),
            parent_shard_id: None,
            records: records.into_iter().map(StreamInput::Lambda).collect(),
            read_through_ms: None,
            shard_ended: false,
        };
        let started = Instant::now();
        let out = runtime.block_on(capture_batch(
            &store as &dyn ObjectStore,
            &batch,
            &CaptureOptions::default(),
            1_764_200_000_000,
        ));
        rewind_time += started.elapsed();
        assert!(out.failure.is_none(), "{:?}", out.failure);
        objects += out.objects.len();
        bytes += out.bytes_written;
        done += n;
    }
    let rate = |t: Duration| total as f64 / t.as_secs_f64();
    println!("{total} records ({json_bytes} bytes as JSON lines), batches of {BATCH}, local store");
    println!(
        "  rewind capture: {:.2}s, {:.0} records/s, {objects} objects, {bytes} bytes",
        rewind_time.as_secs_f64(),
        rate(rewind_time)
    );
    println!(
        "  peer json+gzip: {:.2}s, {:.0} records/s, {} files, {peer_bytes} bytes",
        peer_time.as_secs_f64(),
        rate(peer_time),
        total.div_ceil(BATCH)
    );
    println!(
        "  ratio: rewind is {:.2}x the peer's speed at {:.2}x its size",
        peer_time.as_secs_f64() / rewind_time.as_secs_f64(),
        bytes as f64 / peer_bytes as f64
    );
}
