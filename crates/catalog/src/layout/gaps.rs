//! Gap keys: one object per range of a shard capture could not read.

use super::*;
use chrono::{DateTime, Utc};

/// Prefix of every recorded gap of a table.
pub fn gaps_prefix(table: &str) -> String {
    format!("{GAPS}/table={table}/")
}

/// A recorded gap in a shard's capture: records the stream no longer held when capture asked for
/// them (trimmed after 24 h, or a skipped range never redriven). Restores across it are refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GapKey {
    /// Source table name.
    pub table: String,
    /// The stream label (decoded).
    pub stream_label: String,
    /// The shard.
    pub shard_id: String,
    /// When capture noticed it (whole seconds): names sort in detection order.
    pub detected_at: DateTime<Utc>,
}

impl GapKey {
    /// Builds and validates.
    pub fn new(
        table: &str,
        stream_label: &str,
        shard_id: &str,
        detected_at: DateTime<Utc>,
    ) -> Result<Self, LayoutError> {
        validate_table(table)?;
        encode_label(stream_label)?;
        validate_shard(shard_id)?;
        let detected_at = parse_at(&format_at(detected_at))?;
        Ok(GapKey {
            table: table.into(),
            stream_label: stream_label.into(),
            shard_id: shard_id.into(),
            detected_at,
        })
    }

    /// The object key.
    pub fn key(&self) -> String {
        format!(
            "{}{}/{}_{}.json",
            gaps_prefix(&self.table),
            stream_part(&self.stream_label),
            self.shard_id,
            format_at(self.detected_at)
        )
    }

    /// Reads a gap key back.
    pub fn parse(key: &str) -> Result<Self, LayoutError> {
        let bad = |reason: &str| err("gap key", key, reason);
        let parts: Vec<&str> = key.split('/').collect();
        let [GAPS, table_part, stream, name] = parts[..] else {
            return Err(bad(
                "expected gaps/table=<t>/stream=<label>/<shard>_<time>.json",
            ));
        };
        let table = parse_table_part(table_part)?;
        let label = parse_stream_part(stream)?;
        let (shard, at) = name
            .strip_suffix(".json")
            .and_then(|n| n.split_once('_'))
            .ok_or_else(|| bad("expected <shard>_<time>.json"))?;
        let parsed = GapKey::new(&table, &label, shard, parse_at(at)?)?;
        if parsed.key() != key {
            return Err(bad("not in canonical form"));
        }
        Ok(parsed)
    }
}
