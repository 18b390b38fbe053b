//! The restore journal: what makes a restore resumable. Kept in the store beside the backups
//! (`restores/table=<t>/target=<digest>/`): the request, the resolved point and the pinned plan,
//! and one marker per bucket that is durable at the target. Re-running the same restore reads it
//! and skips finished buckets; a plan whose pinned files are gone starts over.
//!
//! The plan's own type belongs to the planner (the replay crate); here it is a type parameter,
//! so the record's envelope, its keys and its markers have one owner.

use crate::error::Result;
use crate::json_record;
use crate::layout;
use bytes::Bytes;
use rewind_store::ObjectStore;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Where a restore stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JournalStatus {
    /// Buckets are being written.
    Running,
    /// Every bucket and the finishing steps are done.
    Done,
}

/// The journal of one restore into one target; `P` is the pinned plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredJournal<P> {
    /// The target, canonical URL.
    pub target: String,
    /// The point as requested (`latest` or RFC 3339): a re-run with the same request resumes.
    pub requested: String,
    /// The plan, pinned (its point is the resolved `latest`).
    pub plan: P,
    /// The plan's fingerprint: a re-run whose plan differs starts over.
    pub fingerprint: String,
    /// Where it stands.
    pub status: JournalStatus,
    /// When it started, RFC 3339.
    pub started_at: String,
    /// What a dev/test copy keeps and masks, without secrets (`None`: the whole state as it
    /// was). A re-run with other copy options starts over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy: Option<String>,
}

/// Counts one bucket's write produced: the content of its done-marker.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketWritten {
    /// Items written (put).
    pub items_written: u64,
    /// Bytes of items written (DynamoDB JSON, for exports the uncompressed line bytes).
    pub bytes_written: u64,
    /// Reconcile only: keys deleted because the state does not have them.
    pub deleted: u64,
    /// Reconcile only: items already equal, not written.
    pub unchanged: u64,
    /// Reconcile only: items that existed with other content and were overwritten.
    pub changed: u64,
    /// Guarded rollback only: the keys (canonical DynamoDB JSON) put or deleted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rolled_back: Vec<String>,
    /// Guarded rollback only: items not written because they changed after the rollback read
    /// them (or could not be written on condition), each in words.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<String>,
}

/// A restore's journal location.
#[derive(Debug, Clone)]
pub struct JournalRef {
    table: String,
    digest: String,
}

impl JournalRef {
    /// The journal of restoring `table` into `target` (canonical URL).
    pub fn new(table: &str, target: &str) -> Self {
        JournalRef {
            table: table.to_string(),
            digest: hex::encode(&Sha256::digest(target.as_bytes())[..12]),
        }
    }

    /// The prefix that holds the journal and its bucket markers, relative to the store.
    pub fn prefix(&self) -> String {
        layout::restore_prefix(&self.table, &self.digest)
    }

    /// Reads the journal, `None` if there is none.
    pub async fn load<P: DeserializeOwned>(
        &self,
        store: &dyn ObjectStore,
    ) -> Result<Option<StoredJournal<P>>> {
        let key = layout::restore_journal(&self.table, &self.digest);
        json_record::read(store, &key, "restore journal").await
    }

    /// Writes the journal.
    pub async fn save<P: Serialize>(
        &self,
        store: &dyn ObjectStore,
        journal: &StoredJournal<P>,
    ) -> Result<()> {
        let key = layout::restore_journal(&self.table, &self.digest);
        let body = serde_json::to_vec_pretty(journal).expect("journals serialise");
        store.put(&key, Bytes::from(body)).await?;
        Ok(())
    }

    /// Buckets marked done, with what writing them did.
    pub async fn done(&self, store: &dyn ObjectStore) -> Result<BTreeMap<u32, BucketWritten>> {
        let prefix = layout::restore_done_prefix(&self.table, &self.digest);
        let markers = json_record::read_all(store, &prefix, "restore bucket marker", |key| {
            layout::parse_restore_done_key(key).is_some()
        });
        Ok(markers
            .await?
            .into_iter()
            .filter_map(|(key, written)| Some((layout::parse_restore_done_key(&key)?, written)))
            .collect())
    }

    /// Marks a bucket done (after it is durable at the target).
    pub async fn mark_done(
        &self,
        store: &dyn ObjectStore,
        bucket: u32,
        written: &BucketWritten,
    ) -> Result<()> {
        let key = layout::restore_done_key(&self.table, &self.digest, bucket);
        let body = serde_json::to_vec(written).expect("counts serialise");
        store.put(&key, Bytes::from(body)).await?;
        Ok(())
    }

    /// Removes the journal and its bucket markers (a restore given up, its target removed).
    pub async fn remove(&self, store: &dyn ObjectStore) -> Result<()> {
        self.clear_done(store).await?;
        match store
            .delete(&layout::restore_journal(&self.table, &self.digest))
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Forgets every bucket marker (a restore that starts over).
    pub async fn clear_done(&self, store: &dyn ObjectStore) -> Result<()> {
        let prefix = layout::restore_done_prefix(&self.table, &self.digest);
        for meta in rewind_store::list_all(store, &prefix).await? {
            store.delete(&meta.key).await?;
        }
        Ok(())
    }
}
