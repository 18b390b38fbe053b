//! Shard checkpoints: how far each shard has been captured, and how far it has been *read*.
//!
//! A checkpoint is written only after the objects holding its records are durable, so it never
//! claims more than the bucket holds. Two facts live in it: the last sequence number captured
//! (where the poller resumes) and the "read through" time (everything on the shard stamped up to
//! then is in the bucket), from which the watermark is computed. Checkpoints only move forward:
//! a redrive of an old range or a retried older batch never moves one back.

use crate::error::Result;
use crate::json_record;
use crate::layout::{self, CheckpointKey};
use bytes::Bytes;
use rewind_store::{ObjectStore, StoreError};
use serde::{Deserialize, Serialize};

/// The captured state of one shard of one stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Source table name.
    pub table: String,
    /// The stream's label.
    pub stream_label: String,
    /// The shard.
    pub shard_id: String,
    /// The shard's parent, when known (the poller reads parents before children).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_shard_id: Option<String>,
    /// Last sequence number captured (40 digits), `None` before the first record.
    pub last_sequence_number: Option<String>,
    /// Creation time of that record, ms since the epoch.
    pub last_stamp_ms: Option<i64>,
    /// Every record of this shard stamped at or before this time (ms) is captured.
    pub read_through_ms: i64,
    /// The shard is closed and was read to its end: it can no longer hold the watermark back.
    #[serde(default)]
    pub shard_ended: bool,
    /// When this checkpoint was written, ms since the epoch.
    pub updated_at_ms: i64,
    /// When capture first wrote a checkpoint of this shard, ms since the epoch (kept by every
    /// later save). A stream whose shards were all first read within 24 h of the stream's creation
    /// lost nothing to trimming, which the restorable window needs to know. `None` in
    /// checkpoints written before this field existed: then nobody can tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_captured_ms: Option<i64>,
}

/// The latest time a checkpoint may hold, ms: 9999-12-31T23:59:59.999Z, the last instant
/// RFC 3339 can write (and far inside what the planner's calendar can represent).
const LATEST_MS: i64 = 253_402_300_799_999;

impl Checkpoint {
    /// Refuses times no capture can have written (before 1970, after year 9999): a damaged or
    /// hand-edited checkpoint would otherwise move the watermark, and with it `latest`, to a
    /// second nothing was captured through (found by fuzzing: a read-through time in the year
    /// 56 million took the planner down).
    pub fn check_times(&self) -> std::result::Result<(), String> {
        let times = [
            ("read_through_ms", Some(self.read_through_ms)),
            ("updated_at_ms", Some(self.updated_at_ms)),
            ("last_stamp_ms", self.last_stamp_ms),
            ("first_captured_ms", self.first_captured_ms),
        ];
        for (name, ms) in times {
            if let Some(ms) = ms.filter(|ms| !(0..=LATEST_MS).contains(ms)) {
                return Err(format!(
                    "{name} {ms} is not a time capture can have written (1970 to 9999)"
                ));
            }
        }
        Ok(())
    }

    /// The object key.
    pub fn key(&self) -> Result<String> {
        Ok(checkpoint_key(&self.table, &self.stream_label, &self.shard_id)?.key())
    }

    /// `self` advanced by `newer`, never moved back: the larger sequence number (with its stamp),
    /// the later read-through time, and "ended" once ended.
    pub fn merged(&self, newer: &Checkpoint) -> Checkpoint {
        let mut out = newer.clone();
        if self.last_sequence_number > newer.last_sequence_number {
            out.last_sequence_number
                .clone_from(&self.last_sequence_number);
            out.last_stamp_ms = self.last_stamp_ms;
        }
        out.read_through_ms = self.read_through_ms.max(newer.read_through_ms);
        out.shard_ended = self.shard_ended || newer.shard_ended;
        // The stored checkpoint speaks for the first capture; a checkpoint from before the field
        // existed (None) keeps saying "unknown" rather than letting a later save claim it.
        out.first_captured_ms = self
            .first_captured_ms
            .map(|old| newer.first_captured_ms.map_or(old, |new| old.min(new)));
        out.parent_shard_id = newer
            .parent_shard_id
            .clone()
            .or_else(|| self.parent_shard_id.clone());
        out
    }
}

fn checkpoint_key(table: &str, label: &str, shard: &str) -> Result<CheckpointKey> {
    CheckpointKey::new(table, label, shard).map_err(|e| {
        StoreError::InvalidKey {
            key: format!("checkpoint of {table}/{label}/{shard}"),
            reason: e.to_string(),
        }
        .into()
    })
}

/// Reads a shard's checkpoint, `None` if the shard was never captured.
pub async fn load_checkpoint(
    store: &dyn ObjectStore,
    table: &str,
    stream_label: &str,
    shard_id: &str,
) -> Result<Option<Checkpoint>> {
    let key = checkpoint_key(table, stream_label, shard_id)?.key();
    let checkpoint: Option<Checkpoint> = json_record::read(store, &key, "checkpoint").await?;
    if let Some(c) = &checkpoint {
        checked(store, &key, c)?;
    }
    Ok(checkpoint)
}

fn checked(store: &dyn ObjectStore, key: &str, checkpoint: &Checkpoint) -> Result<()> {
    checkpoint
        .check_times()
        .map_err(|reason| crate::error::CatalogError::Invalid {
            what: "checkpoint",
            location: store.describe(key),
            reason,
        })
}

