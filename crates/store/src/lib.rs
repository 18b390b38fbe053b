//! Object storage for rewind: one interface over S3 and a local directory.
//!
//! Everything rewind keeps (change logs, snapshots, manifests, checkpoints, table descriptions)
//! is an immutable-ish object under one root: an S3 prefix in production, a directory for the
//! demo and tests. Capture, compaction and replay only see [`ObjectStore`], so the whole pipeline
//! runs the same way on a laptop and in AWS, and failure tests can wrap any store in
//! [`FaultyStore`].
//!
//! What the interface guarantees, on both backends (checked by `tests/contract.rs`):
//!
//! - **Integrity**: every object is written with a CRC32C computed by the writer and verified on
//!   every [`get`](ObjectStore::get); a corrupt object is [`StoreError::ChecksumMismatch`]
//!   naming it, never wrong bytes.
//! - **Atomic writes**: a reader sees the old object or the new one, never a partial one.
//! - **Put-if-absent**: of many concurrent writers of one key, exactly one wins; the others get
//!   [`StoreError::AlreadyExists`]. Snapshot manifests and table ownership rely on it.
//! - **Listing** in key byte order with `start_after` paging, as S3's ListObjectsV2 does.
//! - **One table per name**: [`claim_table`] refuses to mix two tables (same name, different
//!   ARN) under one root.
//!
//! Keys are relative to the store's root and are built only by the catalog's layout
//! (`rewind_catalog::layout`): the store moves bytes and does not know what they mean.

pub mod checksum;
pub mod crash_point;
pub mod error;
pub mod faulty;
pub mod local;
pub mod s3;
pub mod url;

pub use error::{BoxError, StoreError};
pub use faulty::{FaultKind, FaultyStore, Op};
pub use local::LocalStore;
pub use s3::S3Store;
pub use url::StoreUrl;

use std::sync::Arc;

/// Result of store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A shared, type-erased store: what the rest of rewind passes around.
pub type Store = Arc<dyn ObjectStore>;

/// The largest page [`ObjectStore::list_page`] returns (S3's ListObjectsV2 maximum).
pub const MAX_LIST_PAGE: usize = 1000;

/// Longest key accepted, in bytes (S3's limit, minus room for a prefix).
pub const MAX_KEY_LEN: usize = 900;

/// Longest key segment accepted, in bytes: the local backend adds up to 17 bytes to a segment
/// for its sidecar and temporary files, and file names are limited to 255 bytes.
pub const MAX_SEGMENT_LEN: usize = 200;

/// What the store knows about one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// The key, relative to the store's root.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// The stored CRC32C, base64 of the big-endian `u32` (S3's encoding). Set by `put`,
    /// `put_if_absent` and `head`; `None` from `list_page` (S3 does not list checksums).
    pub crc32c: Option<String>,
    /// When the object was last written, where the backend says (not after a put on S3).
    pub last_modified: Option<chrono::DateTime<chrono::Utc>>,
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListPage {
    /// Objects in key byte order.
    pub objects: Vec<ObjectMeta>,
    /// More objects follow: ask again with `start_after` = the last key of this page.
    pub truncated: bool,
}

