//! The whole-life check ([`rewind_replay::whole_life`]): a full backup compared with the change
//! log confirms that the log holds every item since the stream began, or refutes it, durably.
//! The store is seeded as capture leaves it (no verdict), the backup runs through
//! [`backup_from`] on a scripted table at a scripted time.

mod common;

use common::{scanned_items, state_at};
use rewind_catalog::{load_whole_life, record_whole_life, WholeLifeEvidence, WholeLifeVerdict};
use rewind_compactor::table_source::ItemsAt;
use rewind_compactor::{backup_from, BackupOptions};
use rewind_e2e::changelog::*;
use rewind_format::{ChangeRecord, EventName};
use rewind_replay::whole_life::check_whole_life;
use rewind_replay::window::{restorable_window, WholeLife};
use rewind_store::Store;
use std::sync::atomic::Ordering::Relaxed;

/// The backup's scan: 10 minutes after the stream began.
const SCAN_MS: i64 = T0_MS + 600_000;

/// Three items inserted, changed and one deleted, stamped from T0 + 1 s to T0 + 20 min.
fn log() -> Vec<ChangeRecord> {
    let mut out = Vec::new();
    let mut seq = 100;
    let mut at = |key: &str, minute: i64, event: EventName, value: u32| {
        seq += 1;
        record(
            key,
            LABEL,
            seq,
            T0_MS + 1_000 + minute * 60_000,
            event,
            value,
        )
    };
    out.push(at("a", 0, EventName::Insert, 1));
    out.push(at("b", 1, EventName::Insert, 2));
    out.push(at("c", 2, EventName::Insert, 3));
    out.push(at("a", 3, EventName::Modify, 4));
    out.push(at("c", 4, EventName::Remove, 3));
    out.push(at("b", 15, EventName::Modify, 5));
    out.push(at("d", 16, EventName::Insert, 6));
    out
}

/// A store holding `records` and capture's state (read through T0 + 1 h), backed up at
/// `SCAN_MS` with `items` (the table as the scan saw it).
async fn store_with_backup(
    records: &[ChangeRecord],
    items: Vec<String>,
) -> (tempfile::TempDir, Store) {
    let (dir, store) = local_store();
    write_files(store.as_ref(), records, 3).await;
    seed_capture_state_unconfirmed(store.as_ref(), T0_MS + 3_600_000).await;
    let source = ItemsAt {
        description: serde_json::from_value(description_json()).unwrap(),
        items: scanned_items(items),
        now_ms: SCAN_MS,
    };
    let options = BackupOptions::default();
    let report = backup_from(&store, &source, &options).await.unwrap();
    assert!(report.committed);
    // What a job's progress reads while the backup runs ends at the report's counts.
    let progress = &options.progress;
    assert_eq!(progress.items_scanned.load(Relaxed), report.items);
    assert_eq!(
        progress.buckets_total.load(Relaxed),
        u64::from(report.buckets)
    );
    assert_eq!(
        progress.buckets_written.load(Relaxed),
        u64::from(report.buckets)
    );
    (dir, store)
}

async fn window(store: &Store) -> rewind_replay::window::Window {
    let catalog = rewind_catalog::load_catalog(store.as_ref(), TABLE, None)
        .await
        .unwrap();
    restorable_window(&catalog, &Default::default())
}

