//! The local-directory backend: the demo's and the tests' stand-in for S3.
//!
//! Objects are plain files at `<root>/<key>`, so pyarrow or DuckDB can read a backup directory
//! directly (Hive partitions and all). What S3 gives for free is rebuilt with file-system
//! primitives:
//!
//! - **Integrity**: each object's CRC32C lives in the *name* of an empty sidecar file beside it,
//!   `<dir>/.<name>.crc32c-<8 hex>`. A name, not a file's content, so creating it is atomic and
//!   an object and its checksum can never be half-written. A write creates the new sidecar (and
//!   fsyncs the directory) *before* the object appears under its name, and removes the old
//!   sidecar only after: at every instant, also after a crash, the object in place has a
//!   sidecar with its checksum. [`get`](LocalStore::get) recomputes the CRC32C and looks for
//!   that sidecar.
//! - **Atomic writes**: bytes go to `<dir>/.<name>.tmp-<random>`, fsync, then `rename` over the
//!   object (`put`) or `link` to it (`put_if_absent`: `link` fails if the name exists, atomically,
//!   also between processes), then fsync of the directory.
//!
//! Dot-files are never keys (see [`validate_key`]), and listings skip them.
//! Sidecar removal is serialized per key inside the process, so concurrent writers of one key
//! never strip each other's checksums. Across processes, concurrent *overwrites* (`put`) of one
//! key with different bytes are not supported (a reader might then see a spurious
//! `MissingChecksum`, never wrong bytes); `put_if_absent` is safe across processes.
//!
//! S3 has no directories: a key cannot be both an object and a "directory" of other keys here
//! (`a` and `a/b`); writing the second one fails.

use crate::checksum;
use crate::error::StoreError;
use crate::{validate_key, validate_prefix, ListPage, ObjectMeta, ObjectStore, Result};
use bytes::Bytes;
use std::fs::{self, File, OpenOptions};
use std::hash::{Hash, Hasher};
use std::io::{self, ErrorKind, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// A store in a local directory.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

/// Stripes of locks serializing, per object path, the steps that remove sidecars.
static KEY_LOCKS: [Mutex<()>; 64] = [const { Mutex::new(()) }; 64];

fn lock_for(path: &Path) -> MutexGuard<'static, ()> {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    path.hash(&mut h);
    let i = (h.finish() % KEY_LOCKS.len() as u64) as usize;
    // A panic while holding the lock leaves nothing half-done that the lock protects.
    KEY_LOCKS[i].lock().unwrap_or_else(|e| e.into_inner())
}

/// The file names belonging to one key.
struct KeyPaths {
    location: String,
    dir: PathBuf,
    name: String,
    object: PathBuf,
}

impl KeyPaths {
    fn sidecar(&self, crc: u32) -> PathBuf {
        self.dir
            .join(format!(".{}.crc32c-{}", self.name, checksum::to_hex(crc)))
    }

    fn temp(&self) -> PathBuf {
        self.dir
            .join(format!(".{}.tmp-{:016x}", self.name, rand::random::<u64>()))
    }

    /// Checksums of every sidecar present for this key (usually one).
    fn sidecars(&self) -> io::Result<Vec<u32>> {
        let prefix = format!(".{}.crc32c-", self.name);
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if is_absent(&e) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut found = Vec::new();
        for entry in entries {
            let entry = entry?;
            let file_name = entry.file_name();
            if let Some(crc) = file_name
                .to_str()
                .and_then(|n| n.strip_prefix(&prefix))
                .and_then(checksum::from_hex)
            {
                found.push(crc);
            }
        }
        found.sort_unstable();
        Ok(found)
    }

    /// Removes every sidecar except `keep`'s.
    fn remove_sidecars_except(&self, keep: Option<u32>) -> io::Result<()> {
        for crc in self.sidecars()? {
            if Some(crc) != keep {
                remove_if_present(&self.sidecar(crc))?;
            }
        }
        Ok(())
    }
}

/// A temporary file removed when dropped, unless it was consumed.
struct TempFile(Option<PathBuf>);

impl TempFile {
    fn path(&self) -> &Path {
        self.0.as_deref().expect("temp file already consumed")
    }
    fn consumed(mut self) {
        self.0 = None;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = fs::remove_file(path);
        }
    }
}

