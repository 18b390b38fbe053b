//! Small-file compaction of a synthetic day of capture: every finished hour ends as one change
//! object, the unfinished hour is left alone, the originals go only after the grace period, and
//! every restore point gives the same state before, during and after.

mod common;

use common::*;

use rewind_catalog::layout::HourPartition;
use rewind_catalog::list_change_files;
use rewind_compactor::{merge_small_files, MergeOptions};
use rewind_e2e::changelog::*;
use rewind_store::Store;
use std::collections::BTreeMap;

async fn objects_per_hour(store: &Store) -> BTreeMap<HourPartition, usize> {
    let mut out = BTreeMap::new();
    for f in list_change_files(store.as_ref(), TABLE, None)
        .await
        .unwrap()
    {
        *out.entry(f.file.hour).or_insert(0) += 1;
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_of_small_files_becomes_one_object_per_hour() {
    // A day of changes, one every 36 s, captured in batches of 25: four files per hour.
    let ops: Vec<Op> = (0..2390u32)
        .map(|i| Op {
            key: (i * 7 % 251) as u8,
            event: (i % 13) as u8,
            gap_ms: 36_000,
            new_stream: false,
        })
        .collect();
    let records = history(&ops);
    let (_dir, store) = local_store();
    write_files(store.as_ref(), &records, 25).await;
    // A late, overlapping file in hour 3 (a retried batch that started elsewhere).
    let late: Vec<_> = records.iter().skip(310).take(7).cloned().collect();
    write_files(store.as_ref(), &late, 100).await;
    let last_stamp = records.last().unwrap().approximate_creation_time_ms;
    seed_capture_state(store.as_ref(), last_stamp + 60_000).await;
    // Capture has read through the last stamp plus a minute: the last hour is not finished.
    let finished_through = (last_stamp + 60_000 - 2_000) / 1000 - 1;

    let points: Vec<i64> = (0..24).map(|h| T0_MS / 1000 + h * 3600 + 1234).collect();
    let want: Vec<_> = points
        .iter()
        .map(|at| reference(&records, (at + 1) * 1000))
        .collect();
    let check = |label: &'static str| {
        let store = store.clone();
        let points = points.clone();
        let want = want.clone();
        async move {
            for (at, want) in points.iter().zip(&want) {
                assert_eq!(
                    &state_at(&store, *at).await.0,
                    want,
                    "{label}: state at {at}"
                );
            }
        }
    };
    let before = objects_per_hour(&store).await;
    assert!(before.values().all(|n| *n >= 4), "{before:?}");
    check("before").await;

    let now = 1_800_000_000_000;
    let first = merge_small_files(
        &store,
        TABLE,
        finished_through,
        &MergeOptions {
            grace_ms: 3_600_000,
            now_ms: now,
        },
    )
    .await
    .unwrap();
    let hours = before.len() as u64;
    assert_eq!(first.hours_merged, hours - 1, "{first:?}");
    assert_eq!(first.files_deleted, 0);
    check("merged, originals kept for the grace period").await;

    // Within the grace period nothing is deleted and nothing is merged again.
    let again = merge_small_files(
        &store,
        TABLE,
        finished_through,
        &MergeOptions {
            grace_ms: 3_600_000,
            now_ms: now + 1000,
        },
    )
    .await
    .unwrap();
    assert_eq!(
        (again.hours_merged, again.files_deleted),
        (0, 0),
        "{again:?}"
    );

    let after = merge_small_files(
        &store,
        TABLE,
        finished_through,
        &MergeOptions {
            grace_ms: 3_600_000,
            now_ms: now + 3_600_001,
        },
    )
    .await
    .unwrap();
    assert_eq!(after.files_deleted, first.files_merged);
    assert_eq!(after.hours_merged, 0);
    let remaining = objects_per_hour(&store).await;
    let last_hour = *remaining.keys().last().unwrap();
    for (hour, n) in &remaining {
        if *hour == last_hour {
            assert_eq!(*n, before[hour], "the unfinished hour is left alone");
        } else {
            assert_eq!(*n, 1, "{hour:?}: {remaining:?}");
        }
    }
    check("after the originals were deleted").await;
    println!(
        "objects before {} after {}; bytes merged {} written {}",
        before.values().sum::<usize>(),
        remaining.values().sum::<usize>(),
        first.bytes_merged,
        first.bytes_written
    );
}

/// Deletion of the replaced files crashes part-way (after the merged file and its marker are
/// durable): restores stay exact, and the next run finishes the deletion.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_while_deleting_replaced_files_is_finished_by_the_next_run() {
    use rewind_store::{FaultKind, FaultyStore, Op as StoreOp};
    let ops: Vec<Op> = (0..600u32)
        .map(|i| Op {
            key: (i % 61) as u8,
            event: (i % 9) as u8,
            gap_ms: 20_000,
            new_stream: false,
        })
        .collect();
    let records = history(&ops);
    let (_dir, store) = local_store();
    write_files(store.as_ref(), &records, 20).await;
    let last_stamp = records.last().unwrap().approximate_creation_time_ms;
    seed_capture_state(store.as_ref(), last_stamp + 3_600_000).await;
    let finished_through = last_stamp / 1000 + 3000;
    let now = 1_800_000_000_000;
    let opts = |now_ms| MergeOptions {
        grace_ms: 1000,
        now_ms,
    };
    merge_small_files(&store, TABLE, finished_through, &opts(now))
        .await
        .unwrap();

    let crashing: Store = std::sync::Arc::new(FaultyStore::new(store.clone()).fail_nth(
        StoreOp::Delete,
        5,
        FaultKind::Transient,
    ));
    assert!(
        merge_small_files(&crashing, TABLE, finished_through, &opts(now + 5000))
            .await
            .is_err()
    );
    let at = last_stamp / 1000;
    assert_eq!(
        state_at(&store, at).await.0,
        reference(&records, (at + 1) * 1000)
    );

    merge_small_files(&store, TABLE, finished_through, &opts(now + 6000))
        .await
        .unwrap();
    assert!(objects_per_hour(&store).await.values().all(|n| *n == 1));
    assert_eq!(
        state_at(&store, at).await.0,
        reference(&records, (at + 1) * 1000)
    );
}
