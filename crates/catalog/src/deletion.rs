//! Deleted tables: the record that closes a table's lineage.
//!
//! A DynamoDB table can be deleted (by accident, by a stack teardown) and a table with the same
//! name created again. The deleted table's stream stays readable for 24 hours, so capture reads it
//! to its end after the deletion ("drains" it) and then writes this record, once, put-if-absent:
//! from then on the stream is known to hold nothing more, the window of that lineage ends at the
//! deletion instead of trailing a lag that grows forever, and a table re-created under the name
//! starts a new lineage that a restore never mixes with the old one (its stream is another one,
//! and the time between the two is a hole in the window).
//!
//! The deletion time itself is not in the stream (DynamoDB writes no record for DeleteTable):
//! what capture knows is when it found the table gone (`detected_at_ms`, an upper bound) and the
//! stamp of the last change (`last_change_ms`, a lower bound). The last restorable point is the
//! second before the detection: nothing changed between the last change and the deletion.

use crate::error::{CatalogError, Result};
use crate::json_record;
use crate::layout;
use rewind_store::{ObjectStore, StoreError};
use serde::{Deserialize, Serialize};

/// Version of the deletion record; bump when a reader of the previous one would misread it.
pub const DELETION_VERSION: u32 = 1;

/// Why capture decided the lineage ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeletionCause {
    /// DescribeTable answered ResourceNotFoundException.
    TableNotFound,
    /// A table with the same name exists, but it is another table (another table id or creation
    /// time): the one this stream belonged to was deleted and the name re-used.
    TableRecreated,
}

/// `tables/table=<t>/deleted/stream=<label>.json`: the table whose stream is `stream_label` was
/// deleted, and the stream was read to its end (or as far as it could still be read).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableDeletion {
    /// [`DELETION_VERSION`] at the time of writing.
    pub format_version: u32,
    /// The table name.
    pub table: String,
    /// The deleted table's ARN (a re-created table has the same one).
    pub table_arn: String,
    /// DynamoDB's id of the deleted table, when its stored description has it (a re-created
    /// table has another).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_id: Option<String>,
    /// When the deleted table was created (RFC 3339), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// The stream that was drained.
    pub stream_arn: String,
    /// Its label.
    pub stream_label: String,
    /// What showed the table was gone.
    pub cause: DeletionCause,
    /// When capture found the table gone (ms): the deletion happened before.
    pub detected_at_ms: i64,
    /// The stamp of the last change captured from the stream (ms), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_change_ms: Option<i64>,
    /// Every shard of the stream was read to its end (or to an empty read of a stream that can
    /// receive nothing more). `false` when the stream could no longer be read: the shards in
    /// `unreadable_shards` have a recorded gap after their checkpoint.
    pub drained: bool,
    /// Shards whose records after the checkpoint could not be read (a gap was recorded for each).
    #[serde(default)]
    pub unreadable_shards: Vec<String>,
    /// Why those could not be read (the API error), when some could not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unreadable_reason: Option<String>,
}

impl TableDeletion {
    /// The last second a restore of this lineage can ask for: the second before the deletion was
    /// detected, and never before the last change captured (clocks differ).
    pub fn last_restorable_second(&self) -> i64 {
        let before_detection = self.detected_at_ms.div_euclid(1000) - 1;
        match self.last_change_ms {
            Some(ms) => before_detection.max(ms.div_euclid(1000)),
            None => before_detection,
        }
    }
}

