//! A stream record in neutral form, whichever API it came from (Lambda event JSON or a Streams
//! API record), and its conversion into a [`ChangeRecord`]. Only capture converts stream
//! records, so this is behind the `stream-records` feature.

use crate::canonical_value::item_value_to_json;
use crate::dynamodb_json::{item_to_json, validate_item, ValueError};
use crate::error::ConvertError;
use crate::key::encode_key;
use crate::record::*;
use serde_dynamo::AttributeValue;
use std::collections::HashMap;

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

/// An image as it arrived: typed by the SDK (Streams API), the DynamoDB JSON of a Lambda event
/// parsed as a `Value` and written canonically without building a typed tree
/// ([`crate::item_value_to_json`]), or already written canonically while the event's text was
/// parsed ([`crate::from_lambda_record_json`]).
#[derive(Debug, Clone)]
pub(crate) enum Image<'a> {
    Typed(HashMap<String, AttributeValue>),
    /// `None`: absent or null.
    Json(Option<&'a serde_json::Value>),
    /// `Ok(None)`: absent, null or without attributes.
    Canonical(Result<Option<String>, ValueError>),
}

impl Image<'_> {
    /// The canonical text, checked; `None` when the image is absent or has no attributes.
    fn canonical(self, field: &str) -> Result<Option<String>, ConvertError> {
        let text = match self {
            Image::Typed(m) if m.is_empty() => return Ok(None),
            Image::Typed(m) => validate_item(&m).map(|()| item_to_json(&m)),
            Image::Json(None) => return Ok(None),
            Image::Json(Some(v)) if v.as_object().is_some_and(|m| m.is_empty()) => return Ok(None),
            Image::Json(Some(v)) => item_value_to_json(v),
            Image::Canonical(Ok(text)) => return Ok(text),
            Image::Canonical(Err(e)) => Err(e),
        };
        text.map(Some)
            .map_err(|e| ConvertError::field(field, e.to_string()))
    }
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
