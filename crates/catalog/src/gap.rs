//! Recorded gaps: a range of a shard that capture could not read (trimmed from the stream before
//! capture got to it). A gap is a fact about the backup, kept in the bucket so that the restorable
//! window is split at it and a restore never silently spans it.

use crate::error::Result;
use crate::json_record;
use crate::layout;
use bytes::Bytes;
use chrono::DateTime;
use rewind_store::{ObjectStore, StoreError};
use serde::{Deserialize, Serialize};

/// What is known about a gap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    /// Source table name.
    pub table: String,
    /// The stream's label.
    pub stream_label: String,
    /// The shard.
    pub shard_id: String,
    /// The last sequence number captured before the gap (None: nothing was captured before).
    pub after_sequence_number: Option<String>,
    /// Stamp of that record, ms (the restorable window ends here, unless `read_through_ms`
    /// says capture had read further).
    pub after_stamp_ms: Option<i64>,
    /// The shard's read-through when the gap began (ms): nothing stamped up to it is missing,
    /// so the window can end there rather than at the last record's stamp. Absent in gaps
    /// recorded before rewind kept it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_through_ms: Option<i64>,
    /// The first sequence number read after the gap, when known.
    pub resumed_at_sequence_number: Option<String>,
    /// When capture noticed it, ms since the epoch.
    pub detected_at_ms: i64,
    /// Why (the API error, or "trimmed").
    pub reason: String,
}

/// Writes a gap record and returns its key.
pub async fn record_gap(store: &dyn ObjectStore, gap: &Gap) -> Result<String> {
    let at = DateTime::from_timestamp_millis(gap.detected_at_ms).unwrap_or_default();
    let key = layout::GapKey::new(&gap.table, &gap.stream_label, &gap.shard_id, at)
        .map_err(|e| StoreError::InvalidKey {
            key: format!("gap of {}/{}", gap.table, gap.shard_id),
            reason: e.to_string(),
        })?
        .key();
    let body = serde_json::to_vec_pretty(gap).expect("gaps serialise");
    store.put(&key, Bytes::from(body)).await?;
    Ok(key)
}

/// Every recorded gap of a table.
pub async fn list_gaps(store: &dyn ObjectStore, table: &str) -> Result<Vec<Gap>> {
    let prefix = layout::gaps_prefix(table);
    let listed = json_record::read_all(store, &prefix, "gap record", |_| true).await?;
    Ok(listed.into_iter().map(|(_, g)| g).collect())
}