/// NotFound, or a path through a file that is not a directory: the object is not there.
fn is_absent(e: &io::Error) -> bool {
    matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory)
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn create_empty(path: &Path) -> io::Result<bool> {
    match OpenOptions::new().write(true).create_new(true).open(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// Identity of the file behind a handle or path, to tell "the object changed under me" from
/// "the object is corrupt".
#[cfg(unix)]
fn file_id(meta: &fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn file_id(_meta: &fs::Metadata) -> Option<(u64, u64)> {
    None
}

fn read_crc(path: &Path) -> io::Result<u32> {
    let mut file = File::open(path)?;
    let mut crc = 0u32;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(crc);
        }
        crc = crc32c::crc32c_append(crc, &buf[..n]);
    }
}

fn meta_of(key: &str, meta: &fs::Metadata, crc: Option<u32>) -> ObjectMeta {
    ObjectMeta {
        key: key.to_string(),
        size: meta.len(),
        crc32c: crc.map(checksum::to_base64),
        last_modified: meta.modified().ok().map(chrono::DateTime::from),
    }
}

/// How often `get` re-reads an object that was replaced while it was being read.
const READ_ATTEMPTS: usize = 5;

impl LocalStore {
    /// A store rooted at `root` (made absolute against the working directory, so messages name
    /// a findable path). Nothing is created until the first write.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let root = std::path::absolute(&root).unwrap_or(root);
        LocalStore { root }
    }

    /// The directory holding the objects.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file an object is stored in (for tools that read the directory directly, and for
    /// tests that damage objects on purpose).
    pub fn path_of(&self, key: &str) -> Result<PathBuf> {
        validate_key(key)?;
        Ok(self.root.join(key))
    }

    fn paths(&self, key: &str) -> Result<KeyPaths> {
        validate_key(key)?;
        let object = self.root.join(key);
        let (dir, name) = match key.rsplit_once('/') {
            Some((dir, name)) => (self.root.join(dir), name),
            None => (self.root.clone(), key),
        };
        Ok(KeyPaths {
            location: self.describe(key),
            dir,
            name: name.to_string(),
            object,
        })
    }

    /// Creates `dir` and its missing parents, fsyncing each parent that gained an entry, so a
    /// crash cannot lose the directory of an object whose put returned.
    fn ensure_dir(dir: &Path) -> io::Result<()> {
        let mut missing = Vec::new();
        let mut cur = dir;
        while !cur.is_dir() {
            missing.push(cur);
            match cur.parent() {
                Some(parent) => cur = parent,
                None => break,
            }
        }
        for d in missing.into_iter().rev() {
            match fs::create_dir(d) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::AlreadyExists && d.is_dir() => {}
                Err(e) => return Err(e),
            }
            if let Some(parent) = d.parent() {
                sync_dir(parent)?;
            }
        }
        Ok(())
    }

    fn write_temp(p: &KeyPaths, body: &[u8]) -> io::Result<TempFile> {
        Self::ensure_dir(&p.dir)?;
        let path = p.temp();
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        let temp = TempFile(Some(path));
        file.write_all(body)?;
        file.sync_all()?;
        Ok(temp)
    }

    fn put_blocking(p: &KeyPaths, key: &str, body: &[u8]) -> io::Result<ObjectMeta> {
        let crc = checksum::crc32c(body);
        let temp = Self::write_temp(p, body)?;
        let _guard = lock_for(&p.object);
        let sidecar = p.sidecar(crc);
        let created = create_empty(&sidecar)?;
        sync_dir(&p.dir)?;
        if let Err(e) = fs::rename(temp.path(), &p.object) {
            if created {
                let _ = fs::remove_file(&sidecar);
            }
            return Err(e);
        }
        temp.consumed();
        sync_dir(&p.dir)?;
        p.remove_sidecars_except(Some(crc))?;
        let meta = fs::metadata(&p.object)?;
        Ok(meta_of(key, &meta, Some(crc)))
    }

    fn put_if_absent_blocking(p: &KeyPaths, key: &str, body: &[u8]) -> Result<ObjectMeta> {
        let io = |e| io_error("put_if_absent", &p.location, e, false);
        let crc = checksum::crc32c(body);
        let temp = Self::write_temp(p, body).map_err(io)?;
        let sidecar = p.sidecar(crc);
        let created = create_empty(&sidecar).map_err(io)?;
        sync_dir(&p.dir).map_err(io)?;
        // The race is decided here, by the file system, also between processes.
        match fs::hard_link(temp.path(), &p.object) {
            Ok(()) => {
                sync_dir(&p.dir).map_err(io)?;
                // A concurrent delete may have removed our sidecar between its creation and the
                // link; put it back while the object is still ours.
                let _guard = lock_for(&p.object);
                if !sidecar.exists() {
                    let ours = fs::metadata(temp.path()).ok().and_then(|m| file_id(&m));
                    let now = fs::metadata(&p.object).ok().and_then(|m| file_id(&m));
                    if ours.is_some() && ours == now {
                        create_empty(&sidecar).map_err(io)?;
                        sync_dir(&p.dir).map_err(io)?;
                    }
                }
                // The temporary name is the same file; the object may already be gone again.
                let meta = fs::metadata(temp.path()).map_err(io)?;
                Ok(meta_of(key, &meta, Some(crc)))
            }
            Err(e) => {
                // A directory of other keys by that name is not an object that won.
                let lost = e.kind() == ErrorKind::AlreadyExists && !p.object.is_dir();
                if created {
                    // Remove our sidecar unless the object now in place has the same checksum
                    // (then it is that object's sidecar too).
                    let _guard = lock_for(&p.object);
                    let in_place = read_crc(&p.object).ok();
                    if in_place != Some(crc) {
                        let _ = remove_if_present(&sidecar);
                    }
                }
                if lost {
                    Err(StoreError::AlreadyExists {
                        key: p.location.clone(),
                    })
                } else {
                    Err(io(e))
                }
            }
        }
    }

    fn get_blocking(p: &KeyPaths) -> Result<Bytes> {
        let read_err = |e| io_error("get", &p.location, e, true);
        for _ in 0..READ_ATTEMPTS {
            let mut file = File::open(&p.object).map_err(read_err)?;
            let opened = file.metadata().map_err(read_err)?;
            if opened.is_dir() {
                return Err(StoreError::NotFound {
                    key: p.location.clone(),
                });
            }
            let mut body = Vec::with_capacity(opened.len() as usize);
            file.read_to_end(&mut body).map_err(read_err)?;
            let actual = checksum::crc32c(&body);
            if p.sidecar(actual).exists() {
                return Ok(Bytes::from(body));
            }
            // Either corrupt, or replaced (and its sidecar swapped) while we read it.
            let now = fs::metadata(&p.object).map_err(read_err)?;
            let replaced = match (file_id(&opened), file_id(&now)) {
                (Some(a), Some(b)) => a != b,
                _ => opened.modified().ok() != now.modified().ok() || opened.len() != now.len(),
            };
            if replaced {
                continue;
            }
            let stored = p.sidecars().map_err(read_err)?;
            if stored.is_empty() {
                return Err(StoreError::MissingChecksum {
                    key: p.location.clone(),
                });
            }
            let expected: Vec<String> = stored.into_iter().map(checksum::to_base64).collect();
            return Err(StoreError::ChecksumMismatch {
                key: p.location.clone(),
                expected: expected.join(" or "),
                actual: checksum::to_base64(actual),
            });
        }
        Err(StoreError::other(
            "get",
            p.location.clone(),
            format!("object was replaced {READ_ATTEMPTS} times while being read"),
            true,
        ))
    }

    fn head_blocking(p: &KeyPaths, key: &str) -> Result<ObjectMeta> {
        let read_err = |e| io_error("head", &p.location, e, true);
        let meta = fs::metadata(&p.object).map_err(read_err)?;
        if meta.is_dir() {
            return Err(StoreError::NotFound {
                key: p.location.clone(),
            });
        }
        let stored = p.sidecars().map_err(read_err)?;
        let crc = match stored.as_slice() {
            [] => None,
            [one] => Some(*one),
            // Several sidecars: a write was in flight or crashed. Only the content can tell.
            many => read_crc(&p.object)
                .ok()
                .filter(|actual| many.contains(actual)),
        };
        Ok(meta_of(key, &meta, crc))
    }

    fn delete_blocking(p: &KeyPaths) -> io::Result<()> {
        let _guard = lock_for(&p.object);
        match fs::remove_file(&p.object) {
            Ok(()) => {}
            // Absent, or a "directory" of other keys: no object by this name either way.
            Err(e) if is_absent(&e) || e.kind() == ErrorKind::IsADirectory => {}
            Err(e) if e.kind() == ErrorKind::PermissionDenied && p.object.is_dir() => {}
            Err(e) => return Err(e),
        }
        p.remove_sidecars_except(None)?;
        match sync_dir(&p.dir) {
            Err(e) if !is_absent(&e) => Err(e),
            _ => Ok(()),
        }
    }

    fn list_blocking(
        root: &Path,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> io::Result<ListPage> {
        let base = prefix.rsplit_once('/').map_or("", |(dir, _)| dir);
        let start_dir = if base.is_empty() {
            root.to_path_buf()
        } else {
            root.join(base)
        };
        let mut found = Vec::new();
        let mut stack = vec![(start_dir, base.to_string())];
        while let Some((dir, dir_key)) = stack.pop() {
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if is_absent(&e) => continue,
                Err(e) => return Err(e),
            };
            for entry in entries {
                let entry = entry?;
                let file_name = entry.file_name();
                // Non-UTF-8 names cannot be keys; dot-files are sidecars and temporary files.
                let Some(name) = file_name.to_str() else {
                    continue;
                };
                if name.starts_with('.') {
                    continue;
                }
                let key = if dir_key.is_empty() {
                    name.to_string()
                } else {
                    format!("{dir_key}/{name}")
                };
                let meta = match fs::metadata(entry.path()) {
                    Ok(meta) => meta,
                    Err(e) if is_absent(&e) => continue, // deleted meanwhile
                    Err(e) => return Err(e),
                };
                if meta.is_dir() {
                    let as_dir = format!("{key}/");
                    if as_dir.starts_with(prefix) || prefix.starts_with(&as_dir) {
                        stack.push((entry.path(), key));
                    }
                } else if key.starts_with(prefix) && start_after.is_none_or(|s| key.as_str() > s) {
                    found.push(meta_of(&key, &meta, None));
                }
            }
        }
        found.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        let truncated = found.len() > limit;
        found.truncate(limit);
        Ok(ListPage {
            objects: found,
            truncated,
        })
    }
}