/// An object store: the few operations rewind needs, with the same semantics on every backend.
///
/// Keys are `/`-separated paths relative to the store's root, checked by [`validate_key`].
#[async_trait::async_trait]
pub trait ObjectStore: Send + Sync + std::fmt::Debug + 'static {
    /// Writes `body` at `key`, replacing any object there, atomically (readers see the old or
    /// the new object, never a mix). Used where a retried write must land the same bytes again
    /// (content-named change logs, checkpoints).
    async fn put(&self, key: &str, body: bytes::Bytes) -> Result<ObjectMeta>;

    /// Writes `body` at `key` only if no object is there: of concurrent writers exactly one
    /// succeeds, the others get [`StoreError::AlreadyExists`] and the winner's object is left
    /// untouched. This is how one of two racing compactors wins a snapshot.
    ///
    /// On S3 a write whose answer was lost (a timeout) and that the SDK retried can come back
    /// `AlreadyExists` although the object is this writer's own; a caller for which that
    /// matters compares the stored object with what it wrote.
    async fn put_if_absent(&self, key: &str, body: bytes::Bytes) -> Result<ObjectMeta>;

    /// Reads the whole object and verifies it against its stored CRC32C:
    /// [`StoreError::ChecksumMismatch`] (naming the object, the stored and the computed
    /// checksum) when they differ, [`StoreError::MissingChecksum`] when none is stored.
    async fn get(&self, key: &str) -> Result<bytes::Bytes>;

    /// One page of the objects whose key starts with `prefix` (which may end mid-segment) and
    /// is strictly after `start_after` (if given), in key byte order, at most `limit` of them
    /// (`limit` is clamped to `1..=`[`MAX_LIST_PAGE`], and a page may be shorter, but a
    /// truncated page holds at least one object). Page on by
    /// passing the last key of a truncated page as `start_after`; see [`list_all`].
    async fn list_page(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<ListPage>;

    /// Size, stored checksum and time of an object, without reading it.
    async fn head(&self, key: &str) -> Result<ObjectMeta>;

    /// Removes the object. Deleting an absent key is `Ok` (S3 semantics), so cleanup can be
    /// retried freely.
    async fn delete(&self, key: &str) -> Result<()>;

    /// Where `key` lives, for messages: `s3://bucket/prefix/key` or `/dir/key`.
    fn describe(&self, key: &str) -> String;
}

/// Every object under `prefix`, in key order, paging through [`ObjectStore::list_page`].
///
/// Loads the whole listing into memory: fine for a table's partitions or a snapshot's files,
/// not for walking a whole bucket.
pub async fn list_all(store: &dyn ObjectStore, prefix: &str) -> Result<Vec<ObjectMeta>> {
    let mut all = Vec::new();
    let mut start_after: Option<String> = None;
    loop {
        let page = store
            .list_page(prefix, start_after.as_deref(), MAX_LIST_PAGE)
            .await?;
        let last = page.objects.last().map(|o| o.key.clone());
        all.extend(page.objects);
        match (last, page.truncated) {
            (Some(last), true) => start_after = Some(last),
            (None, true) => return Err(empty_truncated_page(store, prefix)),
            (_, false) => return Ok(all),
        }
    }
}

/// The error for a page that says more follow but holds nothing to page on from: taking it for
/// the end would silently drop the rest of the listing.
pub fn empty_truncated_page(store: &dyn ObjectStore, prefix: &str) -> StoreError {
    StoreError::Other {
        op: "list",
        key: store.describe(prefix),
        message: "the store answered an empty page marked truncated; the listing cannot go on"
            .into(),
        retryable: true,
        source: None,
    }
}

/// Opens the store a URL names (see [`StoreUrl::parse`]).
///
/// For S3, region, credentials and endpoint come from the standard AWS chain (environment,
/// profiles, instance/container roles). When an endpoint is configured (`AWS_ENDPOINT_URL`,
/// `AWS_ENDPOINT_URL_S3`: moto, MinIO, LocalStack), path-style addressing is used, since such
/// servers do not serve `bucket.host` names. A local directory is created on first write.
pub async fn open(url: &str) -> Result<Store> {
    match StoreUrl::parse(url)? {
        StoreUrl::Local { path } => Ok(Arc::new(LocalStore::new(path))),
        StoreUrl::S3 { bucket, prefix } => {
            let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .load()
                .await;
            let endpoint_set = sdk.endpoint_url().is_some()
                || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some_and(|v| !v.is_empty());
            let mut config = aws_sdk_s3::config::Builder::from(&sdk);
            if endpoint_set {
                config = config.force_path_style(true);
            }
            let client = aws_sdk_s3::Client::from_conf(config.build());
            Ok(Arc::new(S3Store::new(client, bucket, prefix)))
        }
    }
}

