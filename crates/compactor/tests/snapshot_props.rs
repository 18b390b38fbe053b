//! Property: restoring from a compacted snapshot plus the changes after it equals restoring from
//! the changes alone (a table captured from its creation), and both equal the naive reference,
//! for random histories, snapshot times and restore points.

use proptest::prelude::*;
use rewind_compactor::{compact, CompactOptions};
use rewind_e2e::changelog::*;
use rewind_replay::catalog::load_catalog;
use rewind_replay::plan::{plan_restore, PlanOptions};
use rewind_replay::reconstruct::{reconstruct, ReconstructOptions};
use rewind_replay::AtSpec;
use rewind_store::Store;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

async fn state_at(
    store: &Store,
    at: i64,
    ignore_snapshots: bool,
) -> (BTreeMap<String, String>, bool) {
    let catalog = load_catalog(store.as_ref(), TABLE, None).await.unwrap();
    let opts = PlanOptions {
        ignore_snapshots,
        ..PlanOptions::default()
    };
    let plan = plan_restore(&catalog, AtSpec::Second(at), &opts).unwrap();
    let got = Mutex::new(BTreeMap::new());
    reconstruct(
        store,
        &plan,
        &ReconstructOptions::default(),
        &BTreeSet::new(),
        |_, items| {
            let got = &got;
            async move {
                got.lock()
                    .unwrap()
                    .extend(items.into_iter().map(|i| (i.keys, i.image)));
                Ok(())
            }
        },
    )
    .await
    .unwrap();
    (got.into_inner().unwrap(), plan.base.is_some())
}

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
            let (with_snapshot, used_base) = state_at(&store, restore_at, false).await;
            let (without, used) = state_at(&store, restore_at, true).await;
            assert!(!used, "ignore_snapshots planned from a snapshot");
            (with_snapshot, without, used_base)
        });
        prop_assert!(used_base, "the restore did not use the snapshot");
        prop_assert_eq!(&with_snapshot, &without);
        prop_assert_eq!(with_snapshot, reference(&records, (restore_at + 1) * 1000));
    }
}
