//! The catalog: everything the store holds about one table that a restore plan depends on —
//! change files (names and sizes), snapshots, checkpoints, recorded gaps, quarantined records
//! and table descriptions. Loading it is the planner's only I/O; [`crate::plan`] is a pure
//! function of it, so every planning rule is tested with hand-made catalogs.

use crate::error::{ReplayError, Result};
use chrono::{DateTime, Utc};
use rewind_capture::{list_checkpoints, list_gaps, Checkpoint, Gap, TableDescription};
use rewind_format::{SnapshotInvalidation, SnapshotManifest};
use rewind_store::layout::{self, ChangeFile, ChangeFileKind, HourPartition};
use rewind_store::{ObjectStore, StoreError};
use serde::{Deserialize, Serialize};

/// A change file the store lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogFile {
    /// What its name says (hour, label, shard, sequence range, or compaction run).
    pub file: ChangeFile,
    /// Object key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
}

impl CatalogFile {
    /// The stream label, for batch files (a compacted file may hold several).
    pub fn stream_label(&self) -> Option<&str> {
        match &self.file.kind {
            ChangeFileKind::Batch { stream_label, .. } => Some(stream_label),
            ChangeFileKind::Compacted { .. } => None,
        }
    }
}

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

/// A quarantined record, as far as planning needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantineEntry {
    /// Object key.
    pub key: String,
    /// The record's stamp (ms), when the raw record says.
    pub stamp_ms: Option<i64>,
    /// When capture met it (ms).
    pub ingested_at_ms: i64,
}

/// A stored table description and the time it is in force from.
#[derive(Debug, Clone, PartialEq)]
pub struct DescribedAt {
    /// In force from (ms): when capture or backup described the table.
    pub at_ms: i64,
    /// Object key.
    pub key: String,
    /// The description.
    pub description: TableDescription,
}

/// What the store holds about one table.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// Source table name.
    pub table: String,
    /// Change files, in key order (so by hour).
    pub change_files: Vec<CatalogFile>,
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
}

/// The verdict of a whole-life check ([`crate::whole_life`]): whether the change log holds
/// every item the table had since its first stream began.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WholeLifeVerdict {
    /// A full backup's Scan found nothing the log does not explain.
    Confirmed,
    /// An item the log never inserted exists (or existed): it predates the stream.
    Refuted,
}

/// A stored whole-life verdict and the evidence behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WholeLifeEvidence {
    /// The verdict.
    pub verdict: WholeLifeVerdict,
    /// The snapshot whose Scan was compared with the log, when one was.
    pub snapshot: Option<String>,
    /// The second both were compared at, when they were.
    pub compared_at: Option<i64>,
    /// What was found, in words (the item that refutes it, or what confirmed it).
    pub reason: String,
    /// When the verdict was reached, ms.
    pub decided_at_ms: i64,
}