/// Records a deletion, put-if-absent: the first record of a stream's deletion stands (a later
/// drain can only find less). Returns the record in force.
pub async fn record_deletion(
    store: &dyn ObjectStore,
    deletion: &TableDeletion,
) -> Result<TableDeletion> {
    let key = deletion_key(&deletion.table, &deletion.stream_label)?;
    let body = serde_json::to_vec_pretty(deletion).map_err(|e| {
        StoreError::other(
            "record_deletion",
            store.describe(&key),
            e.to_string(),
            false,
        )
    })?;
    match store.put_if_absent(&key, body.into()).await {
        Ok(_) => Ok(deletion.clone()),
        Err(e) if e.is_already_exists() => {
            load_deletion(store, &deletion.table, &deletion.stream_label)
                .await?
                .ok_or_else(|| {
                    StoreError::other(
                        "record_deletion",
                        store.describe(&key),
                        "deletion record vanished while being read",
                        true,
                    )
                    .into()
                })
        }
        Err(e) => Err(e.into()),
    }
}

/// The deletion record of one stream of `table`, if its lineage ended.
pub async fn load_deletion(
    store: &dyn ObjectStore,
    table: &str,
    stream_label: &str,
) -> Result<Option<TableDeletion>> {
    let key = deletion_key(table, stream_label)?;
    json_record::read(store, &key, "deletion record").await
}

/// Every deletion record of `table`, oldest stream first.
pub async fn list_deletions(store: &dyn ObjectStore, table: &str) -> Result<Vec<TableDeletion>> {
    let prefix = layout::deletions_prefix(table);
    let mut listed: Vec<TableDeletion> =
        json_record::read_all(store, &prefix, "deletion record", |_| true)
            .await?
            .into_iter()
            .map(|(_, d)| d)
            .collect();
    listed.sort_by(|a, b| a.stream_label.cmp(&b.stream_label));
    Ok(listed)
}

fn deletion_key(table: &str, label: &str) -> Result<String> {
    layout::deletion_key(table, label).map_err(|e| CatalogError::Invalid {
        what: "deletion record key",
        location: format!("{table}/{label}"),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rewind_store::local::LocalStore;

    fn deletion(label: &str, detected: i64) -> TableDeletion {
        TableDeletion {
            format_version: DELETION_VERSION,
            table: "orders".into(),
            table_arn: "arn:aws:dynamodb:us-east-1:123456789012:table/orders".into(),
            table_id: Some("id-1".into()),
            created_at: None,
            stream_arn: format!(
                "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/{label}"
            ),
            stream_label: label.into(),
            cause: DeletionCause::TableNotFound,
            detected_at_ms: detected,
            last_change_ms: Some(detected - 9_500),
            drained: true,
            unreadable_shards: vec![],
            unreadable_reason: None,
        }
    }

    #[tokio::test]
    async fn the_first_record_stands_and_records_list_by_stream() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        let first = deletion("2026-12-05T10:00:00.000", 1_796_000_000_000);
        assert_eq!(record_deletion(&store, &first).await.unwrap(), first);
        let mut later = first.clone();
        later.detected_at_ms += 60_000;
        later.drained = false;
        assert_eq!(
            record_deletion(&store, &later).await.unwrap(),
            first,
            "a second drain must not rewrite what the first one found"
        );
        let other = deletion("2026-12-05T09:00:00.000", 1_795_000_000_000);
        record_deletion(&store, &other).await.unwrap();
        let labels: Vec<String> = list_deletions(&store, "orders")
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.stream_label)
            .collect();
        assert_eq!(
            labels,
            ["2026-12-05T09:00:00.000", "2026-12-05T10:00:00.000"]
        );
        assert!(load_deletion(&store, "orders", "2026-12-05T11:00:00.000")
            .await
            .unwrap()
            .is_none());
    }

    #[test]
    fn the_last_restorable_second_is_before_the_detection_but_not_before_the_last_change() {
        let mut d = deletion("2026-12-05T10:00:00.000", 1_000_500);
        d.last_change_ms = Some(990_000);
        assert_eq!(d.last_restorable_second(), 999);
        d.last_change_ms = Some(1_003_200); // a source clock ahead of ours
        assert_eq!(d.last_restorable_second(), 1_003);
        d.last_change_ms = None;
        assert_eq!(d.last_restorable_second(), 999);
    }
}
