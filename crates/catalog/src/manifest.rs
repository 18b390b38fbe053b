//! The snapshot manifest: the commit point that makes a set of bucket files a snapshot
//! (written last, put-if-absent; docs/FORMAT.md). Bucket files are change files (same schema and
//! reader); each row is the version of one item the snapshot holds.

use serde::{Deserialize, Serialize};

/// Version of the manifest JSON; bump when a reader of the previous one would misread it.
pub const SNAPSHOT_MANIFEST_VERSION: u32 = 1;

/// How a snapshot was made, which decides what it can be the base of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum SnapshotKind {
    /// A parallel Scan of the live table: not a point in time. Its rows rank below every change;
    /// changes stamped from `changes_from_ms` on are applied over it.
    Scan {
        /// When the scan started, ms.
        scan_start_ms: i64,
        /// When the last segment finished, ms.
        scan_end_ms: i64,
        /// The safety margin applied on both sides, ms.
        margin_ms: i64,
        /// Parallel Scan segments.
        segments: u32,
        /// The table's stream when the scan started: the changes applied over the scan come
        /// from it, so the snapshot is usable only once capture covers that stream from before
        /// `scan_start_ms - margin_ms`. `None` in manifests written before this was recorded
        /// (the backup then refused to run without capture, so capture covered it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stream_label: Option<String>,
    },
    /// The previous snapshot with the changes up to this one's time applied: exactly the state
    /// at `at`.
    Compacted {
        /// The previous snapshot's manifest key, if any.
        base: Option<String>,
    },
}

/// One bucket file of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotFileEntry {
    /// Object key (relative to the store root).
    pub key: String,
    /// Key-hash bucket.
    pub bucket: u32,
    /// Rows (items).
    pub rows: u64,
    /// Size in bytes.
    pub bytes: u64,
    /// CRC32C of the object, base64 of the big-endian value (the store's encoding).
    pub crc32c: Option<String>,
}

/// The manifest of one snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotManifest {
    /// [`SNAPSHOT_MANIFEST_VERSION`].
    pub manifest_version: u32,
    /// The change-file format version of the bucket files.
    pub format_version: u32,
    /// Source table.
    pub table: String,
    /// Source table ARN, when known.
    pub table_arn: Option<String>,
    /// The snapshot's name time (whole seconds, RFC 3339).
    pub at: String,
    /// The run that wrote it (its files are under `run=<id>/`).
    pub run_id: String,
    /// Scan or compacted.
    #[serde(flatten)]
    pub kind: SnapshotKind,
    /// First second it can be the base of a restore.
    pub valid_from: i64,
    /// Changes stamped at or after this (ms) are applied over it.
    pub changes_from_ms: i64,
    /// Key-hash buckets (a power of two).
    pub buckets: u32,
    /// Every bucket file (empty buckets have none).
    pub files: Vec<SnapshotFileEntry>,
    /// Rows over all files.
    pub rows: u64,
    /// When the manifest was written, RFC 3339.
    pub created_at: String,
}

/// A record captured late (a redrive) with a stamp that compacted snapshots made before it may
/// already cover: every such snapshot at or after the stamp's second is invalid (it lacks the
/// record); restores skip it and the next compaction cuts a new one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotInvalidation {
    /// The oldest stamp captured late, ms.
    pub from_stamp_ms: i64,
    /// When the late records were durable, ms: snapshots committed after this include them.
    pub written_at_ms: i64,
    /// What captured them (shard and range).
    pub reason: String,
}
