//! Change-log builders for tests of the replay and compactor crates: change records, a store
//! seeded as capture would leave it (change files, checkpoint, table description), and the
//! naive reference state (replay everything in order into a map).

use chrono::DateTime;
use rewind_catalog::layout::{self, ChangeFile, HourPartition};
use rewind_format::{
    encode_key, item_to_json, write_change_file, AttributeValue, ChangeRecord, EventName,
    WriteOptions,
};
use rewind_store::{ObjectStore, Store};
use std::collections::{BTreeMap, BTreeSet, HashMap};

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
/// [`T0_MS`], the shard read through `read_through_ms`; and the verdict a full backup of the new,
/// empty table leaves once compared with the log: the log covers the whole life. Written as the
/// JSON docs/FORMAT.md describes (this crate does not depend on the capture crate, whose own
/// tests use it).
pub async fn seed_capture_state(store: &dyn ObjectStore, read_through_ms: i64) {
    seed_capture_state_unconfirmed(store, read_through_ms).await;
    let verdict = serde_json::json!({
        "verdict": "confirmed",
        "snapshot": null,
        "compared_at": null,
        "reason": "seeded: the table was empty when its stream began",
        "decided_at_ms": T0_MS + 1000
    });
    store
        .put(
            &layout::whole_life_confirmed(TABLE),
            serde_json::to_vec(&verdict).unwrap().into(),
        )
        .await
        .unwrap();
}

/// [`seed_capture_state`] without the whole-life verdict: what capture alone leaves.
pub async fn seed_capture_state_unconfirmed(store: &dyn ObjectStore, read_through_ms: i64) {
    let description = description_json();
    let at = DateTime::from_timestamp_millis(T0_MS + 1000).unwrap();
    store
        .put(
            &layout::description_key(TABLE, at),
            serde_json::to_vec(&description).unwrap().into(),
        )
        .await
        .unwrap();
    let checkpoint = serde_json::json!({
        "table": TABLE,
        "stream_label": LABEL,
        "shard_id": "shardId-1",
        "last_sequence_number": null,
        "last_stamp_ms": null,
        "read_through_ms": read_through_ms,
        "shard_ended": false,
        "updated_at_ms": read_through_ms,
        "first_captured_ms": T0_MS + 1000
    });
    let key = layout::CheckpointKey::new(TABLE, LABEL, "shardId-1")
        .unwrap()
        .key();
    store
        .put(&key, serde_json::to_vec(&checkpoint).unwrap().into())
        .await
        .unwrap();
}

/// The table's description as capture stores it (docs/FORMAT.md): keyed `pk`, created at
/// [`T0_MS`] with its NEW_AND_OLD_IMAGES stream [`LABEL`].
pub fn description_json() -> serde_json::Value {
    serde_json::json!({
        "format_version": 1,
        "table_name": TABLE,
        "table_arn": format!("arn:aws:dynamodb:us-east-1:123456789012:table/{TABLE}"),
        "creation_date_time": "2026-11-26T06:00:00.000Z",
        "key_schema": [{"attribute_name": "pk", "key_type": "HASH"}],
        "attribute_definitions": [{"attribute_name": "pk", "attribute_type": "S"}],
        "billing_mode": "PAY_PER_REQUEST",
        "stream": {"enabled": true, "view_type": "NEW_AND_OLD_IMAGES", "latest_stream_label": LABEL},
        "captured_at": "2026-11-26T06:00:01.000Z"
    })
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

/// One step of a random history.
#[derive(Debug, Clone)]
pub struct Op {
    /// Which of 24 keys.
    pub key: u8,
    /// Picks REMOVE (1 in 4) or MODIFY for a present key; absent keys are inserted.
    pub event: u8,
    /// Milliseconds since the previous change.
    pub gap_ms: u32,
    /// Start a new stream (a re-enabled stream: a later label, low sequence numbers).
    pub new_stream: bool,
}

/// The change records of a history: consistent events (INSERT for absent keys, MODIFY or
/// REMOVE for present ones), increasing stamps and sequence numbers from [`T0_MS`] on.
pub fn history(ops: &[Op]) -> Vec<ChangeRecord> {
    let mut label = LABEL.to_string();
    let mut seq = 1000u64;
    let mut stamp = T0_MS;
    let mut present = BTreeSet::new();
    let mut out = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        stamp += op.gap_ms as i64;
        if op.new_stream {
            // A re-enabled stream: a later label, sequence numbers start again low.
            stamp += 1;
            let t = chrono::DateTime::from_timestamp_millis(stamp).unwrap();
            label = t.format("%Y-%m-%dT%H:%M:%S%.3f").to_string();
            seq = 10;
        }
        seq += 1 + (op.gap_ms as u64 % 7);
        let key = format!("k{}", op.key % 24);
        let event = match (present.contains(&key), op.event % 4) {
            (false, _) => EventName::Insert,
            (true, 0) => EventName::Remove,
            (true, _) => EventName::Modify,
        };
        if event == EventName::Remove {
            present.remove(&key);
        } else {
            present.insert(key.clone());
        }
        out.push(record(&key, &label, seq, stamp, event, i as u32));
    }
    out
}

/// What a restore target's `scan` sends, collected as [`reference`] keys its state (key JSON of
/// `pk` → item JSON): drain `rx` while the scan runs, e.g.
/// `tokio::join!(target.scan(tx), items_by_key(rx))`.
pub async fn items_by_key(
    mut rx: tokio::sync::mpsc::Receiver<Vec<rewind_format::Item>>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    while let Some(page) = rx.recv().await {
        for item in page {
            let keys: HashMap<String, AttributeValue> = item
                .iter()
                .filter(|(k, _)| *k == "pk")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            out.insert(item_to_json(&keys), item_to_json(&item));
        }
    }
    out
}
