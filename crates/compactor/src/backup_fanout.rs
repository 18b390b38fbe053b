//! The full backup in steps, for the backup state machine (a Map over scan segments, a Map over
//! snapshot buckets), so a large table is scanned by many Lambdas at once:
//!
//! 1. [`plan_backup`] describes the table, checks its stream, fixes the run (segments, buckets,
//!    the scan's start) and keeps it in the store (`compaction/table=<t>/backups/<run>/`);
//! 2. [`backup_segment`] scans one segment into part files, one per snapshot bucket (and more
//!    when a bucket's rows grow large), then leaves a done-marker with its item count and end;
//! 3. [`backup_bucket`] merges one bucket's parts from every segment into the snapshot's bucket
//!    file (the snapshot is named after the last segment's end plus the margin, as
//!    [`crate::backup::backup_from`] names it);
//! 4. [`commit_backup`] checks the stream did not change, commits the manifest (put-if-absent)
//!    and removes the staged parts.
//!
//! Every step is idempotent: a retried segment first removes what an earlier attempt staged,
//! a retried bucket rewrites the same file of the same run. What a failed run leaves under its
//! prefix is never read by a restore (no manifest names it); `rewind check` does not list it.

use crate::backup::{bucket_count, rfc3339_ms, scan_bounds, scan_row, stream_label, BackupReport};
use crate::error::{CompactorError, Result};
use crate::fanout::BucketResult;
use crate::snapshot_writer::{new_run_id, SnapshotWriter};
use crate::table_source::TableSource;
use chrono::Utc;
use rewind_catalog::layout;
use rewind_catalog::{save_description_if_changed, SnapshotKind};
use rewind_format::{bucket_of, read_change_file, write_change_file, ChangeRecord};
use rewind_replay::plan::key_names_of;
use rewind_store::Store;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

/// Rows of one bucket a segment keeps in memory before writing them as a part file.
const PART_ROWS: usize = 20_000;

/// The fixed facts of one fanned-out backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupRun {
    /// Source table.
    pub table: String,
    /// Its ARN.
    pub table_arn: String,
    /// The run id every step writes under.
    pub run_id: String,
    /// Parallel Scan segments.
    pub segments: u32,
    /// Snapshot buckets.
    pub buckets: u32,
    /// The table's key attributes.
    pub key_names: Vec<String>,
    /// The stream label when the scan started.
    pub stream_label: String,
    /// When the scan started, ms (every row's stamp).
    pub scan_start_ms: i64,
    /// The margin on both sides of the scan, ms.
    pub margin_ms: i64,
}

impl BackupRun {
    /// The segments to fan out over.
    pub fn segment_list(&self) -> Vec<u32> {
        (0..self.segments).collect()
    }

    /// The buckets to fan out over.
    pub fn bucket_list(&self) -> Vec<u32> {
        (0..self.buckets).collect()
    }
}

/// What a finished segment leaves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentDone {
    /// The segment.
    pub segment: u32,
    /// Items it scanned.
    pub items: u64,
    /// When its scan ended, ms.
    pub ended_ms: i64,
    /// Part files it wrote.
    pub parts: u32,
}

/// Plans a backup of the table `source` reads: `segments` scan segments (at least one),
/// `buckets` snapshot buckets (`None`: from the table's item count), `margin_ms` either side.
pub async fn plan_backup(
    store: &Store,
    source: &dyn TableSource,
    segments: u32,
    buckets: Option<u32>,
    margin_ms: i64,
) -> Result<BackupRun> {
    let table = source.table();
    let description = source.describe().await?;
    let label = stream_label(table, &description)?;
    rewind_catalog::claim_table(store.as_ref(), table, &description.table_arn).await?;
    let described_at =
        chrono::DateTime::from_timestamp_millis(source.now_ms()).unwrap_or_else(Utc::now);
    save_description_if_changed(store.as_ref(), &description, described_at).await?;
    let run = BackupRun {
        table: table.to_string(),
        table_arn: description.table_arn.clone(),
        run_id: new_run_id(),
        segments: segments.max(1),
        buckets: buckets.unwrap_or_else(|| bucket_count(&description)),
        key_names: key_names_of(&description),
        stream_label: label,
        scan_start_ms: source.now_ms(),
        margin_ms: margin_ms.max(0),
    };
    let body = serde_json::to_vec(&run).expect("runs serialise");
    store
        .put(&layout::backup_run_key(table, &run.run_id), body.into())
        .await?;
    Ok(run)
}

