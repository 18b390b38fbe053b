//! Change records from a Lambda DynamoDB stream event (the JSON Lambda delivers), parsed as a
//! `serde_json::Value`.
//!
//! Records are parsed one by one from `serde_json::Value` (not as a typed whole event), so one
//! malformed record is reported and quarantined alone instead of failing its whole batch.
//! Capture converts records from the event's text instead ([`crate::from_lambda_record_json`]);
//! this path is kept for callers that hold parsed records, and as the reference the text path
//! is tested against. Both read a record's fields through [`LambdaFields::into_record`], so they
//! check the same things in the same order with the same messages.

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
    let change = record.get("dynamodb");
    let at = describe(
        record.get("eventID"),
        change.and_then(|d| d.get("SequenceNumber")),
    );
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
    if !record.is_object() {
        return Err(not_a_record("not a JSON object".into()));
    }
    let change = match record.get("dynamodb") {
        Some(d @ Value::Object(_)) => d,
        Some(other) => return Err(dynamodb_not_an_object(other)),
        None => return Err(no_dynamodb()),
    };
    let image = |name: &str| Image::Json(change.get(name).filter(|v| !v.is_null()));
    LambdaFields {
        event_name: record.get("eventName"),
        event_source_arn: record.get("eventSourceARN"),
        user_identity: record.get("userIdentity"),
        keys: change.get("Keys"),
        sequence_number: change.get("SequenceNumber"),
        approximate_creation_date_time: change.get("ApproximateCreationDateTime"),
        new_image: image("NewImage"),
        old_image: image("OldImage"),
    }
    .into_record(shard_id, ingested_at_ms, options)
}

pub(crate) fn not_a_record(detail: String) -> ConvertError {
    ConvertError::field(
        "<record>",
        format!("not a DynamoDB stream record: {detail}"),
    )
}

pub(crate) fn dynamodb_not_an_object(other: &Value) -> ConvertError {
    not_a_record(format!("dynamodb is {other}, not an object"))
}

pub(crate) fn no_dynamodb() -> ConvertError {
    not_a_record("no dynamodb object".into())
}

/// The fields of a Lambda stream record that a change record is made of, however the record
/// was parsed: the small ones as JSON values (absent: `None`), the images as they come.
pub(crate) struct LambdaFields<'a> {
    pub event_name: Option<&'a Value>,
    pub event_source_arn: Option<&'a Value>,
    pub user_identity: Option<&'a Value>,
    pub keys: Option<&'a Value>,
    pub sequence_number: Option<&'a Value>,
    pub approximate_creation_date_time: Option<&'a Value>,
    pub new_image: Image<'a>,
    pub old_image: Image<'a>,
}

impl LambdaFields<'_> {
    /// Checks the fields (in this order: ARN, keys, event name, sequence number, creation time,
    /// then [`RawChange::into_record`]'s checks) and builds the change record.
    pub(crate) fn into_record(
        self,
        shard_id: &str,
        ingested_at_ms: i64,
        options: &ConvertOptions,
    ) -> Result<ChangeRecord, ConvertError> {
        let arn = text("eventSourceARN", self.event_source_arn)?
            .ok_or_else(|| ConvertError::field("eventSourceARN", "missing"))?;
        let arn = StreamArn::parse(&arn)?;
        let source = RecordSource {
            table_name: arn.table,
            stream_label: arn.label,
            shard_id: shard_id.to_string(),
            ingested_at_ms,
        };
        let keys: Item = match self.keys {
            None | Some(Value::Null) => Item::default(),
            Some(k) => Item::deserialize(k)
                .map_err(|e| ConvertError::field("Keys", format!("not DynamoDB JSON: {e}")))?,
        };
        RawChange {
            event_name: text("eventName", self.event_name)?.unwrap_or_default(),
            sequence_number: text("SequenceNumber", self.sequence_number)?,
            // aws_lambda_events misreads fractional seconds (STACK.md): read the number ourselves.
            creation_time_ms: creation_time_ms(self.approximate_creation_date_time)?,
            keys: keys.into_inner(),
            new_image: self.new_image,
            old_image: self.old_image,
            user_identity: self.user_identity.filter(|v| !v.is_null()).cloned(),
        }
        .into_record(&source, options)
    }
}

/// A field that must be a string when present (null counts as absent).
fn text(name: &str, value: Option<&Value>) -> Result<Option<String>, ConvertError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(not_a_record(format!("{name} is {other}, not a string"))),
    }
}

/// `dynamodb.ApproximateCreationDateTime` in ms: epoch seconds, whole (AWS) or fractional (moto).
fn creation_time_ms(raw: Option<&Value>) -> Result<Option<i64>, ConvertError> {
    let Some(raw) = raw else {
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

/// Which record an error is about: its event id and/or sequence number, when they are strings.
pub(crate) fn describe(event_id: Option<&Value>, sequence: Option<&Value>) -> Option<String> {
    let id = event_id.and_then(Value::as_str);
    let seq = sequence.and_then(Value::as_str);
    match (id, seq) {
        (Some(i), Some(s)) => Some(format!("{i} (sequence {s})")),
        (Some(i), None) => Some(i.to_string()),
        (None, Some(s)) => Some(format!("sequence {s}")),
        (None, None) => None,
    }
}
