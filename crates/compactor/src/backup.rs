//! The full backup: a parallel, consistent Scan of the live table written as a snapshot.
//!
//! A Scan is not a point in time: items change while it runs (DESIGN.md). So its rows rank below
//! every change, every change stamped from floor(scan start) minus the margin is applied over
//! it, and it is valid only from ceil(scan end) plus the margin. That needs every change from
//! then on to be captured: the table's stream must be enabled (with images) before the scan
//! starts, and capture must read it from before those records are trimmed (24 h). The backup
//! checks the first and records the stream's label and the scan's times in the manifest; capture
//! may start later, and the snapshot is usable only once capture covers that stream from before
//! the scan (`rewind ls` shows it waiting; a capture that started too late refuses it).

use crate::error::{CompactorError, Result};
use crate::snapshot_writer::SnapshotWriter;
use crate::table_source::{DynamoDbSource, ScannedItem, TableSource};
use chrono::{SecondsFormat, Utc};
use futures::future::try_join_all;
use rewind_catalog::load_catalog;
use rewind_catalog::SnapshotKind;
use rewind_catalog::{check_view_type, save_description_if_changed};
use rewind_format::bucket_of;
use rewind_format::{
    batch_to_records, encode_key, item_to_json, to_batch, AttributeValue, ChangeRecord, EventName,
};
use rewind_replay::plan::key_names_of;
use rewind_replay::spill::{SpillDir, SpillSender};
use rewind_replay::state::Tier;
use rewind_replay::window::{restorable_window, SnapshotUse};
use rewind_store::Store;
use serde::Serialize;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// How far a running backup is, for a job's progress: read while the backup runs.
#[derive(Debug, Default)]
pub struct BackupProgress {
    /// Items scanned so far.
    pub items_scanned: AtomicU64,
    /// The table's item count as DynamoDB last estimated it (updated about every six hours);
    /// 0 until described.
    pub items_expected: AtomicU64,
    /// Snapshot buckets written.
    pub buckets_written: AtomicU64,
    /// Snapshot buckets in all (0 until known).
    pub buckets_total: AtomicU64,
}

/// How the backup runs.
#[derive(Debug, Clone)]
pub struct BackupOptions {
    /// Parallel Scan segments.
    pub segments: u32,
    /// Safety margin on both sides of the scan (clock skew between this machine and DynamoDB's
    /// stamps), ms.
    pub margin_ms: i64,
    /// Key-hash buckets; `None`: from the table's item count (about 50k items per bucket, 16 to
    /// 1,024).
    pub buckets: Option<u32>,
    /// Where spill files go.
    pub spill_dir: Option<PathBuf>,
    /// Updated as the backup runs.
    pub progress: Arc<BackupProgress>,
}

impl Default for BackupOptions {
    fn default() -> Self {
        BackupOptions {
            segments: 4,
            margin_ms: 5_000,
            buckets: None,
            spill_dir: None,
            progress: Arc::default(),
        }
    }
}

/// What a backup did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackupReport {
    /// Source table.
    pub table: String,
    /// The snapshot's manifest.
    pub manifest: String,
    /// The run id.
    pub run_id: String,
    /// First restorable second with this snapshot as the base, RFC 3339.
    pub valid_from: String,
    /// Changes applied over it from here, RFC 3339 (ms).
    pub changes_from: String,
    /// Items scanned.
    pub items: u64,
    /// Buckets and files written.
    pub buckets: u32,
    /// See `buckets`.
    pub files: u64,
    /// Bytes of the files.
    pub bytes: u64,
    /// Seconds the scan took, and the whole backup.
    pub scan_seconds: f64,
    /// See `scan_seconds`.
    pub seconds: f64,
    /// `false`: another backup committed the same second first (this one's files were removed).
    pub committed: bool,
    /// Whether restores can use the snapshot yet (typically waiting for capture to read the
    /// stream past its first valid second).
    pub status: Option<SnapshotUse>,
}

/// Backs up `table` into `store` as a snapshot, scanning it through `client`.
pub async fn full_backup(
    store: &Store,
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    opts: &BackupOptions,
) -> Result<BackupReport> {
    backup_from(store, &DynamoDbSource::new(client.clone(), table), opts).await
}

