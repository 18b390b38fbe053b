//! Errors of the format crate. Each names what is wrong and where: the field of a stream record, or
//! the object (file) being read.

/// A stream record that cannot become a change record. Capture quarantines such records; the
/// message names the field so an operator can see what DynamoDB (or a test) sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stream record{}: field {field}: {reason}", at.as_ref().map(|a| format!(" {a}")).unwrap_or_default())]
pub struct ConvertError {
    /// The offending field, e.g. `Keys`, `NewImage`, `ApproximateCreationDateTime`.
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
    /// Which record, when known (event id and/or sequence number).
    pub at: Option<String>,
}

impl ConvertError {
    pub(crate) fn field(field: &str, reason: impl Into<String>) -> Self {
        ConvertError {
            field: field.to_string(),
            reason: reason.into(),
            at: None,
        }
    }

    #[cfg(feature = "stream-records")]
    pub(crate) fn at(mut self, at: Option<String>) -> Self {
        if self.at.is_none() {
            self.at = at;
        }
        self
    }
}

/// A change file that cannot be written or read. Every read error names the object.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// Shorter than its footer says, or missing the Parquet magic: an interrupted upload or copy.
    #[error("{object}: truncated or not a Parquet file ({detail})")]
    Truncated {
        /// The object (store key or path).
        object: String,
        /// What was found.
        detail: String,
    },
    /// The bytes do not match what the writer recorded, or do not decode.
    #[error("{object}: corrupt: {detail}")]
    Corrupt {
        /// The object.
        object: String,
        /// What did not match.
        detail: String,
    },
    /// Written by a newer (or unknown) version of the format; refusing beats misreading.
    #[error("{object}: change-log format version {found:?} is not supported (this build reads version {supported}); upgrade rewind")]
    UnsupportedVersion {
        /// The object.
        object: String,
        /// The version the file declares (or "none").
        found: String,
        /// The version this build reads.
        supported: u32,
    },
    /// A Parquet file, but not one of ours: a column is missing or has another type.
    #[error("{object}: not a rewind change file: {detail}")]
    Schema {
        /// The object.
        object: String,
        /// What differs from docs/FORMAT.md.
        detail: String,
    },
    /// A row that does not satisfy the format's rules (e.g. an unknown event name).
    #[error("{object}: row {row}: {detail}")]
    BadRow {
        /// The object.
        object: String,
        /// Row number within the file.
        row: usize,
        /// What is wrong.
        detail: String,
    },
    /// The Parquet or Arrow library failed while writing.
    #[error("writing {object}: {source}")]
    Write {
        /// The object being written.
        object: String,
        /// The library error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}
