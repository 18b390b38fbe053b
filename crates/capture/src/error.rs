//! Capture errors. The split that matters is *transient* (retry the batch from the failed record:
//! store errors, throttling) versus *refused* (retrying cannot help: a foreign table in the
//! prefix, a stream without new images); per-record conversion failures are not errors at all,
//! they are quarantined.

use aws_sdk_dynamodbstreams::config::http::HttpResponse;
use aws_sdk_dynamodbstreams::error::{ProvideErrorMetadata, SdkError};
use rewind_store::StoreError;

/// Why a batch (or part of one) was not captured.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The store failed; `retryable` says whether trying again may help.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The stream's view type cannot support point-in-time restore.
    #[error("table {table}: stream view type {view_type} is not supported: {advice}")]
    ViewType {
        /// Table name.
        table: String,
        /// The view type found.
        view_type: String,
        /// What to do about it.
        advice: &'static str,
    },
    /// A change file could not be encoded (a bug, or records that break the format's rules).
    #[error("encoding {object}: {detail}")]
    Encode {
        /// The object being written.
        object: String,
        /// What failed.
        detail: String,
    },
    /// Bad input that is not one record's fault (an event without a shard id, a bad name).
    #[error("{0}")]
    Input(String),
    /// A DynamoDB or DynamoDB Streams API call failed.
    #[error("{operation}: {message}")]
    Aws {
        /// The API operation.
        operation: &'static str,
        /// The SDK's message, with its error code.
        message: String,
        /// Whether trying again may help (throttling, service errors, timeouts).
        retryable: bool,
    },
    /// A range asked for (a redrive) is no longer in the stream: it was trimmed (24 h retention)
    /// or its shard is gone. Recorded as a gap; it cannot be recovered from the stream.
    #[error(
        "table {table}, shard {shard_id}: sequence numbers {from}..={to} are no longer in the stream \
         (trimmed after 24 h, or the shard is gone); recorded as gap {gap_key}"
    )]
    RangeTrimmed {
        /// Table name.
        table: String,
        /// The shard.
        shard_id: String,
        /// First sequence number asked for.
        from: String,
        /// Last sequence number asked for.
        to: String,
        /// Key of the gap record written.
        gap_key: String,
    },
}

impl CaptureError {
    /// Whether the same work may succeed if tried again.
    pub fn is_retryable(&self) -> bool {
        match self {
            CaptureError::Store(e) => e.is_retryable(),
            CaptureError::Aws { retryable, .. } => *retryable,
            _ => false,
        }
    }
}

/// Result of capture operations.
pub type Result<T, E = CaptureError> = std::result::Result<T, E>;

/// Error codes AWS uses for throttling (the SDK's own list, plus DynamoDB's).
const THROTTLING_CODES: &[&str] = &[
    "LimitExceededException",
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "SlowDown",
    "InternalServerError",
    "ServiceUnavailable",
];

/// Whether an SDK error may go away if the call is made again: throttling, 5xx, timeouts, lost
/// connections. Construction failures, client errors and unknown 4xx codes may not.
fn sdk_error_is_retryable<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    match err {
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => true,
        SdkError::DispatchFailure(f) => f.is_io() || f.is_timeout() || f.is_other(),
        SdkError::ServiceError(service) => {
            err.code().is_some_and(|c| THROTTLING_CODES.contains(&c))
                || service.raw().status().as_u16() >= 500
        }
        _ => false,
    }
}

/// An SDK error of any AWS service as a [`CaptureError::Aws`], code and message first, with
/// one rule for what is worth retrying.
pub(crate) fn capture_error<E>(
    operation: &'static str,
    err: &SdkError<E, HttpResponse>,
) -> CaptureError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let message = match err.code() {
        Some(code) => format!("{code}: {}", err.message().unwrap_or("(no message)")),
        None => aws_sdk_dynamodbstreams::error::DisplayErrorContext(err).to_string(),
    };
    CaptureError::Aws {
        operation,
        message,
        retryable: sdk_error_is_retryable(err),
    }
}
