//! Properties the rest of the project relies on: determinism, the event mix, sizes, image
//! consistency, type coverage and the exact record shape.

use super::*;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use std::collections::{BTreeMap, BTreeSet};

fn records(cfg: WorkloadConfig, n: usize) -> (Workload, Vec<Value>) {
    let mut w = Workload::new(cfg);
    let recs: Vec<Value> = w.by_ref().take(n).collect();
    (w, recs)
}

/// 10,000 records of the default workload, generated once for all tests that only read them.
fn default_10k() -> &'static [Value] {
    static RECORDS: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
    RECORDS.get_or_init(|| records(WorkloadConfig::default(), 10_000).1)
}

fn image<'a>(r: &'a Value, which: &str) -> Option<&'a Item> {
    r["dynamodb"].get(which).and_then(Value::as_object)
}

fn event(r: &Value) -> &str {
    r["eventName"].as_str().unwrap()
}

fn key_of(r: &Value) -> String {
    serde_json::to_string(&r["dynamodb"]["Keys"]).unwrap()
}

#[test]
fn same_seed_same_records_other_seed_other_records() {
    let cfg = WorkloadConfig::default();
    let (_, a) = records(cfg.clone(), 2_000);
    let (_, b) = records(cfg.clone(), 2_000);
    assert_eq!(a, b);
    let (_, c) = records(WorkloadConfig { seed: 43, ..cfg }, 2_000);
    assert_ne!(a, c);
}

#[test]
fn event_mix_is_20_70_10() {
    let cfg = WorkloadConfig {
        emit_initial_inserts: false,
        ..WorkloadConfig::default()
    };
    let (_, recs) = records(cfg, 10_000);
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &recs {
        *counts.entry(event(r)).or_default() += 1;
    }
    let share = |e: &str| counts.get(e).copied().unwrap_or(0) as f64 / recs.len() as f64;
    assert!((share("INSERT") - 0.20).abs() < 0.02, "{counts:?}");
    assert!((share("MODIFY") - 0.70).abs() < 0.02, "{counts:?}");
    assert!((share("REMOVE") - 0.10).abs() < 0.015, "{counts:?}");
    let ttl = recs
        .iter()
        .filter(|r| r.get("userIdentity").is_some())
        .count();
    assert!(ttl > 50, "TTL deletions: {ttl}");
}

#[test]
fn item_sizes_between_200_bytes_and_20_kb() {
    let recs = default_10k();
    let (mut min, mut max_json) = (usize::MAX, 0);
    for r in recs {
        for img in [image(r, "NewImage"), image(r, "OldImage")]
            .into_iter()
            .flatten()
        {
            min = min.min(item_size(img));
            max_json = max_json.max(item::json_len(img));
        }
    }
    assert!(min >= 200, "smallest item {min} B");
    assert!(max_json <= 20_000, "largest item {max_json} B of JSON");
    assert!(max_json > 10_000, "no large orders: largest {max_json} B");
}

#[test]
fn old_image_is_previous_new_image_and_keys_exist() {
    let (w, recs) = records(WorkloadConfig::default(), 10_000);
    let mut table: BTreeMap<String, Item> = BTreeMap::new();
    for r in &recs {
        let key = key_of(r);
        let (new, old) = (image(r, "NewImage"), image(r, "OldImage"));
        match event(r) {
            "INSERT" => {
                assert!(old.is_none());
                assert!(
                    table.insert(key, new.unwrap().clone()).is_none(),
                    "INSERT over a live key"
                );
            }
            "MODIFY" => {
                let prev = table.get(&key).expect("MODIFY of an absent key");
                assert_eq!(Some(prev), old, "OldImage != previous NewImage");
                assert_ne!(old, new, "MODIFY without a change");
                table.insert(key, new.unwrap().clone());
            }
            "REMOVE" => {
                assert!(new.is_none());
                let prev = table.remove(&key).expect("REMOVE of an absent key");
                assert_eq!(Some(&prev), old);
            }
            e => panic!("event {e}"),
        }
        // Keys are exactly the key attributes of the image.
        let img = new.or(old).unwrap();
        assert_eq!(
            r["dynamodb"]["Keys"],
            json!({"pk": img["pk"], "sk": img["sk"]})
        );
    }
    let model: Vec<&Item> = w.current_items().collect();
    let replayed: Vec<&Item> = table.values().collect();
    assert_eq!(model.len(), replayed.len());
    assert_eq!(w.item_count(), replayed.len());
    let model_set: BTreeSet<String> = model
        .iter()
        .map(|i| serde_json::to_string(i).unwrap())
        .collect();
    let replayed_set: BTreeSet<String> = replayed
        .iter()
        .map(|i| serde_json::to_string(i).unwrap())
        .collect();
    assert!(
        model_set == replayed_set,
        "model differs from the replayed stream"
    );
}

