//! Errors of reading and writing the catalog. Each names the object (or table) and what is wrong
//! with it; store failures keep their own type so callers still tell transient from final.

use rewind_store::StoreError;

/// Result alias of the catalog crate.
pub type Result<T, E = CatalogError> = std::result::Result<T, E>;

/// What can go wrong reading or writing what the store knows about a table.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The store failed; `retryable` on it says whether trying again may help.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored record is not what the format says it must be (or a name cannot be built).
    #[error("{what} {location}: {reason}")]
    Invalid {
        /// Kind of record (checkpoint, snapshot manifest, restore journal, ...).
        what: &'static str,
        /// Where (object, key, table).
        location: String,
        /// What is wrong.
        reason: String,
    },
    /// The prefix already holds data of another table with the same name (another account or
    /// region): mixing the two would make every restore of either wrong.
    #[error(
        "table {table} in this store belongs to {claimed_by}, refusing to use it for {requested}"
    )]
    ForeignTable {
        /// The table name.
        table: String,
        /// The ARN that owns the table's data in this store.
        claimed_by: String,
        /// The ARN that asked to use it.
        requested: String,
    },
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
    /// DescribeTable answered ResourceNotFoundException: no table of that name exists (never
    /// did, or was deleted).
    #[error("DescribeTable: table {table} not found (ResourceNotFoundException): {message}")]
    TableNotFound {
        /// The table asked for.
        table: String,
        /// The SDK's message.
        message: String,
    },
    /// DescribeTable (or its companions) failed or answered without what a description needs.
    #[error("{operation}: {message}")]
    Aws {
        /// The API operation.
        operation: &'static str,
        /// The SDK's message, with its error code.
        message: String,
        /// Whether trying again may help (throttling, service errors, timeouts).
        retryable: bool,
    },
}

impl CatalogError {
    /// Whether the same call may succeed if made again.
    pub fn is_retryable(&self) -> bool {
        match self {
            CatalogError::Store(e) => e.is_retryable(),
            CatalogError::Aws { retryable, .. } => *retryable,
            _ => false,
        }
    }

    /// Whether the failure is in the request or the data given (a foreign table, an unusable
    /// stream, a bad name) rather than the system.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            CatalogError::ForeignTable { .. } | CatalogError::ViewType { .. }
        )
    }

    /// An SDK error of the DynamoDB control plane, classified by the one shared rule.
    pub(crate) fn aws<E>(operation: &'static str, err: &rewind_aws::SdkError<E>) -> Self
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata
            + std::error::Error
            + Send
            + Sync
            + 'static,
    {
        let class = rewind_aws::classify(err);
        CatalogError::Aws {
            operation,
            message: class.message,
            retryable: class.retryable,
        }
    }
}
