//! Snapshot keys: bucket files, manifests and invalidation markers.

use super::*;
use chrono::{DateTime, Utc};

/// Prefix of every snapshot of a table.
pub fn snapshots_prefix(table: &str) -> String {
    format!("{SNAPSHOTS}/table={table}/")
}

/// The directory of one snapshot.
pub fn snapshot_prefix(table: &str, at: DateTime<Utc>) -> String {
    format!("{SNAPSHOTS}/table={table}/at={}/", format_at(at))
}

/// The manifest that makes a snapshot exist (written last, put-if-absent).
pub fn snapshot_manifest(table: &str, at: DateTime<Utc>) -> String {
    format!("{}manifest.json", snapshot_prefix(table, at))
}

/// One key-hash bucket of a snapshot, written by one run.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SnapshotFile {
    /// Source table name.
    pub table: String,
    /// The snapshot time (whole seconds).
    pub at: DateTime<Utc>,
    /// The run that wrote it, so racing runs never overwrite each other.
    pub run_id: String,
    /// Key-hash bucket number.
    pub bucket: u32,
}

impl SnapshotFile {
    /// The object key.
    pub fn key(&self) -> String {
        format!(
            "{}run={}/bucket={:04}.parquet",
            snapshot_prefix(&self.table, self.at),
            self.run_id,
            self.bucket
        )
    }

    /// Reads a snapshot-file key back.
    pub fn parse(key: &str) -> Result<Self, LayoutError> {
        let bad = |reason: &str| err("snapshot file key", key, reason);
        let parts: Vec<&str> = key.split('/').collect();
        let [root, table_part, at, run, name] = parts[..] else {
            return Err(bad(
                "expected snapshots/table=<t>/at=<time>/run=<id>/bucket=<n>.parquet",
            ));
        };
        if root != SNAPSHOTS {
            return Err(bad("not under snapshots/"));
        }
        let table = parse_table_part(table_part)?;
        let at = parse_at(
            at.strip_prefix("at=")
                .ok_or_else(|| bad("expected at=<time>"))?,
        )?;
        let run_id = run
            .strip_prefix("run=")
            .ok_or_else(|| bad("expected run=<id>"))?;
        validate_run_id(run_id)?;
        let bucket = name
            .strip_prefix("bucket=")
            .and_then(|s| s.strip_suffix(".parquet"))
            .and_then(|s| s.parse::<u32>().ok())
            .ok_or_else(|| bad("expected bucket=NNNN.parquet"))?;
        let file = SnapshotFile {
            table,
            at,
            run_id: run_id.to_string(),
            bucket,
        };
        if file.key() != key {
            return Err(bad("not in canonical form"));
        }
        Ok(file)
    }
}

/// Prefix of a table's snapshot invalidations (late records that existing snapshots lack).
pub fn snapshot_invalidations_prefix(table: &str) -> String {
    format!("{SNAPSHOTS}/table={table}/invalidations/")
}

/// One invalidation, named by the late records' oldest stamp and a unique suffix.
pub fn snapshot_invalidation_key(table: &str, from: DateTime<Utc>, unique: &str) -> String {
    format!(
        "{}{}_{unique}.json",
        snapshot_invalidations_prefix(table),
        format_at(from)
    )
}

/// The time of a snapshot from its manifest key, or `None` if the key is not a manifest.
pub fn parse_snapshot_manifest(key: &str) -> Option<(String, DateTime<Utc>)> {
    let parts: Vec<&str> = key.split('/').collect();
    let [SNAPSHOTS, table_part, at, "manifest.json"] = parts[..] else {
        return None;
    };
    let table = parse_table_part(table_part).ok()?;
    let at = parse_at(at.strip_prefix("at=")?).ok()?;
    Some((table, at))
}
