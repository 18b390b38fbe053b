//! The stream-consumer Lambda's logic, kept out of the binary so tests call it in-process.
//!
//! The event is taken as its text ([`crate::lambda_event`]), not as a typed `DynamoDbEvent`: one
//! malformed record must be quarantined on its own, not fail the deserialisation of the whole
//! batch (STACK.md), and each record is converted from its own text without a tree. The
//! event must come from a mapping with a tumbling window, because only then does Lambda name
//! the shard (`shardId`), and capture needs the shard for its checkpoints and the watermark:
//!
//! ```json
//! {"Records": [...], "shardId": "shardId-...", "eventSourceARN": "arn:aws:dynamodb:...:table/T/stream/LABEL",
//!  "window": {"start": "...Z", "end": "...Z"}, "state": {}, "isFinalInvokeForWindow": false,
//!  "isWindowTerminatedEarly": false}
//! ```
//!
//! The response is a `TimeWindowEventResponse`: `{"state": {...}, "batchItemFailures": [...]}`
//! (Lambda treats a tumbling-window response without `state` as a failed invocation). How the
//! outcome of a batch maps to it:
//!
//! - everything durable: `batchItemFailures` is empty;
//! - unconvertible records: quarantined raw and counted, the batch goes on (still empty);
//! - a transient failure (store error, throttling): `batchItemFailures` names the first record
//!   not made durable, so Lambda retries from it; records before it are in the bucket already;
//! - a refusal that no retry can fix (KEYS_ONLY/OLD_IMAGE stream, a store prefix that belongs to
//!   another table with this name, an event without a shard id): the invocation fails with an
//!   error naming the problem. Lambda retries the batch until the stream trims it, the
//!   IteratorAge alarm fires, and nothing is skipped silently while someone fixes the setup.
//!
//! An event with no records (tumbling windows invoke once more at the end of a window, possibly
//! with none) returns its state and captures nothing: it says nothing about the shard that a
//! checkpoint could record.

use crate::batch::{BatchFailure, ShardBatch};
use crate::capturer::Capturer;
use crate::error::CaptureError;
use crate::input::StreamInput;
use crate::lambda_event::StreamEvent;
use crate::metrics::{self, InvocationStats};
use rewind_format::StreamArn;
use serde_json::{json, Map, Value};

/// Why a shard id is required, for the error of an event without one.
const NEEDS_TUMBLING_WINDOW: &str = "Lambda names the shard only when the event source \
     mapping has a tumbling window, and capture needs the shard for its checkpoints and the \
     restore watermark: set TumblingWindowInSeconds > 0 (e.g. 60) on the event source mapping \
     (docs/OPERATIONS.md)";

/// Handles one DynamoDB stream event (tumbling-window shape, as the payload's text) and returns the Lambda response
/// with the invocation's stats for its metrics. `now_ms` is the ingestion time written into
/// every row.
///
/// `Err` means the invocation must fail: the event is not usable (not a stream event, no
/// `shardId`, a bad `eventSourceARN`) or capture refused the batch in a way no retry fixes
/// (stream view type, foreign table). Transient failures are not `Err`: they come back as
/// `batchItemFailures` so Lambda retries from the first record not made durable.
pub async fn handle_stream_event(
    capturer: &Capturer,
    event: &str,
    now_ms: i64,
) -> Result<(Value, InvocationStats), CaptureError> {
    handle_parsed(capturer, StreamEvent::parse(event)?, now_ms).await
}

