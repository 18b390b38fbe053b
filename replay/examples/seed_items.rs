//! Seeds a local store with the change log of a table of N items (about 1 KB each), as capture
//! would leave it: change files of 1,000 records, a table description, a checkpoint read through
//! the end, and the whole-life verdict a backup of the new, empty table would have given. Streams the records, so it seeds millions of items in little memory (the workload
//! generator keeps every item as a JSON tree and does not fit 1M items). For the memory and
//! reconstruction benchmarks (tests/bench/reconstruct_rss.sh).
//!
//!   cargo run --release -p rewind-replay --example seed_items -- DIR ITEMS [MS_PER_RECORD (2)] [INSERT_PERCENT (50)] [PAD_BYTES (0)]
//!
//! The items average about 470 bytes as DynamoDB counts item size (attribute names plus values),
//! 845 bytes as DynamoDB JSON. PAD_BYTES adds a string attribute `memo` of that many random
//! letters to every item: 530 makes them about 1 KB by DynamoDB's count (one write unit each),
//! 1.4 KB as JSON (tests/bench/restore_writer_capacity.sh).

use chrono::DateTime;
use rand::{Rng, SeedableRng};
use rewind_catalog::layout::{ChangeFile, HourPartition};
use rewind_catalog::{save_checkpoint, Checkpoint, TableDescription};
use rewind_format::{
    encode_key, item_to_json, write_change_file, AttributeValue, ChangeRecord, EventName,
    WriteOptions,
};
use rewind_store::{LocalStore, ObjectStore};
use std::collections::HashMap;

const TABLE: &str = "shop";
const LABEL: &str = "2026-11-26T06:00:00.000";
const T0_MS: i64 = 1_795_672_800_000;
const STATUSES: [&str; 5] = ["PENDING", "PAID", "PACKED", "SHIPPED", "DELIVERED"];
const CITIES: [&str; 6] = ["Lyon", "Porto", "Leeds", "Graz", "Turku", "Split"];

