//! Local spill files: rows routed by key-hash bucket to files on local disk (Arrow IPC stream
//! files, uncompressed: LZ4 cost 40 % of a reconstruction's time for half the disk), so that work over a whole table (a restore, a full backup, a compaction) holds
//! one bucket in memory at a time. Each writer thread owns the files of its buckets; any number
//! of producers send them batches through bounded channels.

use crate::error::{ReplayError, Result};
use crate::state::Tier;
use arrow::array::RecordBatch;
use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::{IpcWriteOptions, StreamWriter};
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

/// A fresh temporary directory of spill files (removed when dropped).
#[derive(Debug)]
pub struct SpillDir {
    dir: tempfile::TempDir,
}

impl SpillDir {
    /// A new directory inside `parent` (the system's temporary directory when `None`).
    pub fn new(parent: Option<&Path>) -> Result<Self> {
        let builder = tempfile::Builder::new().prefix("rewind-spill-").clone();
        let dir = match parent {
            Some(p) => builder.tempdir_in(p),
            None => builder.tempdir(),
        }
        .map_err(|e| {
            ReplayError::io(parent.map_or_else(std::env::temp_dir, Path::to_path_buf), e)
        })?;
        Ok(SpillDir { dir })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Starts `writers` writer threads (at least one), each owning the buckets congruent to its
    /// index (one thread was a third of a reconstruction's CPU and its bottleneck).
    pub fn writer(&self, writers: usize) -> SpillWriter {
        let (txs, threads) = (0..writers.max(1))
            .map(|_| {
                let (tx, rx) = mpsc::sync_channel::<Routed>(4);
                let root = self.path().to_path_buf();
                (tx, std::thread::spawn(move || write_spills(&root, rx)))
            })
            .unzip();
        SpillWriter { txs, threads }
    }

    /// Reads one bucket's batches of a tier back (none if nothing was spilled there).
    pub fn read(&self, tier: Tier, bucket: u32) -> Result<Vec<RecordBatch>> {
        let path = spill_path(self.path(), tier, bucket);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(ReplayError::io(&path, e)),
        };
        let reader =
            StreamReader::try_new(BufReader::new(file), None).map_err(|e| ipc(&path, e))?;
        reader.map(|b| b.map_err(|e| ipc(&path, e))).collect()
    }
}

/// Rows grouped by bucket, bound for the buckets' spill files: `runs` are (bucket, first row,
/// rows) of consecutive rows of `rows`.
#[derive(Debug)]
struct Routed {
    tier: Tier,
    rows: RecordBatch,
    runs: Vec<(u32, usize, usize)>,
}

/// Bytes of routed batches the writer holds before writing them out. Rows arrive a few per
/// bucket (a 1,000-record change file spread over 128 buckets), and one IPC message per arrival
/// made the spill cost more than the fold: held rows are written as one message per bucket.
const HOLD_BYTES: usize = 16 << 20;

/// Sends batches to the writer threads; [`SpillWriter::finish`] waits until all are on disk.
#[derive(Debug)]
pub struct SpillWriter {
    txs: Vec<mpsc::SyncSender<Routed>>,
    threads: Vec<std::thread::JoinHandle<Result<()>>>,
}

/// A cloneable handle producers send through.
#[derive(Debug, Clone)]
pub struct SpillSender {
    txs: Vec<mpsc::SyncSender<Routed>>,
}

impl SpillSender {
    /// Appends `rows` to the bucket's file (every batch of one bucket and tier has one schema:
    /// the change schema, or the columns a reader projected). `false` when the writer has stopped
    /// (its error is reported by [`SpillWriter::finish`]).
    pub fn send(&self, tier: Tier, bucket: u32, rows: RecordBatch) -> bool {
        let runs = vec![(bucket, 0, rows.num_rows())];
        self.send_runs(tier, rows, runs)
    }

