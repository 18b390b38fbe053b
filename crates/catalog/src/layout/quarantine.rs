//! Quarantine keys: one object per raw record capture could not convert.

use super::*;
use chrono::{DateTime, Utc};

/// Prefix of every quarantined record of a table.
pub fn quarantine_prefix(table: &str) -> String {
    format!("{QUARANTINE}/table={table}/")
}

/// Where a stream record that could not be converted is kept raw. Named by the SHA-256 of the raw
/// bytes, so a retried batch quarantines the same record under the same key.
pub fn quarantine_key(table: &str, ingested_at: DateTime<Utc>, raw_sha256_hex: &str) -> String {
    let name: String = raw_sha256_hex.chars().take(32).collect();
    format!(
        "{}dt={}/{name}.json",
        quarantine_prefix(table),
        ingested_at.format("%Y-%m-%d")
    )
}