/// Maps an I/O error; `absent_is_not_found` for reads, where ENOENT means "no such object"
/// (for a write it means the store's directory vanished, which is not the caller's key missing).
fn io_error(
    op: &'static str,
    location: &str,
    e: io::Error,
    absent_is_not_found: bool,
) -> StoreError {
    if absent_is_not_found && (is_absent(&e) || e.kind() == ErrorKind::IsADirectory) {
        return StoreError::NotFound {
            key: location.to_string(),
        };
    }
    StoreError::Other {
        op,
        key: location.to_string(),
        message: e.to_string(),
        retryable: false,
        source: Some(Box::new(e)),
    }
}

/// Runs blocking file-system work off the async runtime's worker threads.
async fn blocking<T: Send + 'static>(
    op: &'static str,
    location: String,
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result,
        Err(e) => Err(StoreError::Other {
            op,
            key: location,
            message: format!("blocking task failed: {e}"),
            retryable: false,
            source: Some(Box::new(e)),
        }),
    }
}

#[async_trait::async_trait]
impl ObjectStore for LocalStore {
    async fn put(&self, key: &str, body: Bytes) -> Result<ObjectMeta> {
        let p = self.paths(key)?;
        let key = key.to_string();
        blocking("put", p.location.clone(), move || {
            Self::put_blocking(&p, &key, &body).map_err(|e| io_error("put", &p.location, e, false))
        })
        .await
    }