    /// Appends the rows of several buckets at once: `runs` are (bucket, first row, rows) of
    /// `rows`, which holds each bucket's rows consecutively. `false` as for [`SpillSender::send`].
    pub fn send_runs(&self, tier: Tier, rows: RecordBatch, runs: Vec<(u32, usize, usize)>) -> bool {
        let mut per_writer = vec![Vec::new(); self.txs.len()];
        for run in runs {
            per_writer[run.0 as usize % self.txs.len()].push(run);
        }
        // Each writer gets the batch (shared buffers, not a copy) and its buckets' runs.
        per_writer
            .into_iter()
            .zip(&self.txs)
            .filter(|(runs, _)| !runs.is_empty())
            .all(|(runs, tx)| {
                let rows = rows.clone();
                tx.send(Routed { tier, rows, runs }).is_ok()
            })
    }
}

impl SpillWriter {
    /// A handle for one producer.
    pub fn sender(&self) -> SpillSender {
        SpillSender {
            txs: self.txs.clone(),
        }
    }

    /// Closes every file; the first write error, if any.
    pub fn finish(self) -> Result<()> {
        drop(self.txs);
        let results: Vec<Result<()>> = self
            .threads
            .into_iter()
            .map(|t| t.join().expect("spill writer panicked"))
            .collect();
        results.into_iter().collect()
    }
}

fn ipc(path: &Path, e: arrow::error::ArrowError) -> ReplayError {
    ReplayError::io(path, std::io::Error::other(e.to_string()))
}

fn spill_path(root: &Path, tier: Tier, bucket: u32) -> PathBuf {
    let name = match tier {
        Tier::Base => "base",
        Tier::Change => "changes",
    };
    root.join(format!("{name}-{bucket:04}.arrows"))
}

fn write_spills(root: &Path, rx: mpsc::Receiver<Routed>) -> Result<()> {
    let mut files = SpillFiles {
        root,
        writers: HashMap::new(),
        held: HashMap::new(),
        held_bytes: 0,
    };
    for routed in rx {
        files.held_bytes += routed.rows.get_array_memory_size();
        for (bucket, offset, len) in routed.runs {
            files
                .held
                .entry((routed.tier, bucket))
                .or_default()
                .push(routed.rows.slice(offset, len));
        }
        if files.held_bytes > HOLD_BYTES {
            files.write_held()?;
        }
    }
    files.write_held()?;
    for ((tier, bucket), mut w) in files.writers {
        w.finish()
            .map_err(|e| ipc(&spill_path(root, tier, bucket), e))?;
    }
    Ok(())
}

/// The writer thread's open files and the rows it holds.
struct SpillFiles<'a> {
    root: &'a Path,
    writers: HashMap<(Tier, u32), StreamWriter<BufWriter<File>>>,
    held: HashMap<(Tier, u32), Vec<RecordBatch>>,
    held_bytes: usize,
}

impl SpillFiles<'_> {
    /// Writes every bucket's held rows as one message and lets go of them.
    fn write_held(&mut self) -> Result<()> {
        for ((tier, bucket), slices) in self.held.drain() {
            let path = spill_path(self.root, tier, bucket);
            let Some(first) = slices.first() else {
                continue;
            };
            let schema = first.schema();
            let rows =
                arrow::compute::concat_batches(&schema, &slices).map_err(|e| ipc(&path, e))?;
            let writer = match self.writers.entry((tier, bucket)) {
                std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => {
                    let file = File::create(&path).map_err(|e| ReplayError::io(&path, e))?;
                    let options = IpcWriteOptions::default()
                        .try_with_compression(None)
                        .expect("no compression is always available");
                    let w = StreamWriter::try_new_with_options(
                        BufWriter::with_capacity(16 << 10, file),
                        &schema,
                        options,
                    )
                    .map_err(|e| ipc(&path, e))?;
                    v.insert(w)
                }
            };
            writer.write(&rows).map_err(|e| ipc(&path, e))?;
        }
        self.held_bytes = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spill_names_sort_by_bucket() {
        let root = Path::new("/x");
        assert!(spill_path(root, Tier::Change, 2) < spill_path(root, Tier::Change, 10));
    }
}
