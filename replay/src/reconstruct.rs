//! Reconstruction: the pinned files of a plan → the state at T, bucket by bucket, in bounded
//! memory whatever the table's size.
//!
//! Pass 1 reads every pinned object once (a few at a time), keeps the rows the plan applies, and
//! routes each row by key hash to its bucket's spill file on local disk (Arrow IPC, uncompressed). Pass 2
//! folds one bucket at a time ([`crate::fold`]; several buckets in parallel) and
//! hands its items, sorted by key, to the caller. Memory is one bucket's keys per worker plus
//! the objects being decoded; disk holds the rows in range once.

use crate::error::{ReplayError, Result};
use crate::fold::{fold_batches, FoldedBucket};
use crate::plan::Plan;
use crate::spill::{SpillDir, SpillSender};
use crate::state::{LiveItem, StampRange, Tier};
use arrow::array::{AsArray, BinaryArray, RecordBatch, UInt32Array};
use arrow::compute::take_record_batch;
use arrow::datatypes::TimestampMillisecondType;
use futures::{StreamExt, TryStreamExt};
use rewind_format::bucket_of;
use rewind_format::{columns, ChangeFileReader, VERSION_COLUMNS};
use rewind_store::Store;
use std::collections::BTreeSet;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// How reconstruction uses the machine.
#[derive(Debug, Clone)]
pub struct ReconstructOptions {
    /// Objects fetched and decoded at once.
    pub read_concurrency: usize,
    /// Buckets folded (and handed on) at once.
    pub bucket_concurrency: usize,
    /// Where spill files go (a fresh temporary directory inside it); `None`: the system's.
    pub spill_dir: Option<PathBuf>,
}

impl Default for ReconstructOptions {
    fn default() -> Self {
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        ReconstructOptions {
            read_concurrency: cpus.clamp(2, 8),
            bucket_concurrency: cpus.clamp(2, 8),
            spill_dir: None,
        }
    }
}

/// What reconstruction read and produced.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReconstructStats {
    /// Objects read.
    pub files_read: u64,
    /// Bytes of those objects.
    pub bytes_read: u64,
    /// Objects skipped unread by their statistics (every stamp outside the range).
    pub files_pruned: u64,
    /// Rows read (all of them, in range or not).
    pub rows_read: u64,
    /// Rows applied (in the plan's range, in a bucket still to do).
    pub rows_applied: u64,
    /// Items in the state (the buckets handed on).
    pub items: u64,
    /// Keys seen in those buckets, present or removed.
    pub keys_seen: u64,
}

/// Reconstructs the state of `plan` and calls `on_bucket` once per bucket not in `skip`, with
/// the bucket's items sorted by key (possibly none). Stops at the first error.
pub async fn reconstruct<F, Fut>(
    store: &Store,
    plan: &Plan,
    opts: &ReconstructOptions,
    skip: &BTreeSet<u32>,
    on_bucket: F,
) -> Result<ReconstructStats>
where
    F: Fn(u32, Vec<LiveItem>) -> Fut + Send + Sync,
    Fut: Future<Output = Result<()>> + Send,
{
    let dir = Arc::new(SpillDir::new(opts.spill_dir.as_deref())?);
    let counters = Arc::new(Counters::default());
    // A base split into the plan's buckets is folded file by file in place; otherwise its rows
    // are spilled with the changes.
    let in_place = plan
        .base
        .as_ref()
        .filter(|b| b.buckets == plan.buckets && b.folds_in_place(plan.buckets));
    spill(store, plan, opts, skip, in_place.is_none(), &dir, &counters).await?;

    let todo: Vec<u32> = (0..plan.buckets).filter(|b| !skip.contains(b)).collect();
    let items = AtomicU64::new(0);
    let keys_seen = AtomicU64::new(0);
    let whole_life = plan.base.is_none();
    let (items_ref, keys_ref, on_bucket_ref) = (&items, &keys_seen, &on_bucket);
    futures::stream::iter(todo)
        .map(|bucket| {
            let dir = Arc::clone(&dir);
            let (items, keys_seen, on_bucket) = (items_ref, keys_ref, on_bucket_ref);
            let object = format!("{} (bucket {bucket})", plan.table);
            let counters = Arc::clone(&counters);
            let base_files: Vec<(String, u64)> = in_place
                .map(|b| {
                    b.files
                        .iter()
                        .zip(&b.file_buckets)
                        .filter(|(_, &fb)| fb == bucket)
                        .map(|(f, _)| f.clone())
                        .collect()
                })
                .unwrap_or_default();
            let buckets = plan.buckets;
            async move {
                let mut base = Vec::with_capacity(base_files.len());
                for (key, size) in base_files {
                    let bytes = fetch_pinned(store, &key, size, &counters).await?;
                    base.push((store.describe(&key), bytes));
                }
                let state = tokio::task::spawn_blocking(move || {
                    let mut batches = Vec::new();
                    for (name, bytes) in base {
                        let rows = read_base_in_place(&name, bytes, bucket, buckets, &counters)?;
                        batches.extend(rows.into_iter().map(|b| (Tier::Base, b)));
                    }
                    fold_bucket(&dir, bucket, &object, whole_life, batches)
                })
                .await
                .expect("fold task panicked")?;
                keys_seen.fetch_add(state.keys_seen as u64, Ordering::Relaxed);
                let bucket_items = state.items;
                items.fetch_add(bucket_items.len() as u64, Ordering::Relaxed);
                on_bucket(bucket, bucket_items).await
            }
        })
        .buffer_unordered(opts.bucket_concurrency.max(1))
        .try_collect::<Vec<()>>()
        .await?;
    Ok(ReconstructStats {
        files_read: counters.files.load(Ordering::Relaxed),
        bytes_read: counters.bytes.load(Ordering::Relaxed),
        files_pruned: counters.pruned.load(Ordering::Relaxed),
        rows_read: counters.rows.load(Ordering::Relaxed),
        rows_applied: counters.applied.load(Ordering::Relaxed),
        items: items.into_inner(),
        keys_seen: keys_seen.into_inner(),
    })
}

