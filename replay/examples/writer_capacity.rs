//! The DynamoDB writer alone: feeds already-reconstructed items to rewind's DynamoDB target
//! (`prepare`, `write_bucket` for every bucket, `finish`, as a restore does, the same number of
//! buckets written at once) and reports items/s and the process's CPU seconds while it wrote.
//! Point `AWS_ENDPOINT_URL` at an endpoint that is not the bottleneck
//! (replay/examples/instant_dynamodb.rs) to measure the writer's own capacity
//! (tests/bench/restore_writer_capacity.sh).
//!
//! The items come from a restore's export (`rewind restore --to file://EXPORT`: `data/*.json.gz`,
//! `{"Item":{...}}` lines), read and bucketed before the clock starts. The table has keys pk
//! (HASH) and sk (RANGE), both strings, like the seeded stores (replay/examples/seed_items.rs).
//!
//!   cargo run --release -p rewind-replay --example writer_capacity -- EXPORT TABLE [BUCKETS (16)] [AT_ONCE (cores, 2..8)]
//!
//! Prints one JSON object: items, seconds, items_per_s, cpu_seconds, items_per_cpu_s, ...

use futures::{StreamExt, TryStreamExt};
use rewind_catalog::TableDescription;
use rewind_format::bucket_of;
use rewind_format::{encode_key, item_from_json, item_to_json, AttributeValue};
use rewind_replay::state::LiveItem;
use rewind_replay::target::dynamodb::DynamoDbTarget;
use rewind_replay::target::{FinishContext, PrepareContext, RestoreTarget, WriteMode, WriteStats};
use std::collections::HashMap;
use std::io::BufRead;
use std::time::Instant;

const KEYS: [&str; 2] = ["pk", "sk"];

/// CPU seconds (user + system) this process has used so far, from /proc/self/stat.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // Fields after the command name (in parentheses, possibly with spaces): utime and stime
    // are the 14th and 15th fields of the line, the 12th and 13th after it.
    let rest = &stat[stat.rfind(')').expect("a command name") + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / clock_ticks()
}

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Every item of the export, as the reconstruction hands them to the target.
fn read_export(dir: &str) -> Vec<LiveItem> {
    let mut files: Vec<_> = std::fs::read_dir(format!("{dir}/data"))
        .expect("EXPORT/data is a directory")
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".json.gz"))
        .collect();
    files.sort();
    let mut items = Vec::new();
    for path in files {
        let file = std::fs::File::open(&path).unwrap();
        let lines = std::io::BufReader::new(flate2::read::MultiGzDecoder::new(file)).lines();
        for line in lines {
            let line = line.unwrap();
            let body = line
                .strip_prefix("{\"Item\":")
                .and_then(|l| l.strip_suffix('}'))
                .unwrap_or_else(|| panic!("not an export line: {line}"));
            let item = item_from_json(body).unwrap();
            let keys: HashMap<String, AttributeValue> = KEYS
                .iter()
                .map(|k| (k.to_string(), item[*k].clone()))
                .collect();
            items.push(LiveItem::new(
                encode_key(&keys).unwrap(),
                &item_to_json(&keys),
                &item_to_json(&item),
                0,
                "",
                "",
            ));
        }
    }
    items
}

fn description(table: &str) -> TableDescription {
    serde_json::from_value(serde_json::json!({
        "format_version": 1,
        "table_name": table,
        "table_arn": format!("arn:aws:dynamodb:us-east-1:123456789012:table/{table}"),
        "creation_date_time": "2026-11-26T06:00:00.000Z",
        "key_schema": [{"attribute_name": "pk", "key_type": "HASH"}, {"attribute_name": "sk", "key_type": "RANGE"}],
        "attribute_definitions": [{"attribute_name": "pk", "attribute_type": "S"}, {"attribute_name": "sk", "attribute_type": "S"}],
        "billing_mode": "PAY_PER_REQUEST",
        "stream": {"enabled": true, "view_type": "NEW_AND_OLD_IMAGES", "latest_stream_label": "2026-11-26T06:00:00.000"},
        "captured_at": "2026-11-26T06:00:01.000Z"
    }))
    .expect("a valid description")
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let (export, table) = match &args[..] {
        [_, export, table, ..] => (export, table),
        _ => panic!("usage: writer_capacity EXPORT TABLE [BUCKETS] [AT_ONCE]"),
    };
    let buckets: u32 = args.get(3).map_or(16, |b| b.parse().expect("BUCKETS"));
    assert!(buckets.is_power_of_two(), "BUCKETS is a power of two");
    // The restore's default bucket concurrency (ReconstructOptions).
    let at_once: usize = args
        .get(4)
        .map_or(cores.clamp(2, 8), |n| n.parse().expect("AT_ONCE"));

    let mut by_bucket: Vec<Vec<LiveItem>> = (0..buckets).map(|_| Vec::new()).collect();
    for item in read_export(export) {
        by_bucket[bucket_of(&item.key, buckets) as usize].push(item);
    }
    for b in &mut by_bucket {
        b.sort_by(|x, y| x.key.cmp(&y.key));
    }
    let items: u64 = by_bucket.iter().map(|b| b.len() as u64).sum();
    let json_bytes: u64 = by_bucket
        .iter()
        .flatten()
        .map(|i| i.image().len() as u64)
        .sum();

    let (t0, c0) = (Instant::now(), cpu_seconds());
    let target = DynamoDbTarget::connect(table, None).await;
    let description = description(table);
    target
        .prepare(&PrepareContext {
            scope: None,
            description: Some(description.clone()),
            key_names: KEYS.iter().map(|k| k.to_string()).collect(),
            mode: WriteMode::Fresh,
            buckets,
        })
        .await
        .expect("prepare");
    let stats = WriteStats::default();
    let (target, stats) = (&target, &stats);
    futures::stream::iter(by_bucket.iter().enumerate())
        .map(|(bucket, bucket_items)| target.write_bucket(bucket as u32, bucket_items, stats))
        .buffer_unordered(at_once)
        .try_collect::<Vec<_>>()
        .await
        .expect("write_bucket");
    target
        .finish(&FinishContext {
            description: Some(description),
            no_ttl: false,
            source_table: table.clone(),
            at: 1_795_672_800,
            buckets,
            items,
        })
        .await
        .expect("finish");
    let (seconds, cpu) = (t0.elapsed().as_secs_f64(), cpu_seconds() - c0);
    assert_eq!(WriteStats::get(&stats.items), items, "every item written");
    println!(
        "{}",
        serde_json::json!({
            "items": items,
            "json_bytes": json_bytes,
            "buckets": buckets,
            "buckets_at_once": at_once,
            "seconds": seconds,
            "items_per_s": items as f64 / seconds,
            "cpu_seconds": cpu,
            "items_per_cpu_s": items as f64 / cpu,
            "throttles": WriteStats::get(&stats.throttles),
            "retries": WriteStats::get(&stats.retries),
        })
    );
}
