//! Change records from a Lambda DynamoDB stream event (the JSON Lambda delivers).
//!
//! Records are parsed one by one from `serde_json::Value` (not as a typed whole event), so one
//! malformed record is reported and quarantined alone instead of failing its whole batch.

use crate::error::ConvertError;
use crate::record::{ChangeRecord, ConvertOptions, RawChange, RecordSource};
use crate::stream_arn::StreamArn;
use aws_lambda_events::dynamodb::EventRecord;
use serde::Deserialize;
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
    let typed = EventRecord::deserialize(record).map_err(|e| {
        ConvertError::field("<record>", format!("not a DynamoDB stream record: {e}"))
    })?;
    let arn = typed
        .event_source_arn
        .as_deref()
        .ok_or_else(|| ConvertError::field("eventSourceARN", "missing"))?;
    let arn = StreamArn::parse(arn)?;
    let source = RecordSource {
        table_name: arn.table,
        stream_label: arn.label,
        shard_id: shard_id.to_string(),
        ingested_at_ms,
    };
    let change = typed.change;
    RawChange {
        event_name: typed.event_name,
        sequence_number: change.sequence_number,
        // aws_lambda_events misreads fractional seconds (STACK.md): read the number ourselves.
        creation_time_ms: creation_time_ms(record)?,
        keys: change.keys.into_inner(),
        new_image: change.new_image.into_inner(),
        old_image: change.old_image.into_inner(),
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