#[derive(Debug, Default)]
struct Counters {
    files: AtomicU64,
    bytes: AtomicU64,
    rows: AtomicU64,
    applied: AtomicU64,
    pruned: AtomicU64,
}

#[allow(clippy::too_many_arguments)]
async fn spill(
    store: &Store,
    plan: &Plan,
    opts: &ReconstructOptions,
    skip: &BTreeSet<u32>,
    spill_base: bool,
    dir: &SpillDir,
    counters: &Arc<Counters>,
) -> Result<()> {
    let writer = dir.writer();

    let base_files = plan
        .base
        .iter()
        .filter(|_| spill_base)
        .flat_map(|b| b.files.iter().map(|(k, s)| (Tier::Base, k.clone(), *s)));
    let change_files = plan
        .files
        .iter()
        .map(|f| (Tier::Change, f.key.clone(), f.size));
    let jobs: Vec<(Tier, String, u64)> = base_files.chain(change_files).collect();
    let range = plan.changes;
    let buckets = plan.buckets;
    let skip = Arc::new(skip.clone());
    let read = futures::stream::iter(jobs)
        .map(|(tier, key, size)| {
            let tx = writer.sender();
            let skip = Arc::clone(&skip);
            let counters = Arc::clone(counters);
            async move {
                let bytes = fetch_pinned(store, &key, size, &counters).await?;
                let object = store.describe(&key);
                tokio::task::spawn_blocking(move || {
                    route_file(&object, bytes, tier, range, buckets, &skip, &tx, &counters)
                })
                .await
                .expect("decode task panicked")
            }
        })
        .buffer_unordered(opts.read_concurrency.max(1))
        .try_collect::<Vec<()>>()
        .await;
    let written = writer.finish();
    read?;
    written
}

#[allow(clippy::too_many_arguments)]
fn route_file(
    object: &str,
    bytes: bytes::Bytes,
    tier: Tier,
    range: StampRange,
    buckets: u32,
    skip: &BTreeSet<u32>,
    tx: &SpillSender,
    counters: &Counters,
) -> Result<()> {
    // Only the columns the fold reads are decoded (and spilled): not old images, shards,
    // identities or ingest times.
    let reader = ChangeFileReader::open_columns(object, bytes, VERSION_COLUMNS)?;
    // Statistics pruning: a change file whose stamps all fall outside the range (a file of T's
    // own hour written after T, or of the base's hour before it) is not decoded at all.
    let summary = reader.summary();
    if tier == Tier::Change
        && (summary.min_creation_time_ms >= range.until_ms
            || range
                .from_ms
                .is_some_and(|from| summary.max_creation_time_ms < from))
    {
        counters.pruned.fetch_add(1, Ordering::Relaxed);
        return Ok(());
    }
    for batch in reader {
        let batch = batch?;
        counters
            .rows
            .fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
        let schema_err = |detail: &str| schema_error(object, detail);
        let keys = key_column(object, &batch)?;
        let stamps = batch
            .column_by_name(columns::APPROXIMATE_CREATION_TIME)
            .and_then(|c| c.as_primitive_opt::<TimestampMillisecondType>())
            .ok_or_else(|| schema_err("approximate_creation_time missing or not ms"))?;
        // Rows grouped by bucket with one `take` (a counting sort), then sent as runs.
        let mut of_row: Vec<Option<u32>> = Vec::with_capacity(batch.num_rows());
        let mut counts = vec![0usize; buckets as usize];
        for row in 0..batch.num_rows() {
            // A base snapshot's rows are the state at its time: all of them apply.
            let applies = tier == Tier::Base || range.admits(stamps.value(row));
            let bucket = bucket_of(keys.value(row), buckets);
            let keep = applies && !skip.contains(&bucket);
            if keep {
                counts[bucket as usize] += 1;
            }
            of_row.push(keep.then_some(bucket));
        }
        let mut next = Vec::with_capacity(counts.len());
        let mut runs = Vec::new();
        let mut offset = 0;
        for (bucket, &n) in counts.iter().enumerate() {
            next.push(offset);
            if n > 0 {
                runs.push((bucket as u32, offset, n));
            }
            offset += n;
        }
        if offset == 0 {
            continue;
        }
        let mut indices = vec![0u32; offset];
        for (row, bucket) in of_row.iter().enumerate() {
            if let Some(b) = bucket {
                let slot = &mut next[*b as usize];
                indices[*slot] = row as u32;
                *slot += 1;
            }
        }
        counters.applied.fetch_add(offset as u64, Ordering::Relaxed);
        let rows = take_record_batch(&batch, &UInt32Array::from(indices))
            .map_err(|e| schema_err(&format!("selecting rows: {e}")))?;
        if !tx.send_runs(tier, rows, runs) {
            // The writer stopped: its own error is reported by `spill`.
            return Ok(());
        }
    }
    Ok(())
}