/// Reads the stored whole-life verdict: a refutation outranks a confirmation.
pub async fn load_whole_life(
    store: &dyn ObjectStore,
    table: &str,
) -> Result<Option<WholeLifeEvidence>> {
    for key in [
        layout::whole_life_refuted(table),
        layout::whole_life_confirmed(table),
    ] {
        match store.get(&key).await {
            Ok(body) => {
                return serde_json::from_slice(&body)
                    .map(Some)
                    .map_err(|e| ReplayError::Invalid {
                        what: "whole-life verdict",
                        location: store.describe(&key),
                        reason: e.to_string(),
                    })
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(None)
}

/// Stores a whole-life verdict, put-if-absent: the first verdict of each kind stands, and a
/// refutation is never withdrawn. Returns the verdict now in force.
pub async fn record_whole_life(
    store: &dyn ObjectStore,
    table: &str,
    evidence: &WholeLifeEvidence,
) -> Result<Option<WholeLifeEvidence>> {
    let key = match evidence.verdict {
        WholeLifeVerdict::Confirmed => layout::whole_life_confirmed(table),
        WholeLifeVerdict::Refuted => layout::whole_life_refuted(table),
    };
    let body = serde_json::to_vec_pretty(evidence).expect("serialisable");
    match store.put_if_absent(&key, body.into()).await {
        Ok(_) => {}
        Err(e) if e.is_already_exists() => {}
        Err(e) => return Err(e.into()),
    }
    load_whole_life(store, table).await
}

/// The retention marker (`tables/table=<t>/retention.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionMarker {
    /// Change files of hours ending at or before this (ms) may be gone.
    pub changes_deleted_before_ms: i64,
}

/// Reads the retention marker, `None` if retention never deleted change files.
pub async fn load_retention_marker(
    store: &dyn ObjectStore,
    table: &str,
) -> Result<Option<RetentionMarker>> {
    let key = layout::retention_marker(table);
    match store.get(&key).await {
        Ok(body) => serde_json::from_slice(&body)
            .map(Some)
            .map_err(|e| ReplayError::Invalid {
                what: "retention marker",
                location: store.describe(&key),
                reason: e.to_string(),
            }),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Loads the catalog of `table`. Change files of hours after `until_second` (when given) are not
/// listed: no restore to that second reads them.
pub async fn load_catalog(
    store: &dyn ObjectStore,
    table: &str,
    until_second: Option<i64>,
) -> Result<Catalog> {
    layout::validate_table(table).map_err(|e| ReplayError::Invalid {
        what: "table name",
        location: table.to_string(),
        reason: e.to_string(),
    })?;
    let last_hour = until_second
        .and_then(|s| DateTime::<Utc>::from_timestamp(s, 0))
        .map(HourPartition::of);
    let checkpoints = list_checkpoints(store, table).await.map_err(capture_err)?;
    let gaps = list_gaps(store, table).await.map_err(capture_err)?;
    Ok(Catalog {
        table: table.to_string(),
        change_files: list_change_files(store, table, last_hour).await?,
        snapshots: list_snapshots(store, table).await?,
        checkpoints,
        gaps,
        quarantined: list_quarantine(store, table).await?,
        descriptions: list_descriptions(store, table).await?,
        changes_deleted_before_ms: load_retention_marker(store, table)
            .await?
            .map(|m| m.changes_deleted_before_ms),
        whole_life: load_whole_life(store, table).await?,
    })
}

/// Every change file of `table` up to `last_hour`, paged and stopped at the first later hour.
pub async fn list_change_files(
    store: &dyn ObjectStore,
    table: &str,
    last_hour: Option<HourPartition>,
) -> Result<Vec<CatalogFile>> {
    let prefix = layout::changes_prefix(table);
    let mut out = Vec::new();
    let mut start_after: Option<String> = None;
    loop {
        let page = store
            .list_page(&prefix, start_after.as_deref(), rewind_store::MAX_LIST_PAGE)
            .await?;
        for meta in &page.objects {
            let file = ChangeFile::parse(&meta.key).map_err(|e| ReplayError::Invalid {
                what: "change file name",
                location: store.describe(&meta.key),
                reason: e.to_string(),
            })?;
            if last_hour.is_some_and(|last| file.hour > last) {
                return Ok(out);
            }
            out.push(CatalogFile {
                file,
                key: meta.key.clone(),
                size: meta.size,
            });
        }
        match page.objects.last() {
            Some(last) if page.truncated => start_after = Some(last.key.clone()),
            _ => return Ok(out),
        }
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
        invalidations.push(
            serde_json::from_slice(&body).map_err(|e| ReplayError::Invalid {
                what: "snapshot invalidation",
                location: store.describe(&meta.key),
                reason: e.to_string(),
            })?,
        );
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
            serde_json::from_slice(&body).map_err(|e| ReplayError::Invalid {
                what: "snapshot manifest",
                location: store.describe(&meta.key),
                reason: e.to_string(),
            })?;
        if manifest.manifest_version != rewind_format::SNAPSHOT_MANIFEST_VERSION {
            return Err(ReplayError::Invalid {
                what: "snapshot manifest",
                location: store.describe(&meta.key),
                reason: format!(
                    "manifest version {} is not supported (this build reads {}); upgrade rewind",
                    manifest.manifest_version,
                    rewind_format::SNAPSHOT_MANIFEST_VERSION
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
                rewind_format::SnapshotKind::Scan {
                    stream_label,
                    scan_start_ms,
                    scan_end_ms,
                    ..
                } => Some(ScanInfo {
                    stream_label: stream_label.clone(),
                    scan_start_ms: *scan_start_ms,
                    scan_end_ms: *scan_end_ms,
                }),
                rewind_format::SnapshotKind::Compacted { .. } => None,
            },
        });
    }
    out.sort_by_key(|s| (s.at, s.manifest_key.clone()));
    Ok(out)
}

async fn list_quarantine(store: &dyn ObjectStore, table: &str) -> Result<Vec<QuarantineEntry>> {
    let mut out = Vec::new();
    for meta in rewind_store::list_all(store, &layout::quarantine_prefix(table)).await? {
        let body = store.get(&meta.key).await?;
        let entry: rewind_capture::QuarantinedRecord =
            serde_json::from_slice(&body).map_err(|e| ReplayError::Invalid {
                what: "quarantine entry",
                location: store.describe(&meta.key),
                reason: e.to_string(),
            })?;
        out.push(QuarantineEntry {
            key: meta.key,
            stamp_ms: raw_stamp_ms(&entry.record),
            ingested_at_ms: entry.ingested_at_ms,
        });
    }
    Ok(out)
}

/// The creation time of a raw stream record (Lambda or Streams API JSON), when readable:
/// `dynamodb.ApproximateCreationDateTime` in seconds, possibly fractional.
pub fn raw_stamp_ms(record: &serde_json::Value) -> Option<i64> {
    let field = record.get("dynamodb")?.get("ApproximateCreationDateTime")?;
    let seconds = field
        .as_f64()
        .or_else(|| field.as_str().and_then(|s| s.parse().ok()))?;
    seconds
        .is_finite()
        .then(|| (seconds * 1000.0).floor() as i64)
}

async fn list_descriptions(store: &dyn ObjectStore, table: &str) -> Result<Vec<DescribedAt>> {
    let mut out = Vec::new();
    for meta in rewind_store::list_all(store, &layout::descriptions_prefix(table)).await? {
        let Ok((t, at)) = layout::parse_description_key(&meta.key) else {
            continue;
        };
        if t != table {
            continue;
        }
        let body = store.get(&meta.key).await?;
        let description = serde_json::from_slice(&body).map_err(|e| ReplayError::Invalid {
            what: "table description",
            location: store.describe(&meta.key),
            reason: e.to_string(),
        })?;
        out.push(DescribedAt {
            at_ms: at.timestamp_millis(),
            key: meta.key,
            description,
        });
    }
    out.sort_by_key(|d| d.at_ms);
    Ok(out)
}

fn capture_err(e: rewind_capture::CaptureError) -> ReplayError {
    match e {
        rewind_capture::CaptureError::Store(s) => ReplayError::Store(s),
        other => ReplayError::Store(StoreError::other(
            "read capture state",
            "checkpoints".to_string(),
            other.to_string(),
            false,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stamps_of_both_record_shapes() {
        let lambda =
            serde_json::json!({"dynamodb": {"ApproximateCreationDateTime": 1_700_000_000.5}});
        assert_eq!(raw_stamp_ms(&lambda), Some(1_700_000_000_500));
        assert_eq!(raw_stamp_ms(&serde_json::json!({"dynamodb": {}})), None);
    }
}