/// Backs up the table `source` reads into `store` as a snapshot.
pub async fn backup_from(
    store: &Store,
    source: &dyn TableSource,
    opts: &BackupOptions,
) -> Result<BackupReport> {
    let started = Instant::now();
    let table = source.table();
    let description = source.describe().await?;
    let label = stream_label(table, &description)?;
    rewind_catalog::claim_table(store.as_ref(), table, &description.table_arn).await?;
    let described_at =
        chrono::DateTime::from_timestamp_millis(source.now_ms()).unwrap_or_else(Utc::now);
    save_description_if_changed(store.as_ref(), &description, described_at).await?;
    let key_names = key_names_of(&description);
    let buckets = opts.buckets.unwrap_or_else(|| bucket_count(&description));
    let progress = &opts.progress;
    progress.items_expected.store(
        description.item_count.unwrap_or(0).max(0) as u64,
        Ordering::Relaxed,
    );
    progress
        .buckets_total
        .store(u64::from(buckets), Ordering::Relaxed);

    let spill = SpillDir::new(opts.spill_dir.as_deref())?;
    // One writer thread per two cores: the scan's decoding keeps the others busy.
    let writer =
        spill.writer(rewind_replay::reconstruct::ReconstructOptions::host_threads().div_ceil(2));
    let scan_start_ms = source.now_ms();
    let segments = opts.segments.max(1);
    let scanned = try_join_all((0..segments).map(|segment| {
        scan_segment(
            source,
            segment,
            segments,
            &key_names,
            &label,
            scan_start_ms,
            buckets,
            writer.sender(),
            progress,
        )
    }))
    .await;
    let spilled = writer.finish();
    let items: u64 = scanned?.into_iter().sum();
    spilled?;
    let scan_end_ms = source.now_ms();
    let scan_seconds = started.elapsed().as_secs_f64();
    // A stream disabled and enabled again during the scan: changes in between are in neither
    // stream, and the rows carry the old label. Refuse rather than commit such a snapshot.
    let label_after = stream_label(table, &source.describe().await?)?;
    if label_after != label {
        return Err(CompactorError::NotCapturing {
            table: table.to_string(),
            reason: format!(
                "the table's stream changed during the scan (from {label} to {label_after}): changes in between may be in neither stream"
            ),
        });
    }

    let (valid_from, changes_from_ms) = scan_bounds(scan_start_ms, scan_end_ms, opts.margin_ms);
    let snapshot = SnapshotWriter::new(store.clone(), table, valid_from, buckets);
    for bucket in 0..buckets {
        let mut rows = Vec::new();
        for batch in spill.read(Tier::Base, bucket)? {
            rows.extend(batch_to_records(&format!("scan of {table}"), &batch, 0)?);
        }
        snapshot.write_bucket(bucket, rows).await?;
        progress.buckets_written.fetch_add(1, Ordering::Relaxed);
    }
    let run_id = snapshot.run_id().to_string();
    let committed = snapshot
        .commit(
            SnapshotKind::Scan {
                scan_start_ms,
                scan_end_ms,
                margin_ms: opts.margin_ms,
                segments: opts.segments.max(1),
                stream_label: Some(label.clone()),
            },
            valid_from,
            changes_from_ms,
            Some(description.table_arn.clone()),
        )
        .await?;
    let (manifest, files, bytes, won) = committed.summary();
    let catalog = load_catalog(store.as_ref(), table, None).await?;
    let status = restorable_window(&catalog, &Default::default())
        .snapshots
        .into_iter()
        .find(|s| s.manifest_key == manifest)
        .map(|s| s.status);
    Ok(BackupReport {
        status,
        table: table.to_string(),
        manifest,
        run_id,
        valid_from: rfc3339_ms(valid_from * 1000),
        changes_from: rfc3339_ms(changes_from_ms),
        items,
        buckets,
        files,
        bytes,
        scan_seconds,
        seconds: started.elapsed().as_secs_f64(),
        committed: won,
    })
}

/// A scan's snapshot bounds, with `margin_ms` of clock skew either side: the first second it is
/// valid from (the scan's end rounded up, plus the margin; also the snapshot's name) and the
/// stamp (ms) from which changes are applied over it (the scan's start rounded down, minus it).
pub(crate) fn scan_bounds(scan_start_ms: i64, scan_end_ms: i64, margin_ms: i64) -> (i64, i64) {
    let margin_s = (margin_ms.max(0) + 999) / 1000;
    (
        (scan_end_ms + 999).div_euclid(1000) + margin_s,
        (scan_start_ms.div_euclid(1000) - margin_s) * 1000,
    )
}

