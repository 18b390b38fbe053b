//! capture_batch at the library level: every record lands exactly once, unconvertible records are
//! quarantined, and store failures at any step leave no gap and no duplicate after a retry.

use rewind_capture::{capture_batch, BatchOutcome, CaptureOptions, ShardBatch, StreamInput};
use rewind_catalog::layout;
use rewind_catalog::{list_quarantined, load_checkpoint};
use rewind_format::{read_change_file, ChangeRecord};
use rewind_store::{list_all, FaultKind, FaultyStore, LocalStore, ObjectStore, Op, Store};
use rewind_workload::{Workload, WorkloadConfig};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

const SHARD: &str = "shardId-00000001764000000000-0001";
const NOW: i64 = 1_795_800_000_000; // after every workload stamp

fn workload(n: usize, records_per_second: u32) -> (Workload, Vec<Value>) {
    let mut w = Workload::new(WorkloadConfig {
        seed: 11,
        records_per_second,
        ..WorkloadConfig::default()
    });
    let records = w.by_ref().take(n).collect();
    (w, records)
}

fn batch(w: &Workload, records: &[Value]) -> ShardBatch {
    ShardBatch {
        table: w.config().table.clone(),
        stream_label: w.config().stream_label.clone(),
        shard_id: SHARD.into(),
        parent_shard_id: None,
        records: records.iter().cloned().map(StreamInput::Lambda).collect(),
        read_through_ms: None,
        shard_ended: false,
    }
}

/// Every row a reader sees, keyed by identity, with how often each identity appears.
async fn visible(
    store: &dyn ObjectStore,
    table: &str,
) -> HashMap<(Vec<u8>, String, String), usize> {
    let mut seen = HashMap::new();
    for meta in list_all(store, &layout::changes_prefix(table))
        .await
        .unwrap()
    {
        let body = store.get(&meta.key).await.unwrap();
        for r in read_change_file(&meta.key, body).unwrap() {
            *seen.entry(identity(&r)).or_insert(0) += 1;
        }
    }
    seen
}

fn identity(r: &ChangeRecord) -> (Vec<u8>, String, String) {
    (
        r.key.clone(),
        r.stream_label.clone(),
        r.sequence_number.clone(),
    )
}

fn expected(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .map(|r| {
            rewind_format::pad_sequence_number(r["dynamodb"]["SequenceNumber"].as_str().unwrap())
                .unwrap()
        })
        .collect()
}

fn assert_exactly_once(seen: &HashMap<(Vec<u8>, String, String), usize>, records: &[Value]) {
    let mut seqs: Vec<&String> = seen.keys().map(|k| &k.2).collect();
    seqs.sort();
    let mut want = expected(records);
    want.sort();
    assert_eq!(
        seqs,
        want.iter().collect::<Vec<_>>(),
        "every record, no other"
    );
    assert!(
        seen.values().all(|&n| n == 1),
        "no duplicates: {:?}",
        seen.values().max()
    );
}

fn local() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store: Store = Arc::new(LocalStore::new(dir.path()));
    (dir, store)
}

#[tokio::test]
async fn batches_land_exactly_once_with_checkpoints() {
    let (_dir, store) = local();
    let (w, records) = workload(2_000, 5);
    for chunk in records.chunks(250) {
        let out = capture_batch(
            store.as_ref(),
            &batch(&w, chunk),
            &CaptureOptions::default(),
            NOW,
        )
        .await;
        assert!(out.failure.is_none(), "{:?}", out.failure);
        assert_eq!(out.captured, chunk.len());
    }
    assert_exactly_once(&visible(store.as_ref(), "shop").await, &records);
    let cp = load_checkpoint(store.as_ref(), "shop", &w.config().stream_label, SHARD)
        .await
        .unwrap()
        .unwrap();
    let last = records.last().unwrap();
    assert_eq!(
        Some(expected(std::slice::from_ref(last))[0].clone()),
        cp.last_sequence_number
    );
    assert_eq!(
        cp.read_through_ms,
        last["dynamodb"]["ApproximateCreationDateTime"]
            .as_i64()
            .unwrap()
            * 1000
    );
}