/// Checks a key, so that every backend stores the same set of keys the same way.
///
/// A key is non-empty, at most [`MAX_KEY_LEN`] bytes, has no leading `/`, no empty, `.` or `..`
/// segment, no segment longer than [`MAX_SEGMENT_LEN`] bytes, no control characters, and no
/// segment starting with `.` (those names are the local backend's checksum sidecars and
/// temporary files, and hidden from listings). Otherwise [`StoreError::InvalidKey`].
pub fn validate_key(key: &str) -> Result<()> {
    let fail = |reason: &str| {
        Err(StoreError::InvalidKey {
            key: key.to_string(),
            reason: reason.to_string(),
        })
    };
    if key.is_empty() {
        return fail("empty key");
    }
    if key.len() > MAX_KEY_LEN {
        return fail("longer than the maximum key length");
    }
    if key.starts_with('/') {
        return fail("keys are relative to the store root: no leading '/'");
    }
    check_segments(key, false).or_else(|reason| fail(&reason))
}

/// Checks a listing prefix: like a key, but it may be empty, end with `/`, and end mid-segment.
pub fn validate_prefix(prefix: &str) -> Result<()> {
    if prefix.is_empty() {
        return Ok(());
    }
    let fail = |reason: &str| {
        Err(StoreError::InvalidKey {
            key: prefix.to_string(),
            reason: reason.to_string(),
        })
    };
    if prefix.starts_with('/') {
        return fail("prefixes are relative to the store root: no leading '/'");
    }
    if prefix.len() > MAX_KEY_LEN {
        return fail("longer than the maximum key length");
    }
    check_segments(prefix, true).or_else(|reason| fail(&reason))
}

fn check_segments(s: &str, is_prefix: bool) -> std::result::Result<(), String> {
    if s.chars().any(char::is_control) {
        return Err("control characters are not allowed".into());
    }
    let segments: Vec<&str> = s.split('/').collect();
    let last = segments.len() - 1;
    for (i, segment) in segments.iter().enumerate() {
        if segment.is_empty() {
            if is_prefix && i == last {
                continue; // "changes/" lists a directory
            }
            return Err("empty segment ('//' or a trailing '/')".into());
        }
        if *segment == "." || *segment == ".." {
            return Err("'.' and '..' segments are not allowed".into());
        }
        if segment.starts_with('.') {
            return Err(
                "segments starting with '.' are reserved for the local backend's checksum and temporary files"
                    .into(),
            );
        }
        if segment.len() > MAX_SEGMENT_LEN {
            return Err(format!("a segment is longer than {MAX_SEGMENT_LEN} bytes"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_keys() {
        for key in [
            "a",
            "changes/table=t/dt=2026-11-26/hour=06/2026-11-26T06%3A00%3A00.000_shardId-1_0001_0002.parquet",
            "tables/table=t/owner.json",
            "a b/c+d/e~f",
            "ünïcode/ключ",
        ] {
            validate_key(key).unwrap_or_else(|e| panic!("{key:?}: {e}"));
        }
    }

    #[test]
    fn bad_keys() {
        let long_segment = "x".repeat(MAX_SEGMENT_LEN + 1);
        let long_key = "abc/".repeat(MAX_KEY_LEN / 4 + 1);
        for key in [
            "",
            "/abs",
            "a//b",
            "a/",
            "./a",
            "a/./b",
            "a/../b",
            "..",
            ".hidden",
            "a/.b.crc32c-00000000",
            "a\nb",
            "a\0b",
            long_segment.as_str(),
            long_key.as_str(),
        ] {
            match validate_key(key) {
                Err(StoreError::InvalidKey { key: k, reason }) => {
                    assert_eq!(k, key);
                    assert!(!reason.is_empty());
                }
                other => panic!("{key:?}: expected InvalidKey, got {other:?}"),
            }
        }
    }

    #[test]
    fn prefixes() {
        for prefix in ["", "changes/", "changes/table=t/dt=2026-11-2", "a"] {
            validate_prefix(prefix).unwrap_or_else(|e| panic!("{prefix:?}: {e}"));
        }
        for prefix in ["/a", "a//", "a//b", "./", "a/.", "a/..", ".x"] {
            assert!(
                matches!(validate_prefix(prefix), Err(StoreError::InvalidKey { .. })),
                "{prefix:?}"
            );
        }
    }
}
