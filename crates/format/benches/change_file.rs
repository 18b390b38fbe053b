//! Capture encoding: stream records -> one change file, against the peer format, in the same run.
//!
//! The peer is what AWS itself writes for an export and what a naive consumer would store: the
//! stream records as DynamoDB JSON lines, gzip'd (both images). Before timing, the bench prints the
//! size of each output for the same records, so sizes and times come from one run:
//!
//! ```sh
//! cargo bench -p rewind-format --features stream-records --bench change_file
//! ```
//!
//! Two starting points, each with its own peer row: records already parsed into
//! `serde_json::Value`s (how the Lambda runtime handed them over before), and the records' text
//! as the Lambda runtime receives it (what capture starts from now: the handler takes the
//! event's bytes). The text writes every object's names in an arbitrary order, as AWS sends them
//! (unsorted), so the canonical writer's reordering is part of the figure.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use flate2::{write::GzEncoder, Compression};
use rayon::prelude::*;
use rewind_format::{
    from_lambda_record, from_lambda_record_deserializer, from_lambda_record_json,
    write_change_file, ChangeRecord, ConvertError, ConvertOptions, WriteOptions,
};
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

/// The records as JSON text with every object's names in an arbitrary (but fixed) order, as a
/// Lambda event carries them: AWS does not sort attribute names.
fn stream_texts(records: &[Value]) -> Vec<String> {
    fn write(v: &Value, out: &mut String) {
        match v {
            Value::Object(map) => {
                let mut names: Vec<&String> = map.keys().collect();
                names.sort_by_key(|n| crc32c::crc32c(n.as_bytes()));
                out.push('{');
                for (i, name) in names.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::to_string(name).expect("serialises"));
                    out.push(':');
                    write(&map[name], out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            scalar => out.push_str(&scalar.to_string()),
        }
    }
    records
        .iter()
        .map(|r| {
            let mut text = String::new();
            write(r, &mut text);
            text
        })
        .collect()
}

const SHARD: &str = "shardId-00000001-0001";
const INGESTED_MS: i64 = 1_764_000_000_000;

/// Stream records -> change records -> Parquet bytes: everything capture does but the upload.
/// `all_cores`: convert records on every core, as `capture_batch` does (the peer uses one).
fn parquet(records: &[Value], zstd_level: i32, all_cores: bool) -> usize {
    let options = ConvertOptions::default();
    encode(records, zstd_level, all_cores, |r| {
        from_lambda_record(r, SHARD, INGESTED_MS, &options)
    })
}

/// [`parquet`] from the records' text, as the capture Lambda converts them now.
fn parquet_from_text(texts: &[String], zstd_level: i32, all_cores: bool) -> usize {
    let options = ConvertOptions::default();
    encode(texts, zstd_level, all_cores, |t| {
        from_lambda_record_json(t, SHARD, INGESTED_MS, &options)
    })
}

fn encode<T: Sync>(
    records: &[T],
    zstd_level: i32,
    all_cores: bool,
    convert: impl Fn(&T) -> Result<ChangeRecord, ConvertError> + Sync,
) -> usize {
    let changes = if all_cores {
        records
            .par_iter()
            .map(&convert)
            .collect::<Result<Vec<_>, _>>()
    } else {
        records.iter().map(&convert).collect::<Result<Vec<_>, _>>()
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

/// [`parquet_from_text`] on one core with another parser driving the same canonical writer
/// ([`from_lambda_record_deserializer`]): how the parser was chosen (docs/DECISIONS.md).
fn parquet_from_text_with(texts: &[String], parser: Parser) -> usize {
    let options = ConvertOptions::default();
    encode(texts, 3, false, |t| match parser {
        Parser::SimdJson => {
            // simd-json parses in place: it needs its own mutable copy of the text.
            let mut bytes = t.as_bytes().to_vec();
            let mut de = simd_json::Deserializer::from_slice(&mut bytes).expect("JSON");
            from_lambda_record_deserializer(&mut de, SHARD, INGESTED_MS, &options)
        }
        Parser::SonicRs => {
            let mut de = sonic_rs::Deserializer::from_str(t);
            from_lambda_record_deserializer(&mut de, SHARD, INGESTED_MS, &options)
        }
    })
}

#[derive(Clone, Copy)]
enum Parser {
    SimdJson,
    SonicRs,
}

/// The peer from the records' text: the lines as they arrived, gzip'd (no parse at all).
fn json_lines_gzip_from_text(texts: &[String]) -> usize {
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    for t in texts {
        gz.write_all(t.as_bytes()).expect("writes");
        gz.write_all(b"\n").expect("writes");
    }
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

    let texts = stream_texts(&records);
    let options = ConvertOptions::default();
    for (text, record) in texts.iter().zip(&records) {
        assert_eq!(
            from_lambda_record_json(text, SHARD, INGESTED_MS, &options).unwrap(),
            from_lambda_record(record, SHARD, INGESTED_MS, &options).unwrap(),
            "the text path and the Value path must give the same change record"
        );
    }
    for parser in [Parser::SimdJson, Parser::SonicRs] {
        assert_eq!(
            parquet_from_text_with(&texts, parser),
            parquet_from_text(&texts, 3, false),
            "every parser must give the same file"
        );
    }
    println!(
        "  from text: json lines + gzip (peer): {} bytes; rewind parquet zstd 3: {} bytes",
        json_lines_gzip_from_text(&texts),
        parquet_from_text(&texts, 3, false)
    );

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
    group.bench_function("from_text/json_lines_gzip_peer", |b| {
        b.iter(|| json_lines_gzip_from_text(&texts))
    });
    for level in [1, 3] {
        group.bench_function(
            format!("from_text/rewind_parquet_zstd{level}_one_core"),
            |b| b.iter(|| parquet_from_text(&texts, level, false)),
        );
        group.bench_function(
            format!("from_text/rewind_parquet_zstd{level}_all_cores"),
            |b| b.iter(|| parquet_from_text(&texts, level, true)),
        );
    }
    group.bench_function("from_text/simd_json_parser_zstd3_one_core", |b| {
        b.iter(|| parquet_from_text_with(&texts, Parser::SimdJson))
    });
    group.bench_function("from_text/sonic_rs_parser_zstd3_one_core", |b| {
        b.iter(|| parquet_from_text_with(&texts, Parser::SonicRs))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