async fn handle_parsed(
    capturer: &Capturer,
    event: StreamEvent<'_>,
    now_ms: i64,
) -> Result<(Value, InvocationStats), CaptureError> {
    let arn = event
        .arn_text()
        .map(|arn| StreamArn::parse(&arn).map_err(|e| CaptureError::Input(e.to_string())))
        .transpose()?;
    let table = arn.as_ref().map(|a| a.table.clone()).unwrap_or_default();
    let shard_id = match event.shard_id.as_ref().and_then(Value::as_str) {
        Some(shard) if !shard.is_empty() => shard.to_string(),
        _ => {
            let of = if table.is_empty() {
                String::new()
            } else {
                format!(" of table {table}")
            };
            return Err(CaptureError::Input(format!(
                "the stream event{of} has no shardId: {NEEDS_TUMBLING_WINDOW}"
            )));
        }
    };
    let StreamEvent {
        records,
        state,
        window,
        final_invoke,
        ..
    } = event;
    let mut stats = InvocationStats {
        table,
        ..InvocationStats::default()
    };
    let window = window.unwrap_or_default();
    tracing::debug!(
        table = %stats.table,
        shard = %shard_id,
        records = records.len(),
        %window,
        final_invoke,
        "stream event"
    );
    if records.is_empty() {
        return Ok((response(state, None), stats));
    }
    let Some(arn) = arn else {
        return Err(CaptureError::Input(
            "the stream event names no eventSourceARN (neither at the top nor on its first record)"
                .into(),
        ));
    };

    let batch = ShardBatch {
        table: arn.table.clone(),
        stream_label: arn.label.clone(),
        shard_id,
        parent_shard_id: None,
        records: records
            .into_iter()
            .map(|r| StreamInput::LambdaText(r.to_owned()))
            .collect(),
        read_through_ms: None,
        shard_ended: false,
    };
    if let Err(error) = capturer.claim(&arn.table, &arn.table_arn()).await {
        return if error.is_retryable() {
            stats.failed_batches = 1;
            tracing::warn!(table = %batch.table, shard = %batch.shard_id, %error,
                "claiming the table failed; the whole batch will be retried");
            let from = first_sequence_number(&batch.records, 0).ok_or(error)?;
            Ok((response(state, Some(from)), stats))
        } else {
            Err(error)
        };
    }
    capturer.refresh_description(&batch.table, now_ms).await;

    let outcome = capturer.capture(&batch, now_ms).await;
    stats.records_captured = outcome.captured as u64;
    stats.bytes_written = outcome.bytes_written;
    stats.newest_stamp_ms = outcome.newest_stamp_ms;
    stats.quarantined = outcome.quarantined as u64;
    tracing::info!(
        table = %batch.table,
        shard = %batch.shard_id,
        records = outcome.records,
        captured = outcome.captured,
        quarantined = outcome.quarantined,
        bytes = outcome.bytes_written,
        objects = outcome.objects.len(),
        failed = outcome.failure.is_some(),
        "batch captured"
    );
    let Some(BatchFailure {
        first_failed,
        sequence_number,
        error,
    }) = outcome.failure
    else {
        return Ok((response(state, None), stats));
    };
    stats.failed_batches = 1;
    if !error.is_retryable() {
        return Err(error);
    }
    // Lambda retries from the reported record. Reporting an earlier record than the first one
    // that failed only redoes durable work (identical objects, de-duplicated rows); with no
    // sequence number to report at all, failing the invocation retries the whole batch.
    let Some(from) =
        sequence_number.or_else(|| first_sequence_number(&batch.records, first_failed))
    else {
        return Err(error);
    };
    tracing::warn!(
        table = %batch.table,
        shard = %batch.shard_id,
        retry_from = %from,
        %error,
        "transient failure: reporting the rest of the batch for retry"
    );
    Ok((response(state, Some(from)), stats))
}

/// Runs one stream invocation: [`handle_stream_event`], then its metrics in one
/// `PutMetricData` call (when a CloudWatch client is given), whether the batch succeeded or
/// not. A metric that cannot be published is logged and does not fail the invocation: the
/// records are durable.
pub async fn invoke(
    capturer: &Capturer,
    cloudwatch: Option<&aws_sdk_cloudwatch::Client>,
    event: StreamEvent<'_>,
    now_ms: i64,
) -> Result<Value, CaptureError> {
    let table = event.table().unwrap_or_default();
    let (result, stats) = match handle_parsed(capturer, event, now_ms).await {
        Ok((response, stats)) => (Ok(response), stats),
        Err(error) => {
            tracing::error!(table = %table, %error, "invocation failed");
            (Err(error), InvocationStats::failed(table))
        }
    };
    if let Some(client) = cloudwatch {
        if let Err(error) = metrics::publish(client, &stats, now_ms).await {
            tracing::warn!(table = %stats.table, %error, "publishing capture metrics failed");
        }
    }
    result
}

