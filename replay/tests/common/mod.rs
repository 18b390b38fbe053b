//! Builders shared by the replay tests: change records, a store seeded as capture would leave
//! it (change files, checkpoint, table description), and the naive reference state.

#![allow(dead_code)]

use chrono::DateTime;
use rewind_capture::{save_checkpoint, Checkpoint, TableDescription};
use rewind_format::{
    encode_key, item_to_json, write_change_file, AttributeValue, ChangeRecord, EventName,
    WriteOptions,
};
use rewind_store::layout::{ChangeFile, HourPartition};
use rewind_store::{ObjectStore, Store};
use std::collections::{BTreeMap, HashMap};

pub const TABLE: &str = "orders";
pub const LABEL: &str = "2026-11-26T06:00:00.000";
/// The stream label's time, ms.
pub const T0_MS: i64 = 1_795_672_800_000;

/// A change of item `pk = key`, carrying `value` unless it is a REMOVE.
pub fn record(
    key: &str,
    label: &str,
    seq: u64,
    stamp_ms: i64,
    event: EventName,
    value: u32,
) -> ChangeRecord {
    let keys = HashMap::from([("pk".to_string(), AttributeValue::S(key.to_string()))]);
    let image = || {
        let mut item = keys.clone();
        item.insert("v".into(), AttributeValue::N(value.to_string()));
        item.insert("blob".into(), AttributeValue::B(vec![value as u8, 0, 255]));
        item_to_json(&item)
    };
    ChangeRecord {
        table_name: TABLE.into(),
        event_name: event,
        stream_label: label.into(),
        sequence_number: format!("{seq:040}"),
        approximate_creation_time_ms: stamp_ms,
        key: encode_key(&keys).unwrap(),
        keys: item_to_json(&keys),
        new_image: (event != EventName::Remove).then(image),
        old_image: (event == EventName::Remove).then(image),
        old_image_hash: None,
        user_identity: None,
        shard_id: "shardId-1".into(),
        ingested_at_ms: stamp_ms,
    }
}

/// Writes `records` as change files of at most `chunk` records each, grouped by stream label
/// and hour as capture does; `order` shuffles which records go together. Returns the keys.
pub async fn write_files(
    store: &dyn ObjectStore,
    records: &[ChangeRecord],
    chunk: usize,
) -> Vec<String> {
    let mut groups: BTreeMap<(String, HourPartition), Vec<ChangeRecord>> = BTreeMap::new();
    for r in records {
        let hour = HourPartition::of(
            DateTime::from_timestamp_millis(r.approximate_creation_time_ms).unwrap(),
        );
        groups
            .entry((r.stream_label.clone(), hour))
            .or_default()
            .push(r.clone());
    }
    let mut keys = Vec::new();
    for ((label, hour), group) in groups {
        for part in group.chunks(chunk.max(1)) {
            let first = part.iter().map(|r| &r.sequence_number).min().unwrap();
            let last = part.iter().map(|r| &r.sequence_number).max().unwrap();
            let file = ChangeFile::batch(TABLE, hour, &label, "shardId-1", first, last).unwrap();
            let key = file.key();
            // Two chunks with the same range (duplicates) would share a name: make it distinct.
            let key = if keys.contains(&key) {
                ChangeFile::compacted(TABLE, hour, &format!("dup{}", keys.len()))
                    .unwrap()
                    .key()
            } else {
                key
            };
            let written = write_change_file(&key, part.to_vec(), &WriteOptions::default()).unwrap();
            store.put(&key, written.bytes).await.unwrap();
            keys.push(key);
        }
    }
    keys
}

/// The description and checkpoint capture leaves: the table created with its stream at
/// [`T0_MS`], the shard read through `read_through_ms`.
pub async fn seed_capture_state(store: &dyn ObjectStore, read_through_ms: i64) {
    let description: TableDescription = serde_json::from_value(serde_json::json!({
        "format_version": 1,
        "table_name": TABLE,
        "table_arn": format!("arn:aws:dynamodb:us-east-1:123456789012:table/{TABLE}"),
        "creation_date_time": "2026-11-26T06:00:00.000Z",
        "key_schema": [{"attribute_name": "pk", "key_type": "HASH"}],
        "attribute_definitions": [{"attribute_name": "pk", "attribute_type": "S"}],
        "billing_mode": "PAY_PER_REQUEST",
        "stream": {"enabled": true, "view_type": "NEW_AND_OLD_IMAGES", "latest_stream_label": LABEL},
        "captured_at": "2026-11-26T06:00:01.000Z"
    }))
    .unwrap();
    rewind_capture::save_description_if_changed(
        store,
        &description,
        DateTime::from_timestamp_millis(T0_MS + 1000).unwrap(),
    )
    .await
    .unwrap();
    save_checkpoint(
        store,
        &Checkpoint {
            table: TABLE.into(),
            stream_label: LABEL.into(),
            shard_id: "shardId-1".into(),
            parent_shard_id: None,
            last_sequence_number: None,
            last_stamp_ms: None,
            read_through_ms,
            shard_ended: false,
            updated_at_ms: read_through_ms,
            first_captured_ms: Some(T0_MS + 1000),
        },
    )
    .await
    .unwrap();
}

/// The naive reference: replay every change stamped before `until_ms` in (label, sequence)
/// order into a map. Key JSON → item JSON.
pub fn reference(records: &[ChangeRecord], until_ms: i64) -> BTreeMap<String, String> {
    let mut sorted: Vec<&ChangeRecord> = records
        .iter()
        .filter(|r| r.approximate_creation_time_ms < until_ms)
        .collect();
    sorted.sort_by(|a, b| {
        (&a.stream_label, &a.sequence_number).cmp(&(&b.stream_label, &b.sequence_number))
    });
    let mut state = BTreeMap::new();
    for r in sorted {
        match r.event_name {
            EventName::Remove => {
                state.remove(&r.keys);
            }
            _ => {
                state.insert(r.keys.clone(), r.new_image.clone().unwrap());
            }
        }
    }
    state
}

/// A store in a fresh temporary directory.
pub fn local_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store: Store = std::sync::Arc::new(rewind_store::LocalStore::new(dir.path()));
    (dir, store)
}
