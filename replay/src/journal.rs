//! The restore journal: what makes a restore resumable. Kept in the store beside the backups
//! (`restores/table=<t>/target=<digest>/`): the request, the resolved point and the pinned plan,
//! and one marker per bucket that is durable at the target. Re-running the same restore reads it
//! and skips finished buckets; a plan whose pinned files are gone starts over.

use crate::error::{ReplayError, Result};
use crate::plan::Plan;
use crate::target::BucketWritten;
use bytes::Bytes;
use rewind_store::{layout, ObjectStore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// Where a restore stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JournalStatus {
    /// Buckets are being written.
    Running,
    /// Every bucket and the finishing steps are done.
    Done,
}

/// The journal of one restore into one target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Journal {
    /// The target, canonical URL.
    pub target: String,
    /// The point as requested (`latest` or RFC 3339): a re-run with the same request resumes.
    pub requested: String,
    /// The plan, pinned (its point is the resolved `latest`).
    pub plan: Plan,
    /// [`Plan::fingerprint`] of it.
    pub fingerprint: String,
    /// Where it stands.
    pub status: JournalStatus,
    /// When it started, RFC 3339.
    pub started_at: String,
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
    pub async fn load(&self, store: &dyn ObjectStore) -> Result<Option<Journal>> {
        let key = layout::restore_journal(&self.table, &self.digest);
        match store.get(&key).await {
            Ok(body) => serde_json::from_slice(&body)
                .map(Some)
                .map_err(|e| ReplayError::Invalid {
                    what: "restore journal",
                    location: store.describe(&key),
                    reason: e.to_string(),
                }),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes the journal.
    pub async fn save(&self, store: &dyn ObjectStore, journal: &Journal) -> Result<()> {
        let key = layout::restore_journal(&self.table, &self.digest);
        let body = serde_json::to_vec_pretty(journal).expect("journals serialise");
        store.put(&key, Bytes::from(body)).await?;
        Ok(())
    }

    /// Buckets marked done, with what writing them did.
    pub async fn done(&self, store: &dyn ObjectStore) -> Result<BTreeMap<u32, BucketWritten>> {
        let prefix = layout::restore_done_prefix(&self.table, &self.digest);
        let mut out = BTreeMap::new();
        for meta in rewind_store::list_all(store, &prefix).await? {
            let Some(bucket) = layout::parse_restore_done_key(&meta.key) else {
                continue;
            };
            let body = store.get(&meta.key).await?;
            let written = serde_json::from_slice(&body).map_err(|e| ReplayError::Invalid {
                what: "restore bucket marker",
                location: store.describe(&meta.key),
                reason: e.to_string(),
            })?;
            out.insert(bucket, written);
        }
        Ok(out)
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

/// Which pinned objects of `plan` the catalog no longer lists with the same size.
pub fn missing_pins(plan: &Plan, listed: &BTreeSet<(String, u64)>) -> Vec<String> {
    plan.files
        .iter()
        .filter(|f| !listed.contains(&(f.key.clone(), f.size)))
        .map(|f| f.key.clone())
        .collect()
}