fn walk(
    v: &Value,
    types: &mut BTreeSet<String>,
    long_numbers: &mut usize,
    exp_numbers: &mut usize,
) {
    let Some((tag, inner)) = v.as_object().and_then(|o| o.iter().next()) else {
        panic!("not an attribute value: {v}");
    };
    types.insert(tag.clone());
    match (tag.as_str(), inner) {
        ("N", Value::String(x)) => {
            assert!(x.parse::<f64>().is_ok(), "number {x}");
            if x.len() == 38 {
                *long_numbers += 1;
            }
            if x.contains('E') {
                *exp_numbers += 1;
            }
        }
        ("B", Value::String(x)) => {
            let bytes = STANDARD.decode(x).expect("standard base64 with padding");
            assert!(!bytes.is_empty());
        }
        ("BS" | "SS" | "NS", Value::Array(a)) => {
            assert!(!a.is_empty(), "empty set");
            let distinct: BTreeSet<&str> = a.iter().map(|x| x.as_str().unwrap()).collect();
            assert_eq!(distinct.len(), a.len(), "duplicate in set {v}");
        }
        ("M", Value::Object(m)) => {
            for x in m.values() {
                walk(x, types, long_numbers, exp_numbers);
            }
        }
        ("L", Value::Array(a)) => {
            for x in a {
                walk(x, types, long_numbers, exp_numbers);
            }
        }
        ("S", Value::String(_)) | ("BOOL", Value::Bool(_)) | ("NULL", Value::Bool(true)) => {}
        _ => panic!("malformed attribute value {v}"),
    }
}

