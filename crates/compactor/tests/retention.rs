//! Retention over 60 days of history with a daily snapshot: every second of the last week stays
//! restorable, the kept weekly and monthly snapshots stay restorable at their instants, the rest
//! is deleted, and a point that is gone is refused rather than restored wrongly. A dry run
//! deletes nothing.

mod common;

use common::*;

use rewind_catalog::load_catalog;
use rewind_compactor::{apply_retention, compact, CompactOptions, RetentionPolicy};
use rewind_e2e::changelog::*;
use rewind_replay::plan::PlanOptions;
use rewind_replay::ReplayError;
use rewind_store::list_all;

const DAY: i64 = 86_400;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_keeps_the_window_restorable_and_deletes_the_rest() {
    // 60 days, a change every 30 minutes.
    let ops: Vec<Op> = (0..2880u32)
        .map(|i| Op {
            key: (i * 11 % 97) as u8,
            event: (i % 7) as u8,
            gap_ms: 1_800_000,
            new_stream: false,
        })
        .collect();
    let records = history(&ops);
    let (_dir, store) = local_store();
    write_files(store.as_ref(), &records, 100).await;
    let last = records.last().unwrap().approximate_creation_time_ms / 1000;
    seed_capture_state(store.as_ref(), (last + 60) * 1000).await;
    let start = T0_MS / 1000;
    for day in 1..=59 {
        let opts = CompactOptions {
            at: Some(start + day * DAY - 1),
            merge: None,
            ..Default::default()
        };
        assert!(compact(&store, TABLE, &opts).await.unwrap().committed);
    }
    let now = last + 100;
    let policy = RetentionPolicy {
        changes_s: 7 * DAY,
        daily_s: 7 * DAY,
        weekly_s: 21 * DAY,
        monthly_s: 45 * DAY,
    };
    let objects_before = list_all(store.as_ref(), "").await.unwrap().len();

    let dry = apply_retention(&store, TABLE, &policy, now, true)
        .await
        .unwrap();
    assert!(
        !dry.change_files.is_empty() && !dry.snapshots.is_empty(),
        "{dry:?}"
    );
    assert_eq!(
        list_all(store.as_ref(), "").await.unwrap().len(),
        objects_before,
        "a dry run deletes nothing"
    );

    let report = apply_retention(&store, TABLE, &policy, now, false)
        .await
        .unwrap();
    assert_eq!(report.change_files, dry.change_files);
    assert_eq!(report.snapshots, dry.snapshots);
    assert!(report.objects_deleted as usize > report.change_files.len());

    // Every second of the window: sampled every 5 hours, plus its two ends.
    let cutoff = report.cutoff;
    let mut points: Vec<i64> = (cutoff..=last).step_by(5 * 3600).collect();
    points.push(last);
    for at in points {
        assert_eq!(
            state_at(&store, at).await.0,
            reference(&records, (at + 1) * 1000),
            "window point {at}"
        );
    }
    // The kept snapshots older than the window: restorable at their instants, exactly.
    let catalog = load_catalog(store.as_ref(), TABLE, None).await.unwrap();
    let old: Vec<i64> = catalog
        .snapshots
        .iter()
        .map(|s| s.at)
        .filter(|at| *at < cutoff)
        .collect();
    assert!(old.len() >= 3, "weekly and monthly points kept: {old:?}");
    assert!(
        old.len() < 59 - 8,
        "most daily snapshots older than the window are gone: {old:?}"
    );
    for at in &old {
        assert_eq!(
            state_at(&store, *at).await.0,
            reference(&records, (at + 1) * 1000),
            "kept instant {at}"
        );
    }
    // A point that is gone is refused, naming what remains.
    let gone = old[0] + 3600;
    match try_state_at(&store, gone, &PlanOptions::default()).await {
        Err(ReplayError::OutsideWindow { nearest_before, .. }) => {
            assert_eq!(nearest_before, Some(old[0]))
        }
        other => panic!("a deleted point must be refused, got {other:?}"),
    }
    // Retention again changes nothing.
    let again = apply_retention(&store, TABLE, &policy, now, false)
        .await
        .unwrap();
    assert_eq!(
        (again.change_files.len(), again.snapshots.len()),
        (0, 0),
        "{again:?}"
    );
}