/// A time in ms as RFC 3339 with milliseconds, for reports.
pub(crate) fn rfc3339_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// Snapshot buckets for a table of the size DynamoDB last estimated: about 50k items per
/// bucket, 16 to 1,024.
pub(crate) fn bucket_count(description: &rewind_catalog::TableDescription) -> u32 {
    let items = description.item_count.unwrap_or(0).max(0) as u64;
    (items / 50_000).max(1).next_power_of_two().clamp(16, 1024) as u32
}

/// The label of the table's stream, which the changes over the scan will come from; refuses a
/// table without a stream, or with one capture cannot use.
pub(crate) fn stream_label(
    table: &str,
    description: &rewind_catalog::TableDescription,
) -> Result<String> {
    let stream = &description.stream;
    let Some(label) = stream
        .latest_stream_label
        .clone()
        .filter(|_| stream.enabled)
    else {
        return Err(CompactorError::NotCapturing {
            table: table.to_string(),
            reason: "the table has no stream enabled: enable one with view type NEW_AND_OLD_IMAGES before the backup, so that the changes made during and after the scan are captured".into(),
        });
    };
    // Refused typed (CatalogError::ViewType), with the fix in its message.
    check_view_type(table, stream.view_type.as_deref().unwrap_or(""))?;
    Ok(label)
}

/// Scans one segment into the spill; returns the items read.
#[allow(clippy::too_many_arguments)]
async fn scan_segment(
    source: &dyn TableSource,
    segment: u32,
    segments: u32,
    key_names: &[String],
    label: &str,
    stamp_ms: i64,
    buckets: u32,
    spill: SpillSender,
    progress: &BackupProgress,
) -> Result<u64> {
    let table = source.table();
    let mut items = 0u64;
    let mut failed: Option<CompactorError> = None;
    source
        .scan_segment(segment, segments, &mut |page| {
            let mut by_bucket: HashMap<u32, Vec<ChangeRecord>> = HashMap::new();
            for item in page {
                match scan_row(item, key_names, table, label, stamp_ms) {
                    Ok(record) => by_bucket
                        .entry(bucket_of(&record.key, buckets))
                        .or_default()
                        .push(record),
                    Err(e) => {
                        failed = Some(e);
                        return false;
                    }
                }
                items += 1;
                progress.items_scanned.fetch_add(1, Ordering::Relaxed);
            }
            // `false` when the writer failed; `finish` reports why.
            by_bucket
                .into_iter()
                .all(|(bucket, rows)| spill.send(Tier::Base, bucket, to_batch(&rows)))
        })
        .await?;
    match failed {
        Some(e) => Err(e),
        None => Ok(items),
    }
}

/// A scanned item as a snapshot row: the version it holds is unknown, so it carries the scan's
/// start as its stamp and sequence number 0 (it ranks below every change anyway).
pub(crate) fn scan_row(
    item: ScannedItem,
    key_names: &[String],
    table: &str,
    label: &str,
    stamp_ms: i64,
) -> Result<ChangeRecord> {
    let keys: HashMap<String, AttributeValue> = key_names
        .iter()
        .map(|name| {
            item.get(name)
                .map(|v| (name.clone(), v.clone()))
                .ok_or_else(|| CompactorError::Invalid {
                    what: "scanned item",
                    location: format!("table {table}"),
                    reason: format!("key attribute {name} is missing"),
                })
        })
        .collect::<Result<_>>()?;
    let key = encode_key(&keys).map_err(|e| CompactorError::Invalid {
        what: "scanned item key",
        location: item_to_json(&keys),
        reason: e.to_string(),
    })?;
    Ok(ChangeRecord {
        table_name: table.to_string(),
        event_name: EventName::Insert,
        stream_label: label.to_string(),
        sequence_number: "0".repeat(rewind_format::SEQUENCE_WIDTH),
        approximate_creation_time_ms: stamp_ms,
        key,
        keys: item_to_json(&keys),
        new_image: Some(item_to_json(&item)),
        old_image: None,
        old_image_hash: None,
        user_identity: None,
        shard_id: "scan".into(),
        ingested_at_ms: Utc::now().timestamp_millis(),
    })
}