/// Writes a checkpoint, merged with the one already stored so that it only moves forward.
/// Returns what was stored.
pub async fn save_checkpoint(
    store: &dyn ObjectStore,
    checkpoint: &Checkpoint,
) -> Result<Checkpoint> {
    let stored = load_checkpoint(
        store,
        &checkpoint.table,
        &checkpoint.stream_label,
        &checkpoint.shard_id,
    )
    .await?;
    let merged = match stored {
        Some(old) => old.merged(checkpoint),
        None => checkpoint.clone(),
    };
    let body = serde_json::to_vec_pretty(&merged).expect("checkpoints serialise");
    store.put(&merged.key()?, Bytes::from(body)).await?;
    Ok(merged)
}

/// Every checkpoint of a table (all streams, all shards).
pub async fn list_checkpoints(store: &dyn ObjectStore, table: &str) -> Result<Vec<Checkpoint>> {
    let prefix = layout::checkpoints_prefix(table);
    let listed = json_record::read_all(store, &prefix, "checkpoint", |key| {
        CheckpointKey::parse(key).is_ok()
    });
    let mut out = Vec::new();
    for (key, checkpoint) in listed.await? {
        checked(store, &key, &checkpoint)?;
        out.push(checkpoint);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cp(seq: Option<&str>, read_through: i64, ended: bool) -> Checkpoint {
        Checkpoint {
            table: "shop".into(),
            stream_label: "2026-11-26T06:00:00.000".into(),
            shard_id: "shardId-1".into(),
            parent_shard_id: None,
            last_sequence_number: seq.map(|s| format!("{s:0>40}")),
            last_stamp_ms: seq.map(|_| read_through),
            read_through_ms: read_through,
            shard_ended: ended,
            updated_at_ms: 0,
            first_captured_ms: None,
        }
    }

    /// Found by fuzzing (fuzz/regressions/checkpoint): a read-through time no capture writes
    /// is refused naming the checkpoint, rather than moving the watermark out of the calendar.
    #[tokio::test]
    async fn impossible_times_are_refused_naming_the_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let store = rewind_store::LocalStore::new(dir.path());
        let good = cp(Some("100"), 1_795_672_801_000, false);
        save_checkpoint(&store, &good).await.unwrap();
        assert_eq!(
            list_checkpoints(&store, "shop").await.unwrap(),
            vec![good.clone()]
        );
        for bad in [
            cp(Some("100"), 1_795_674_620_997_620_997, false),
            cp(None, -5, false),
            Checkpoint {
                first_captured_ms: Some(i64::MAX),
                ..good.clone()
            },
        ] {
            let body = serde_json::to_vec(&bad).unwrap();
            store.put(&bad.key().unwrap(), body.into()).await.unwrap();
            let err = list_checkpoints(&store, "shop")
                .await
                .unwrap_err()
                .to_string();
            assert!(err.contains("not a time capture can have written"), "{err}");
            assert!(err.contains("shardId-1"), "names the object: {err}");
            let err = load_checkpoint(&store, "shop", &good.stream_label, "shardId-1")
                .await
                .unwrap_err();
            assert!(err.to_string().contains("checkpoint"), "{err}");
        }
    }

    #[test]
    fn merge_never_moves_back() {
        let newer = cp(Some("200"), 2_000, false);
        let older = cp(Some("100"), 1_000, false);
        assert_eq!(
            older.merged(&newer).last_sequence_number,
            newer.last_sequence_number
        );
        let m = newer.merged(&older);
        assert_eq!(m.last_sequence_number, newer.last_sequence_number);
        assert_eq!(m.read_through_ms, 2_000);
        assert_eq!(m.last_stamp_ms, Some(2_000));
        let ended = cp(Some("300"), 3_000, true);
        assert!(ended.merged(&cp(Some("300"), 3_500, false)).shard_ended);
        // An empty read only advances read-through.
        let empty = cp(None, 9_000, false);
        let m = newer.merged(&empty);
        assert_eq!(
            (m.last_sequence_number, m.read_through_ms),
            (newer.last_sequence_number, 9_000)
        );
    }

    #[test]
    fn first_capture_time_is_kept_and_unknown_stays_unknown() {
        let first = |ms| Checkpoint {
            first_captured_ms: ms,
            ..cp(Some("1"), 1_000, false)
        };
        assert_eq!(
            first(Some(10)).merged(&first(Some(99))).first_captured_ms,
            Some(10)
        );
        assert_eq!(
            first(Some(10)).merged(&first(None)).first_captured_ms,
            Some(10)
        );
        // Stored before the field existed: a later save must not claim to be the first.
        assert_eq!(first(None).merged(&first(Some(99))).first_captured_ms, None);
    }

    #[tokio::test]
    async fn saved_checkpoints_round_trip_and_merge() {
        let dir = tempfile::tempdir().unwrap();
        let store = rewind_store::LocalStore::new(dir.path());
        assert_eq!(
            load_checkpoint(&store, "shop", "2026-11-26T06:00:00.000", "shardId-1")
                .await
                .unwrap(),
            None
        );
        save_checkpoint(&store, &cp(Some("200"), 2_000, false))
            .await
            .unwrap();
        let stored = save_checkpoint(&store, &cp(Some("100"), 1_000, false))
            .await
            .unwrap();
        assert_eq!(
            stored.last_sequence_number.as_deref(),
            Some(&*format!("{:0>40}", "200"))
        );
        let loaded = load_checkpoint(&store, "shop", "2026-11-26T06:00:00.000", "shardId-1")
            .await
            .unwrap();
        assert_eq!(loaded, Some(stored));
        assert_eq!(list_checkpoints(&store, "shop").await.unwrap().len(), 1);
    }
}