#[tokio::test]
async fn a_batch_spanning_hours_writes_one_object_per_hour() {
    let (_dir, store) = local();
    // 1 record/s: 5,000 records span more than one hour.
    let (w, records) = workload(5_000, 1);
    let out = capture_batch(
        store.as_ref(),
        &batch(&w, &records),
        &CaptureOptions::default(),
        NOW,
    )
    .await;
    assert!(out.failure.is_none());
    assert!(out.objects.len() >= 2, "{:?}", out.objects);
    for key in &out.objects {
        let file = layout::ChangeFile::parse(key).unwrap();
        let rows = read_change_file(key, store.get(key).await.unwrap()).unwrap();
        for r in rows {
            let at =
                chrono::DateTime::from_timestamp_millis(r.approximate_creation_time_ms).unwrap();
            assert_eq!(layout::HourPartition::of(at), file.hour, "{key}");
        }
    }
    assert_exactly_once(&visible(store.as_ref(), "shop").await, &records);
}

#[tokio::test]
async fn unconvertible_records_are_quarantined_and_capture_goes_on() {
    let (_dir, store) = local();
    let (w, mut records) = workload(300, 5);
    records[100]["dynamodb"]["Keys"] = serde_json::json!({"pk": {"BOOL": true}});
    records[200]["dynamodb"]["NewImage"]["price"] = serde_json::json!({"N": "12,50"});
    records[200]["eventName"] = serde_json::json!("MODIFY");
    let out = capture_batch(
        store.as_ref(),
        &batch(&w, &records),
        &CaptureOptions::default(),
        NOW,
    )
    .await;
    assert!(out.failure.is_none());
    assert_eq!((out.captured, out.quarantined), (298, 2));
    let q = list_quarantined(store.as_ref(), "shop").await.unwrap();
    let mut fields: Vec<_> = q.iter().map(|e| e.field.as_str()).collect();
    fields.sort();
    assert_eq!(fields, ["Keys", "NewImage"]);
    assert!(q.iter().any(|e| e.record == records[100]), "kept raw");
    let good: Vec<Value> = records
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 100 && *i != 200)
        .map(|(_, r)| r.clone())
        .collect();
    assert_exactly_once(&visible(store.as_ref(), "shop").await, &good);
    // The checkpoint moved past the quarantined records.
    let cp = load_checkpoint(store.as_ref(), "shop", &w.config().stream_label, SHARD)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        cp.last_sequence_number,
        Some(expected(&records[299..])[0].clone())
    );
}

async fn retry_until_done(
    store: &dyn ObjectStore,
    w: &Workload,
    records: &[Value],
    first: BatchOutcome,
) -> usize {
    let mut from = first.failure.as_ref().map(|f| f.first_failed);
    let mut retries = 0;
    while let Some(start) = from {
        retries += 1;
        let out = capture_batch(
            store,
            &batch(w, &records[start..]),
            &CaptureOptions::default(),
            NOW + 1_000,
        )
        .await;
        from = out.failure.map(|f| start + f.first_failed);
        assert!(retries < 10);
    }
    retries
}

#[tokio::test]
async fn a_failed_object_write_stops_the_batch_there_and_a_retry_fills_it() {
    let (_dir, inner) = local();
    // 1 record/s over 2 hours: several runs. The second object write fails.
    let (w, records) = workload(5_000, 1);
    let faulty = FaultyStore::new(inner.clone()).fail_nth(Op::Put, 2, FaultKind::Transient);
    let out = capture_batch(
        &faulty,
        &batch(&w, &records),
        &CaptureOptions::default(),
        NOW,
    )
    .await;
    let failure = out.failure.as_ref().expect("the second put fails");
    assert!(failure.error.is_retryable());
    assert!(failure.first_failed > 0, "the first run is durable");
    assert_eq!(
        failure.sequence_number.as_deref(),
        records[failure.first_failed]["dynamodb"]["SequenceNumber"].as_str()
    );
    assert_eq!(out.objects.len(), 1);
    // Earlier records are durable and readable; no checkpoint yet.
    assert_eq!(
        visible(inner.as_ref(), "shop").await.len(),
        failure.first_failed
    );
    assert!(
        load_checkpoint(inner.as_ref(), "shop", &w.config().stream_label, SHARD)
            .await
            .unwrap()
            .is_none()
    );
    retry_until_done(inner.as_ref(), &w, &records, out).await;
    assert_exactly_once(&visible(inner.as_ref(), "shop").await, &records);
}

