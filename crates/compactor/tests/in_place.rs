//! A restore whose bucket count matches its base snapshot's folds the snapshot's files in place
//! (no spill of base rows), with the same result; a file whose rows do not belong to the bucket
//! its manifest names is refused by name rather than folded apart from its key's changes.

mod common;

use common::*;

use rewind_catalog::load_catalog;
use rewind_catalog::SnapshotManifest;
use rewind_compactor::{compact, CompactOptions};
use rewind_e2e::changelog::*;
use rewind_replay::plan::{plan_restore, PlanOptions};
use rewind_replay::AtSpec;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_files_fold_in_place_and_a_misfiled_one_is_refused() {
    let ops: Vec<Op> = (0..400u32)
        .map(|i| Op {
            key: (i % 60) as u8,
            event: (i % 6) as u8,
            gap_ms: 500,
            new_stream: false,
        })
        .collect();
    let records = history(&ops);
    let (_dir, store) = local_store();
    write_files(store.as_ref(), &records, 50).await;
    let last = records.last().unwrap().approximate_creation_time_ms / 1000;
    seed_capture_state(store.as_ref(), (last + 10) * 1000).await;
    let snapshot_at = T0_MS / 1000 + 100;
    let report = compact(
        &store,
        TABLE,
        &CompactOptions {
            at: Some(snapshot_at),
            merge: None,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let manifest_key = report.manifest.clone().expect("a snapshot");

    let restore_at = last;
    let catalog = load_catalog(store.as_ref(), TABLE, None).await.unwrap();
    let plan = plan_restore(
        &catalog,
        AtSpec::Second(restore_at),
        &PlanOptions::default(),
    )
    .unwrap();
    let base = plan.base.as_ref().expect("planned from the snapshot");
    assert!(base.folds_in_place(plan.buckets) && base.buckets == plan.buckets);
    let (state, used) = state_at(&store, restore_at).await;
    assert_eq!(used.as_deref(), Some(manifest_key.as_str()));
    assert_eq!(state, reference(&records, (restore_at + 1) * 1000));

    // Swap the buckets two files claim: their rows now sit under the wrong bucket.
    let mut manifest: SnapshotManifest =
        serde_json::from_slice(&store.get(&manifest_key).await.unwrap()).unwrap();
    let (a, b) = (0, manifest.files.len() - 1);
    assert_ne!(manifest.files[a].bucket, manifest.files[b].bucket);
    let bucket_a = manifest.files[a].bucket;
    manifest.files[a].bucket = manifest.files[b].bucket;
    manifest.files[b].bucket = bucket_a;
    store
        .put(&manifest_key, serde_json::to_vec(&manifest).unwrap().into())
        .await
        .unwrap();
    let e = try_state_at(&store, restore_at, &PlanOptions::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("snapshot bucket file") && e.contains("hashes to bucket"),
        "{e}"
    );
}
