//! The full backup in steps, driven in the order the backup state machine calls them (plan,
//! the segments' Map in any order with a retry, the buckets' Map, commit): the snapshot holds
//! exactly what a one-process backup of the same scan holds, its staging is gone, and a step
//! out of order is refused naming what to run first.

mod common;

use common::scanned_items;
use rewind_compactor::backup_fanout::{
    backup_bucket, backup_segment, commit_backup, load_backup_run, plan_backup,
};
use rewind_compactor::table_source::ItemsAt;
use rewind_compactor::{backup_from, BackupOptions};
use rewind_e2e::changelog::*;
use rewind_format::read_change_file;
use rewind_store::Store;
use std::collections::BTreeMap;

const SCAN_MS: i64 = T0_MS + 1_800_000;

fn records() -> Vec<rewind_format::ChangeRecord> {
    let ops: Vec<Op> = (0..400u32)
        .map(|i| Op {
            key: (i * 7 % 24) as u8,
            event: (i * 13 % 256) as u8,
            gap_ms: 3_000 + i % 5 * 1_000,
            new_stream: false,
        })
        .collect();
    history(&ops)
}

async fn seeded(records: &[rewind_format::ChangeRecord]) -> (tempfile::TempDir, Store) {
    let (dir, store) = local_store();
    write_files(store.as_ref(), records, 50).await;
    seed_capture_state(store.as_ref(), T0_MS + 3_600_000).await;
    (dir, store)
}

/// The rows of the table's snapshots: key JSON → item JSON.
async fn snapshot_rows(store: &Store) -> BTreeMap<String, String> {
    let mut rows = BTreeMap::new();
    for snapshot in rewind_catalog::list_snapshots(store.as_ref(), TABLE)
        .await
        .unwrap()
    {
        for (key, _) in &snapshot.files {
            let body = store.get(key).await.unwrap();
            for r in read_change_file(key, body).unwrap() {
                rows.insert(r.keys, r.new_image.unwrap());
            }
        }
    }
    rows
}

#[tokio::test]
async fn steps_in_state_machine_order_equal_a_one_process_backup() {
    let records = records();
    let scanned: Vec<String> = reference(&records, SCAN_MS).into_values().collect();
    assert!(scanned.len() > 10);
    let source = ItemsAt {
        description: serde_json::from_value(description_json()).unwrap(),
        items: scanned_items(scanned.clone()),
        now_ms: SCAN_MS,
    };

    let (_a, fanned) = seeded(&records).await;
    let run = plan_backup(&fanned, &source, 3, Some(4), 5_000)
        .await
        .unwrap();
    assert_eq!(
        load_backup_run(&fanned, TABLE, &run.run_id).await.unwrap(),
        run
    );
    let early = backup_bucket(&fanned, &run, 0).await.unwrap_err();
    assert!(early.to_string().contains("not scanned yet"), "{early}");
    let mut items = 0;
    for segment in [2, 0, 1] {
        items += backup_segment(&fanned, &source, &run, segment)
            .await
            .unwrap()
            .items;
    }
    // A retried segment replaces what it staged; the count stays.
    let again = backup_segment(&fanned, &source, &run, 0).await.unwrap();
    assert!(again.items > 0);
    assert_eq!(items, scanned.len() as u64);
    let mut results = Vec::new();
    for bucket in run.bucket_list() {
        results.push(backup_bucket(&fanned, &run, bucket).await.unwrap());
    }
    let early = commit_backup(&fanned, &source, &run, &results[1..])
        .await
        .unwrap_err();
    assert!(
        early.to_string().contains("bucket 0 has no result"),
        "{early}"
    );
    let report = commit_backup(&fanned, &source, &run, &results)
        .await
        .unwrap();
    assert!(report.committed, "{report:?}");
    assert_eq!(report.items, scanned.len() as u64);
    let staged = rewind_store::list_all(
        fanned.as_ref(),
        &rewind_catalog::layout::backup_run_prefix(TABLE, &run.run_id),
    )
    .await
    .unwrap();
    assert!(staged.is_empty(), "staging left behind: {staged:?}");

    let (_b, plain) = seeded(&records).await;
    let options = BackupOptions {
        segments: 3,
        buckets: Some(4),
        ..Default::default()
    };
    let one = backup_from(&plain, &source, &options).await.unwrap();
    assert_eq!(report.valid_from, one.valid_from);
    assert_eq!(report.changes_from, one.changes_from);
    let rows = snapshot_rows(&fanned).await;
    assert_eq!(rows, snapshot_rows(&plain).await);
    assert_eq!(rows.len(), scanned.len());

    // Restores through the fanned-out snapshot equal the log's answer.
    let at = SCAN_MS / 1000 + 120;
    let (state, _) = common::state_at(&fanned, at).await;
    assert_eq!(state, reference(&records, (at + 1) * 1000));
}
