//! Errors of snapshot making; each names the table, object or step.

use rewind_replay::ReplayError;
use rewind_store::StoreError;

/// Result alias.
pub type Result<T, E = CompactorError> = std::result::Result<T, E>;

/// What can go wrong making a snapshot.
#[derive(Debug, thiserror::Error)]
pub enum CompactorError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Reading change files or reconstructing failed.
    #[error(transparent)]
    Replay(ReplayError),
    /// The catalog refused (a foreign table, an unusable stream view type) or DescribeTable
    /// failed. Catalog store failures arrive as [`CompactorError::Store`].
    #[error(transparent)]
    Catalog(rewind_catalog::CatalogError),
    /// A file could not be written.
    #[error(transparent)]
    Format(#[from] rewind_format::FormatError),
    /// The table's stream cannot deliver the changes made during and after a scan.
    #[error("cannot back up table {table}: {reason}")]
    NotCapturing {
        /// Source table.
        table: String,
        /// What was found.
        reason: String,
    },
    /// A DynamoDB call failed.
    #[error("DynamoDB {operation} on {table}: {message}")]
    Aws {
        /// The API operation.
        operation: &'static str,
        /// The table.
        table: String,
        /// The service's message.
        message: String,
    },
    /// An item or description is not what it must be.
    #[error("{what} {location}: {reason}")]
    Invalid {
        /// Kind of thing.
        what: &'static str,
        /// Where.
        location: String,
        /// What is wrong.
        reason: String,
    },
}

impl From<rewind_catalog::CatalogError> for CompactorError {
    fn from(e: rewind_catalog::CatalogError) -> Self {
        match e {
            rewind_catalog::CatalogError::Store(s) => CompactorError::Store(s),
            other => CompactorError::Catalog(other),
        }
    }
}

/// A replay error; when it carries this crate's own error (a snapshot bucket that could not be
/// written while reconstructing), that error comes back as it was, typed.
impl From<ReplayError> for CompactorError {
    fn from(e: ReplayError) -> Self {
        match e.into_consumer_error::<CompactorError>() {
            Ok(own) => own,
            Err(other) => CompactorError::Replay(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rewind_store::StoreError;

    #[test]
    fn a_writer_error_crosses_reconstruction_typed() {
        let own = CompactorError::Store(StoreError::other("put", "bucket=0001", "slow down", true));
        let crossed = ReplayError::consumer("snapshot bucket", own);
        match CompactorError::from(crossed) {
            CompactorError::Store(s) => assert!(s.is_retryable(), "{s}"),
            other => panic!("expected the store error back, got {other:?}"),
        }
        let foreign = ReplayError::consumer("sink", std::io::Error::other("disk full"));
        assert!(matches!(
            CompactorError::from(foreign),
            CompactorError::Replay(ReplayError::Consumer { .. })
        ));
    }
}
