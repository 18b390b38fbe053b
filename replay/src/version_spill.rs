//! A reconstruction's spill: the versions of every bucket on local disk, in a compact row format
//! written straight from the decoded Parquet columns by the tasks that decode them.
//!
//! Arrow IPC spill files ([`crate::spill`]) cost a reconstruction a row selection, a
//! concatenation per bucket and a writer thread that every row passed through (the single
//! funnel that kept it from using more than about 1.4 cores). Here each decoding task encodes
//! its rows into per-bucket buffers (one copy, on the task's own core) and appends them to the
//! bucket's file under that file's lock; folding a bucket reads its file once and borrows every
//! field from it ([`decode`]).
//!
//! A row: key, keys, stream label, sequence number (each a u32 length and its bytes), the event
//! (one byte), the stamp (i64), the new image (u32 length, `u32::MAX` for none, and its bytes)
//! and the old image's hash (one flag byte and a u32), little-endian.

use crate::error::{ReplayError, Result};
use crate::fold::Version;
use crate::state::Tier;
use bytes::BytesMut;
use rewind_format::EventName;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Bytes each open spill file buffers before writing, at most. Writes this large let the page
/// cache hold a bucket's rows in large folios (ext4 has them since Linux 6.16) instead of a
/// 4 KiB page per allocation, LRU insertion, copy and removal: against 32 KiB, a third less
/// system time and 8 % off the state-at-T dry run (docs/BENCHMARKS.md).
const FILE_BUFFER: usize = 256 << 10;

/// The write buffers of one tier's files together (64 MiB: 256 buckets at [`FILE_BUFFER`]; more
/// buckets get smaller buffers), carved from one allocation ([`Slab`]).
const TIER_BUFFERS: usize = 64 << 20;

/// The smallest write buffer, whatever the bucket count.
const MIN_FILE_BUFFER: usize = 32 << 10;

/// A fresh temporary directory of per-bucket version files (removed when dropped).
#[derive(Debug)]
pub struct VersionSpill {
    dir: tempfile::TempDir,
    buckets: u32,
    /// Index `tier * buckets + bucket`; opened on the first append.
    files: Vec<Mutex<Option<SpillFile>>>,
    /// Where each tier's write buffers come from.
    slabs: [Mutex<Slab>; 2],
    /// Empty row buffers between decoding tasks. Allocating them per file cost a page fault
    /// per 4 KiB touched (a third more system time); keeping them per thread kept one set per
    /// thread the blocking pool ever decoded on, which grew with the length of the run (the
    /// 1M-item store's peak heap held seven). Here there are never more than tasks in flight.
    idle_buffers: Idle<RowBuffers>,
    /// Read buffers between folds, for the same reasons: a bucket's file is megabytes, and
    /// each fresh buffer both faults its pages in and, freed, raises glibc's mmap threshold so
    /// the next ones fragment its arenas.
    idle_reads: Idle<Vec<u8>>,
}

/// Buffers lent out and taken back: never more of them than were in use at once.
#[derive(Debug)]
struct Idle<T>(Mutex<Vec<T>>);

impl<T> Idle<T> {
    fn new() -> Self {
        Idle(Mutex::new(Vec::new()))
    }

    fn take(&self, make: impl FnOnce() -> T) -> T {
        self.0
            .lock()
            .expect("the idle buffers' lock is never poisoned")
            .pop()
            .unwrap_or_else(make)
    }

    fn give(&self, buffer: T) {
        self.0
            .lock()
            .expect("the idle buffers' lock is never poisoned")
            .push(buffer);
    }
}

impl VersionSpill {
    /// A new spill of `buckets` buckets inside `parent` (the system's temporary directory when
    /// `None`).
    pub fn new(parent: Option<&Path>, buckets: u32) -> Result<Self> {
        let builder = tempfile::Builder::new().prefix("rewind-spill-").clone();
        let dir = match parent {
            Some(p) => builder.tempdir_in(p),
            None => builder.tempdir(),
        }
        .map_err(|e| {
            ReplayError::io(parent.map_or_else(std::env::temp_dir, Path::to_path_buf), e)
        })?;
        let files = (0..2 * buckets as usize)
            .map(|_| Mutex::new(None))
            .collect();
        let buffer = (TIER_BUFFERS / buckets.max(1) as usize).clamp(MIN_FILE_BUFFER, FILE_BUFFER);
        Ok(VersionSpill {
            dir,
            buckets,
            files,
            slabs: [(); 2].map(|()| Mutex::new(Slab::new(buffer, buckets as usize))),
            idle_buffers: Idle::new(),
            idle_reads: Idle::new(),
        })
    }