#[tokio::test]
async fn a_backup_the_log_explains_confirms_the_whole_life() {
    let records = log();
    let scanned: Vec<String> = reference(&records, SCAN_MS).into_values().collect();
    assert_eq!(scanned.len(), 2);
    let (_dir, store) = store_with_backup(&records, scanned).await;

    // Before the check: only the backup is a base.
    let before = window(&store).await;
    assert!(before.confirm_with().is_some());
    assert_eq!(before.intervals[0].start, SCAN_MS / 1000 + 5);

    let verdict = check_whole_life(&store, TABLE, &Default::default(), &Default::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(verdict.verdict, WholeLifeVerdict::Confirmed, "{verdict:?}");
    assert!(
        verdict.reason.contains("agree on all 2 items"),
        "{verdict:?}"
    );
    let after = window(&store).await;
    assert!(matches!(after.whole_life, WholeLife::Confirmed { .. }));
    assert_eq!(after.intervals[0].start, T0_MS / 1000);
    // A point between the stream's start and the backup restores from the log alone.
    let (state, base) = state_at(&store, (T0_MS + 150_000) / 1000).await;
    assert_eq!(base, None);
    assert_eq!(state, reference(&records, T0_MS + 151_000));
}

#[tokio::test]
async fn an_item_the_log_never_inserted_refutes_it() {
    let records = log();
    // "old" was written before the stream and never touched: only the scan knows it.
    let mut scanned: Vec<String> = reference(&records, SCAN_MS).into_values().collect();
    let old = record("old", LABEL, 1, T0_MS - 60_000, EventName::Insert, 9);
    scanned.push(old.new_image.clone().unwrap());
    let (_dir, store) = store_with_backup(&records, scanned).await;

    let verdict = check_whole_life(&store, TABLE, &Default::default(), &Default::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(verdict.verdict, WholeLifeVerdict::Refuted);
    assert!(
        verdict.reason.contains(r#"{"pk":{"S":"old"}}"#)
            && verdict.reason.contains("never inserted"),
        "{verdict:?}"
    );
    let w = window(&store).await;
    assert!(matches!(w.whole_life, WholeLife::No { .. }));
    assert_eq!(w.confirm_with(), None);
    assert_eq!(w.intervals[0].start, SCAN_MS / 1000 + 5);
    // From the backup on, "old" is there.
    let (state, base) = state_at(&store, (SCAN_MS + 60_000) / 1000).await;
    assert!(base.is_some());
    assert!(state.contains_key(&old.keys));

    // A refutation is never withdrawn.
    record_whole_life(
        store.as_ref(),
        TABLE,
        &WholeLifeEvidence {
            verdict: WholeLifeVerdict::Confirmed,
            snapshot: None,
            compared_at: None,
            reason: "late".into(),
            decided_at_ms: 0,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        load_whole_life(store.as_ref(), TABLE)
            .await
            .unwrap()
            .unwrap()
            .verdict,
        WholeLifeVerdict::Refuted
    );
}

#[tokio::test]
async fn an_item_whose_first_version_is_a_modify_refutes_it() {
    // "old" was written before the stream and changed after it began.
    let mut records = log();
    records.push(record(
        "old",
        LABEL,
        500,
        T0_MS + 5 * 60_000,
        EventName::Modify,
        10,
    ));
    let scanned: Vec<String> = reference(&records, SCAN_MS).into_values().collect();
    let (_dir, store) = store_with_backup(&records, scanned).await;
    let verdict = check_whole_life(&store, TABLE, &Default::default(), &Default::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(verdict.verdict, WholeLifeVerdict::Refuted);
    assert!(
        verdict.reason.contains(r#"{"pk":{"S":"old"}}"#)
            && verdict.reason.contains("has no INSERT in the change log")
            && verdict.reason.contains("is a MODIFY"),
        "{verdict:?}"
    );
}

#[tokio::test]
async fn quarantined_records_in_the_range_leave_it_undecided() {
    let records = log();
    let scanned: Vec<String> = reference(&records, SCAN_MS).into_values().collect();
    let (_dir, store) = store_with_backup(&records, scanned).await;
    rewind_catalog::quarantine(
        store.as_ref(),
        &rewind_catalog::QuarantinedRecord {
            table: TABLE.into(),
            stream_label: LABEL.into(),
            shard_id: "shardId-1".into(),
            sequence_number: Some("150".into()),
            field: "NewImage".into(),
            reason: "unreadable".into(),
            ingested_at_ms: T0_MS + 121_000,
            record: serde_json::json!({
                "dynamodb": {"ApproximateCreationDateTime": (T0_MS + 120_000) / 1000}
            }),
        },
    )
    .await
    .unwrap();
    let verdict = check_whole_life(&store, TABLE, &Default::default(), &Default::default())
        .await
        .unwrap();
    assert_eq!(verdict, None);
    assert!(window(&store).await.confirm_with().is_some());
}
