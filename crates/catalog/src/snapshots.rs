//! Complete snapshots as planning sees them: a manifest whose files are all listed, its valid
//! range, its bucket split, and whether late records invalidated it.

use crate::error::{CatalogError, Result};
use crate::json_record;
use crate::layout;
use crate::manifest::{
    SnapshotInvalidation, SnapshotKind, SnapshotManifest, SNAPSHOT_MANIFEST_VERSION,
};
use chrono::DateTime;
use rewind_store::ObjectStore;
use serde::{Deserialize, Serialize};

/// A complete snapshot (its manifest exists), as far as planning needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotInfo {
    /// The snapshot's name time, seconds since the epoch.
    pub at: i64,
    /// The manifest's key.
    pub manifest_key: String,
    /// First second the snapshot can be the base of a restore: its own time for a compacted
    /// snapshot; ceil(scan end) plus the margin for a Scan snapshot.
    pub valid_from: i64,
    /// Changes stamped at or after this (ms) are applied over it: the second after its time for
    /// a compacted snapshot; floor(scan start) minus the margin for a Scan snapshot.
    pub changes_from_ms: i64,
    /// Its bucket files: key and size.
    pub files: Vec<(String, u64)>,
    /// The key-hash bucket of each of `files` (same order), and the snapshot's bucket count: a
    /// restore split into as many buckets folds each file in place instead of spilling its rows
    /// (empty and 0 in plans journaled before this was recorded).
    #[serde(default)]
    pub file_buckets: Vec<u32>,
    /// See `file_buckets`.
    #[serde(default)]
    pub buckets: u32,
    /// A late record stamped at or before the snapshot arrived after it was cut: skip it.
    pub invalidated: bool,
    /// For a full backup: what its usability depends on (`None` for a compacted snapshot).
    #[serde(default)]
    pub scan: Option<ScanInfo>,
}

/// What a full backup's usability depends on: the stream the changes over it come from, and
/// when its scan ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanInfo {
    /// The table's stream when the scan started (`None`: a manifest from before this was
    /// recorded, when the backup required capture to be running already).
    pub stream_label: Option<String>,
    /// When the scan started and ended, ms.
    pub scan_start_ms: i64,
    /// See `scan_start_ms`.
    pub scan_end_ms: i64,
}

impl SnapshotInfo {
    /// Whether a restore of at least `wanted` buckets can use this snapshot's bucket split (and
    /// so fold its files in place): every file's bucket is known and the count is a power of two
    /// of at least `wanted`.
    pub fn folds_in_place(&self, wanted: u32) -> bool {
        self.buckets.is_power_of_two()
            && self.buckets >= wanted
            && self.file_buckets.len() == self.files.len()
            && self.file_buckets.iter().all(|&b| b < self.buckets)
    }
}

/// Every complete snapshot of `table`, oldest first. A manifest whose files are not all listed
/// with their recorded sizes (a replica where the manifest arrived first, a damaged store) is
/// skipped with a warning: it is not a snapshot yet.
pub async fn list_snapshots(store: &dyn ObjectStore, table: &str) -> Result<Vec<SnapshotInfo>> {
    let listed = rewind_store::list_all(store, &layout::snapshots_prefix(table)).await?;
    let sizes: std::collections::HashMap<&str, u64> =
        listed.iter().map(|m| (m.key.as_str(), m.size)).collect();
    let mut invalidations: Vec<SnapshotInvalidation> = Vec::new();
    let invalidations_prefix = layout::snapshot_invalidations_prefix(table);
    for meta in listed
        .iter()
        .filter(|m| m.key.starts_with(&invalidations_prefix))
    {
        let body = store.get(&meta.key).await?;
        invalidations.push(json_record::parse(
            store,
            &meta.key,
            &body,
            "snapshot invalidation",
        )?);
    }
    let mut out = Vec::new();
    for meta in &listed {
        let Some((t, at)) = layout::parse_snapshot_manifest(&meta.key) else {
            continue;
        };
        if t != table {
            continue;
        }
        let body = store.get(&meta.key).await?;
        let manifest: SnapshotManifest =
            json_record::parse(store, &meta.key, &body, "snapshot manifest")?;
        if manifest.manifest_version != SNAPSHOT_MANIFEST_VERSION {
            return Err(CatalogError::Invalid {
                what: "snapshot manifest",
                location: store.describe(&meta.key),
                reason: format!(
                    "manifest version {} is not supported (this build reads {}); upgrade rewind",
                    manifest.manifest_version, SNAPSHOT_MANIFEST_VERSION
                ),
            });
        }
        if let Some(missing) = manifest
            .files
            .iter()
            .find(|f| sizes.get(f.key.as_str()) != Some(&f.bytes))
        {
            tracing::warn!(manifest = %meta.key, file = %missing.key, "snapshot incomplete: a file is missing or has another size; skipping it");
            continue;
        }
        // A compacted snapshot committed before late records stamped within it arrived lacks
        // them. (A Scan snapshot read the live table, and every change from before its scan
        // is in it or applied over it: never invalidated.)
        let created_ms = DateTime::parse_from_rfc3339(&manifest.created_at)
            .map(|t| t.timestamp_millis())
            .unwrap_or(i64::MIN);
        let compacted = manifest.changes_from_ms >= (manifest.valid_from + 1) * 1000;
        let invalidated = compacted
            && invalidations.iter().any(|i| {
                i.written_at_ms > created_ms && i.from_stamp_ms < (at.timestamp() + 1) * 1000
            });
        if invalidated {
            tracing::warn!(manifest = %meta.key, "snapshot invalidated by late records; restores skip it");
        }
        out.push(SnapshotInfo {
            at: at.timestamp(),
            manifest_key: meta.key.clone(),
            valid_from: manifest.valid_from,
            changes_from_ms: manifest.changes_from_ms,
            files: manifest
                .files
                .iter()
                .map(|f| (f.key.clone(), f.bytes))
                .collect(),
            file_buckets: manifest.files.iter().map(|f| f.bucket).collect(),
            buckets: manifest.buckets,
            invalidated,
            scan: match &manifest.kind {
                SnapshotKind::Scan {
                    stream_label,
                    scan_start_ms,
                    scan_end_ms,
                    ..
                } => Some(ScanInfo {
                    stream_label: stream_label.clone(),
                    scan_start_ms: *scan_start_ms,
                    scan_end_ms: *scan_end_ms,
                }),
                SnapshotKind::Compacted { .. } => None,
            },
        });
    }
    out.sort_by_key(|s| (s.at, s.manifest_key.clone()));
    Ok(out)
}

/// Records that compacted snapshots of `table` committed before `marker.written_at_ms` lack
/// records stamped from `marker.from_stamp_ms` on (a redrive delivered them late); restores skip
/// such snapshots and the next compaction re-cuts them. `unique` tells two markers of the same
/// second apart (the shard and the range, say). Returns the key written.
pub async fn record_snapshot_invalidation(
    store: &dyn ObjectStore,
    table: &str,
    marker: &SnapshotInvalidation,
    unique: &str,
) -> Result<String> {
    let from = DateTime::from_timestamp_millis(marker.from_stamp_ms).unwrap_or_default();
    let key = layout::snapshot_invalidation_key(table, from, unique);
    let body = serde_json::to_vec_pretty(marker).expect("markers serialise");
    store.put(&key, body.into()).await?;
    Ok(key)
}
