//! Quarantine: where a record that cannot be converted goes, raw, so nothing is dropped silently.
//! A restore whose range holds a quarantined record refuses unless told to skip it.

use crate::error::Result;
use bytes::Bytes;
use chrono::DateTime;
use rewind_format::ConvertError;
use rewind_store::{layout, ObjectStore};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// A quarantined record and why it is there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuarantinedRecord {
    /// Source table name.
    pub table: String,
    /// The stream's label.
    pub stream_label: String,
    /// The shard.
    pub shard_id: String,
    /// The record's sequence number as sent, when it had one.
    pub sequence_number: Option<String>,
    /// The field that could not be converted.
    pub field: String,
    /// Why.
    pub reason: String,
    /// When capture met it, ms since the epoch.
    pub ingested_at_ms: i64,
    /// The record as it arrived.
    pub record: Value,
}

/// Writes a record to quarantine; the key is the SHA-256 of the raw record, so a retried batch
/// quarantines it under the same name. Returns the key.
pub async fn quarantine(store: &dyn ObjectStore, entry: &QuarantinedRecord) -> Result<String> {
    let raw = serde_json::to_vec(&entry.record).expect("JSON values serialise");
    let digest = hex::encode(Sha256::digest(&raw));
    let at = DateTime::from_timestamp_millis(entry.ingested_at_ms).unwrap_or_default();
    let key = layout::quarantine_key(&entry.table, at, &digest);
    let body = serde_json::to_vec_pretty(entry).expect("quarantine entries serialise");
    store.put(&key, Bytes::from(body)).await?;
    Ok(key)
}

impl QuarantinedRecord {
    /// An entry for a record that failed conversion.
    pub fn new(
        table: &str,
        stream_label: &str,
        shard_id: &str,
        sequence_number: Option<&str>,
        error: &ConvertError,
        ingested_at_ms: i64,
        record: Value,
    ) -> Self {
        QuarantinedRecord {
            table: table.into(),
            stream_label: stream_label.into(),
            shard_id: shard_id.into(),
            sequence_number: sequence_number.map(str::to_string),
            field: error.field.clone(),
            reason: error.reason.clone(),
            ingested_at_ms,
            record,
        }
    }
}

/// Every quarantined record of a table.
pub async fn list_quarantined(
    store: &dyn ObjectStore,
    table: &str,
) -> Result<Vec<QuarantinedRecord>> {
    let mut out = Vec::new();
    for meta in rewind_store::list_all(store, &layout::quarantine_prefix(table)).await? {
        let body = store.get(&meta.key).await?;
        let entry = serde_json::from_slice(&body).map_err(|e| {
            rewind_store::StoreError::other(
                "read quarantine",
                store.describe(&meta.key),
                format!("not a quarantine entry: {e}"),
                false,
            )
        })?;
        out.push(entry);
    }
    Ok(out)
}
