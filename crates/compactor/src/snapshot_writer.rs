//! Writing one snapshot: bucket files (change-file format, sorted by key, high zstd level) under
//! `snapshots/table=<t>/at=<time>/run=<run>/`, then the manifest, put-if-absent. The run id keeps
//! two writers of the same snapshot apart; the manifest decides which one's files are the
//! snapshot, and the loser deletes its own.

use crate::error::Result;
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use rand::Rng;
use rewind_catalog::layout::{self, SnapshotFile};
use rewind_catalog::{
    SnapshotFileEntry, SnapshotKind, SnapshotManifest, SNAPSHOT_MANIFEST_VERSION,
};
use rewind_format::{write_change_file, ChangeRecord, WriteOptions, FORMAT_VERSION};
use rewind_store::Store;
use std::sync::Mutex;

/// ZSTD level of snapshot files: written once, read by every restore after them, kept long.
pub const SNAPSHOT_ZSTD_LEVEL: i32 = 9;

/// What became of a snapshot's commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Committed {
    /// This run's manifest is the snapshot.
    Won {
        /// The manifest's key.
        manifest_key: String,
        /// The manifest.
        manifest: Box<SnapshotManifest>,
    },
    /// Another run committed this snapshot first; this run's files were deleted.
    Lost {
        /// The manifest's key.
        manifest_key: String,
    },
}

impl Committed {
    /// For a report: the manifest key, files and bytes this run committed (none when it lost),
    /// and whether it won.
    pub fn summary(self) -> (String, u64, u64, bool) {
        match self {
            Committed::Won {
                manifest_key,
                manifest,
            } => (
                manifest_key,
                manifest.files.len() as u64,
                manifest.files.iter().map(|f| f.bytes).sum(),
                true,
            ),
            Committed::Lost { manifest_key } => (manifest_key, 0, 0, false),
        }
    }
}

/// One snapshot being written.
#[derive(Debug)]
pub struct SnapshotWriter {
    store: Store,
    table: String,
    at: DateTime<Utc>,
    run_id: String,
    buckets: u32,
    files: Mutex<Vec<SnapshotFileEntry>>,
}

/// A state item as a snapshot row: the version it is (label, sequence number, stamp) is kept,
/// so a compacted snapshot is exactly the state at its time.
pub fn snapshot_row(table: &str, item: rewind_replay::state::LiveItem) -> ChangeRecord {
    ChangeRecord {
        table_name: table.to_string(),
        event_name: rewind_format::EventName::Insert,
        stream_label: item.stream_label().to_string(),
        sequence_number: item.sequence_number().to_string(),
        approximate_creation_time_ms: item.stamp_ms,
        keys: item.keys().to_string(),
        new_image: Some(item.image().to_string()),
        key: item.key,
        old_image: None,
        old_image_hash: None,
        user_identity: None,
        shard_id: "snapshot".into(),
        ingested_at_ms: Utc::now().timestamp_millis(),
    }
}

/// A fresh run id: 16 random hex digits.
pub fn new_run_id() -> String {
    format!("{:016x}", rand::thread_rng().gen::<u64>())
}

impl SnapshotWriter {
    /// A writer of the snapshot of `table` named at second `at`, split in `buckets` buckets.
    pub fn new(store: Store, table: &str, at: i64, buckets: u32) -> Self {
        SnapshotWriter {
            store,
            table: table.to_string(),
            at: DateTime::from_timestamp(at, 0).expect("snapshot time in range"),
            run_id: new_run_id(),
            buckets,
            files: Mutex::new(Vec::new()),
        }
    }

    /// A writer continuing run `run_id` (one step of a fanned-out compaction): `files` are the
    /// bucket files other steps wrote.
    pub fn resume(
        store: Store,
        table: &str,
        at: i64,
        buckets: u32,
        run_id: &str,
        files: Vec<SnapshotFileEntry>,
    ) -> Self {
        SnapshotWriter {
            store,
            table: table.to_string(),
            at: DateTime::from_timestamp(at, 0).expect("snapshot time in range"),
            run_id: run_id.to_string(),
            buckets,
            files: Mutex::new(files),
        }
    }

    /// The files written so far.
    pub fn files(&self) -> Vec<SnapshotFileEntry> {
        self.files.lock().expect("not poisoned").clone()
    }

    /// This run's id.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The manifest key this snapshot commits to.
    pub fn manifest_key(&self) -> String {
        layout::snapshot_manifest(&self.table, self.at)
    }

    /// Writes one bucket's rows (any order; none: no file).
    pub async fn write_bucket(&self, bucket: u32, records: Vec<ChangeRecord>) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let key = SnapshotFile {
            table: self.table.clone(),
            at: self.at,
            run_id: self.run_id.clone(),
            bucket,
        }
        .key();
        let rows = records.len() as u64;
        let object = key.clone();
        let written = tokio::task::spawn_blocking(move || {
            write_change_file(
                &object,
                records,
                &WriteOptions {
                    zstd_level: SNAPSHOT_ZSTD_LEVEL,
                    ..WriteOptions::default()
                },
            )
        })
        .await
        .expect("snapshot encoding panicked")?;
        let bytes = written.bytes.len() as u64;
        let meta = self.store.put(&key, written.bytes).await?;
        rewind_store::crash_point::crash_point("snapshot.bucket");
        self.files
            .lock()
            .expect("not poisoned")
            .push(SnapshotFileEntry {
                key,
                bucket,
                rows,
                bytes,
                crc32c: meta.crc32c,
            });
        Ok(())
    }

    /// Writes the manifest, last, put-if-absent.
    pub async fn commit(
        self,
        kind: SnapshotKind,
        valid_from: i64,
        changes_from_ms: i64,
        table_arn: Option<String>,
    ) -> Result<Committed> {
        let manifest_key = self.manifest_key();
        let mut files = std::mem::take(&mut *self.files.lock().expect("not poisoned"));
        files.sort_by_key(|f| f.bucket);
        let manifest = SnapshotManifest {
            manifest_version: SNAPSHOT_MANIFEST_VERSION,
            format_version: FORMAT_VERSION,
            table: self.table.clone(),
            table_arn,
            at: self.at.to_rfc3339_opts(SecondsFormat::Secs, true),
            run_id: self.run_id.clone(),
            kind,
            valid_from,
            changes_from_ms,
            buckets: self.buckets,
            rows: files.iter().map(|f| f.rows).sum(),
            files,
            created_at: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        };
        let body = serde_json::to_vec_pretty(&manifest).expect("manifests serialise");
        match self
            .store
            .put_if_absent(&manifest_key, Bytes::from(body))
            .await
        {
            Ok(_) => {
                rewind_store::crash_point::crash_point("snapshot.manifest");
                Ok(Committed::Won {
                    manifest_key,
                    manifest: Box::new(manifest),
                })
            }
            Err(e) if e.is_already_exists() => {
                tracing::warn!(manifest = %manifest_key, run = %self.run_id, "another run committed this snapshot first; deleting this run's files");
                for f in &manifest.files {
                    self.store.delete(&f.key).await?;
                }
                Ok(Committed::Lost { manifest_key })
            }
            Err(e) => Err(e.into()),
        }
    }
}