fn schema_error(object: &str, detail: &str) -> ReplayError {
    ReplayError::Format(rewind_format::FormatError::Schema {
        object: object.to_string(),
        detail: detail.to_string(),
    })
}

/// The batch's canonical keys, which routing and the in-place check hash.
fn key_column<'a>(object: &str, batch: &'a RecordBatch) -> Result<&'a BinaryArray> {
    batch
        .column_by_name(columns::KEY)
        .and_then(|c| c.as_binary_opt::<i32>())
        .ok_or_else(|| schema_error(object, "key column missing or not binary"))
}

/// Fetches a pinned object, refusing one that is gone or changed size since the plan.
async fn fetch_pinned(
    store: &Store,
    key: &str,
    size: u64,
    counters: &Counters,
) -> Result<bytes::Bytes> {
    let bytes = match store.get(key).await {
        Ok(b) => b,
        Err(e) if e.is_not_found() => {
            return Err(ReplayError::PinnedFileGone {
                key: store.describe(key),
            })
        }
        Err(e) => return Err(e.into()),
    };
    if bytes.len() as u64 != size {
        return Err(ReplayError::PinnedFileGone {
            key: format!(
                "{} (planned at {size} bytes, now {})",
                store.describe(key),
                bytes.len()
            ),
        });
    }
    counters.files.fetch_add(1, Ordering::Relaxed);
    counters.bytes.fetch_add(size, Ordering::Relaxed);
    Ok(bytes)
}

/// Decodes a base file of `bucket` for folding in place, checking that every row belongs to
/// the bucket its manifest says (a row elsewhere would be folded apart from its key's changes).
fn read_base_in_place(
    object: &str,
    bytes: bytes::Bytes,
    bucket: u32,
    buckets: u32,
    counters: &Counters,
) -> Result<Vec<RecordBatch>> {
    let reader = ChangeFileReader::open_columns(object, bytes, VERSION_COLUMNS)?;
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch?;
        let keys = key_column(object, &batch)?;
        let misplaced = (0..batch.num_rows())
            .map(|r| (r, bucket_of(keys.value(r), buckets)))
            .find(|&(_, b)| b != bucket);
        if let Some((row, found)) = misplaced {
            return Err(ReplayError::Invalid {
                what: "snapshot bucket file",
                location: object.to_string(),
                reason: format!(
                    "row {row} hashes to bucket {found} of {buckets}, but the manifest files it under bucket {bucket}"
                ),
            });
        }
        let n = batch.num_rows() as u64;
        counters.rows.fetch_add(n, Ordering::Relaxed);
        counters.applied.fetch_add(n, Ordering::Relaxed);
        out.push(batch);
    }
    Ok(out)
}

/// Folds one bucket: `batches` (base rows read in place, if any) and its spilled rows.
fn fold_bucket(
    dir: &SpillDir,
    bucket: u32,
    object: &str,
    whole_life: bool,
    mut batches: Vec<(Tier, RecordBatch)>,
) -> Result<FoldedBucket> {
    for tier in [Tier::Base, Tier::Change] {
        batches.extend(dir.read(tier, bucket)?.into_iter().map(|b| (tier, b)));
    }
    fold_batches(object, &batches, whole_life)
}
