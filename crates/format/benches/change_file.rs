//! Capture encoding: stream records -> one change file, against the peer format, in the same run.
//!
//! The peer is what AWS itself writes for an export and what a naive consumer would store: the
//! stream records as DynamoDB JSON lines, gzip'd (both images). Before timing, the bench prints the
//! size of each output for the same records, so sizes and times come from one run:
//!
//! ```sh
//! cargo bench -p rewind-format --bench change_file
//! ```

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use flate2::{write::GzEncoder, Compression};
use rayon::prelude::*;
use rewind_format::{from_lambda_record, write_change_file, ConvertOptions, WriteOptions};
use rewind_workload::{Workload, WorkloadConfig};
use serde_json::Value;
use std::io::{BufWriter, Write};

const RECORDS: usize = 10_000;

fn stream_records() -> Vec<Value> {
    Workload::new(WorkloadConfig {
        seed: 42,
        ..WorkloadConfig::default()
    })
    .take(RECORDS)
    .collect()
}

/// Stream records -> change records -> Parquet bytes: everything capture does but the upload.
/// `all_cores`: convert records on every core, as `capture_batch` does (the peer uses one).
fn parquet(records: &[Value], zstd_level: i32, all_cores: bool) -> usize {
    let options = ConvertOptions::default();
    let convert =
        |r: &Value| from_lambda_record(r, "shardId-00000001-0001", 1_764_000_000_000, &options);
    let changes = if all_cores {
        records
            .par_iter()
            .map(convert)
            .collect::<Result<Vec<_>, _>>()
    } else {
        records.iter().map(convert).collect::<Result<Vec<_>, _>>()
    }
    .expect("workload records convert");
    let opts = WriteOptions {
        zstd_level,
        ..WriteOptions::default()
    };
    write_change_file("bench", changes, &opts)
        .expect("writes")
        .bytes
        .len()
}

/// The peer: one stream record per line, DynamoDB JSON, gzip (default level, as AWS exports).
fn json_lines_gzip(records: &[Value]) -> usize {
    // Buffered, so the compressor sees large writes rather than serde_json's many small ones.
    let mut out = BufWriter::with_capacity(
        256 * 1024,
        GzEncoder::new(Vec::new(), Compression::default()),
    );
    for r in records {
        serde_json::to_writer(&mut out, r).expect("serialises");
        out.write_all(b"\n").expect("writes");
    }
    let gz = out
        .into_inner()
        .map_err(|e| e.into_error())
        .expect("flushes");
    gz.finish().expect("finishes").len()
}

/// The floor of any writer that starts from the parsed records: walking them and writing JSON
/// text, no compression. The peer's 5x target lies below this (docs/BENCHMARKS.md).
fn json_lines_plain(records: &[Value]) -> usize {
    let mut out = Vec::with_capacity(64 << 20);
    for r in records {
        serde_json::to_writer(&mut out, r).expect("serialises");
        out.push(b'\n');
    }
    out.len()
}

fn bench(c: &mut Criterion) {
    let records = stream_records();
    let raw: usize = records.iter().map(|r| r.to_string().len() + 1).sum();
    let peer = json_lines_gzip(&records);
    println!("{RECORDS} stream records, {raw} bytes as JSON lines");
    println!("  json lines + gzip (peer): {peer} bytes (1.00)");
    for level in [1, 3, 9, 19] {
        let size = parquet(&records, level, false);
        println!(
            "  rewind parquet zstd {level:>2}:   {size} bytes ({:.2}x the peer)",
            size as f64 / peer as f64
        );
    }

    let mut group = c.benchmark_group("capture_10k_records");
    group.throughput(Throughput::Elements(RECORDS as u64));
    group.sample_size(10);
    group.bench_function("json_lines_gzip_peer", |b| {
        b.iter_batched(|| (), |_| json_lines_gzip(&records), BatchSize::SmallInput)
    });
    group.bench_function("json_lines_uncompressed_floor", |b| {
        b.iter(|| json_lines_plain(&records))
    });
    for level in [1, 3] {
        group.bench_function(format!("rewind_parquet_zstd{level}_one_core"), |b| {
            b.iter(|| parquet(&records, level, false))
        });
        group.bench_function(format!("rewind_parquet_zstd{level}_all_cores"), |b| {
            b.iter(|| parquet(&records, level, true))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