fn item<R: Rng>(rng: &mut R, n: u64, pad: usize) -> HashMap<String, AttributeValue> {
    let s = |v: String| AttributeValue::S(v);
    let num = |v: String| AttributeValue::N(v);
    let lines: Vec<AttributeValue> = (0..rng.gen_range(1..6))
        .map(|i| {
            AttributeValue::M(HashMap::from([
                (
                    "sku".into(),
                    s(format!("SKU-{:06}", rng.gen_range(0..50_000))),
                ),
                ("qty".into(), num(rng.gen_range(1..5).to_string())),
                (
                    "price".into(),
                    num(format!(
                        "{}.{:02}",
                        rng.gen_range(1..400),
                        rng.gen_range(0..100)
                    )),
                ),
                ("line".into(), num(i.to_string())),
            ]))
        })
        .collect();
    let mut item = HashMap::from([
        ("pk".into(), s(format!("CUSTOMER#{:08}", n / 3))),
        ("sk".into(), s(format!("ORDER#{:010}", n))),
        ("status".into(), s(STATUSES[rng.gen_range(0..5)].into())),
        (
            "total".into(),
            num(format!(
                "{}.{:02}",
                rng.gen_range(5..2000),
                rng.gen_range(0..100)
            )),
        ),
        (
            "placed_at".into(),
            num((T0_MS / 1000 - rng.gen_range(0..9_000_000)).to_string()),
        ),
        ("lines".into(), AttributeValue::L(lines)),
        (
            "ship_to".into(),
            AttributeValue::M(HashMap::from([
                ("city".into(), s(CITIES[rng.gen_range(0..6)].into())),
                (
                    "street".into(),
                    s(format!(
                        "{} Rue des Lilas, appt {}",
                        rng.gen_range(1..300),
                        rng.gen_range(1..90)
                    )),
                ),
                (
                    "zip".into(),
                    s(format!("{:05}", rng.gen_range(1000..99999))),
                ),
            ])),
        ),
        (
            "tags".into(),
            AttributeValue::Ss(vec![
                "gift".into(),
                format!("promo-{}", rng.gen_range(0..40)),
            ]),
        ),
        (
            "signature".into(),
            AttributeValue::B((0..96).map(|_| rng.gen()).collect()),
        ),
        ("express".into(), AttributeValue::Bool(rng.gen())),
        ("coupon".into(), AttributeValue::Null(true)),
        (
            "note".into(),
            s("Leave the parcel with the neighbour if nobody answers the door.".into()),
        ),
    ]);
    if pad > 0 {
        let memo = (0..pad).map(|_| rng.gen_range(b'a'..=b'z') as char);
        item.insert("memo".into(), s(memo.collect()));
    }
    item
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let number = |s: &String, what: &str| {
        s.parse::<i64>()
            .unwrap_or_else(|_| panic!("{what} is a number"))
    };
    let (dir, items) = match &args[..] {
        [_, dir, n, ..] if args.len() <= 6 => (dir, number(n, "ITEMS")),
        _ => panic!("usage: seed_items DIR ITEMS [MS_PER_RECORD] [INSERT_PERCENT] [PAD_BYTES]"),
    };
    let optional =
        |i: usize, what: &str, default: i64| args.get(i).map_or(default, |a| number(a, what));
    let step_ms = optional(3, "MS_PER_RECORD", 2);
    let insert_percent = optional(4, "INSERT_PERCENT", 50);
    let pad = optional(5, "PAD_BYTES", 0) as usize;
    let items = items as u64;
    let store = LocalStore::new(dir);
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut live = vec![false; items as usize];
    let (mut seq, mut stamp, mut written, mut records) = (1_000u64, T0_MS + 1_000, 0u64, 0u64);
    let mut batch: Vec<ChangeRecord> = Vec::with_capacity(1000);
    let mut inserted = 0u64;
    // Inserts of every item, with updates (1 in 2) and deletes (1 in 20) of earlier items mixed in.
    while inserted < items || !batch.is_empty() {
        if inserted < items {
            let roll = rng.gen_range(0..100);
            let (n, event) = if roll < insert_percent || inserted == 0 {
                inserted += 1;
                (inserted - 1, EventName::Insert)
            } else {
                let n = rng.gen_range(0..inserted);
                match (live[n as usize], roll < insert_percent + 3) {
                    (true, true) => (n, EventName::Remove),
                    (true, false) => (n, EventName::Modify),
                    (false, _) => (n, EventName::Insert),
                }
            };
            live[n as usize] = event != EventName::Remove;
            let full = item(&mut rng, n, pad);
            let keys: HashMap<String, AttributeValue> = full
                .iter()
                .filter(|(k, _)| *k == "pk" || *k == "sk")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            seq += 1;
            stamp += step_ms;
            let image = item_to_json(&full);
            batch.push(ChangeRecord {
                table_name: TABLE.into(),
                event_name: event,
                stream_label: LABEL.into(),
                sequence_number: format!("{seq:040}"),
                approximate_creation_time_ms: stamp / 1000 * 1000,
                key: encode_key(&keys).unwrap(),
                keys: item_to_json(&keys),
                new_image: (event != EventName::Remove).then(|| image.clone()),
                old_image: (event == EventName::Remove).then_some(image),
                old_image_hash: None,
                user_identity: None,
                shard_id: "shardId-00000001".into(),
                ingested_at_ms: stamp,
            });
        }
        let hour_ends = batch.first().is_some_and(|f| {
            HourPartition::of(
                DateTime::from_timestamp_millis(f.approximate_creation_time_ms).unwrap(),
            ) != HourPartition::of(DateTime::from_timestamp_millis(stamp).unwrap())
        });
        if batch.len() == 1000 || hour_ends || (inserted == items && !batch.is_empty()) {
            let hour_of = |r: &ChangeRecord| {
                HourPartition::of(
                    DateTime::from_timestamp_millis(r.approximate_creation_time_ms).unwrap(),
                )
            };
            let hour = hour_of(&batch[0]);
            let cut = batch
                .iter()
                .position(|r| hour_of(r) != hour)
                .unwrap_or(batch.len());
            let rest = batch.split_off(cut);
            let first = batch.first().unwrap().sequence_number.clone();
            let last = batch.last().unwrap().sequence_number.clone();
            let key = ChangeFile::batch(TABLE, hour, LABEL, "shardId-00000001", &first, &last)
                .unwrap()
                .key();
            records += batch.len() as u64;
            let file = write_change_file(
                &key,
                std::mem::replace(&mut batch, rest),
                &WriteOptions::default(),
            )
            .unwrap();
            written += file.bytes.len() as u64;
            store.put(&key, file.bytes).await.unwrap();
        }
    }
    let description: TableDescription = serde_json::from_value(serde_json::json!({
        "format_version": 1,
        "table_name": TABLE,
        "table_arn": format!("arn:aws:dynamodb:us-east-1:123456789012:table/{TABLE}"),
        "creation_date_time": "2026-11-26T06:00:00.000Z",
        "key_schema": [{"attribute_name": "pk", "key_type": "HASH"}, {"attribute_name": "sk", "key_type": "RANGE"}],
        "attribute_definitions": [{"attribute_name": "pk", "attribute_type": "S"}, {"attribute_name": "sk", "attribute_type": "S"}],
        "billing_mode": "PAY_PER_REQUEST",
        "stream": {"enabled": true, "view_type": "NEW_AND_OLD_IMAGES", "latest_stream_label": LABEL},
        "captured_at": "2026-11-26T06:00:01.000Z"
    }))
    .unwrap();
    rewind_catalog::save_description_if_changed(
        &store,
        &description,
        DateTime::from_timestamp_millis(T0_MS + 1000).unwrap(),
    )
    .await
    .unwrap();
    save_checkpoint(
        &store,
        &Checkpoint {
            table: TABLE.into(),
            stream_label: LABEL.into(),
            shard_id: "shardId-00000001".into(),
            parent_shard_id: None,
            last_sequence_number: Some(format!("{seq:040}")),
            last_stamp_ms: Some(stamp),
            read_through_ms: stamp + 5_000,
            shard_ended: false,
            updated_at_ms: stamp + 5_000,
            first_captured_ms: Some(T0_MS + 1_000),
        },
    )
    .await
    .unwrap();
    // The verdict a full backup of the new, empty table leaves once compared with the log (the
    // records start with every item's INSERT): the log covers the whole life.
    rewind_catalog::record_whole_life(
        &store,
        TABLE,
        &rewind_catalog::WholeLifeEvidence {
            verdict: rewind_catalog::WholeLifeVerdict::Confirmed,
            snapshot: None,
            compared_at: None,
            reason: "seeded: the table was empty when its stream began".into(),
            decided_at_ms: T0_MS + 1_000,
        },
    )
    .await
    .unwrap();
    let live_items = live.iter().filter(|l| **l).count();
    println!("{{\"records\": {records}, \"items\": {live_items}, \"bytes\": {written}}}");
}