/// Reads a planned backup run back.
pub async fn load_backup_run(store: &Store, table: &str, run_id: &str) -> Result<BackupRun> {
    let key = layout::backup_run_key(table, run_id);
    let body = store.get(&key).await?;
    serde_json::from_slice(&body).map_err(|e| CompactorError::Invalid {
        what: "backup run plan",
        location: store.describe(&key),
        reason: e.to_string(),
    })
}

/// Scans segment `segment` of the run into part files and marks it done.
pub async fn backup_segment(
    store: &Store,
    source: &dyn TableSource,
    run: &BackupRun,
    segment: u32,
) -> Result<SegmentDone> {
    if segment >= run.segments {
        return Err(invalid_step(
            run,
            format!("segment {segment} of {}", run.segments),
        ));
    }
    // What an earlier attempt staged: the table may have changed since, so its parts would
    // not be this attempt's.
    let prefix = layout::backup_segment_prefix(&run.table, &run.run_id, segment);
    for meta in rewind_store::list_all(store.as_ref(), &prefix).await? {
        store.delete(&meta.key).await?;
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(u32, Vec<ChangeRecord>)>();
    let mut failed: Option<CompactorError> = None;
    let mut items = 0u64;
    let scan = async {
        let mut pending: HashMap<u32, Vec<ChangeRecord>> = HashMap::new();
        let scanned = source
            .scan_segment(segment, run.segments, &mut |page| {
                for item in page {
                    let row = scan_row(
                        item,
                        &run.key_names,
                        &run.table,
                        &run.stream_label,
                        run.scan_start_ms,
                    );
                    match row {
                        Ok(record) => {
                            let bucket = bucket_of(&record.key, run.buckets);
                            let rows = pending.entry(bucket).or_default();
                            rows.push(record);
                            if rows.len() >= PART_ROWS
                                && tx.send((bucket, std::mem::take(rows))).is_err()
                            {
                                return false;
                            }
                        }
                        Err(e) => {
                            failed = Some(e);
                            return false;
                        }
                    }
                    items += 1;
                }
                true
            })
            .await;
        for (bucket, rows) in pending {
            if !rows.is_empty() {
                let _ = tx.send((bucket, rows));
            }
        }
        drop(tx);
        scanned
    };
    let write = async {
        let mut parts: HashMap<u32, u32> = HashMap::new();
        while let Some((bucket, rows)) = rx.recv().await {
            let part = parts.entry(bucket).or_default();
            let key = layout::backup_part_key(&run.table, &run.run_id, segment, bucket, *part);
            *part += 1;
            let written = write_change_file(&store.describe(&key), rows, &Default::default())?;
            store.put(&key, written.bytes).await?;
        }
        Ok::<u32, CompactorError>(parts.values().sum())
    };
    let (scanned, parts) = tokio::join!(scan, write);
    scanned?;
    if let Some(e) = failed {
        return Err(e);
    }
    let done = SegmentDone {
        segment,
        items,
        ended_ms: source.now_ms(),
        parts: parts?,
    };
    let body = serde_json::to_vec(&done).expect("markers serialise");
    store
        .put(
            &layout::backup_segment_done(&run.table, &run.run_id, segment),
            body.into(),
        )
        .await?;
    Ok(done)
}

/// Every segment's done-marker; refuses naming the first segment not done.
async fn segments_done(store: &Store, run: &BackupRun) -> Result<Vec<SegmentDone>> {
    let mut done = Vec::with_capacity(run.segments as usize);
    for segment in 0..run.segments {
        let key = layout::backup_segment_done(&run.table, &run.run_id, segment);
        let body = match store.get(&key).await {
            Ok(body) => body,
            Err(e) if e.is_not_found() => {
                return Err(invalid_step(
                    run,
                    format!("segment {segment} is not scanned yet: run every segment step before the buckets"),
                ))
            }
            Err(e) => return Err(e.into()),
        };
        done.push(
            serde_json::from_slice(&body).map_err(|e| CompactorError::Invalid {
                what: "backup segment marker",
                location: store.describe(&key),
                reason: e.to_string(),
            })?,
        );
    }
    Ok(done)
}

/// The scan's end (the last segment's) and the snapshot's bounds from it (see
/// [`scan_bounds`]): `(scan_end_ms, valid_from, changes_from_ms)`.
fn bounds(run: &BackupRun, done: &[SegmentDone]) -> (i64, i64, i64) {
    let scan_end_ms = done
        .iter()
        .map(|d| d.ended_ms)
        .max()
        .unwrap_or(run.scan_start_ms);
    let (valid_from, changes_from_ms) = scan_bounds(run.scan_start_ms, scan_end_ms, run.margin_ms);
    (scan_end_ms, valid_from, changes_from_ms)
}

/// Merges bucket `bucket`'s parts from every segment into the snapshot's bucket file.
pub async fn backup_bucket(store: &Store, run: &BackupRun, bucket: u32) -> Result<BucketResult> {
    if bucket >= run.buckets {
        return Err(invalid_step(
            run,
            format!("bucket {bucket} of {}", run.buckets),
        ));
    }
    let done = segments_done(store, run).await?;
    let (_, at, _) = bounds(run, &done);
    let mut rows = Vec::new();
    for segment in 0..run.segments {
        let prefix = format!(
            "{}bucket={bucket:04}/",
            layout::backup_segment_prefix(&run.table, &run.run_id, segment)
        );
        for meta in rewind_store::list_all(store.as_ref(), &prefix).await? {
            let body = store.get(&meta.key).await?;
            rows.extend(read_change_file(&store.describe(&meta.key), body)?);
        }
    }
    let writer = SnapshotWriter::resume(
        store.clone(),
        &run.table,
        at,
        run.buckets,
        &run.run_id,
        Vec::new(),
    );
    writer.write_bucket(bucket, rows).await?;
    Ok(BucketResult {
        bucket,
        file: writer.files().pop(),
    })
}

/// Commits the snapshot from every bucket's result, then removes the staged run.
pub async fn commit_backup(
    store: &Store,
    source: &dyn TableSource,
    run: &BackupRun,
    results: &[BucketResult],
) -> Result<BackupReport> {
    let started = Instant::now();
    let reported: BTreeSet<u32> = results.iter().map(|r| r.bucket).collect();
    if let Some(missing) = (0..run.buckets).find(|b| !reported.contains(b)) {
        return Err(invalid_step(run, format!("bucket {missing} has no result")));
    }
    let done = segments_done(store, run).await?;
    let label_after = stream_label(&run.table, &source.describe().await?)?;
    if label_after != run.stream_label {
        return Err(CompactorError::NotCapturing {
            table: run.table.clone(),
            reason: format!(
                "the table's stream changed during the scan (from {} to {label_after}): changes in between may be in neither stream",
                run.stream_label
            ),
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
    let (scan_end_ms, at, changes_from_ms) = bounds(run, &done);
    let writer = SnapshotWriter::resume(
        store.clone(),
        &run.table,
        at,
        run.buckets,
        &run.run_id,
        files,
    );
    let committed = writer
        .commit(
            SnapshotKind::Scan {
                scan_start_ms: run.scan_start_ms,
                scan_end_ms,
                margin_ms: run.margin_ms,
                segments: run.segments,
                stream_label: Some(run.stream_label.clone()),
            },
            at,
            changes_from_ms,
            Some(run.table_arn.clone()),
        )
        .await?;
    for meta in rewind_store::list_all(
        store.as_ref(),
        &layout::backup_run_prefix(&run.table, &run.run_id),
    )
    .await?
    {
        store.delete(&meta.key).await?;
    }
    let (manifest, files, bytes, won) = committed.summary();
    Ok(BackupReport {
        status: None,
        table: run.table.clone(),
        manifest,
        run_id: run.run_id.clone(),
        valid_from: rfc3339_ms(at * 1000),
        changes_from: rfc3339_ms(changes_from_ms),
        items: done.iter().map(|d| d.items).sum(),
        buckets: run.buckets,
        files,
        bytes,
        scan_seconds: (scan_end_ms - run.scan_start_ms).max(0) as f64 / 1000.0,
        seconds: started.elapsed().as_secs_f64(),
        committed: won,
    })
}

fn invalid_step(run: &BackupRun, reason: String) -> CompactorError {
    CompactorError::Invalid {
        what: "backup step",
        location: format!("{} run {}", run.table, run.run_id),
        reason,
    }
}
