//! Change records from a Lambda DynamoDB stream event (the JSON Lambda delivers).
//!
//! Records are parsed one by one from `serde_json::Value` (not as a typed whole event), so one
//! malformed record is reported and quarantined alone instead of failing its whole batch.

use crate::error::ConvertError;
use crate::raw_change::{Image, RawChange};
use crate::record::{ChangeRecord, ConvertOptions, RecordSource};
use crate::stream_arn::StreamArn;
use serde::Deserialize;
use serde_dynamo::Item;
use serde_json::Value;

/// Converts one element of a Lambda event's `Records`. The table and stream label come from the
/// record's `eventSourceARN`; the shard comes from the event (tumbling-window events carry it).
pub fn from_lambda_record(
    record: &Value,
    shard_id: &str,
    ingested_at_ms: i64,
    options: &ConvertOptions,
) -> Result<ChangeRecord, ConvertError> {
    let at = describe(record);
    convert(record, shard_id, ingested_at_ms, options).map_err(|e| e.at(at))
}

fn convert(
    record: &Value,
    shard_id: &str,
    ingested_at_ms: i64,
    options: &ConvertOptions,
) -> Result<ChangeRecord, ConvertError> {
    // Read field by field rather than deserialising aws_lambda_events' EventRecord: that builds
    // a typed tree of both images only for them to be written out again as canonical text.
    let not_a_record = |detail: String| {
        ConvertError::field(
            "<record>",
            format!("not a DynamoDB stream record: {detail}"),
        )
    };
    let text = |parent: &Value, name: &str| -> Result<Option<String>, ConvertError> {
        match parent.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(not_a_record(format!("{name} is {other}, not a string"))),
        }
    };
    if !record.is_object() {
        return Err(not_a_record("not a JSON object".into()));
    }
    let change = match record.get("dynamodb") {
        Some(d @ Value::Object(_)) => d,
        Some(other) => return Err(not_a_record(format!("dynamodb is {other}, not an object"))),
        None => return Err(not_a_record("no dynamodb object".into())),
    };
    let arn = text(record, "eventSourceARN")?
        .ok_or_else(|| ConvertError::field("eventSourceARN", "missing"))?;
    let arn = StreamArn::parse(&arn)?;
    let source = RecordSource {
        table_name: arn.table,
        stream_label: arn.label,
        shard_id: shard_id.to_string(),
        ingested_at_ms,
    };
    let keys: Item = match change.get("Keys") {
        None | Some(Value::Null) => Item::default(),
        Some(k) => Item::deserialize(k)
            .map_err(|e| ConvertError::field("Keys", format!("not DynamoDB JSON: {e}")))?,
    };
    let image = |name: &str| Image::Json(change.get(name).filter(|v| !v.is_null()));
    RawChange {
        event_name: text(record, "eventName")?.unwrap_or_default(),
        sequence_number: text(change, "SequenceNumber")?,
        // aws_lambda_events misreads fractional seconds (STACK.md): read the number ourselves.
        creation_time_ms: creation_time_ms(record)?,
        keys: keys.into_inner(),
        new_image: image("NewImage"),
        old_image: image("OldImage"),
        user_identity: record.get("userIdentity").filter(|v| !v.is_null()).cloned(),
    }
    .into_record(&source, options)
}

/// `dynamodb.ApproximateCreationDateTime` in ms: epoch seconds, whole (AWS) or fractional (moto).
fn creation_time_ms(record: &Value) -> Result<Option<i64>, ConvertError> {
    let Some(raw) = record
        .get("dynamodb")
        .and_then(|d| d.get("ApproximateCreationDateTime"))
    else {
        return Ok(None);
    };
    let bad = || {
        ConvertError::field(
            "ApproximateCreationDateTime",
            format!("{raw} is not epoch seconds"),
        )
    };
    let secs = raw.as_f64().ok_or_else(bad)?;
    // Whole seconds stay exact as integers; fractions are rounded to the millisecond.
    let ms = match raw.as_i64() {
        Some(s) => s.checked_mul(1000).ok_or_else(bad)?,
        None => (secs * 1000.0).round() as i64,
    };
    if !(0..=253_402_300_799_000).contains(&ms) {
        return Err(bad());
    }
    Ok(Some(ms))
}

fn describe(record: &Value) -> Option<String> {
    let id = record.get("eventID").and_then(Value::as_str);
    let seq = record
        .get("dynamodb")
        .and_then(|d| d.get("SequenceNumber"))
        .and_then(Value::as_str);
    match (id, seq) {
        (Some(i), Some(s)) => Some(format!("{i} (sequence {s})")),
        (Some(i), None) => Some(i.to_string()),
        (None, Some(s)) => Some(format!("sequence {s}")),
        (None, None) => None,
    }
}
