//! Change records from the DynamoDB Streams API (`GetRecords`), as the stream poller reads them.
//!
//! Unlike a Lambda record, a Streams API record does not name its table, stream or shard: the
//! poller knows them and passes them in a [`RecordSource`].

use crate::error::ConvertError;
use crate::raw_change::{Image, RawChange};
use crate::record::{ChangeRecord, ConvertOptions, RecordSource};
use aws_sdk_dynamodbstreams::types::{AttributeValue as StreamValue, Record};
use serde_dynamo::AttributeValue;
use std::collections::HashMap;

/// Converts one `GetRecords` record.
pub fn from_streams_record(
    record: &Record,
    source: &RecordSource,
    options: &ConvertOptions,
) -> Result<ChangeRecord, ConvertError> {
    let at = record
        .dynamodb()
        .and_then(|d| d.sequence_number())
        .map(|s| format!("sequence {s}"))
        .or_else(|| record.event_id().map(str::to_string));
    convert(record, source, options).map_err(|e| e.at(at))
}

fn convert(
    record: &Record,
    source: &RecordSource,
    options: &ConvertOptions,
) -> Result<ChangeRecord, ConvertError> {
    let change = record
        .dynamodb()
        .ok_or_else(|| ConvertError::field("dynamodb", "missing"))?;
    let creation_time_ms = change
        .approximate_creation_date_time()
        .map(|t| {
            t.to_millis().map_err(|e| {
                ConvertError::field("ApproximateCreationDateTime", format!("{t}: {e}"))
            })
        })
        .transpose()?;
    let user_identity = record.user_identity().map(|id| {
        let mut m = serde_json::Map::new();
        if let Some(p) = id.principal_id() {
            m.insert("principalId".into(), p.into());
        }
        if let Some(t) = id.r#type() {
            m.insert("type".into(), t.into());
        }
        serde_json::Value::Object(m)
    });
    RawChange {
        event_name: record
            .event_name()
            .map(|n| n.as_str().to_string())
            .unwrap_or_default(),
        sequence_number: change.sequence_number().map(str::to_string),
        creation_time_ms,
        keys: image("Keys", change.keys())?,
        new_image: Image::Typed(image("NewImage", change.new_image())?),
        old_image: Image::Typed(image("OldImage", change.old_image())?),
        user_identity,
    }
    .into_record(source, options)
}

fn image(
    field: &str,
    image: Option<&HashMap<String, StreamValue>>,
) -> Result<HashMap<String, AttributeValue>, ConvertError> {
    let Some(image) = image else {
        return Ok(HashMap::new());
    };
    image
        .iter()
        .map(|(name, value)| {
            // serde_dynamo's conversion panics on a type this SDK does not know yet; refuse it.
            if let Some(path) = unknown_type_at(value, name) {
                return Err(ConvertError::field(
                    field,
                    format!("attribute {path} has a type this build does not know"),
                ));
            }
            Ok((name.clone(), AttributeValue::from(value.clone())))
        })
        .collect()
}

fn unknown_type_at(value: &StreamValue, path: &str) -> Option<String> {
    match value {
        StreamValue::M(m) => m
            .iter()
            .find_map(|(k, v)| unknown_type_at(v, &format!("{path}.{k}"))),
        StreamValue::L(l) => l
            .iter()
            .enumerate()
            .find_map(|(i, v)| unknown_type_at(v, &format!("{path}[{i}]"))),
        StreamValue::S(_)
        | StreamValue::N(_)
        | StreamValue::B(_)
        | StreamValue::Bool(_)
        | StreamValue::Null(_)
        | StreamValue::Ss(_)
        | StreamValue::Ns(_)
        | StreamValue::Bs(_) => None,
        _ => Some(path.to_string()),
    }
}
