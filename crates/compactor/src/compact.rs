//! Compaction into snapshots: the state at a second T_s below the watermark, cut from the newest
//! base (the previous snapshot, a full backup, or the whole-life log) and the changes after it,
//! written as a snapshot that is exactly "state at T_s" (rows keep the stream label, sequence
//! number and stamp of the version they hold). Restores from T_s on replay only the changes
//! after it.
//!
//! The reconstruction is the restore's own (same planner, same fold, same continuity check), so
//! a snapshot can never say something a restore to T_s would not.

use crate::error::Result;
use crate::merge::{merge_small_files, MergeOptions, MergeReport};
use crate::snapshot_writer::{snapshot_row, Committed, SnapshotWriter};
use chrono::{DateTime, SecondsFormat};
use rewind_catalog::SnapshotKind;
use rewind_format::ChangeRecord;
use rewind_replay::plan::{plan_restore, PlanOptions};
use rewind_replay::reconstruct::{reconstruct, ReconstructOptions};
use rewind_replay::whole_life::{load_checked_catalog, refute_on_missing_insert};
use rewind_replay::window::{restorable_window, SnapshotUse};
use rewind_replay::AtSpec;
use rewind_store::Store;
use serde::Serialize;
use std::collections::BTreeSet;
use std::time::Instant;

/// How compaction runs.
#[derive(Debug, Clone)]
pub struct CompactOptions {
    /// Planning knobs (the watermark's skew margin among them). Quarantined records in the range
    /// refuse the snapshot unless `skip_quarantined`: a snapshot would bake their absence in.
    pub plan: PlanOptions,
    /// Reconstruction knobs.
    pub reconstruct: ReconstructOptions,
    /// Cut at this second instead of the watermark (it must be restorable).
    pub at: Option<i64>,
    /// Merge the small change files of finished hours first (`None`: leave them).
    pub merge: Option<MergeOptions>,
}

impl Default for CompactOptions {
    fn default() -> Self {
        CompactOptions {
            plan: PlanOptions::default(),
            reconstruct: ReconstructOptions::default(),
            at: None,
            merge: Some(MergeOptions::default()),
        }
    }
}

/// What a compaction did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompactReport {
    /// Source table.
    pub table: String,
    /// The snapshot's time, RFC 3339; `None` when there was nothing to do.
    pub snapshot_at: Option<String>,
    /// Its manifest.
    pub manifest: Option<String>,
    /// The base it was cut from (a manifest), `None` for the whole-life log.
    pub base: Option<String>,
    /// Why nothing was done, when nothing was.
    pub skipped: Option<String>,
    /// Items in the snapshot.
    pub items: u64,
    /// Change files and bytes read.
    pub files_read: u64,
    /// See `files_read`.
    pub bytes_read: u64,
    /// Snapshot files and bytes written.
    pub files_written: u64,
    /// See `files_written`.
    pub bytes_written: u64,
    /// `false`: another compaction committed this snapshot first.
    pub committed: bool,
    /// What small-file compaction did, when it ran.
    pub merge: Option<MergeReport>,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Cuts a snapshot of `table` at the watermark (or `opts.at`), unless one exists there already.
/// Settles the whole-life claim first when a full backup can; a whole-life plan that meets an
/// item without an INSERT records that the log does not cover the whole life and plans again
/// from a snapshot.
pub async fn compact(store: &Store, table: &str, opts: &CompactOptions) -> Result<CompactReport> {
    match compact_once(store, table, opts).await {
        Err(crate::CompactorError::Replay(e)) => match e {
            rewind_replay::ReplayError::MissingInsert { .. } => {
                compact_once(store, table, opts).await
            }
            other => Err(other.into()),
        },
        other => other,
    }
}

