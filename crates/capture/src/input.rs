//! A stream record as it arrived: Lambda event JSON or a Streams API `Record`. Capture keeps the
//! original at hand so that a record that cannot be converted is quarantined exactly as it came.

use aws_sdk_dynamodbstreams::types::Record;
use rewind_format::{
    from_lambda_record, from_lambda_record_json, from_streams_record, ChangeRecord, ConvertError,
    ConvertOptions, RecordSource,
};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

/// One stream record in the shape its source delivered it.
#[derive(Debug, Clone)]
pub enum StreamInput {
    /// An element of a Lambda event's `Records`, parsed.
    Lambda(Value),
    /// An element of a Lambda event's `Records` as its text: what the capture Lambda hands
    /// over, converted without a JSON tree ([`from_lambda_record_json`]).
    LambdaText(Box<RawValue>),
    /// A record from `GetRecords` (boxed: it is several times larger than a JSON value).
    Api(Box<Record>),
}

impl StreamInput {
    /// The record's sequence number as sent (unpadded), when it has one.
    pub fn sequence_number(&self) -> Option<&str> {
        match self {
            StreamInput::Lambda(v) => v
                .get("dynamodb")
                .and_then(|d| d.get("SequenceNumber"))
                .and_then(Value::as_str),
            StreamInput::LambdaText(t) => peek(t).and_then(|p| p.dynamodb?.sequence_number),
            StreamInput::Api(r) => r.dynamodb().and_then(|d| d.sequence_number()),
        }
    }

    /// The stream view type the record declares, if any.
    pub fn view_type(&self) -> Option<String> {
        match self {
            StreamInput::Lambda(v) => v
                .get("dynamodb")
                .and_then(|d| d.get("StreamViewType"))
                .and_then(Value::as_str)
                .map(str::to_string),
            StreamInput::LambdaText(t) => peek(t)
                .and_then(|p| p.dynamodb?.stream_view_type)
                .map(str::to_string),
            StreamInput::Api(r) => r
                .dynamodb()
                .and_then(|d| d.stream_view_type())
                .map(|t| t.as_str().to_string()),
        }
    }

    /// Converts to a change record; `source` supplies what the record does not say itself.
    pub fn convert(
        &self,
        source: &RecordSource,
        options: &ConvertOptions,
    ) -> Result<ChangeRecord, ConvertError> {
        let record = match self {
            StreamInput::Lambda(v) => {
                from_lambda_record(v, &source.shard_id, source.ingested_at_ms, options)?
            }
            StreamInput::LambdaText(t) => {
                from_lambda_record_json(t.get(), &source.shard_id, source.ingested_at_ms, options)?
            }
            StreamInput::Api(r) => from_streams_record(r, source, options)?,
        };
        if record.table_name != source.table_name || record.stream_label != source.stream_label {
            return Err(ConvertError {
                field: "eventSourceARN".into(),
                reason: format!(
                    "record of table {} stream {} in a batch of table {} stream {}",
                    record.table_name, record.stream_label, source.table_name, source.stream_label
                ),
                at: self.sequence_number().map(|s| format!("sequence {s}")),
            });
        }
        Ok(record)
    }

    /// The record as JSON, as close to what arrived as possible, for quarantine.
    pub fn raw_json(&self) -> Value {
        match self {
            StreamInput::Lambda(v) => v.clone(),
            // Records of a Lambda event are JSON; kept as a string should one ever not be.
            StreamInput::LambdaText(t) => {
                serde_json::from_str(t.get()).unwrap_or_else(|_| Value::String(t.get().to_string()))
            }
            StreamInput::Api(r) => Value::String(format!("{r:?}")),
        }
    }
}

/// The two fields of a record's text that capture reads before converting it, borrowed: read
/// only for the first records of a batch (view type) or a retry point, so the images are
/// skipped, not parsed. `None` where the `Value` path finds no string either (a string with
/// escapes, which sequence numbers and view types never have, also reads as `None`).
#[derive(Deserialize)]
struct Peek<'a> {
    #[serde(borrow, default)]
    dynamodb: Option<PeekChange<'a>>,
}

#[derive(Deserialize)]
struct PeekChange<'a> {
    #[serde(rename = "SequenceNumber", borrow, default)]
    sequence_number: Option<&'a str>,
    #[serde(rename = "StreamViewType", borrow, default)]
    stream_view_type: Option<&'a str>,
}

fn peek(text: &RawValue) -> Option<Peek<'_>> {
    serde_json::from_str(text.get()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_records_answer_like_parsed_ones() {
        for text in [
            r#"{"dynamodb": {"SequenceNumber": "100", "StreamViewType": "NEW_AND_OLD_IMAGES", "NewImage": {"a": {"S": "x"}}}}"#,
            r#"{"dynamodb": {"NewImage": {"a": {"S": "x"}}}}"#,
            r#"{"dynamodb": {"SequenceNumber": 100}}"#,
            r#"{"dynamodb": 1}"#,
            r#"{"eventID": "1"}"#,
            "[]",
        ] {
            let parsed = StreamInput::Lambda(serde_json::from_str(text).unwrap());
            let raw = StreamInput::LambdaText(RawValue::from_string(text.into()).unwrap());
            assert_eq!(raw.sequence_number(), parsed.sequence_number(), "{text}");
            assert_eq!(raw.view_type(), parsed.view_type(), "{text}");
            assert_eq!(raw.raw_json(), parsed.raw_json(), "{text}");
        }
    }
}