    fn slot(&self, tier: Tier, bucket: u32) -> usize {
        tier_index(tier) * self.buckets as usize + bucket as usize
    }

    fn path(&self, tier: Tier, bucket: u32) -> PathBuf {
        let name = match tier {
            Tier::Base => "base",
            Tier::Change => "changes",
        };
        self.dir.path().join(format!("{name}-{bucket:04}.rows"))
    }

    /// Empty row buffers for a decoding task: an idle set if there is one.
    pub fn row_buffers(&self) -> RowBuffers {
        self.idle_buffers.take(|| RowBuffers::new(self.buckets))
    }

    /// Takes a task's buffers back for the next task; they must be empty (drained).
    pub fn return_row_buffers(&self, rows: RowBuffers) {
        debug_assert_eq!(rows.bytes(), 0, "returned row buffers hold no rows");
        if rows.bytes() == 0 {
            self.idle_buffers.give(rows);
        }
    }

    /// A buffer for [`Self::read_into`]: an idle one if there is one.
    pub fn read_buffer(&self) -> Vec<u8> {
        self.idle_reads.take(Vec::new)
    }

    /// Takes a read buffer back for the next fold.
    pub fn return_read_buffer(&self, mut bytes: Vec<u8>) {
        bytes.clear();
        self.idle_reads.give(bytes);
    }

    /// Appends encoded rows ([`RowBuffers`]) to a bucket's file.
    pub fn append(&self, tier: Tier, bucket: u32, rows: &[u8]) -> Result<()> {
        let path = || self.path(tier, bucket);
        let mut file = self.files[self.slot(tier, bucket)]
            .lock()
            .expect("a spill file lock is never poisoned: writes do not panic");
        let writer = match &mut *file {
            Some(w) => w,
            None => {
                let f = File::create(path()).map_err(|e| ReplayError::io(path(), e))?;
                let buf = self.slabs[tier_index(tier)]
                    .lock()
                    .expect("a slab lock is never poisoned: carving does not panic")
                    .carve();
                file.insert(SpillFile { file: f, buf })
            }
        };
        writer.write(rows).map_err(|e| ReplayError::io(path(), e))
    }

    /// Flushes every file; call once every append is done and before reading.
    pub fn finish(&self) -> Result<()> {
        for tier in [Tier::Base, Tier::Change] {
            for bucket in 0..self.buckets {
                let mut file = self.files[self.slot(tier, bucket)]
                    .lock()
                    .expect("a spill file lock is never poisoned: writes do not panic");
                if let Some(mut w) = file.take() {
                    w.flush()
                        .map_err(|e| ReplayError::io(self.path(tier, bucket), e))?;
                }
            }
        }
        // The buffers' one allocation is released whole (being large, straight back to the
        // system) before the folds allocate theirs.
        for slab in &self.slabs {
            *slab.lock().expect("a slab lock is never poisoned") = Slab::new(0, 0);
        }
        Ok(())
    }

    /// Reads a bucket's rows of one tier, as written, into `bytes` (emptied first; left empty
    /// if none were written); returns the file's path for errors. (Removing each file once read
    /// was tried: it moved the page-cache teardown into the folds and made them slower.)
    pub fn read_into(&self, tier: Tier, bucket: u32, bytes: &mut Vec<u8>) -> Result<PathBuf> {
        let path = self.path(tier, bucket);
        bytes.clear();
        match File::open(&path) {
            Ok(mut f) => {
                f.read_to_end(bytes)
                    .map_err(|e| ReplayError::io(&path, e))?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(ReplayError::io(&path, e)),
        }
        Ok(path)
    }
}

impl Drop for VersionSpill {
    /// Removes the bucket files on as many threads as there are cores before the directory
    /// goes: freeing their page cache is kernel work (0.17 s for the 750 MB of the 1.17M-row
    /// benchmark) that the directory's own removal did on one thread, at the very end, with the
    /// other cores idle. (Removing each file as soon as its bucket was read made the folds as
    /// much slower as the end got faster.)
    fn drop(&mut self) {
        let paths: Vec<PathBuf> = [Tier::Base, Tier::Change]
            .into_iter()
            .flat_map(|tier| (0..self.buckets).map(move |b| (tier, b)))
            .map(|(tier, bucket)| self.path(tier, bucket))
            .collect();
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, paths.len().max(1));
        std::thread::scope(|scope| {
            for first in 0..threads {
                // Every thread-th file, so each thread gets its share of both tiers.
                let mine = paths.iter().skip(first).step_by(threads);
                scope.spawn(move || {
                    for path in mine {
                        // What is left (a failure here) goes with the directory's removal.
                        let _ = std::fs::remove_file(path);
                    }
                });
            }
        });
    }
}

