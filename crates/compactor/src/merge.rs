//! Small-file compaction: the many small change files of a finished hour (one per capture batch)
//! become one file sorted by (key, stream label, sequence number) at a high zstd level.
//!
//! Readers stay correct at every moment: the merged file is written first (the originals and it
//! overlap, and readers de-duplicate by identity), a marker records which originals it replaces,
//! and the originals are deleted only by a later run once a grace period has passed, so a restore
//! planned just before sees its pinned files for at least that long (and re-plans if not).

use crate::error::Result;
use crate::snapshot_writer::new_run_id;
use bytes::Bytes;
use chrono::Utc;
use rewind_catalog::layout::{self, ChangeFile, HourPartition};
use rewind_catalog::{list_change_files, CatalogFile};
use rewind_format::{read_change_file, write_change_file, ChangeRecord, WriteOptions};
use rewind_store::Store;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// ZSTD level of merged change files (DESIGN.md: 0.41x the export format at 19 vs 0.52x at 3).
pub const MERGED_ZSTD_LEVEL: i32 = 19;

/// How small-file compaction runs.
#[derive(Debug, Clone)]
pub struct MergeOptions {
    /// How long replaced files stay after their replacement exists, ms.
    pub grace_ms: i64,
    /// "Now", ms (the clock; tests set it).
    pub now_ms: i64,
}

impl Default for MergeOptions {
    fn default() -> Self {
        MergeOptions {
            grace_ms: 3_600_000,
            now_ms: Utc::now().timestamp_millis(),
        }
    }
}

/// A marker: `replacement` holds every record of `replaced`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingDeletion {
    /// The merged file.
    pub replacement: String,
    /// The files it replaces.
    pub replaced: Vec<String>,
    /// When the merged file was durable, ms.
    pub created_at_ms: i64,
}

/// What a merge run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MergeReport {
    /// Hours merged in this run.
    pub hours_merged: u64,
    /// Files read and merged, and their bytes.
    pub files_merged: u64,
    /// See `files_merged`.
    pub bytes_merged: u64,
    /// Merged files written, and their bytes.
    pub files_written: u64,
    /// See `files_written`.
    pub bytes_written: u64,
    /// Replaced files deleted (their grace period over).
    pub files_deleted: u64,
    /// Replaced files still waiting for their grace period.
    pub files_pending: u64,
}

/// Deletes what earlier runs replaced (grace over), then merges every finished hour (ending at
/// or before the second `finished_through` ends) that has more than one change file.
pub async fn merge_small_files(
    store: &Store,
    table: &str,
    finished_through: i64,
    opts: &MergeOptions,
) -> Result<MergeReport> {
    let mut report = MergeReport::default();
    let mut pending: BTreeSet<String> = BTreeSet::new();
    for meta in
        rewind_store::list_all(store.as_ref(), &layout::compaction_pending_prefix(table)).await?
    {
        let body = store.get(&meta.key).await?;
        let marker: PendingDeletion =
            serde_json::from_slice(&body).map_err(|e| crate::error::CompactorError::Invalid {
                what: "pending-deletion marker",
                location: store.describe(&meta.key),
                reason: e.to_string(),
            })?;
        if marker.created_at_ms + opts.grace_ms > opts.now_ms {
            report.files_pending += marker.replaced.len() as u64;
            pending.extend(marker.replaced);
            continue;
        }
        // The replacement must still be there before anything it replaced goes.
        store.head(&marker.replacement).await?;
        for key in &marker.replaced {
            match store.delete(key).await {
                Ok(()) => {
                    rewind_store::crash_point::crash_point("merge.delete");
                    report.files_deleted += 1
                }
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e.into()),
            }
        }
        store.delete(&meta.key).await?;
    }

    let finished_ms = (finished_through + 1) * 1000;
    let mut hours: BTreeMap<HourPartition, Vec<CatalogFile>> = BTreeMap::new();
    for file in list_change_files(store.as_ref(), table, None).await? {
        if pending.contains(&file.key) {
            continue;
        }
        let hour_end_ms = file.file.hour.start().timestamp_millis() + 3_600_000;
        if hour_end_ms <= finished_ms {
            hours.entry(file.file.hour).or_default().push(file);
        }
    }
    for (hour, files) in hours.into_iter().filter(|(_, f)| f.len() > 1) {
        let (written, merged_bytes) = merge_hour(store, table, hour, &files, opts.now_ms).await?;
        report.hours_merged += 1;
        report.files_merged += files.len() as u64;
        report.bytes_merged += merged_bytes;
        report.files_written += 1;
        report.bytes_written += written;
        report.files_pending += files.len() as u64;
    }
    Ok(report)
}

/// Merges one hour's files into one; returns (bytes written, bytes read).
async fn merge_hour(
    store: &Store,
    table: &str,
    hour: HourPartition,
    files: &[CatalogFile],
    now_ms: i64,
) -> Result<(u64, u64)> {
    let mut records: Vec<ChangeRecord> = Vec::new();
    let mut read = 0u64;
    for file in files {
        let bytes = store.get(&file.key).await?;
        read += bytes.len() as u64;
        records.extend(read_change_file(&store.describe(&file.key), bytes)?);
    }
    records.sort_by(|a, b| a.identity().cmp(&b.identity()));
    records.dedup_by(|a, b| a.identity() == b.identity());
    let run_id = new_run_id();
    let key = ChangeFile::compacted(table, hour, &run_id)
        .map_err(|e| crate::error::CompactorError::Invalid {
            what: "compacted file name",
            location: table.to_string(),
            reason: e.to_string(),
        })?
        .key();
    let object = key.clone();
    let written = tokio::task::spawn_blocking(move || {
        write_change_file(
            &object,
            records,
            &WriteOptions {
                zstd_level: MERGED_ZSTD_LEVEL,
                ..WriteOptions::default()
            },
        )
    })
    .await
    .expect("merge encoding panicked")?;
    let size = written.bytes.len() as u64;
    store.put(&key, written.bytes).await?;
    rewind_store::crash_point::crash_point("merge.merged-file");
    let marker = PendingDeletion {
        replacement: key,
        replaced: files.iter().map(|f| f.key.clone()).collect(),
        created_at_ms: now_ms,
    };
    store
        .put(
            &layout::compaction_pending_key(table, &run_id),
            Bytes::from(serde_json::to_vec_pretty(&marker).expect("markers serialise")),
        )
        .await?;
    tracing::info!(table, hour = %hour.start(), files = files.len(), bytes = size, "merged an hour of change files");
    Ok((size, read))
}
