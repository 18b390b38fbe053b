//! The change record: one row of the change log per stream record.

use crate::error::ConvertError;
use std::fmt;

/// Width of a stored sequence number: zero-padded so that text order is numeric order.
pub const SEQUENCE_WIDTH: usize = 40;

/// What happened to the item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventName {
    /// A new item was written.
    Insert,
    /// An existing item was changed.
    Modify,
    /// The item was deleted (by a user or by TTL).
    Remove,
}

impl EventName {
    /// The name as DynamoDB Streams spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            EventName::Insert => "INSERT",
            EventName::Modify => "MODIFY",
            EventName::Remove => "REMOVE",
        }
    }

    /// Parses the DynamoDB Streams spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "INSERT" => Some(EventName::Insert),
            "MODIFY" => Some(EventName::Modify),
            "REMOVE" => Some(EventName::Remove),
            _ => None,
        }
    }
}

impl fmt::Display for EventName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One stream record as the change log stores it. Field names match the Parquet columns
/// (docs/FORMAT.md); images are canonical DynamoDB JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRecord {
    /// Source table name.
    pub table_name: String,
    /// INSERT, MODIFY or REMOVE.
    pub event_name: EventName,
    /// The stream's label; versions of an item are ordered by (stream_label, sequence_number).
    pub stream_label: String,
    /// Sequence number, zero-padded to 40 digits.
    pub sequence_number: String,
    /// When DynamoDB made the change (ms since the epoch, UTC; AWS rounds down to the second).
    pub approximate_creation_time_ms: i64,
    /// Canonical binary key ([`crate::encode_key`]).
    pub key: Vec<u8>,
    /// The key attributes as canonical DynamoDB JSON.
    pub keys: String,
    /// The item after the change (INSERT, MODIFY).
    pub new_image: Option<String>,
    /// The item before the change: always for REMOVE, for MODIFY only when asked to keep it.
    pub old_image: Option<String>,
    /// CRC32C of the canonical old image, for MODIFY and REMOVE when the stream carried one.
    pub old_image_hash: Option<u32>,
    /// Who made the change, when DynamoDB says (TTL deletions), as JSON.
    pub user_identity: Option<String>,
    /// The stream shard the record came from.
    pub shard_id: String,
    /// When capture wrote the record (ms since the epoch, UTC).
    pub ingested_at_ms: i64,
}

impl ChangeRecord {
    /// The (key, stream label, sequence number) identity: the sort order of a change file and the
    /// unit of de-duplication.
    pub fn identity(&self) -> (&[u8], &str, &str) {
        (&self.key, &self.stream_label, &self.sequence_number)
    }
}

/// The hash that links a MODIFY or REMOVE to the version before it: CRC32C of the canonical image.
pub fn image_hash(canonical_image: &str) -> u32 {
    crc32c::crc32c(canonical_image.as_bytes())
}

/// Choices made when a stream record becomes a change record.
#[derive(Debug, Clone, Default)]
pub struct ConvertOptions {
    /// Keep a MODIFY's old image. Off by default: it is the previous version's new image, already
    /// in the log, and storing it makes the log larger than the AWS export format (DESIGN.md).
    pub keep_modify_old_image: bool,
}

/// Where a record came from, when the record itself does not say.
#[derive(Debug, Clone)]
pub struct RecordSource {
    /// Source table name.
    pub table_name: String,
    /// The stream's label.
    pub stream_label: String,
    /// The shard.
    pub shard_id: String,
    /// When capture is writing it (ms since the epoch).
    pub ingested_at_ms: i64,
}

/// Pads a decimal sequence number to [`SEQUENCE_WIDTH`] digits.
pub fn pad_sequence_number(seq: &str) -> Result<String, ConvertError> {
    let trimmed = seq.trim_start_matches('0');
    if seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) || trimmed.len() > SEQUENCE_WIDTH
    {
        return Err(ConvertError::field(
            "SequenceNumber",
            format!("{seq:?} is not a decimal number of at most {SEQUENCE_WIDTH} digits"),
        ));
    }
    // Not `format!("{:0>40}")`: its padding writes one char at a time, on every record.
    let mut padded = String::with_capacity(SEQUENCE_WIDTH);
    padded.extend(std::iter::repeat_n('0', SEQUENCE_WIDTH - trimmed.len()));
    padded.push_str(trimmed);
    Ok(padded)
}