/// The sequence number of the record at `index`, or of the nearest earlier record that has one.
fn first_sequence_number(records: &[StreamInput], index: usize) -> Option<String> {
    let end = index.min(records.len().checked_sub(1)?);
    records[..=end]
        .iter()
        .rev()
        .find_map(|r| r.sequence_number().map(str::to_string))
}

/// A `TimeWindowEventResponse`: the state passed through, and the record to retry from.
fn response(state: Map<String, Value>, retry_from: Option<String>) -> Value {
    let failures: Vec<Value> = retry_from
        .into_iter()
        .map(|seq| json!({ "itemIdentifier": seq }))
        .collect();
    json!({ "state": state, "batchItemFailures": failures })
}

/// The error a Lambda invocation reports: typed, so the console and the on-failure record tell
/// an invalid event from a refused table from a store outage without reading the message.
impl From<CaptureError> for lambda_runtime::Diagnostic {
    fn from(error: CaptureError) -> Self {
        use rewind_catalog::CatalogError;
        let error_type = match &error {
            CaptureError::Input(_) => "Rewind.InvalidEvent",
            CaptureError::Catalog(CatalogError::ViewType { .. }) => {
                "Rewind.UnsupportedStreamViewType"
            }
            CaptureError::Catalog(CatalogError::ForeignTable { .. }) => "Rewind.ForeignTable",
            CaptureError::Catalog(_) => "Rewind.CatalogError",
            CaptureError::Store(_) => "Rewind.StoreError",
            CaptureError::Encode { .. } => "Rewind.EncodeError",
            CaptureError::Aws { .. } => "Rewind.AwsError",
            CaptureError::RangeTrimmed { .. } => "Rewind.RangeTrimmed",
        };
        lambda_runtime::Diagnostic {
            error_type: error_type.into(),
            error_message: error.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_invocations_report_a_type_per_cause() {
        let typed = |e: CaptureError| lambda_runtime::Diagnostic::from(e).error_type;
        assert_eq!(
            typed(CaptureError::Input("x".into())),
            "Rewind.InvalidEvent"
        );
        assert_eq!(
            typed(
                rewind_catalog::check_view_type("shop", "KEYS_ONLY")
                    .unwrap_err()
                    .into()
            ),
            "Rewind.UnsupportedStreamViewType"
        );
        let foreign = rewind_catalog::CatalogError::ForeignTable {
            table: "shop".into(),
            claimed_by: "arn:a".into(),
            requested: "arn:b".into(),
        };
        assert_eq!(typed(foreign.into()), "Rewind.ForeignTable");
        let outage = rewind_store::StoreError::other("put", "k", "down", true);
        assert_eq!(
            typed(rewind_catalog::CatalogError::Store(outage).into()),
            "Rewind.StoreError",
            "a catalog store failure is a store failure"
        );
    }

    #[test]
    fn retry_point_falls_back_to_an_earlier_record() {
        let rec = |seq: Option<&str>| {
            StreamInput::Lambda(match seq {
                Some(s) => json!({"dynamodb": {"SequenceNumber": s}}),
                None => json!({"dynamodb": {}}),
            })
        };
        let records = vec![rec(Some("100")), rec(None), rec(Some("300"))];
        assert_eq!(first_sequence_number(&records, 2).as_deref(), Some("300"));
        assert_eq!(first_sequence_number(&records, 1).as_deref(), Some("100"));
        assert_eq!(first_sequence_number(&records[1..2], 0), None);
        assert_eq!(first_sequence_number(&[], 0), None);
    }

    #[test]
    fn response_shape() {
        let mut state = Map::new();
        state.insert("k".into(), json!("v"));
        assert_eq!(
            response(state.clone(), Some("42".into())),
            json!({"state": {"k": "v"}, "batchItemFailures": [{"itemIdentifier": "42"}]})
        );
        assert_eq!(
            response(Map::new(), None),
            json!({"state": {}, "batchItemFailures": []})
        );
    }
}
