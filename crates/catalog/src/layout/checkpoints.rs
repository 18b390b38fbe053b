//! Checkpoint keys: one object per shard of each stream.

use super::*;

/// Prefix of every checkpoint of every table: listing it finds the tables a store backs up.
pub fn all_checkpoints_prefix() -> String {
    format!("{CHECKPOINTS}/")
}

/// Prefix of every checkpoint of a table.
pub fn checkpoints_prefix(table: &str) -> String {
    format!("{CHECKPOINTS}/table={table}/")
}

/// The checkpoint of one shard of one stream.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CheckpointKey {
    /// Source table name.
    pub table: String,
    /// The stream label (decoded).
    pub stream_label: String,
    /// The shard.
    pub shard_id: String,
}

impl CheckpointKey {
    /// Builds and validates.
    pub fn new(table: &str, stream_label: &str, shard_id: &str) -> Result<Self, LayoutError> {
        validate_table(table)?;
        encode_label(stream_label)?;
        validate_shard(shard_id)?;
        Ok(CheckpointKey {
            table: table.into(),
            stream_label: stream_label.into(),
            shard_id: shard_id.into(),
        })
    }

    /// The object key.
    pub fn key(&self) -> String {
        format!(
            "{}{}/{}.json",
            checkpoints_prefix(&self.table),
            stream_part(&self.stream_label),
            self.shard_id
        )
    }

    /// Reads a checkpoint key back.
    pub fn parse(key: &str) -> Result<Self, LayoutError> {
        let bad = |reason: &str| err("checkpoint key", key, reason);
        let parts: Vec<&str> = key.split('/').collect();
        let [CHECKPOINTS, table_part, stream, name] = parts[..] else {
            return Err(bad(
                "expected checkpoints/table=<t>/stream=<label>/<shard>.json",
            ));
        };
        let table = parse_table_part(table_part)?;
        let label = parse_stream_part(stream)?;
        let shard = name
            .strip_suffix(".json")
            .ok_or_else(|| bad("expected <shard>.json"))?;
        let parsed = CheckpointKey::new(&table, &label, shard)?;
        if parsed.key() != key {
            return Err(bad("not in canonical form"));
        }
        Ok(parsed)
    }
}
