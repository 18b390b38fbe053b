//! Reconstruction: the pinned files of a plan → the state at T, bucket by bucket, in bounded
//! memory whatever the table's size.
//!
//! Pass 1 reads every pinned object once (as many at a time as there are cores to decode them),
//! keeps the rows the plan applies, and the decoding task itself routes each row by key hash to
//! its bucket's spill file on local disk ([`crate::version_spill`]). Pass 2 folds the buckets
//! ([`crate::fold`]; as many at once as there are cores) and hands each bucket's items, sorted
//! by key, to the caller. Memory is one bucket's versions per core plus the objects being
//! decoded; disk holds the rows in range once.

use crate::error::{ReplayError, Result};
use crate::fold::{fold_versions, FoldedBucket, Version};
use crate::plan::Plan;
use crate::state::{LiveItem, StampRange, Tier};
use crate::version_spill::{decode, RowBuffers, VersionSpill, TASK_BUFFER};
use arrow::array::RecordBatch;
use futures::{StreamExt, TryStreamExt};
use rewind_format::bucket_of;
use rewind_format::{ChangeFileReader, VersionColumns};
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

impl ReconstructOptions {
    /// Settings that keep `threads` cores busy (`--threads`): one object and one bucket more in
    /// flight than there are cores, so that a core is not idle while an object is fetched or a
    /// folded bucket is handed on (each in flight holds its bytes and decoded batches: more
    /// only raised the peak memory).
    pub fn for_threads(threads: usize) -> Self {
        let threads = threads.max(1);
        ReconstructOptions {
            read_concurrency: (threads + 1).clamp(2, 64),
            bucket_concurrency: (threads + 1).clamp(2, 64),
            spill_dir: None,
        }
    }

    /// The cores this process may run on (its affinity mask, so `taskset` is respected).
    pub fn host_threads() -> usize {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    }
}

impl Default for ReconstructOptions {
    fn default() -> Self {
        Self::for_threads(Self::host_threads())
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
    crate::malloc_threshold::raise_once();
    let dir = Arc::new(VersionSpill::new(opts.spill_dir.as_deref(), plan.buckets)?);
    let counters = Arc::new(Counters::default());
    // A base split into the plan's buckets is folded file by file in place; otherwise its rows
    // are spilled with the changes.
    let in_place = plan
        .base
        .as_ref()
        .filter(|b| b.buckets == plan.buckets && b.folds_in_place(plan.buckets));
    let started = std::time::Instant::now();
    spill(store, plan, opts, skip, in_place.is_none(), &dir, &counters).await?;
    let spilled = started.elapsed();

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
    tracing::debug!(
        table = %plan.table,
        spill_ms = spilled.as_millis() as u64,
        fold_ms = (started.elapsed() - spilled).as_millis() as u64,
        "reconstruction phases"
    );
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

async fn spill(
    store: &Store,
    plan: &Plan,
    opts: &ReconstructOptions,
    skip: &BTreeSet<u32>,
    spill_base: bool,
    dir: &Arc<VersionSpill>,
    counters: &Arc<Counters>,
) -> Result<()> {
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
    futures::stream::iter(jobs)
        .map(|(tier, key, size)| {
            let dir = Arc::clone(dir);
            let skip = Arc::clone(&skip);
            let counters = Arc::clone(counters);
            async move {
                let bytes = fetch_pinned(store, &key, size, &counters).await?;
                let object = store.describe(&key);
                tokio::task::spawn_blocking(move || {
                    let route = Route {
                        tier,
                        range,
                        buckets,
                        skip: &skip,
                    };
                    route_file(&object, bytes, &route, &dir, &counters)
                })
                .await
                .expect("decode task panicked")
            }
        })
        .buffer_unordered(opts.read_concurrency.max(1))
        .try_collect::<Vec<()>>()
        .await?;
    dir.finish()
}

/// Which rows of a file are kept, and where they go.
struct Route<'a> {
    tier: Tier,
    range: StampRange,
    buckets: u32,
    skip: &'a BTreeSet<u32>,
}

fn route_file(
    object: &str,
    bytes: bytes::Bytes,
    route: &Route<'_>,
    spill: &VersionSpill,
    counters: &Counters,
) -> Result<()> {
    let Route { tier, range, .. } = *route;
    // Only the columns the fold reads are decoded (and spilled): not old images, shards,
    // identities or ingest times.
    let reader = ChangeFileReader::open_versions(object, bytes)?;
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
    let mut rows = spill.row_buffers();
    let routed = route_batches(object, reader, route, &mut rows, spill, counters);
    // Returned only empty (every row appended): after an error they may hold a file's rows.
    if routed.is_ok() {
        spill.return_row_buffers(rows);
    }
    routed
}

fn route_batches(
    object: &str,
    reader: ChangeFileReader,
    route: &Route<'_>,
    rows: &mut RowBuffers,
    spill: &VersionSpill,
    counters: &Counters,
) -> Result<()> {
    let Route {
        tier,
        range,
        buckets,
        skip,
    } = *route;
    for batch in reader {
        let batch = batch?;
        let versions = VersionColumns::new(object, &batch)?;
        counters
            .rows
            .fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
        let mut applied = 0;
        for row in 0..versions.len() {
            // A base snapshot's rows are the state at its time: all of them apply.
            if tier == Tier::Change && !range.admits(versions.stamp_ms(row)) {
                continue;
            }
            let bucket = bucket_of(versions.key(row), buckets);
            if skip.contains(&bucket) {
                continue;
            }
            rows.push(bucket, &Version::of_row(tier, &versions, row));
            applied += 1;
        }
        counters.applied.fetch_add(applied, Ordering::Relaxed);
        if rows.bytes() >= TASK_BUFFER {
            rows.drain_into(spill, tier)?;
        }
    }
    rows.drain_into(spill, tier)
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
    let reader = ChangeFileReader::open_versions(object, bytes)?;
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch?;
        let keys = VersionColumns::new(object, &batch)?;
        let misplaced = (0..keys.len())
            .map(|r| (r, bucket_of(keys.key(r), buckets)))
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
    spill: &VersionSpill,
    bucket: u32,
    object: &str,
    whole_life: bool,
    batches: Vec<(Tier, RecordBatch)>,
) -> Result<FoldedBucket> {
    let views = batches
        .iter()
        .map(|(tier, batch)| Ok((*tier, VersionColumns::new(object, batch)?)))
        .collect::<Result<Vec<_>>>()?;
    let (mut base, mut changes) = (spill.read_buffer(), spill.read_buffer());
    let folded = (|| {
        let base_path = spill.read_into(Tier::Base, bucket, &mut base)?;
        let changes_path = spill.read_into(Tier::Change, bucket, &mut changes)?;
        let mut versions = Vec::with_capacity(views.iter().map(|(_, v)| v.len()).sum());
        for (tier, v) in &views {
            versions.extend((0..v.len()).map(|r| Version::of_row(*tier, v, r)));
        }
        decode(&base_path, &base, Tier::Base, &mut versions)?;
        decode(&changes_path, &changes, Tier::Change, &mut versions)?;
        fold_versions(&mut versions, whole_life)
    })();
    spill.return_read_buffer(base);
    spill.return_read_buffer(changes);
    folded
}
