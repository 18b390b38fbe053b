//! A stream record as it arrived: Lambda event JSON or a Streams API `Record`. Capture keeps the
//! original at hand so that a record that cannot be converted is quarantined exactly as it came.

use aws_sdk_dynamodbstreams::types::Record;
use rewind_format::{
    from_lambda_record, from_streams_record, ChangeRecord, ConvertError, ConvertOptions,
    RecordSource,
};
use serde_json::Value;

/// One stream record in the shape its source delivered it.
#[derive(Debug, Clone)]
pub enum StreamInput {
    /// An element of a Lambda event's `Records`.
    Lambda(Value),
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
            StreamInput::Api(r) => Value::String(format!("{r:?}")),
        }
    }
}