fn tier_index(tier: Tier) -> usize {
    match tier {
        Tier::Base => 0,
        Tier::Change => 1,
    }
}

/// One allocation for the write buffers of a tier's files, carved as files open. Separate
/// buffers of a few hundred KiB each were heap memory glibc kept after the spill phase, under
/// the folds' own (the 1M-item store's peak RSS grew by 30-40 MB, over the 1.5x bound); a slab
/// this size is mapped and unmapped whole.
#[derive(Debug)]
struct Slab {
    rest: BytesMut,
    buffer: usize,
    files: usize,
}

impl Slab {
    /// Buffers of `buffer` bytes for up to `files` files, allocated at the first carve.
    fn new(buffer: usize, files: usize) -> Self {
        Slab {
            rest: BytesMut::new(),
            buffer,
            files,
        }
    }

    /// The next file's empty buffer of `buffer` bytes' capacity.
    fn carve(&mut self) -> BytesMut {
        if self.rest.capacity() < self.buffer {
            // The first file (or, past `files`, which a tier never opens, a slab of one more).
            self.rest = BytesMut::with_capacity(self.buffer * self.files.max(1));
            self.files = 1;
        }
        let rest = self.rest.split_off(self.buffer);
        std::mem::replace(&mut self.rest, rest)
    }
}

/// A bucket file being written, through a buffer from its tier's slab (never grown: it is
/// written out before it would be).
#[derive(Debug)]
struct SpillFile {
    file: File,
    buf: BytesMut,
}

