//! Property: restoring from a compacted snapshot plus the changes after it equals restoring from
//! the changes alone (a table captured from its creation), and both equal the naive reference,
//! for random histories, snapshot times and restore points.

mod common;

use common::*;

use proptest::prelude::*;
use rewind_compactor::{compact, CompactOptions};
use rewind_e2e::changelog::*;
use rewind_replay::plan::PlanOptions;

fn op() -> impl Strategy<Value = Op> {
    (any::<u8>(), any::<u8>(), 0u32..3000).prop_map(|(key, event, gap_ms)| Op {
        key,
        event,
        gap_ms,
        new_stream: false,
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn snapshot_plus_changes_equals_changes_alone(
        ops in proptest::collection::vec(op(), 1..150),
        snapshot_fraction in 0.0f64..1.0,
        restore_fraction in 0.0f64..1.0,
        chunk in 1usize..60,
    ) {
        let records = history(&ops);
        let first = T0_MS / 1000;
        let last = records.last().unwrap().approximate_creation_time_ms / 1000 + 1;
        let snapshot_at = first + ((last - first) as f64 * snapshot_fraction) as i64;
        let restore_at = snapshot_at + ((last - snapshot_at) as f64 * restore_fraction) as i64;
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let (with_snapshot, without, used_base) = rt.block_on(async {
            let (_dir, store) = local_store();
            write_files(store.as_ref(), &records, chunk).await;
            seed_capture_state(store.as_ref(), (last + 10) * 1000).await;
            let report = compact(&store, TABLE, &CompactOptions { at: Some(snapshot_at), merge: None, ..Default::default() })
                .await
                .unwrap();
            assert!(report.committed, "{report:?}");
            let (with_snapshot, base) = state_at(&store, restore_at).await;
            let used_base = base.is_some();
            let ignore = PlanOptions { ignore_snapshots: true, ..PlanOptions::default() };
            let (without, used) = try_state_at(&store, restore_at, &ignore).await.unwrap();
            let used = used.is_some();
            assert!(!used, "ignore_snapshots planned from a snapshot");
            (with_snapshot, without, used_base)
        });
        prop_assert!(used_base, "the restore did not use the snapshot");
        prop_assert_eq!(&with_snapshot, &without);
        prop_assert_eq!(with_snapshot, reference(&records, (restore_at + 1) * 1000));
    }
}
