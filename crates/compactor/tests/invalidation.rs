//! A record redriven after a compacted snapshot was cut, stamped within it, invalidates that
//! snapshot: restores skip it (and include the record), and the next compaction re-cuts it.

mod common;

use common::*;

use rewind_catalog::load_catalog;
use rewind_catalog::SnapshotInvalidation;
use rewind_compactor::{compact, CompactOptions};
use rewind_e2e::changelog::*;
use rewind_format::EventName;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_record_invalidates_the_snapshots_it_belongs_in() {
    let ops: Vec<Op> = (0..300u32)
        .map(|i| Op {
            key: (i % 40) as u8,
            event: (i % 6) as u8,
            gap_ms: 700,
            new_stream: false,
        })
        .collect();
    let mut records = history(&ops);
    let (_dir, store) = local_store();
    write_files(store.as_ref(), &records, 50).await;
    let last = records.last().unwrap().approximate_creation_time_ms / 1000;
    seed_capture_state(store.as_ref(), (last + 10) * 1000).await;
    let snapshot_at = T0_MS / 1000 + 150;
    let opts = CompactOptions {
        at: Some(snapshot_at),
        merge: None,
        ..Default::default()
    };
    let first = compact(&store, TABLE, &opts).await.unwrap();
    assert!(first.committed);

    // A redrive brings a record stamped inside the snapshot, which the snapshot lacks.
    let late = record(
        "late-key",
        LABEL,
        999_999_999,
        (snapshot_at - 20) * 1000,
        EventName::Insert,
        7,
    );
    write_files(store.as_ref(), std::slice::from_ref(&late), 10).await;
    let marker = SnapshotInvalidation {
        from_stamp_ms: late.approximate_creation_time_ms,
        written_at_ms: chrono::Utc::now().timestamp_millis() + 1,
        reason: "redrive in a test".into(),
    };
    rewind_catalog::record_snapshot_invalidation(store.as_ref(), TABLE, &marker, "test")
        .await
        .unwrap();
    records.push(late);

    let catalog = load_catalog(store.as_ref(), TABLE, None).await.unwrap();
    assert!(
        catalog.snapshots.iter().all(|s| s.invalidated),
        "{:?}",
        catalog.snapshots
    );
    let restore_at = snapshot_at + 30;
    let (state, base) = state_at(&store, restore_at).await;
    assert_eq!(base, None, "the invalid snapshot is skipped");
    assert_eq!(state, reference(&records, (restore_at + 1) * 1000));

    // The next compaction at the same second replaces it, and restores use the new one.
    let second = compact(&store, TABLE, &opts).await.unwrap();
    assert!(second.committed, "{second:?}");
    let (state, base) = state_at(&store, restore_at).await;
    assert_eq!(base, second.manifest);
    assert_eq!(state, reference(&records, (restore_at + 1) * 1000));
    let catalog = load_catalog(store.as_ref(), TABLE, None).await.unwrap();
    assert_eq!(catalog.snapshots.len(), 1);
    assert!(!catalog.snapshots[0].invalidated);
}