impl SpillFile {
    fn write(&mut self, rows: &[u8]) -> std::io::Result<()> {
        if self.buf.len() + rows.len() > self.buf.capacity() {
            self.flush()?;
        }
        if rows.len() >= self.buf.capacity() {
            self.file.write_all(rows)
        } else {
            self.buf.extend_from_slice(rows);
            Ok(())
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }
}

/// Bytes of encoded rows a decoding task holds before appending them to the spill files.
pub const TASK_BUFFER: usize = 4 << 20;

/// Bytes of a row besides its key, keys and image: four lengths, the event, the stamp, the hash
/// and its flag, and room for a label and a sequence number.
const ROW_OVERHEAD: usize = 4 * 4 + 1 + 8 + 5 + 64;

/// One task's encoded rows, per bucket, until they are appended to the spill.
#[derive(Debug)]
pub struct RowBuffers {
    buffers: Vec<Vec<u8>>,
    bytes: usize,
}

impl RowBuffers {
    /// Empty buffers for `buckets` buckets.
    pub fn new(buckets: u32) -> Self {
        RowBuffers {
            buffers: vec![Vec::new(); buckets as usize],
            bytes: 0,
        }
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Encodes `v` into `bucket`'s buffer.
    pub fn push(&mut self, bucket: u32, v: &Version<'_>) {
        let share = (TASK_BUFFER / self.buffers.len().max(1)).clamp(4 << 10, 256 << 10);
        let out = &mut self.buffers[bucket as usize];
        if out.capacity() == 0 {
            // A bucket's share of the task's buffer up front, rather than doubling from a row.
            out.reserve(share);
        }
        let before = out.len();
        out.reserve(ROW_OVERHEAD + v.key.len() + v.keys.len() + v.new_image.map_or(0, str::len));
        put_bytes(out, v.key);
        put_bytes(out, v.keys.as_bytes());
        put_bytes(out, v.stream_label.as_bytes());
        put_bytes(out, v.sequence_number.as_bytes());
        out.push(match v.event {
            EventName::Insert => 0,
            EventName::Modify => 1,
            EventName::Remove => 2,
        });
        out.extend_from_slice(&v.stamp_ms.to_le_bytes());
        match v.new_image {
            Some(image) => put_bytes(out, image.as_bytes()),
            None => out.extend_from_slice(&u32::MAX.to_le_bytes()),
        }
        match v.old_hash {
            Some(h) => {
                out.push(1);
                out.extend_from_slice(&h.to_le_bytes());
            }
            None => out.extend_from_slice(&[0; 5]),
        }
        self.bytes += out.len() - before;
    }

    /// Appends every non-empty buffer to its bucket's file of `tier` and empties them.
    pub fn drain_into(&mut self, spill: &VersionSpill, tier: Tier) -> Result<()> {
        for (bucket, buf) in self.buffers.iter_mut().enumerate() {
            if !buf.is_empty() {
                spill.append(tier, bucket as u32, buf)?;
                buf.clear();
            }
        }
        self.bytes = 0;
        Ok(())
    }
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = u32::try_from(bytes.len()).expect("a DynamoDB item is far below 4 GiB");
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(bytes);
}

/// Decodes a bucket file's rows (`path` names it in errors), appending them to `out` with
/// `tier`; every field borrows from `bytes`.
pub fn decode<'a>(
    path: &Path,
    bytes: &'a [u8],
    tier: Tier,
    out: &mut Vec<Version<'a>>,
) -> Result<()> {
    let mut r = RowReader { bytes, at: 0 };
    while r.at < bytes.len() {
        let row_at = r.at;
        let corrupt = |reason: &str| ReplayError::Invalid {
            what: "spill file",
            location: path.display().to_string(),
            reason: format!("row at byte {row_at}: {reason} (the local disk changed it?)"),
        };
        let key = r.bytes().ok_or_else(|| corrupt("truncated key"))?;
        let keys = r.text().ok_or_else(|| corrupt("bad keys"))?;
        let stream_label = r.text().ok_or_else(|| corrupt("bad stream label"))?;
        let sequence_number = r.text().ok_or_else(|| corrupt("bad sequence number"))?;
        let event = match r.take(1).map(|b| b[0]) {
            Some(0) => EventName::Insert,
            Some(1) => EventName::Modify,
            Some(2) => EventName::Remove,
            _ => return Err(corrupt("bad event")),
        };
        let stamp_ms = r
            .take(8)
            .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")))
            .ok_or_else(|| corrupt("truncated stamp"))?;
        let new_image = match r.peek_u32() {
            Some(u32::MAX) => {
                r.at += 4;
                None
            }
            Some(_) => Some(r.text().ok_or_else(|| corrupt("bad new image"))?),
            None => return Err(corrupt("truncated new image")),
        };
        let old_hash = match r.take(5) {
            Some([0, ..]) => None,
            Some([1, h @ ..]) => Some(u32::from_le_bytes(
                h.try_into().expect("4 bytes after the flag"),
            )),
            _ => return Err(corrupt("bad old image hash")),
        };
        out.push(Version {
            tier,
            key,
            keys,
            stream_label,
            sequence_number,
            event,
            stamp_ms,
            new_image,
            old_hash,
        });
    }
    Ok(())
}

struct RowReader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> RowReader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let s = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(s)
    }

    fn peek_u32(&self) -> Option<u32> {
        let b = self.bytes.get(self.at..self.at + 4)?;
        Some(u32::from_le_bytes(b.try_into().expect("4 bytes")))
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = self.peek_u32()? as usize;
        self.at += 4;
        self.take(len)
    }

    fn text(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.bytes()?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version<'a>(key: &'a [u8], image: Option<&'a str>, hash: Option<u32>) -> Version<'a> {
        Version {
            tier: Tier::Change,
            key,
            keys: r#"{"pk":{"S":"a"}}"#,
            stream_label: "2026-12-05T00:00:00.000",
            sequence_number: "000000000000000000000000000000000000000001",
            event: if image.is_some() {
                EventName::Modify
            } else {
                EventName::Remove
            },
            stamp_ms: -5,
            new_image: image,
            old_hash: hash,
        }
    }

    #[test]
    fn rows_come_back_as_written() {
        let spill = VersionSpill::new(None, 4).unwrap();
        let written = [
            version(b"k1", Some("{\"é\":1}"), Some(7)),
            version(b"", None, None),
            version(&[0, 255], Some(""), Some(u32::MAX)),
        ];
        let mut buffers = RowBuffers::new(4);
        for v in &written {
            buffers.push(3, v);
        }
        buffers.drain_into(&spill, Tier::Change).unwrap();
        buffers.push(3, &written[0]);
        buffers.drain_into(&spill, Tier::Change).unwrap();
        spill.finish().unwrap();
        let mut bytes = Vec::new();
        let path = spill.read_into(Tier::Change, 3, &mut bytes).unwrap();
        let mut read = Vec::new();
        decode(&path, &bytes, Tier::Change, &mut read).unwrap();
        let show = |v: &[Version<'_>]| format!("{v:?}");
        let mut expected = written.to_vec();
        expected.push(written[0]);
        assert_eq!(show(&read), show(&expected));
        let mut base = vec![1];
        spill.read_into(Tier::Base, 3, &mut base).unwrap();
        assert!(base.is_empty());
    }

    #[test]
    fn rows_larger_and_smaller_than_the_write_buffer_come_back_in_order() {
        // 4,096 buckets get the smallest buffers (32 KiB).
        let spill = VersionSpill::new(None, 4096).unwrap();
        let big = "x".repeat(100 << 10);
        let images: Vec<String> = (0..300)
            .map(|i| {
                if i % 97 == 0 {
                    big.clone()
                } else {
                    format!("{{{i}}}")
                }
            })
            .collect();
        let mut written = Vec::new();
        for (i, image) in images.iter().enumerate() {
            let mut buffers = RowBuffers::new(4096);
            let v = version(b"k", Some(image), Some(i as u32));
            buffers.push(4095, &v);
            buffers.push(7, &v);
            buffers.drain_into(&spill, Tier::Change).unwrap();
            written.push(v);
        }
        spill.finish().unwrap();
        for bucket in [7, 4095] {
            let mut bytes = Vec::new();
            let path = spill.read_into(Tier::Change, bucket, &mut bytes).unwrap();
            let mut read = Vec::new();
            decode(&path, &bytes, Tier::Change, &mut read).unwrap();
            assert_eq!(format!("{read:?}"), format!("{written:?}"));
        }
    }

    #[test]
    fn a_damaged_file_is_refused_naming_it_and_the_row() {
        let mut buffers = RowBuffers::new(1);
        buffers.push(0, &version(b"k1", Some("{}"), None));
        let spill = VersionSpill::new(None, 1).unwrap();
        buffers.drain_into(&spill, Tier::Change).unwrap();
        spill.finish().unwrap();
        let mut bytes = Vec::new();
        let path = spill.read_into(Tier::Change, 0, &mut bytes).unwrap();
        bytes.truncate(bytes.len() - 3);
        let e = decode(&path, &bytes, Tier::Change, &mut Vec::new()).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("changes-0000.rows"), "{text}");
        assert!(text.contains("row at byte 0"), "{text}");
    }

    #[test]
    fn buffers_are_reused_not_made_per_task() {
        let spill = VersionSpill::new(None, 4).unwrap();
        let mut rows = spill.row_buffers();
        rows.push(1, &version(b"k1", Some("{}"), None));
        rows.drain_into(&spill, Tier::Change).unwrap();
        let grown = rows.buffers[1].capacity();
        assert!(grown > 0);
        spill.return_row_buffers(rows);
        // The next task gets the same buffers, capacity and all, and a second task in flight
        // gets fresh ones.
        let again = spill.row_buffers();
        assert_eq!(again.buffers[1].capacity(), grown);
        assert_eq!(spill.row_buffers().buffers[1].capacity(), 0);

        let mut read = spill.read_buffer();
        read.extend_from_slice(&[7; 1000]);
        spill.return_read_buffer(read);
        let read = spill.read_buffer();
        assert!(read.is_empty() && read.capacity() >= 1000);
    }

    #[test]
    fn buffers_still_holding_rows_are_not_taken_back() {
        let spill = VersionSpill::new(None, 2).unwrap();
        let mut rows = spill.row_buffers();
        rows.push(0, &version(b"k1", Some("{}"), None));
        if cfg!(debug_assertions) {
            let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                spill.return_row_buffers(rows)
            }));
            assert!(caught.is_err(), "a debug build asserts");
        } else {
            spill.return_row_buffers(rows);
        }
        assert_eq!(spill.row_buffers().bytes(), 0);
    }
}
