//! Quarantine: where a record that cannot be converted goes, raw, so nothing is dropped silently.
//! A restore whose range holds a quarantined record refuses unless told to skip it.

use crate::error::Result;
use crate::json_record;
use crate::layout;
use bytes::Bytes;
use chrono::DateTime;
use rewind_format::ConvertError;
use rewind_store::ObjectStore;
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

/// A quarantined record, as far as planning needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantineEntry {
    /// Object key.
    pub key: String,
    /// The record's stamp (ms), when the raw record says.
    pub stamp_ms: Option<i64>,
    /// When capture met it (ms).
    pub ingested_at_ms: i64,
}

/// Every quarantined record of a table.
pub async fn list_quarantined(
    store: &dyn ObjectStore,
    table: &str,
) -> Result<Vec<QuarantinedRecord>> {
    let prefix = layout::quarantine_prefix(table);
    let listed = json_record::read_all(store, &prefix, "quarantine entry", |_| true);
    Ok(listed.await?.into_iter().map(|(_, q)| q).collect())
}

/// Every quarantined record of a table, as far as planning needs it.
pub async fn list_quarantine_entries(
    store: &dyn ObjectStore,
    table: &str,
) -> Result<Vec<QuarantineEntry>> {
    let listed: Vec<(String, QuarantinedRecord)> = json_record::read_all(
        store,
        &layout::quarantine_prefix(table),
        "quarantine entry",
        |_| true,
    )
    .await?;
    Ok(listed
        .into_iter()
        .map(|(key, entry)| QuarantineEntry {
            key,
            stamp_ms: raw_stamp_ms(&entry.record),
            ingested_at_ms: entry.ingested_at_ms,
        })
        .collect())
}

/// The creation time of a raw stream record (Lambda or Streams API JSON), when readable:
/// `dynamodb.ApproximateCreationDateTime` in seconds, possibly fractional.
pub fn raw_stamp_ms(record: &serde_json::Value) -> Option<i64> {
    let field = record.get("dynamodb")?.get("ApproximateCreationDateTime")?;
    let seconds = field
        .as_f64()
        .or_else(|| field.as_str().and_then(|s| s.parse().ok()))?;
    seconds
        .is_finite()
        .then(|| (seconds * 1000.0).floor() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stamps_of_both_record_shapes() {
        let lambda =
            serde_json::json!({"dynamodb": {"ApproximateCreationDateTime": 1_700_000_000.5}});
        assert_eq!(raw_stamp_ms(&lambda), Some(1_700_000_000_500));
        assert_eq!(raw_stamp_ms(&serde_json::json!({"dynamodb": {}})), None);
    }
}
