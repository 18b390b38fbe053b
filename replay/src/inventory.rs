//! What a store holds, per table (`rewind ls`): restorable window, watermark and lag, files,
//! snapshots, shards, gaps and quarantine.

use crate::at::format_second;
use crate::error::Result;
use crate::window::{restorable_window, Interval, SnapshotUse, WholeLife, WindowOptions};
use rewind_catalog::layout::{self, CheckpointKey};
use rewind_catalog::load_catalog;
use rewind_store::Store;
use serde::Serialize;
use std::collections::BTreeSet;

/// One table's summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableSummary {
    /// Source table.
    pub table: String,
    /// The source table's ARN, from its newest description.
    pub table_arn: Option<String>,
    /// Restorable intervals.
    pub window: Vec<Interval>,
    /// Restorable intervals, as text.
    pub window_text: Vec<String>,
    /// The last second fully captured, RFC 3339.
    pub watermark: Option<String>,
    /// Seconds from the watermark to now: the live RPO. `None` once the table was deleted and
    /// its stream drained: nothing is behind any more, and a lag alarm must clear.
    pub lag_seconds: Option<i64>,
    /// Set when the newest lineage's table was deleted: when it was found gone, and the last
    /// point a restore can ask for.
    pub deleted: Option<DeletedLine>,
    /// Every lineage (incarnation of the table name), oldest first, in words.
    pub lineages: Vec<String>,
    /// Checkpoints whose change files are not in the store yet (a replica still arriving): the
    /// window ends before them.
    pub incomplete: Vec<String>,
    /// Why the change log alone does not cover the whole life, when it does not.
    pub not_whole_life: Option<String>,
    /// Change files and their bytes.
    pub change_files: u64,
    /// See `change_files`.
    pub change_bytes: u64,
    /// Complete snapshots.
    pub snapshots: u64,
    /// Each snapshot and whether restores can use it, oldest first.
    pub snapshot_states: Vec<SnapshotLine>,
    /// What is known of the change log covering the whole life.
    pub whole_life: WholeLife,
    /// Streams (labels) captured.
    pub streams: Vec<String>,
    /// Shards with checkpoints; of them, ended.
    pub shards: u64,
    /// See `shards`.
    pub shards_ended: u64,
    /// Recorded gaps.
    pub gaps: u64,
    /// Quarantined records.
    pub quarantined: u64,
}

/// A deleted table as `ls` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeletedLine {
    /// When capture found the table gone, RFC 3339 (the deletion happened before).
    pub detected_at: String,
    /// The stamp of the last change captured, RFC 3339.
    pub last_change: Option<String>,
    /// The last restorable point of the deleted table, RFC 3339 (`restore --at latest`).
    pub last_restorable: String,
    /// Whether its stream was read to the end (else gaps say what was lost).
    pub drained: bool,
    /// The whole sentence.
    pub text: String,
}

/// One snapshot as `ls` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotLine {
    /// Its name time, RFC 3339.
    pub at: String,
    /// `full backup` (a Scan) or `snapshot` (a compaction).
    pub kind: &'static str,
    /// First second it can be the base of a restore, RFC 3339.
    pub valid_from: String,
    /// Usable, waiting for capture, refused, invalidated.
    pub status: SnapshotUse,
    /// The snapshot and its status, in one sentence.
    pub status_text: String,
}

/// Tables with capture state or backups in the store.
pub async fn list_tables(store: &Store) -> Result<Vec<String>> {
    let mut tables = BTreeSet::new();
    // A table backed up before capture started has an owner claim and no checkpoint yet.
    for meta in rewind_store::list_all(store.as_ref(), &layout::all_tables_prefix()).await? {
        tables.extend(layout::parse_table_owner(&meta.key));
    }
    for meta in rewind_store::list_all(store.as_ref(), &layout::all_checkpoints_prefix()).await? {
        if let Ok(k) = CheckpointKey::parse(&meta.key) {
            tables.insert(k.table);
        }
    }
    Ok(tables.into_iter().collect())
}

/// Summarises one table.
pub async fn summarize(store: &Store, table: &str, opts: &WindowOptions) -> Result<TableSummary> {
    let catalog = load_catalog(store.as_ref(), table, None).await?;
    let window = restorable_window(&catalog, opts);
    let now = chrono::Utc::now().timestamp();
    Ok(TableSummary {
        table: table.to_string(),
        table_arn: catalog
            .descriptions
            .last()
            .map(|d| d.description.table_arn.clone()),
        window_text: window.intervals.iter().map(|i| i.to_string()).collect(),
        window: window.intervals.clone(),
        watermark: window.watermark.map(format_second),
        lag_seconds: window
            .watermark
            .filter(|_| window.deleted().is_none())
            .map(|w| now - w),
        deleted: window.deleted().map(|d| {
            let last_restorable = format_second(d.last_restorable_second());
            DeletedLine {
                detected_at: format_second(d.detected_at_ms.div_euclid(1000)),
                last_change: d.last_change_ms.map(|ms| format_second(ms.div_euclid(1000))),
                text: format!(
                    "deleted: found gone at {}; last restorable point {last_restorable}{}",
                    format_second(d.detected_at_ms.div_euclid(1000)),
                    if d.drained {
                        "; its stream was read to the end".to_string()
                    } else {
                        format!(
                            "; its stream could no longer be read ({}): changes after the last capture are lost (a gap is recorded)",
                            d.unreadable_reason.as_deref().unwrap_or("unknown reason")
                        )
                    }
                ),
                last_restorable,
                drained: d.drained,
            }
        }),
        lineages: window.lineages.iter().map(|l| l.describe()).collect(),
        incomplete: window.incomplete.clone(),
        not_whole_life: window.not_whole_life().map(str::to_string),
        change_files: catalog.change_files.len() as u64,
        change_bytes: catalog.change_files.iter().map(|f| f.size).sum(),
        snapshots: catalog.snapshots.len() as u64,
        snapshot_states: window
            .snapshots
            .iter()
            .map(|s| SnapshotLine {
                at: format_second(s.at),
                kind: s.kind(),
                valid_from: format_second(s.valid_from),
                status_text: s.describe(),
                status: s.status.clone(),
            })
            .collect(),
        whole_life: window.whole_life.clone(),
        streams: catalog
            .checkpoints
            .iter()
            .map(|c| c.stream_label.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
        shards: catalog.checkpoints.len() as u64,
        shards_ended: catalog.checkpoints.iter().filter(|c| c.shard_ended).count() as u64,
        gaps: catalog.gaps.len() as u64,
        quarantined: catalog.quarantined.len() as u64,
    })
}
