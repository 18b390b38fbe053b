//! Compaction that crashes part-way changes nothing a reader sees, and a re-run succeeds; two
//! compactions of the same snapshot at once leave exactly one valid snapshot.

mod common;

use common::*;

use rewind_catalog::load_catalog;
use rewind_compactor::{compact, CompactOptions};
use rewind_e2e::changelog::*;
use rewind_format::EventName;
use rewind_store::{list_all, FaultKind, FaultyStore, Op, Store};
use std::collections::BTreeSet;
use std::sync::Arc;

fn records() -> Vec<rewind_format::ChangeRecord> {
    (0..600u64)
        .map(|i| {
            let key = format!("k{}", (i * 37) % 150);
            let event = match i {
                i if i < 150 => EventName::Insert,
                i if i % 9 == 0 => EventName::Remove,
                _ => EventName::Modify,
            };
            record(
                &key,
                LABEL,
                100 + i,
                T0_MS + 1000 + i as i64 * 100,
                event,
                i as u32,
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_compaction_changes_nothing_and_a_rerun_commits() {
    let (_dir, store) = local_store();
    let history = consistent(records());
    write_files(store.as_ref(), &history, 100).await;
    seed_capture_state(store.as_ref(), T0_MS + 3_600_000).await;
    let snapshot_at = T0_MS / 1000 + 40;
    let restore_at = T0_MS / 1000 + 55;
    let want = reference(&history, (restore_at + 1) * 1000);
    let opts = CompactOptions {
        at: Some(snapshot_at),
        merge: None,
        // Two buckets in flight, whatever the host's cores: the crash then comes after one
        // bucket file is written (more in flight, and the failing write cancels them all).
        reconstruct: rewind_replay::reconstruct::ReconstructOptions::for_threads(1),
        ..Default::default()
    };

    // Crash after some bucket files, before the manifest.
    let crashing: Store =
        Arc::new(FaultyStore::new(Arc::clone(&store)).fail_nth(Op::Put, 3, FaultKind::Permanent));
    assert!(compact(&crashing, TABLE, &opts).await.is_err());
    let leftovers = list_all(store.as_ref(), "snapshots/").await.unwrap();
    assert!(!leftovers.is_empty(), "the crash left bucket files");
    assert!(leftovers.iter().all(|m| !m.key.ends_with("manifest.json")));
    let (state, base) = state_at(&store, restore_at).await;
    assert_eq!(base, None, "no snapshot without a manifest");
    assert_eq!(state, want);

    // The re-run commits, and restores use it.
    let report = compact(&store, TABLE, &opts).await.unwrap();
    assert!(report.committed);
    let (state, base) = state_at(&store, restore_at).await;
    assert_eq!(base, report.manifest);
    assert_eq!(state, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_compactions_at_once_leave_one_snapshot() {
    let (_dir, store) = local_store();
    let history = consistent(records());
    write_files(store.as_ref(), &history, 100).await;
    seed_capture_state(store.as_ref(), T0_MS + 3_600_000).await;
    let opts = CompactOptions {
        at: Some(T0_MS / 1000 + 30),
        merge: None,
        ..Default::default()
    };
    let (a, b) = tokio::join!(compact(&store, TABLE, &opts), compact(&store, TABLE, &opts));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(
        u8::from(a.committed) + u8::from(b.committed),
        1,
        "{a:?} {b:?}"
    );
    let catalog = load_catalog(store.as_ref(), TABLE, None).await.unwrap();
    assert_eq!(catalog.snapshots.len(), 1);
    // Only the winner's files remain.
    let files = list_all(store.as_ref(), "snapshots/").await.unwrap();
    let runs: BTreeSet<&str> = files
        .iter()
        .filter_map(|m| m.key.split('/').find(|p| p.starts_with("run=")))
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let restore_at = T0_MS / 1000 + 50;
    let (state, base) = state_at(&store, restore_at).await;
    assert!(base.is_some());
    assert_eq!(state, reference(&history, (restore_at + 1) * 1000));
}

/// Turns a MODIFY of a removed key into an INSERT, as DynamoDB would emit it.
fn consistent(records: Vec<rewind_format::ChangeRecord>) -> Vec<rewind_format::ChangeRecord> {
    let mut present = BTreeSet::new();
    records
        .into_iter()
        .map(|mut r| {
            match r.event_name {
                EventName::Remove if !present.contains(&r.keys) => {
                    r.event_name = EventName::Insert;
                    r.new_image = r.old_image.take();
                    present.insert(r.keys.clone());
                }
                EventName::Remove => {
                    present.remove(&r.keys);
                }
                EventName::Modify if !present.contains(&r.keys) => {
                    r.event_name = EventName::Insert;
                    present.insert(r.keys.clone());
                }
                _ => {
                    present.insert(r.keys.clone());
                }
            }
            r
        })
        .collect()
}

/// A key modified and then deleted before the snapshot's second is absent from the snapshot
/// and is never resurrected by the changes before it (they are not applied over it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_deleted_before_the_snapshot_is_never_resurrected() {
    let (_dir, store) = local_store();
    let t = |s: i64| T0_MS + s * 1000;
    let history = vec![
        record("gone", LABEL, 101, t(1), EventName::Insert, 1),
        record("kept", LABEL, 102, t(2), EventName::Insert, 1),
        record("gone", LABEL, 103, t(3), EventName::Modify, 2),
        record("gone", LABEL, 104, t(5), EventName::Remove, 2),
        record("kept", LABEL, 105, t(12), EventName::Modify, 3),
    ];
    write_files(store.as_ref(), &history, 10).await;
    seed_capture_state(store.as_ref(), t(30)).await;
    let opts = CompactOptions {
        at: Some(T0_MS / 1000 + 8),
        merge: None,
        ..Default::default()
    };
    assert!(compact(&store, TABLE, &opts).await.unwrap().committed);
    for at in [8, 9, 12, 20] {
        let (state, base) = state_at(&store, T0_MS / 1000 + at).await;
        assert!(base.is_some());
        assert_eq!(state, reference(&history, t(at + 1)), "at +{at}s");
        assert!(
            !state.keys().any(|k| k.contains("gone")),
            "resurrected at +{at}s"
        );
    }
}

/// A snapshot file its manifest names but the store no longer holds (deleted by hand, lost in
/// a copy; nothing replaced it) makes that snapshot unusable: restores skip it and rebuild the
/// same state from the change log, never a state with the file's items missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_missing_a_file_is_skipped_and_restores_use_the_log() {
    let (_dir, store) = local_store();
    let history = consistent(records());
    write_files(store.as_ref(), &history, 100).await;
    seed_capture_state(store.as_ref(), T0_MS + 3_600_000).await;
    let restore_at = T0_MS / 1000 + 50;
    let want = reference(&history, (restore_at + 1) * 1000);
    let report = compact(
        &store,
        TABLE,
        &CompactOptions {
            at: Some(T0_MS / 1000 + 40),
            merge: None,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(report.committed);
    let (state, base) = state_at(&store, restore_at).await;
    assert_eq!(
        (&state, &base),
        (&want, &report.manifest),
        "the snapshot is used"
    );

    let lost = list_all(store.as_ref(), "snapshots/")
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.key)
        .find(|k| k.ends_with(".parquet"))
        .expect("a snapshot file");
    store.delete(&lost).await.unwrap();
    let (state, base) = state_at(&store, restore_at).await;
    assert_eq!(base, None, "the incomplete snapshot is skipped");
    assert_eq!(state, want);
}
