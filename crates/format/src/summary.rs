//! What a change file's key-value metadata says about it: enough to plan a restore without
//! decoding a single row.

use crate::record::ChangeRecord;
use crate::schema::metadata;
use chrono::{DateTime, SecondsFormat, Utc};
use parquet::file::metadata::KeyValue;
use std::collections::HashMap;

/// The file-level facts written into (and read back from) a change file's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSummary {
    /// Source table name (every row has it).
    pub table: String,
    /// Smallest sequence number, 40 digits.
    pub first_sequence_number: String,
    /// Largest sequence number, 40 digits.
    pub last_sequence_number: String,
    /// Earliest change time, ms since the epoch.
    pub min_creation_time_ms: i64,
    /// Latest change time, ms since the epoch.
    pub max_creation_time_ms: i64,
    /// Number of rows.
    pub row_count: u64,
}

impl FileSummary {
    /// Summarises records about to be written; refuses an empty set or mixed tables.
    pub fn of(records: &[ChangeRecord]) -> Result<Self, String> {
        let first = records
            .first()
            .ok_or("a change file needs at least one record")?;
        let mut s = FileSummary {
            table: first.table_name.clone(),
            first_sequence_number: first.sequence_number.clone(),
            last_sequence_number: first.sequence_number.clone(),
            min_creation_time_ms: first.approximate_creation_time_ms,
            max_creation_time_ms: first.approximate_creation_time_ms,
            row_count: records.len() as u64,
        };
        for r in records {
            if r.table_name != s.table {
                return Err(format!(
                    "records of two tables ({:?} and {:?}) in one change file",
                    s.table, r.table_name
                ));
            }
            if r.sequence_number < s.first_sequence_number {
                s.first_sequence_number.clone_from(&r.sequence_number);
            }
            if r.sequence_number > s.last_sequence_number {
                s.last_sequence_number.clone_from(&r.sequence_number);
            }
            s.min_creation_time_ms = s.min_creation_time_ms.min(r.approximate_creation_time_ms);
            s.max_creation_time_ms = s.max_creation_time_ms.max(r.approximate_creation_time_ms);
        }
        Ok(s)
    }

    /// The metadata entries (the format version and data checksum are added by the writer).
    pub fn to_key_values(&self) -> Vec<KeyValue> {
        let kv = |k: &str, v: String| KeyValue::new(k.to_string(), v);
        vec![
            kv(metadata::TABLE, self.table.clone()),
            kv(
                metadata::FIRST_SEQUENCE_NUMBER,
                self.first_sequence_number.clone(),
            ),
            kv(
                metadata::LAST_SEQUENCE_NUMBER,
                self.last_sequence_number.clone(),
            ),
            kv(
                metadata::MIN_CREATION_TIME,
                format_ms(self.min_creation_time_ms),
            ),
            kv(
                metadata::MAX_CREATION_TIME,
                format_ms(self.max_creation_time_ms),
            ),
            kv(metadata::ROW_COUNT, self.row_count.to_string()),
        ]
    }

    /// Reads the entries back; the error says which entry is missing or malformed.
    pub fn from_key_values(kv: &HashMap<String, String>) -> Result<Self, String> {
        let get = |k: &str| kv.get(k).ok_or_else(|| format!("metadata {k} missing"));
        let time = |k: &str| -> Result<i64, String> {
            let v = get(k)?;
            DateTime::parse_from_rfc3339(v)
                .map(|t| t.timestamp_millis())
                .map_err(|e| format!("metadata {k} = {v:?}: {e}"))
        };
        Ok(FileSummary {
            table: get(metadata::TABLE)?.clone(),
            first_sequence_number: get(metadata::FIRST_SEQUENCE_NUMBER)?.clone(),
            last_sequence_number: get(metadata::LAST_SEQUENCE_NUMBER)?.clone(),
            min_creation_time_ms: time(metadata::MIN_CREATION_TIME)?,
            max_creation_time_ms: time(metadata::MAX_CREATION_TIME)?,
            row_count: get(metadata::ROW_COUNT)?
                .parse()
                .map_err(|e| format!("metadata {}: {e}", metadata::ROW_COUNT))?,
        })
    }
}

/// RFC 3339, UTC, milliseconds: fixed width, so text order is time order.
pub fn format_ms(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_else(|| ms.to_string())
}
