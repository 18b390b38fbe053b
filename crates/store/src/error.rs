//! The one error type of the store layer.
//!
//! Callers make decisions on a few outcomes only, so those get their own variants: an absent
//! object (readers re-list once, then stop and name the file), a lost put-if-absent race (a
//! compactor cleans up its own files), a corrupt object (a restore stops and names it) and a prefix
//! owned by another table (capture refuses to write). Everything else is `Other`, with a flag that
//! tells a caller whether trying again can help (throttling, timeouts, 5xx) or not (access denied,
//! a missing bucket, a full disk).
//!
//! Every variant names the object, as [`ObjectStore::describe`](crate::ObjectStore::describe)
//! gives it (`s3://bucket/prefix/key` or `/dir/key`), so an operator can go and look at it.

use std::error::Error as StdError;

/// The source error kept inside [`StoreError::Other`].
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No object at this key.
    #[error("object not found: {key}")]
    NotFound {
        /// Where the object was looked for.
        key: String,
    },

    /// `put_if_absent` lost: an object already exists at this key (also S3's 409
    /// ConditionalRequestConflict, when another conditional write to the key was in flight).
    #[error("object already exists: {key}")]
    AlreadyExists {
        /// Where the object is.
        key: String,
    },

    /// The bytes read do not match the checksum stored with the object: the object is corrupt
    /// (or was replaced by something that did not go through the store).
    #[error("checksum mismatch for {key}: stored CRC32C {expected}, computed {actual}")]
    ChecksumMismatch {
        /// The corrupt object.
        key: String,
        /// The checksum(s) stored with the object.
        expected: String,
        /// The checksum of the bytes actually read.
        actual: String,
    },

    /// The object has no stored CRC32C. The store never writes such an object, so it was written
    /// by something else or its checksum was lost: its integrity cannot be proven.
    #[error("object has no stored CRC32C checksum, so its integrity cannot be verified: {key}")]
    MissingChecksum {
        /// The object without a checksum.
        key: String,
    },

    /// A key that the store refuses (see [`validate_key`](crate::validate_key)).
    #[error("invalid object key {key:?}: {reason}")]
    InvalidKey {
        /// The key as given.
        key: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A store URL that could not be understood (see [`StoreUrl`](crate::StoreUrl)).
    #[error("invalid store URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },

    /// Anything else: I/O, network, permissions, service errors.
    #[error("{op} {key} failed: {message}")]
    Other {
        /// The store operation (`put`, `get`, ...).
        op: &'static str,
        /// The object (or prefix) involved.
        key: String,
        /// What went wrong.
        message: String,
        /// Whether the same call may succeed if tried again (throttling, timeouts, 5xx).
        retryable: bool,
        /// The underlying error, for logs.
        #[source]
        source: Option<BoxError>,
    },
}

impl StoreError {
    /// Whether trying the same call again may succeed. Only `Other` errors flagged by the backend
    /// (throttling, timeouts, server errors, dropped connections) are; a missing object, a lost
    /// race or a corrupt object stays what it is however often it is read.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            StoreError::Other {
                retryable: true,
                ..
            }
        )
    }

    /// Whether this is [`StoreError::NotFound`].
    pub fn is_not_found(&self) -> bool {
        matches!(self, StoreError::NotFound { .. })
    }

    /// Whether this is [`StoreError::AlreadyExists`].
    pub fn is_already_exists(&self) -> bool {
        matches!(self, StoreError::AlreadyExists { .. })
    }

    /// Shorthand for an `Other` error without a source.
    pub fn other(
        op: &'static str,
        key: impl Into<String>,
        message: impl Into<String>,
        retryable: bool,
    ) -> Self {
        StoreError::Other {
            op,
            key: key.into(),
            message: message.into(),
            retryable,
            source: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_flagged_other_errors_are_retryable() {
        assert!(StoreError::other("get", "k", "slow down", true).is_retryable());
        assert!(!StoreError::other("get", "k", "denied", false).is_retryable());
        assert!(!StoreError::NotFound { key: "k".into() }.is_retryable());
        assert!(!StoreError::ChecksumMismatch {
            key: "k".into(),
            expected: "a".into(),
            actual: "b".into()
        }
        .is_retryable());
    }

    #[test]
    fn messages_name_the_object() {
        let e = StoreError::ChecksumMismatch {
            key: "/data/changes/x.parquet".into(),
            expected: "AAAAAA==".into(),
            actual: "AAAAAQ==".into(),
        };
        let text = e.to_string();
        assert!(text.contains("/data/changes/x.parquet"), "{text}");
        assert!(
            text.contains("AAAAAA==") && text.contains("AAAAAQ=="),
            "{text}"
        );
    }
}
