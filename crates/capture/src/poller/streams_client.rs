//! The three DynamoDB Streams calls the poller makes, with their errors sorted by what the poller
//! must do about them: get a new iterator (expired), record a gap (trimmed, shard gone), back off
//! (throttling, server errors, network), or stop (everything else).

use crate::error::{capture_error, CaptureError};
use crate::lineage::{ShardInfo, StartPosition};
use aws_sdk_dynamodbstreams::config::http::HttpResponse;
use aws_sdk_dynamodbstreams::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};
use aws_sdk_dynamodbstreams::Client;

/// A Streams call's failure, by what to do about it.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The iterator is older than 15 minutes: get a new one from the last record read.
    Expired(CaptureError),
    /// The records asked for are past the stream's 24-hour retention: a gap.
    Trimmed(CaptureError),
    /// The shard (or stream) no longer exists: a gap for whatever was not read.
    NotFound(CaptureError),
    /// Throttling or a transient failure: back off and try again.
    Retry(CaptureError),
    /// Anything else: stop and report.
    Fatal(CaptureError),
}

impl ReadError {
    fn classify<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> ReadError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let error = capture_error(operation, &err);
        match err.code() {
            Some("ExpiredIteratorException") => ReadError::Expired(error),
            Some("TrimmedDataAccessException") => ReadError::Trimmed(error),
            Some("ResourceNotFoundException") => ReadError::NotFound(error),
            _ if error.is_retryable() => ReadError::Retry(error),
            _ => ReadError::Fatal(error),
        }
    }

    /// The underlying error.
    pub(crate) fn into_error(self) -> CaptureError {
        match self {
            ReadError::Expired(e)
            | ReadError::Trimmed(e)
            | ReadError::NotFound(e)
            | ReadError::Retry(e)
            | ReadError::Fatal(e) => e,
        }
    }
}

/// What DescribeStream says about a stream, all pages together.
#[derive(Debug, Clone, Default)]
pub(crate) struct StreamListing {
    /// The stream's label.
    pub label: Option<String>,
    /// The stream's view type.
    pub view_type: Option<String>,
    /// `ENABLING`, `ENABLED`, `DISABLING` or `DISABLED`.
    pub status: Option<String>,
    /// Every shard, in listing order.
    pub shards: Vec<ShardInfo>,
}

/// DescribeStream, following `LastEvaluatedShardId` until the listing is complete.
pub(crate) async fn describe_stream(
    client: &Client,
    stream_arn: &str,
) -> Result<StreamListing, ReadError> {
    let mut listing = StreamListing::default();
    let mut start: Option<String> = None;
    loop {
        let out = client
            .describe_stream()
            .stream_arn(stream_arn)
            .set_exclusive_start_shard_id(start.take())
            .send()
            .await
            .map_err(|e| ReadError::classify("DescribeStream", e))?;
        let Some(description) = out.stream_description() else {
            return Err(ReadError::Fatal(CaptureError::Aws {
                operation: "DescribeStream",
                message: format!("no stream description returned for {stream_arn}"),
                retryable: false,
            }));
        };
        listing.label = description
            .stream_label()
            .map(str::to_string)
            .or(listing.label);
        listing.view_type = description
            .stream_view_type()
            .map(|v| v.as_str().to_string())
            .or(listing.view_type);
        listing.status = description
            .stream_status()
            .map(|s| s.as_str().to_string())
            .or(listing.status);
        for shard in description.shards() {
            let Some(id) = shard.shard_id() else { continue };
            let range = shard.sequence_number_range();
            listing.shards.push(ShardInfo {
                shard_id: id.to_string(),
                parent_shard_id: shard.parent_shard_id().map(str::to_string),
                starting_sequence_number: range
                    .and_then(|r| r.starting_sequence_number())
                    .map(str::to_string),
                ending_sequence_number: range
                    .and_then(|r| r.ending_sequence_number())
                    .map(str::to_string),
            });
        }
        match description.last_evaluated_shard_id() {
            Some(last) if !last.is_empty() => {
                if listing.shards.len() > 1_000_000 {
                    return Err(ReadError::Fatal(CaptureError::Aws {
                        operation: "DescribeStream",
                        message: format!("{stream_arn}: listing does not end (last shard {last})"),
                        retryable: false,
                    }));
                }
                start = Some(last.to_string());
            }
            _ => return Ok(listing),
        }
    }
}

/// Where an iterator starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IteratorStart {
    /// The oldest record held.
    TrimHorizon,
    /// Just after this sequence number.
    After(String),
    /// At this sequence number (redrive).
    At(String),
}

impl From<&StartPosition> for IteratorStart {
    fn from(p: &StartPosition) -> Self {
        match p {
            StartPosition::TrimHorizon => IteratorStart::TrimHorizon,
            StartPosition::AfterSequenceNumber(s) => IteratorStart::After(s.clone()),
        }
    }
}

/// GetShardIterator. `None` when the answer holds no iterator (nothing left to read).
pub(crate) async fn get_shard_iterator(
    client: &Client,
    stream_arn: &str,
    shard_id: &str,
    start: &IteratorStart,
) -> Result<Option<String>, ReadError> {
    let request = client
        .get_shard_iterator()
        .stream_arn(stream_arn)
        .shard_id(shard_id);
    let request = match start {
        IteratorStart::TrimHorizon => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
        IteratorStart::After(seq) => request
            .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
            .sequence_number(seq),
        IteratorStart::At(seq) => request
            .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
            .sequence_number(seq),
    };
    let out = request
        .send()
        .await
        .map_err(|e| ReadError::classify("GetShardIterator", e))?;
    Ok(out.shard_iterator().map(str::to_string))
}

/// One GetRecords answer.
#[derive(Debug)]
pub(crate) struct RecordsPage {
    /// The records, in shard order.
    pub records: Vec<Record>,
    /// Where to read next; `None` at the end of a closed shard.
    pub next_iterator: Option<String>,
}

/// GetRecords.
pub(crate) async fn get_records(
    client: &Client,
    iterator: &str,
    limit: i32,
) -> Result<RecordsPage, ReadError> {
    let out = client
        .get_records()
        .shard_iterator(iterator)
        .limit(limit)
        .send()
        .await
        .map_err(|e| ReadError::classify("GetRecords", e))?;
    Ok(RecordsPage {
        records: out.records.unwrap_or_default(),
        next_iterator: out.next_shard_iterator,
    })
}

/// A record's sequence number as sent.
pub(crate) fn sequence_of(record: &Record) -> Option<&str> {
    record.dynamodb().and_then(|d| d.sequence_number())
}

/// A record's creation time in ms.
pub(crate) fn stamp_of(record: &Record) -> Option<i64> {
    record
        .dynamodb()
        .and_then(|d| d.approximate_creation_date_time())
        .and_then(|t| t.to_millis().ok())
}
