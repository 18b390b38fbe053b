//! A reconstructed state kept on local disk, bucket by bucket, between the fold and the write.
//!
//! A restore folds every bucket (and so runs every continuity check and reads every pinned
//! object) before it creates anything at the target: a refused or broken history, or a store
//! that fails mid-way, then leaves no table behind. The folded items wait here (one Arrow IPC
//! file per bucket, uncompressed) so that memory stays one bucket per worker.

use crate::error::{ReplayError, Result};
use crate::plan::Plan;
use crate::reconstruct::{reconstruct, ReconstructOptions, ReconstructStats};
use crate::spill::SpillDir;
use crate::state::LiveItem;
use arrow::array::{Array, AsArray, BinaryArray, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Int64Type, Schema};
use arrow_ipc::reader::FileReader;
use arrow_ipc::writer::FileWriter;
use futures::StreamExt;
use rewind_store::Store;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::future::Future;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The state of a plan, folded and waiting on local disk.
#[derive(Debug)]
pub struct FoldedState {
    dir: SpillDir,
    /// Items per folded bucket (buckets skipped by the caller are absent).
    items: BTreeMap<u32, u64>,
}

impl FoldedState {
    /// Reads, checks and folds every bucket of `plan` not in `skip` onto local disk (in
    /// `opts.spill_dir`).
    pub async fn fold(
        store: &Store,
        plan: &Plan,
        opts: &ReconstructOptions,
        skip: &BTreeSet<u32>,
    ) -> Result<(FoldedState, ReconstructStats)> {
        let dir = SpillDir::new(opts.spill_dir.as_deref())?;
        let root = dir.path().to_path_buf();
        let items = Mutex::new(BTreeMap::new());
        let stats = reconstruct(store, plan, opts, skip, |bucket, bucket_items| {
            let (root, items) = (root.clone(), &items);
            async move {
                let n = bucket_items.len() as u64;
                tokio::task::spawn_blocking(move || write(&path(&root, bucket), &bucket_items))
                    .await
                    .expect("state writer panicked")?;
                items.lock().expect("not poisoned").insert(bucket, n);
                Ok(())
            }
        })
        .await?;
        let items = items.into_inner().expect("not poisoned");
        Ok((FoldedState { dir, items }, stats))
    }

    /// Hands each folded bucket's items (sorted by key) to `on_bucket`, `concurrency` at once.
    /// After the first error no further bucket starts, but the ones already running finish
    /// before the error is returned: a bucket write abandoned mid-flight could otherwise land
    /// at the target after the caller cleaned it up (a local write on a blocking thread, or an
    /// S3 PUT the server already took), leaving a "target exists" behind a failed restore.
    pub async fn drain<F, Fut>(&self, concurrency: usize, on_bucket: F) -> Result<()>
    where
        F: Fn(u32, Vec<LiveItem>) -> Fut + Send + Sync,
        Fut: Future<Output = Result<()>> + Send,
    {
        let root = Arc::new(self.dir.path().to_path_buf());
        let on_bucket = &on_bucket;
        let failed = &AtomicBool::new(false);
        let mut results = futures::stream::iter(self.items.keys().copied())
            .map(|bucket| {
                let file = path(&root, bucket);
                async move {
                    if failed.load(Ordering::Acquire) {
                        return Ok(());
                    }
                    let items = tokio::task::spawn_blocking(move || read(&file))
                        .await
                        .expect("state reader panicked")?;
                    on_bucket(bucket, items).await
                }
            })
            .buffer_unordered(concurrency.max(1));
        let mut first = None;
        while let Some(result) = results.next().await {
            if let Err(e) = result {
                failed.store(true, Ordering::Release);
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }
}

fn path(root: &Path, bucket: u32) -> PathBuf {
    root.join(format!("state-{bucket:04}.arrow"))
}

fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("key", DataType::Binary, false),
        Field::new("keys", DataType::Utf8, false),
        Field::new("image", DataType::Utf8, false),
        Field::new("stamp_ms", DataType::Int64, false),
        Field::new("stream_label", DataType::Utf8, false),
        Field::new("sequence_number", DataType::Utf8, false),
    ]))
}

fn ipc(path: &Path, e: arrow::error::ArrowError) -> ReplayError {
    ReplayError::io(path, std::io::Error::other(e.to_string()))
}

/// Rows per IPC message: bounds the memory of one message whatever the bucket's size.
const ROWS_PER_MESSAGE: usize = 1_024;