#[tokio::test]
async fn a_failed_checkpoint_write_retries_the_batch_onto_the_same_objects() {
    let (_dir, inner) = local();
    let (w, records) = workload(400, 5);
    // One object, then the checkpoint: the second put fails.
    let faulty = FaultyStore::new(inner.clone()).fail_nth(Op::Put, 2, FaultKind::Throttled);
    let out = capture_batch(
        &faulty,
        &batch(&w, &records),
        &CaptureOptions::default(),
        NOW,
    )
    .await;
    assert_eq!(out.objects.len(), 1);
    let failure = out.failure.as_ref().expect("checkpoint write fails");
    assert_eq!(failure.first_failed, 0, "the whole batch is retried");
    let objects_before = list_all(inner.as_ref(), "changes/").await.unwrap();
    retry_until_done(inner.as_ref(), &w, &records, out).await;
    let objects_after = list_all(inner.as_ref(), "changes/").await.unwrap();
    assert_eq!(
        objects_before.iter().map(|o| &o.key).collect::<Vec<_>>(),
        objects_after.iter().map(|o| &o.key).collect::<Vec<_>>(),
        "an identical retry rewrites the same object"
    );
    assert_exactly_once(&visible(inner.as_ref(), "shop").await, &records);
    assert!(
        load_checkpoint(inner.as_ref(), "shop", &w.config().stream_label, SHARD)
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn a_failed_quarantine_write_stops_the_batch_at_that_record() {
    let (_dir, inner) = local();
    let (w, mut records) = workload(300, 5);
    records[150]["dynamodb"]["Keys"] = serde_json::json!({});
    // Puts: the run before the bad record (1), then the quarantine entry (2) fails.
    let faulty = FaultyStore::new(inner.clone()).fail_nth(Op::Put, 2, FaultKind::Transient);
    let out = capture_batch(
        &faulty,
        &batch(&w, &records),
        &CaptureOptions::default(),
        NOW,
    )
    .await;
    assert_eq!(out.failure.as_ref().unwrap().first_failed, 150);
    retry_until_done(inner.as_ref(), &w, &records, out).await;
    assert_eq!(
        list_quarantined(inner.as_ref(), "shop")
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn the_same_batch_twice_writes_the_same_objects() {
    let (_dir, store) = local();
    let (w, records) = workload(500, 5);
    let a = capture_batch(
        store.as_ref(),
        &batch(&w, &records),
        &CaptureOptions::default(),
        NOW,
    )
    .await;
    let b = capture_batch(
        store.as_ref(),
        &batch(&w, &records),
        &CaptureOptions::default(),
        NOW + 60_000,
    )
    .await;
    assert_eq!(a.objects, b.objects);
    assert_exactly_once(&visible(store.as_ref(), "shop").await, &records);
}

#[tokio::test]
async fn an_empty_read_only_advances_read_through() {
    let (_dir, store) = local();
    let (w, records) = workload(50, 5);
    capture_batch(
        store.as_ref(),
        &batch(&w, &records),
        &CaptureOptions::default(),
        NOW,
    )
    .await;
    let mut empty = batch(&w, &[]);
    empty.read_through_ms = Some(NOW);
    let out = capture_batch(store.as_ref(), &empty, &CaptureOptions::default(), NOW).await;
    assert!(out.objects.is_empty() && out.failure.is_none());
    let cp = out.checkpoint.unwrap();
    assert_eq!(cp.read_through_ms, NOW);
    assert_eq!(
        cp.last_sequence_number,
        Some(expected(&records[49..])[0].clone())
    );
}
