//! Compaction in steps, for a Step Functions Map state (one Lambda invocation per bucket) or any
//! other fan-out: [`plan_snapshot`] fixes the point, the run and the bucket count;
//! [`compact_bucket`] writes one bucket (each reads the pinned files and keeps its bucket's rows);
//! [`commit_snapshot`] checks every bucket's file and writes the manifest, put-if-absent. Steps
//! are idempotent: a retried bucket rewrites the same file of the same run.

use crate::error::{CompactorError, Result};
use crate::snapshot_writer::{new_run_id, snapshot_row, Committed, SnapshotWriter};
use rewind_catalog::layout;
use rewind_catalog::{SnapshotFileEntry, SnapshotKind};
use rewind_replay::plan::{plan_restore, Plan, PlanOptions};
use rewind_replay::reconstruct::{reconstruct, ReconstructOptions};
use rewind_replay::whole_life::{load_checked_catalog, refute_on_missing_insert};
use rewind_replay::AtSpec;
use rewind_store::Store;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::Mutex;

/// The fixed facts of one fanned-out compaction (the Map state's input).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotPlan {
    /// Source table.
    pub table: String,
    /// The snapshot's second.
    pub at: i64,
    /// The run id every step writes under.
    pub run_id: String,
    /// The pinned restore plan the snapshot is cut from.
    pub plan: Plan,
}

impl SnapshotPlan {
    /// The buckets to fan out over.
    pub fn buckets(&self) -> Vec<u32> {
        (0..self.plan.buckets).collect()
    }
}

/// One bucket's result (the Map state's output item).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketResult {
    /// The bucket.
    pub bucket: u32,
    /// Its file, `None` when the bucket is empty.
    pub file: Option<SnapshotFileEntry>,
}

/// Plans a snapshot of `table` at `at` (a restorable second, normally the watermark) and keeps
/// the plan in the store (`compaction/table=<t>/runs/<run>.json`): the pinned file list can be
/// far larger than a Step Functions payload, so steps pass only the table and the run id.
pub async fn plan_snapshot(
    store: &Store,
    table: &str,
    at: i64,
    opts: &PlanOptions,
) -> Result<SnapshotPlan> {
    let catalog =
        load_checked_catalog(store, table, Some(at), opts, &ReconstructOptions::default()).await?;
    let plan = plan_restore(&catalog, AtSpec::Second(at), opts)?;
    let snapshot = SnapshotPlan {
        table: table.to_string(),
        at,
        run_id: new_run_id(),
        plan,
    };
    let body = serde_json::to_vec(&snapshot).expect("plans serialise");
    store
        .put(
            &layout::compaction_run_key(table, &snapshot.run_id),
            body.into(),
        )
        .await?;
    Ok(snapshot)
}

/// Reads a planned run back.
pub async fn load_snapshot_plan(store: &Store, table: &str, run_id: &str) -> Result<SnapshotPlan> {
    let key = layout::compaction_run_key(table, run_id);
    let body = store.get(&key).await?;
    serde_json::from_slice(&body).map_err(|e| CompactorError::Invalid {
        what: "compaction run plan",
        location: store.describe(&key),
        reason: e.to_string(),
    })
}

/// Writes one bucket of the snapshot.
pub async fn compact_bucket(
    store: &Store,
    snapshot: &SnapshotPlan,
    bucket: u32,
    opts: &ReconstructOptions,
) -> Result<BucketResult> {
    let plan = &snapshot.plan;
    if bucket >= plan.buckets {
        return Err(CompactorError::Invalid {
            what: "bucket",
            location: format!("{} at {}", snapshot.table, snapshot.at),
            reason: format!("bucket {bucket} of {}", plan.buckets),
        });
    }
    let writer = SnapshotWriter::resume(
        store.clone(),
        &snapshot.table,
        snapshot.at,
        plan.buckets,
        &snapshot.run_id,
        Vec::new(),
    );
    let skip: BTreeSet<u32> = (0..plan.buckets).filter(|b| *b != bucket).collect();
    let rows = Mutex::new(Vec::new());
    let rebuilt = reconstruct(store, plan, opts, &skip, |_, items| {
        let rows = &rows;
        async move {
            rows.lock().expect("not poisoned").extend(
                items
                    .into_iter()
                    .map(|item| snapshot_row(&plan.table, item)),
            );
            Ok(())
        }
    })
    .await;
    if let Err(e) = rebuilt {
        // The next plan (the next compaction) starts from a snapshot instead.
        refute_on_missing_insert(store, &snapshot.table, plan, &e).await?;
        return Err(e.into());
    }
    writer
        .write_bucket(bucket, rows.into_inner().expect("not poisoned"))
        .await?;
    Ok(BucketResult {
        bucket,
        file: writer.files().pop(),
    })
}

/// Checks that every bucket reported and every reported file is there as written, then commits.
pub async fn commit_snapshot(
    store: &Store,
    snapshot: &SnapshotPlan,
    results: &[BucketResult],
) -> Result<Committed> {
    let reported: BTreeSet<u32> = results.iter().map(|r| r.bucket).collect();
    if let Some(missing) = (0..snapshot.plan.buckets).find(|b| !reported.contains(b)) {
        return Err(CompactorError::Invalid {
            what: "snapshot commit",
            location: format!(
                "{} at {} run {}",
                snapshot.table, snapshot.at, snapshot.run_id
            ),
            reason: format!("bucket {missing} has no result"),
        });
    }
    let mut files = Vec::new();
    for file in results.iter().filter_map(|r| r.file.clone()) {
        let meta = store.head(&file.key).await?;
        if meta.size != file.bytes {
            return Err(CompactorError::Invalid {
                what: "snapshot bucket file",
                location: store.describe(&file.key),
                reason: format!("{} bytes, reported {}", meta.size, file.bytes),
            });
        }
        files.push(file);
    }
    let plan = &snapshot.plan;
    let writer = SnapshotWriter::resume(
        store.clone(),
        &snapshot.table,
        snapshot.at,
        plan.buckets,
        &snapshot.run_id,
        files,
    );
    writer
        .commit(
            SnapshotKind::Compacted {
                base: plan.base.as_ref().map(|b| b.manifest_key.clone()),
            },
            snapshot.at,
            (snapshot.at + 1) * 1000,
            plan.description.as_ref().map(|d| d.table_arn.clone()),
        )
        .await
}