async fn compact_once(store: &Store, table: &str, opts: &CompactOptions) -> Result<CompactReport> {
    let started = Instant::now();
    let mut catalog =
        load_checked_catalog(store, table, opts.at, &opts.plan, &opts.reconstruct).await?;
    let mut window = restorable_window(&catalog, &opts.plan.window);
    // A point asked for must be restorable, whatever snapshots exist (exit 2, as for a restore),
    // refused before anything is merged or written.
    if let Some(at) = opts.at {
        if !window.intervals.iter().any(|i| i.contains(at)) {
            return Err(rewind_replay::plan::outside_window(table, &window, at).into());
        }
    }
    let mut report = CompactReport {
        table: table.to_string(),
        snapshot_at: None,
        manifest: None,
        base: None,
        skipped: None,
        items: 0,
        files_read: 0,
        bytes_read: 0,
        files_written: 0,
        bytes_written: 0,
        committed: false,
        merge: None,
        seconds: 0.0,
    };
    if let (Some(merge), Some(watermark)) = (&opts.merge, window.watermark) {
        let merged = merge_small_files(store, table, watermark, merge).await?;
        // The merge deleted what earlier runs replaced and added merged files: the snapshot is
        // planned on the store as it is now, or it would pin files just deleted.
        if merged.files_deleted > 0 || merged.files_merged > 0 {
            catalog =
                load_checked_catalog(store, table, opts.at, &opts.plan, &opts.reconstruct).await?;
            window = restorable_window(&catalog, &opts.plan.window);
        }
        report.merge = Some(merged);
    }
    let Some(at) = opts.at.or(window.watermark) else {
        report.skipped = Some("capture has not read anything yet (no watermark)".into());
        return Ok(report);
    };
    if let Some(newest) = window
        .snapshots
        .iter()
        .filter(|s| s.status == SnapshotUse::Usable)
        .map(|s| s.at)
        .max()
    {
        if newest >= at {
            report.skipped = Some(format!(
                "the newest snapshot ({}) is not older than {} ({})",
                rewind_replay::at::format_second(newest),
                if opts.at.is_some() {
                    "the point asked for"
                } else {
                    "the watermark"
                },
                rewind_replay::at::format_second(at)
            ));
            return Ok(report);
        }
    }
    let plan = plan_restore(&catalog, AtSpec::Second(at), &opts.plan)?;
    let writer = SnapshotWriter::new(store.clone(), table, at, plan.buckets);
    let stats = reconstruct(
        store,
        &plan,
        &opts.reconstruct,
        &BTreeSet::new(),
        |bucket, items| {
            let writer = &writer;
            let table = &plan.table;
            async move {
                let rows: Vec<ChangeRecord> = items
                    .into_iter()
                    .map(|item| snapshot_row(table, item))
                    .collect();
                writer
                    .write_bucket(bucket, rows)
                    .await
                    .map_err(|e| rewind_replay::ReplayError::consumer("snapshot bucket", e))
            }
        },
    )
    .await;
    let stats = match stats {
        Ok(stats) => stats,
        Err(e) => {
            refute_on_missing_insert(store, table, &plan, &e).await?;
            return Err(e.into());
        }
    };
    let base = plan.base.as_ref().map(|b| b.manifest_key.clone());
    // An invalidated snapshot at this very second holds the manifest name: it is wrong and
    // every reader skips it, so it goes first (its files after the new commit).
    let stale = catalog
        .snapshots
        .iter()
        .find(|s| s.invalidated && s.at == at)
        .cloned();
    if let Some(stale) = &stale {
        match store.delete(&stale.manifest_key).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
    }
    let committed = writer
        .commit(
            SnapshotKind::Compacted { base: base.clone() },
            at,
            (at + 1) * 1000,
            plan.description.as_ref().map(|d| d.table_arn.clone()),
        )
        .await?;
    report.snapshot_at =
        DateTime::from_timestamp(at, 0).map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true));
    report.base = base;
    report.items = stats.items;
    report.files_read = stats.files_read;
    report.bytes_read = stats.bytes_read;
    match committed {
        Committed::Won {
            manifest_key,
            manifest,
        } => {
            report.files_written = manifest.files.len() as u64;
            report.bytes_written = manifest.files.iter().map(|f| f.bytes).sum();
            report.manifest = Some(manifest_key);
            report.committed = true;
        }
        Committed::Lost { manifest_key } => report.manifest = Some(manifest_key),
    }
    if let Some(stale) = stale {
        for (key, _) in &stale.files {
            match store.delete(key).await {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}