fn write(path: &Path, items: &[LiveItem]) -> Result<()> {
    let file = File::create(path).map_err(|e| ReplayError::io(path, e))?;
    let schema = schema();
    let mut writer = FileWriter::try_new(BufWriter::with_capacity(64 << 10, file), &schema)
        .map_err(|e| ipc(path, e))?;
    for chunk in items.chunks(ROWS_PER_MESSAGE) {
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(BinaryArray::from_iter_values(chunk.iter().map(|i| &i.key))),
                Arc::new(StringArray::from_iter_values(
                    chunk.iter().map(|i| i.keys()),
                )),
                Arc::new(StringArray::from_iter_values(
                    chunk.iter().map(|i| i.image()),
                )),
                Arc::new(Int64Array::from_iter_values(
                    chunk.iter().map(|i| i.stamp_ms),
                )),
                Arc::new(StringArray::from_iter_values(
                    chunk.iter().map(|i| i.stream_label()),
                )),
                Arc::new(StringArray::from_iter_values(
                    chunk.iter().map(|i| i.sequence_number()),
                )),
            ],
        )
        .map_err(|e| ipc(path, e))?;
        writer.write(&batch).map_err(|e| ipc(path, e))?;
    }
    writer.finish().map_err(|e| ipc(path, e))
}

fn read(path: &Path) -> Result<Vec<LiveItem>> {
    let file = File::open(path).map_err(|e| ReplayError::io(path, e))?;
    let reader = FileReader::try_new(BufReader::new(file), None).map_err(|e| ipc(path, e))?;
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| ipc(path, e))?;
        let bad = || {
            ipc(
                path,
                arrow::error::ArrowError::SchemaError("not a state file".into()),
            )
        };
        let col = |i: usize| batch.column(i);
        let key = col(0).as_binary_opt::<i32>().ok_or_else(bad)?;
        let keys = col(1).as_string_opt::<i32>().ok_or_else(bad)?;
        let image = col(2).as_string_opt::<i32>().ok_or_else(bad)?;
        let stamp = col(3).as_primitive_opt::<Int64Type>().ok_or_else(bad)?;
        let label = col(4).as_string_opt::<i32>().ok_or_else(bad)?;
        let seq = col(5).as_string_opt::<i32>().ok_or_else(bad)?;
        out.reserve(batch.num_rows());
        for r in 0..key.len() {
            out.push(LiveItem::new(
                key.value(r).to_vec(),
                keys.value(r),
                image.value(r),
                stamp.value(r),
                label.value(r),
                seq.value(r),
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_drain_waits_for_the_buckets_already_running() {
        use std::sync::atomic::AtomicU32;
        let dir = tempfile::tempdir().unwrap();
        let state = FoldedState {
            dir: SpillDir::new(Some(dir.path())).unwrap(),
            items: (0..8u32).map(|b| (b, 0)).collect(),
        };
        for b in 0..8 {
            write(&path(state.dir.path(), b), &[]).unwrap();
        }
        let (started, finished) = (AtomicU32::new(0), AtomicU32::new(0));
        let result = state
            .drain(4, |bucket, _| {
                let (started, finished) = (&started, &finished);
                async move {
                    started.fetch_add(1, Ordering::SeqCst);
                    if bucket == 0 {
                        return Err(ReplayError::Invalid {
                            what: "test",
                            location: "bucket 0".into(),
                            reason: "fails at once".into(),
                        });
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    finished.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                }
            })
            .await;
        assert!(result.is_err());
        let started = started.load(Ordering::SeqCst);
        assert!(started > 1 && started < 8, "some ran, not all: {started}");
        assert_eq!(
            finished.load(Ordering::SeqCst),
            started - 1,
            "every bucket that started finished before the error came back"
        );
    }

    #[test]
    fn state_files_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let items: Vec<LiveItem> = (0..20_000u32)
            .map(|i| {
                LiveItem::new(
                    i.to_be_bytes().to_vec(),
                    &format!(r#"{{"pk":{{"S":"k{i}"}}}}"#),
                    &format!(r#"{{"pk":{{"S":"k{i}"}},"v":{{"N":"{i}"}}}}"#),
                    i as i64 * 7,
                    "2026-11-26T06:00:00.000",
                    &format!("{i:040}"),
                )
            })
            .collect();
        let file = path(dir.path(), 3);
        write(&file, &items).unwrap();
        assert_eq!(read(&file).unwrap(), items);
        write(&file, &[]).unwrap();
        assert!(read(&file).unwrap().is_empty());
    }
}
