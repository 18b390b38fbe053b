//! Everything the store holds about one table that a restore plan depends on: change files
//! (names and sizes), snapshots, checkpoints, recorded gaps, quarantined records, table
//! descriptions, the retention marker, the whole-life verdict and the deletion records. Loading it is the planner's
//! only I/O; planning is a pure function of it, so every planning rule is tested with hand-made
//! catalogs.

use crate::change_files::{list_change_files, CatalogFile};
use crate::checkpoint::{list_checkpoints, Checkpoint};
use crate::deletion::{list_deletions, TableDeletion};
use crate::description::{list_descriptions, DescribedAt};
use crate::error::{CatalogError, Result};
use crate::gap::{list_gaps, Gap};
use crate::layout::{self, HourPartition};
use crate::quarantine::{list_quarantine_entries, QuarantineEntry};
use crate::retention::load_retention_marker;
use crate::snapshots::{list_snapshots, SnapshotInfo};
use crate::whole_life::{load_whole_life, WholeLifeEvidence};
use chrono::{DateTime, Utc};
use rewind_store::ObjectStore;

/// What the store holds about one table.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// Source table name.
    pub table: String,
    /// Change files, in key order (so by hour).
    pub change_files: Vec<CatalogFile>,
    /// The last hour whose change files were listed (`None`: every hour): later hours were
    /// left out because no restore to the second asked for reads them.
    pub change_files_until: Option<HourPartition>,
    /// Complete snapshots, oldest first.
    pub snapshots: Vec<SnapshotInfo>,
    /// Shard checkpoints of every stream.
    pub checkpoints: Vec<Checkpoint>,
    /// Recorded gaps.
    pub gaps: Vec<Gap>,
    /// Quarantined records.
    pub quarantined: Vec<QuarantineEntry>,
    /// Table descriptions, oldest first.
    pub descriptions: Vec<DescribedAt>,
    /// Retention deleted every change file of the hours ending at or before this (ms).
    pub changes_deleted_before_ms: Option<i64>,
    /// What is known of whether the change log covers the table's whole life.
    pub whole_life: Option<WholeLifeEvidence>,
    /// Streams whose table was deleted (or re-created) and that were drained: each closes a
    /// lineage. Oldest stream first.
    pub deletions: Vec<TableDeletion>,
}

/// Loads the catalog of `table`. Change files of hours after `until_second` (when given) are not
/// listed: no restore to that second reads them.
pub async fn load_catalog(
    store: &dyn ObjectStore,
    table: &str,
    until_second: Option<i64>,
) -> Result<Catalog> {
    layout::validate_table(table).map_err(|e| CatalogError::Invalid {
        what: "table name",
        location: table.to_string(),
        reason: e.to_string(),
    })?;
    let last_hour = until_second
        .and_then(|s| DateTime::<Utc>::from_timestamp(s, 0))
        .map(HourPartition::of);
    let checkpoints = list_checkpoints(store, table).await?;
    let gaps = list_gaps(store, table).await?;
    Ok(Catalog {
        table: table.to_string(),
        change_files: list_change_files(store, table, last_hour).await?,
        change_files_until: last_hour,
        snapshots: list_snapshots(store, table).await?,
        checkpoints,
        gaps,
        quarantined: list_quarantine_entries(store, table).await?,
        descriptions: list_descriptions(store, table).await?,
        changes_deleted_before_ms: load_retention_marker(store, table)
            .await?
            .map(|m| m.changes_deleted_before_ms),
        whole_life: load_whole_life(store, table).await?,
        deletions: list_deletions(store, table).await?,
    })
}