#[test]
fn every_attribute_type_appears() {
    let recs = default_10k();
    let mut types = BTreeSet::new();
    let (mut long, mut exp) = (0, 0);
    for r in recs {
        for img in [image(r, "NewImage"), image(r, "OldImage")]
            .into_iter()
            .flatten()
        {
            for v in img.values() {
                walk(v, &mut types, &mut long, &mut exp);
            }
        }
    }
    let all: BTreeSet<String> = ["S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(types, all);
    assert!(long > 0, "no 38-digit numbers");
    assert!(exp > 0, "no exponent-form numbers");
    assert!(
        exp * 50 < long,
        "exponent forms should be rare: {exp} vs {long}"
    );
}

#[test]
fn orders_go_through_every_status() {
    let recs = default_10k();
    let statuses: BTreeSet<&str> = recs
        .iter()
        .filter_map(|r| image(r, "NewImage"))
        .filter_map(|i| i.get("status")?["S"].as_str())
        .collect();
    let all: BTreeSet<&str> = ["PENDING", "PAID", "SHIPPED", "DELIVERED", "CANCELLED"].into();
    assert_eq!(statuses, all);
}

#[test]
fn records_have_the_lambda_event_shape() {
    let cfg = WorkloadConfig::default();
    let (w, recs) = records(cfg.clone(), 5_000);
    let arn = "arn:aws:dynamodb:us-east-1:123456789012:table/shop/stream/2026-11-26T06:00:00.000";
    assert_eq!(w.stream_arn(), arn);
    assert_eq!(
        w.table_arn(),
        "arn:aws:dynamodb:us-east-1:123456789012:table/shop"
    );
    let mut prev_seq = 0u128;
    let mut prev_t = 0;
    for (i, r) in recs.iter().enumerate() {
        let id = r["eventID"].as_str().unwrap();
        assert!(
            id.len() == 32 && id.bytes().all(|c| c.is_ascii_hexdigit()),
            "{id}"
        );
        assert_eq!(r["eventVersion"], "1.1");
        assert_eq!(r["eventSource"], "aws:dynamodb");
        assert_eq!(r["awsRegion"], "us-east-1");
        assert_eq!(r["eventSourceARN"], arn);
        let d = &r["dynamodb"];
        assert_eq!(d["StreamViewType"], "NEW_AND_OLD_IMAGES");
        let seq = d["SequenceNumber"].as_str().unwrap();
        assert!((21..=22).contains(&seq.len()));
        let seq: u128 = seq.parse().unwrap();
        assert!(seq > prev_seq, "sequence numbers must increase");
        prev_seq = seq;
        let t = d["ApproximateCreationDateTime"]
            .as_i64()
            .expect("whole seconds");
        assert_eq!(
            t,
            cfg.start_epoch_secs + i as i64 / i64::from(cfg.records_per_second)
        );
        assert!(t >= prev_t);
        prev_t = t;
        assert!(d["SizeBytes"].as_u64().unwrap() > 0);
        let allowed: BTreeSet<&str> = [
            "eventID",
            "eventName",
            "eventVersion",
            "eventSource",
            "awsRegion",
            "dynamodb",
            "eventSourceARN",
            "userIdentity",
        ]
        .into_iter()
        .collect();
        assert!(r
            .as_object()
            .unwrap()
            .keys()
            .all(|k| allowed.contains(k.as_str())));
        if let Some(u) = r.get("userIdentity") {
            assert_eq!(event(r), "REMOVE");
            assert_eq!(
                u,
                &json!({"type": "Service", "principalId": "dynamodb.amazonaws.com"})
            );
            let old = image(r, "OldImage").unwrap();
            let expires: i64 = old["expires_at"]["N"].as_str().unwrap().parse().unwrap();
            assert!(expires < t, "TTL deletion of an unexpired item");
        }
    }
}

#[test]
fn item_timestamps_agree_with_the_stream_timestamp() {
    let recs = &default_10k()[..2_000];
    let secs = |v: &Value| {
        chrono::DateTime::parse_from_rfc3339(v["S"].as_str().unwrap())
            .unwrap()
            .timestamp()
    };
    for r in recs.iter().filter(|r| event(r) != "REMOVE") {
        let t = r["dynamodb"]["ApproximateCreationDateTime"]
            .as_i64()
            .unwrap();
        let new = image(r, "NewImage").unwrap();
        if event(r) == "INSERT" {
            assert_eq!(secs(&new["created_at"]), t);
        }
        let at = new
            .get("updated_at")
            .or_else(|| new.get("last_seen_at"))
            .unwrap();
        assert!(secs(at) <= t);
    }
}

#[test]
fn numeric_sort_key_mode() {
    let cfg = WorkloadConfig {
        numeric_sort_key: true,
        ..WorkloadConfig::default()
    };
    let (w, recs) = records(cfg, 3_000);
    assert_eq!(w.key_schema()[1].attribute_type, "N");
    for r in &recs {
        assert!(
            r["dynamodb"]["Keys"]["sk"]["N"].is_string(),
            "{}",
            r["dynamodb"]["Keys"]
        );
    }
    // Keys stay unique: no two live items share (pk, sk).
    let keys: BTreeSet<String> = w
        .current_items()
        .map(|i| serde_json::to_string(&json!([i["pk"], i["sk"]])).unwrap())
        .collect();
    assert_eq!(keys.len(), w.item_count());
}

#[test]
fn preexisting_population_is_backdated_and_first_changes_follow_it() {
    let cfg = WorkloadConfig {
        emit_initial_inserts: false,
        initial_users: 50,
        ..WorkloadConfig::default()
    };
    let mut w = Workload::new(cfg.clone());
    let initial: BTreeMap<String, Item> = w
        .initial_items()
        .iter()
        .map(|i| {
            (
                serde_json::to_string(&json!({"pk": i["pk"], "sk": i["sk"]})).unwrap(),
                i.clone(),
            )
        })
        .collect();
    assert!(initial.len() >= 50);
    for i in initial.values() {
        let created = chrono::DateTime::parse_from_rfc3339(i["created_at"]["S"].as_str().unwrap())
            .unwrap()
            .timestamp();
        assert!(created < cfg.start_epoch_secs);
    }
    let mut table = initial;
    for r in w.by_ref().take(3_000) {
        let key = key_of(&r);
        if let Some(old) = image(&r, "OldImage") {
            assert_eq!(table.get(&key), Some(old));
        }
        match image(&r, "NewImage") {
            Some(new) => table.insert(key, new.clone()),
            None => table.remove(&key),
        };
    }
    assert_eq!(table.len(), w.item_count());
}

#[test]
fn event_wrappers() {
    let mut w = Workload::new(WorkloadConfig::default());
    let recs: Vec<Value> = w.by_ref().take(3).collect();
    let e = lambda_event(&recs);
    assert_eq!(e, json!({ "Records": recs }));
    let shard = w.shard_id().to_owned();
    assert!(shard.starts_with("shardId-"));
    let t = tumbling_window_event(
        &recs,
        &shard,
        &w.stream_arn(),
        (1_795_672_800, 1_795_672_860),
        json!({}),
    );
    assert_eq!(t["window"]["start"], "2026-11-26T06:00:00Z");
    assert_eq!(t["window"]["end"], "2026-11-26T06:01:00Z");
    assert_eq!(t["shardId"], shard.as_str());
    assert_eq!(t["Records"].as_array().unwrap().len(), 3);
    let item = w.current_items().next().unwrap().clone();
    assert_eq!(
        put_request(&item)["PutRequest"]["Item"],
        Value::Object(item)
    );
}

#[test]
fn zero_rate_and_zero_users_still_work() {
    let cfg = WorkloadConfig {
        records_per_second: 0,
        initial_users: 0,
        ..WorkloadConfig::default()
    };
    let (w, recs) = records(cfg, 500);
    assert_eq!(recs.len(), 500);
    assert!(w.item_count() > 0);
}