    async fn put_if_absent(&self, key: &str, body: Bytes) -> Result<ObjectMeta> {
        let p = self.paths(key)?;
        let key = key.to_string();
        blocking("put_if_absent", p.location.clone(), move || {
            Self::put_if_absent_blocking(&p, &key, &body)
        })
        .await
    }

    async fn get(&self, key: &str) -> Result<Bytes> {
        let p = self.paths(key)?;
        blocking("get", p.location.clone(), move || Self::get_blocking(&p)).await
    }

    async fn list_page(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<ListPage> {
        validate_prefix(prefix)?;
        let root = self.root.clone();
        let prefix = prefix.to_string();
        let start_after = start_after.map(str::to_string);
        let limit = limit.clamp(1, crate::MAX_LIST_PAGE);
        let location = self.describe(&prefix);
        blocking("list", location.clone(), move || {
            Self::list_blocking(&root, &prefix, start_after.as_deref(), limit)
                .map_err(|e| io_error("list", &location, e, false))
        })
        .await
    }

    async fn head(&self, key: &str) -> Result<ObjectMeta> {
        let p = self.paths(key)?;
        let key = key.to_string();
        blocking("head", p.location.clone(), move || {
            Self::head_blocking(&p, &key)
        })
        .await
    }

    async fn delete(&self, key: &str) -> Result<()> {
        let p = self.paths(key)?;
        blocking("delete", p.location.clone(), move || {
            Self::delete_blocking(&p).map_err(|e| io_error("delete", &p.location, e, false))
        })
        .await
    }

    fn describe(&self, key: &str) -> String {
        self.root.join(key).display().to_string()
    }
}

#[cfg(test)]
#[path = "local_tests.rs"]
mod tests;
