//! The change record: one row of the change log per stream record.

use crate::canonical_value::item_value_to_json;
use crate::dynamodb_json::{item_to_json, validate_item};
use crate::error::ConvertError;
use crate::key::encode_key;
use serde_dynamo::AttributeValue;
use std::collections::HashMap;
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

/// A stream record in neutral form, whichever API it came from.
#[derive(Debug, Clone)]
pub(crate) struct RawChange<'a> {
    pub event_name: String,
    pub sequence_number: Option<String>,
    pub creation_time_ms: Option<i64>,
    pub keys: HashMap<String, AttributeValue>,
    pub new_image: Image<'a>,
    pub old_image: Image<'a>,
    pub user_identity: Option<serde_json::Value>,
}

/// An image as it arrived: typed by the SDK (Streams API), or the DynamoDB JSON of a Lambda
/// event, written canonically without building a typed tree ([`crate::item_value_to_json`]).
#[derive(Debug, Clone)]
pub(crate) enum Image<'a> {
    Typed(HashMap<String, AttributeValue>),
    /// `None`: absent or null.
    Json(Option<&'a serde_json::Value>),
}

impl Image<'_> {
    /// The canonical text, checked; `None` when the image is absent or has no attributes.
    fn canonical(&self, field: &str) -> Result<Option<String>, ConvertError> {
        let text = match self {
            Image::Typed(m) if m.is_empty() => return Ok(None),
            Image::Typed(m) => validate_item(m).map(|()| item_to_json(m)),
            Image::Json(None) => return Ok(None),
            Image::Json(Some(v)) if v.as_object().is_some_and(|m| m.is_empty()) => return Ok(None),
            Image::Json(Some(v)) => item_value_to_json(v),
        };
        text.map(Some)
            .map_err(|e| ConvertError::field(field, e.to_string()))
    }
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
    Ok(format!("{trimmed:0>SEQUENCE_WIDTH$}"))
}

impl RawChange<'_> {
    pub(crate) fn into_record(
        self,
        source: &RecordSource,
        options: &ConvertOptions,
    ) -> Result<ChangeRecord, ConvertError> {
        let event_name = EventName::parse(&self.event_name).ok_or_else(|| {
            ConvertError::field(
                "eventName",
                format!("{:?} is not INSERT, MODIFY or REMOVE", self.event_name),
            )
        })?;
        let sequence_number = pad_sequence_number(
            self.sequence_number
                .as_deref()
                .ok_or_else(|| ConvertError::field("SequenceNumber", "missing"))?,
        )?;
        let approximate_creation_time_ms = self
            .creation_time_ms
            .ok_or_else(|| ConvertError::field("ApproximateCreationDateTime", "missing"))?;
        let key = encode_key(&self.keys).map_err(|e| ConvertError::field("Keys", e.to_string()))?;
        let new_json = self.new_image.canonical("NewImage")?;
        let old_json = self.old_image.canonical("OldImage")?;
        let new_image = match (event_name, new_json) {
            (EventName::Insert | EventName::Modify, None) => {
                return Err(ConvertError::field(
                    "NewImage",
                    format!(
                        "missing on {event_name}: the stream must include new images \
                         (StreamViewType NEW_IMAGE or NEW_AND_OLD_IMAGES)"
                    ),
                ))
            }
            (EventName::Insert | EventName::Modify, Some(json)) => Some(json),
            (EventName::Remove, _) => None,
        };
        let old_json = match event_name {
            EventName::Insert => None,
            _ => old_json,
        };
        let old_image_hash = old_json.as_deref().map(image_hash);
        let old_image = match event_name {
            EventName::Remove => old_json,
            EventName::Modify if options.keep_modify_old_image => old_json,
            _ => None,
        };
        Ok(ChangeRecord {
            table_name: source.table_name.clone(),
            event_name,
            stream_label: source.stream_label.clone(),
            sequence_number,
            approximate_creation_time_ms,
            key,
            keys: item_to_json(&self.keys),
            new_image,
            old_image,
            old_image_hash,
            user_identity: self.user_identity.as_ref().map(canonical_json),
            shard_id: source.shard_id.clone(),
            ingested_at_ms: source.ingested_at_ms,
        })
    }
}

/// JSON text with object keys sorted at every depth, whatever map type serde_json was built with.
fn canonical_json(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            let body: Vec<String> = entries
                .into_iter()
                .map(|(k, v)| format!("{}:{}", Value::String(k.clone()), canonical_json(v)))
                .collect();
            format!("{{{}}}", body.join(","))
        }
        Value::Array(items) => {
            let body: Vec<String> = items.iter().map(canonical_json).collect();
            format!("[{}]", body.join(","))
        }
        other => other.to_string(),
    }
}
