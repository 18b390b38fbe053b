//! Capture errors. The split that matters is *transient* (retry the batch from the failed record:
//! store errors, throttling) versus *refused* (retrying cannot help: a foreign table in the
//! prefix, a stream without new images: both [`CatalogError`] refusals); per-record conversion failures are not errors at all,
//! they are quarantined.

use aws_sdk_dynamodbstreams::error::ProvideErrorMetadata;
use rewind_catalog::CatalogError;
use rewind_store::StoreError;

/// Why a batch (or part of one) was not captured.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The store failed; `retryable` says whether trying again may help.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// Reading or writing the catalog failed, or it refused (a foreign table in the prefix, a
    /// stream view type that cannot support point-in-time restore).
    #[error(transparent)]
    Catalog(CatalogError),
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
            CaptureError::Catalog(e) => e.is_retryable(),
            CaptureError::Aws { retryable, .. } => *retryable,
            _ => false,
        }
    }
}

/// Catalog store failures stay [`CaptureError::Store`] (one place decides retries); the rest
/// keep their catalog type.
impl From<CatalogError> for CaptureError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::Store(s) => CaptureError::Store(s),
            other => CaptureError::Catalog(other),
        }
    }
}

/// Result of capture operations.
pub type Result<T, E = CaptureError> = std::result::Result<T, E>;

/// An SDK error of any AWS service as a [`CaptureError::Aws`], code and message first, with
/// the one shared rule for what is worth retrying ([`rewind_aws::classify`]).
pub(crate) fn capture_error<E>(
    operation: &'static str,
    err: &rewind_aws::SdkError<E>,
) -> CaptureError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let class = rewind_aws::classify(err);
    CaptureError::Aws {
        operation,
        message: class.message,
        retryable: class.retryable,
    }
}
