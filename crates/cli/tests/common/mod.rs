//! What the moto end-to-end tests of the CLI share: running the binary, a random typed workload
//! mirrored in a reference model, phases cut at whole seconds, scans compared exactly.

#![allow(dead_code)]

use aws_sdk_dynamodb::types::AttributeValue;
use rand::Rng;
use rewind_format::item_to_json;
use std::collections::{BTreeMap, HashMap};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub type SdkItem = HashMap<String, AttributeValue>;
/// Key JSON → item JSON (canonical DynamoDB JSON).
pub type Model = BTreeMap<String, String>;

pub async fn ddb(region: &str) -> aws_sdk_dynamodb::Client {
    rewind_e2e::moto_endpoint();
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_string()))
        .load()
        .await;
    aws_sdk_dynamodb::Client::new(&config)
}

/// Runs the binary and returns its output whatever the exit code.
pub fn rewind_status(args: &[&str]) -> Output {
    rewind(args)
}

pub fn rewind(args: &[&str]) -> Output {
    rewind_env(&[], args)
}

/// [`rewind`] with extra environment variables (another endpoint, another region, a pause point).
pub fn rewind_env(env: &[(&str, &str)], args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_rewind"))
        .envs(env.iter().copied())
        .args(args)
        .output()
        .expect("run rewind");
    eprintln!(
        "rewind {}{}\n-> {:?}\nstdout: {}\nstderr: {}",
        env.iter()
            .map(|(k, v)| format!("{k}={v} "))
            .collect::<String>(),
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The JSON a successful `--output json` run printed.
pub fn json_of(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "rewind failed");
    serde_json::from_slice(&out.stdout).expect("JSON output")
}

/// `rewind --output json ls` of one table.
pub fn ls_table(env: &[(&str, &str)], store: &str, table: &str) -> serde_json::Value {
    json_of(&rewind_env(
        env,
        &["--output", "json", "ls", "--store", store, "--table", table],
    ))[0]
        .clone()
}

/// Takes a full backup, then waits until capture can cover it (the watermark trails the last
/// empty read by the 2 s skew margin) and captures, so the backup settles the whole-life
/// question.
pub async fn backup_then_capture(table: &str, store: &str, env: &[(&str, &str)]) {
    let report = json_of(&rewind_env(
        env,
        &[
            "--output", "json", "backup", "--table", table, "--store", store,
        ],
    ));
    let valid_from = chrono::DateTime::parse_from_rfc3339(report["valid_from"].as_str().unwrap())
        .unwrap()
        .timestamp();
    while now_secs_f64() < (valid_from + 3) as f64 {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let out = rewind_env(
        env,
        &["capture", "--table", table, "--store", store, "--once"],
    );
    assert!(out.status.success());
}

pub fn to_json(item: &SdkItem) -> String {
    let item: HashMap<String, rewind_format::AttributeValue> = item
        .iter()
        .map(|(k, v)| (k.clone(), rewind_format::AttributeValue::from(v.clone())))
        .collect();
    item_to_json(&item)
}

pub fn key_json(item: &SdkItem) -> String {
    let keys: SdkItem = item
        .iter()
        .filter(|(k, _)| *k == "pk" || *k == "sk")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    to_json(&keys)
}

pub fn random_value<R: Rng>(rng: &mut R, depth: u32) -> AttributeValue {
    let n = |rng: &mut R| -> String {
        match rng.gen_range(0..4) {
            0 => rng.gen_range(-1000..1000).to_string(),
            1 => format!("{}.{:03}", rng.gen_range(0..99999), rng.gen_range(0..1000)),
            2 => "12345678901234567890123456789012345678".to_string(),
            _ => format!("-0.{:020}", rng.gen_range(1..u64::MAX / 2)),
        }
    };
    match rng.gen_range(0..if depth > 1 { 8 } else { 10 }) {
        0 => AttributeValue::S(format!("text {} é ✓", rng.gen::<u32>())),
        1 => AttributeValue::N(n(rng)),
        2 => AttributeValue::B(
            (0..rng.gen_range(1..40))
                .map(|_| rng.gen())
                .collect::<Vec<u8>>()
                .into(),
        ),
        3 => AttributeValue::Bool(rng.gen()),
        4 => AttributeValue::Null(true),
        5 => AttributeValue::Ss(
            (0..rng.gen_range(1..4))
                .map(|i| format!("s{i}-{}", rng.gen::<u16>()))
                .collect(),
        ),
        6 => AttributeValue::Ns(
            (0..rng.gen_range(1..4))
                .map(|i| format!("{i}{}", rng.gen::<u16>()))
                .collect(),
        ),
        7 => AttributeValue::Bs(
            (0..rng.gen_range(1..3))
                .map(|i| vec![i as u8, rng.gen(), 0xff].into())
                .collect(),
        ),
        8 => AttributeValue::L(
            (0..rng.gen_range(0..4))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        // Maps are never empty here: moto's ImportTable (py-partiql-parser) stops reading a file
        // at an empty object and still reports COMPLETED. Empty maps are covered by the
        // DynamoDB-target and export tests.
        _ => AttributeValue::M(
            (0..rng.gen_range(1..4))
                .map(|i| (format!("f{i}"), random_value(rng, depth + 1)))
                .collect(),
        ),
    }
}

pub fn random_item<R: Rng>(rng: &mut R, id: u32) -> SdkItem {
    let mut item = SdkItem::from([
        (
            "pk".to_string(),
            AttributeValue::S(format!("user#{}", id % 37)),
        ),
        (
            "sk".to_string(),
            AttributeValue::S(format!("order#{id:05}")),
        ),
        (
            "v".to_string(),
            AttributeValue::N(rng.gen::<u32>().to_string()),
        ),
    ]);
    for i in 0..rng.gen_range(1..6) {
        item.insert(format!("a{i}"), random_value(rng, 0));
    }
    item
}

/// One phase of random puts (new and over existing keys) and deletes, mirrored in `model`.
pub async fn phase<R: Rng>(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    rng: &mut R,
    model: &mut BTreeMap<String, SdkItem>,
    next_id: &mut u32,
    ops: usize,
) {
    for _ in 0..ops {
        let existing: Vec<String> = model.keys().cloned().collect();
        let roll = rng.gen_range(0..10);
        if roll < 2 && !existing.is_empty() {
            let key = &existing[rng.gen_range(0..existing.len())];
            let item = model.remove(key).unwrap();
            client
                .delete_item()
                .table_name(table)
                .key("pk", item["pk"].clone())
                .key("sk", item["sk"].clone())
                .send()
                .await
                .unwrap();
        } else {
            let item = if roll < 6 && !existing.is_empty() {
                // Overwrite an existing key with new content.
                let old = &model[&existing[rng.gen_range(0..existing.len())]];
                let mut fresh = random_item(rng, 0);
                fresh.insert("pk".into(), old["pk"].clone());
                fresh.insert("sk".into(), old["sk"].clone());
                fresh
            } else {
                *next_id += 1;
                random_item(rng, *next_id)
            };
            client
                .put_item()
                .table_name(table)
                .set_item(Some(item.clone()))
                .send()
                .await
                .unwrap();
            model.insert(key_json(&item), item);
        }
    }
}

pub fn now_secs_f64() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

pub fn rfc3339(second: i64) -> String {
    chrono::DateTime::from_timestamp(second, 0)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Sleeps into the next whole second plus a margin; returns the second the phase ended in:
/// every write so far is stamped before (that second + 1), every later one at or after it.
pub async fn close_phase() -> i64 {
    let end = now_secs_f64();
    let second = end.floor() as i64;
    let resume = (second + 1) as f64 + 0.2;
    tokio::time::sleep(Duration::from_secs_f64(resume - end)).await;
    second
}

pub async fn scan_all(client: &aws_sdk_dynamodb::Client, table: &str) -> Model {
    let mut out = Model::new();
    let mut start: Option<SdkItem> = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .unwrap_or_else(|e| panic!("scan {table}: {e:?}"));
        for item in page.items() {
            out.insert(key_json(item), to_json(item));
        }
        match page.last_evaluated_key() {
            Some(k) if !k.is_empty() => start = Some(k.clone()),
            _ => return out,
        }
    }
}

pub fn as_model(items: &BTreeMap<String, SdkItem>) -> Model {
    items.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()
}

pub fn assert_same(what: &str, got: &Model, want: &Model) {
    if got == want {
        return;
    }
    let missing: Vec<_> = want
        .keys()
        .filter(|k| !got.contains_key(*k))
        .take(3)
        .collect();
    let extra: Vec<_> = got
        .keys()
        .filter(|k| !want.contains_key(*k))
        .take(3)
        .collect();
    let differ: Vec<_> = want
        .iter()
        .filter(|(k, v)| got.get(*k).is_some_and(|g| g != *v))
        .take(2)
        .map(|(k, v)| format!("{k}\n  want {v}\n  got  {}", got[k]))
        .collect();
    panic!(
        "{what}: {} items, want {}; missing {missing:?}; extra {extra:?}; differing {differ:#?}",
        got.len(),
        want.len()
    );
}
