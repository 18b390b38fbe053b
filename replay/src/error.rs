//! Errors of the replay crate. Each names what is wrong and where (object, key, target), so an
//! operator can act on it without reading code.

use crate::window::Interval;
use rewind_catalog::CatalogError;
use rewind_format::FormatError;
use rewind_store::StoreError;

/// Result alias for the replay crate.
pub type Result<T, E = ReplayError> = std::result::Result<T, E>;

/// What can go wrong planning, reconstructing, writing or verifying a restore.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// Reading or writing the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A change or snapshot file could not be read (corrupt, truncated, foreign).
    #[error(transparent)]
    Format(#[from] FormatError),
    /// Nothing restorable is known for the table.
    #[error("table {table}: {reason}")]
    NothingRestorable {
        /// Source table.
        table: String,
        /// Why (no change files, no snapshot and no whole-life log, ...).
        reason: String,
    },
    /// The restore point is outside every restorable interval.
    #[error(
        "{at} is outside the restorable window of {table} ({}){}",
        describe_window(window),
        describe_nearest(nearest_before, nearest_after)
    )]
    OutsideWindow {
        /// Source table.
        table: String,
        /// The requested point, RFC 3339.
        at: String,
        /// The restorable intervals.
        window: Vec<Interval>,
        /// The restorable second nearest before the request.
        nearest_before: Option<i64>,
        /// The restorable second nearest after the request.
        nearest_after: Option<i64>,
    },
    /// Records in the restore's range are in quarantine (could not be converted).
    #[error("{count} quarantined record(s) of {table} may fall in the restore's range (first: {first}); fix and redrive them, or pass --skip-quarantined to restore without them")]
    Quarantined {
        /// Source table.
        table: String,
        /// How many.
        count: usize,
        /// The first one's object key.
        first: String,
    },
    /// The target already exists and the restore was not told to overwrite it.
    #[error("target {target} already exists; pass --into-existing to make it equal to the state at the restore point (keys not in that state are deleted)")]
    TargetExists {
        /// The target, as given.
        target: String,
    },
    /// A target URL could not be read.
    #[error("target {url:?}: {reason} (expected dynamodb://TABLE[?region=R], file://DIR or s3://BUCKET/PREFIX)")]
    BadTarget {
        /// The URL as given.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// An item's versions do not link up: a version is missing from the store.
    #[error("the history of item {key} is broken at stream {stream_label} sequence {sequence_number}: {detail}; a change file is missing or records were lost (see `rewind history` for the item and `rewind ls` for gaps)")]
    BrokenHistory {
        /// The item's key attributes, DynamoDB JSON.
        key: String,
        /// Stream label of the version whose predecessor is missing.
        stream_label: String,
        /// Its sequence number.
        sequence_number: String,
        /// What does not link.
        detail: String,
    },
    /// A whole-life restore met an item whose first version is not an INSERT: the item existed
    /// before the log began, so the log does not cover the table's whole life. Restores record
    /// that durably ([`crate::whole_life`]) and plan again from a snapshot.
    #[error("item {key} has no INSERT in the change log: its first version (stream {stream_label} sequence {sequence_number}) is a {event}, so it existed before capture saw it and the change log does not cover the table's whole life")]
    MissingInsert {
        /// The item's key attributes, DynamoDB JSON.
        key: String,
        /// Stream label of its first version.
        stream_label: String,
        /// Its sequence number.
        sequence_number: String,
        /// MODIFY or REMOVE.
        event: &'static str,
    },
    /// A restore failed after it had created or changed its target; `what` says what became of
    /// the target (removed, or kept for a resume).
    #[error("{cause}; {what}")]
    TargetFailed {
        /// What failed.
        cause: Box<ReplayError>,
        /// What became of the target.
        what: String,
    },
    /// A command-line argument could not be read.
    #[error("{argument} {value:?}: {reason}")]
    BadArgument {
        /// The argument (`--key`, ...).
        argument: &'static str,
        /// The value as given.
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// A DynamoDB call failed (after retries, or not retryable).
    #[error("DynamoDB {operation} on {target}: {message}")]
    Aws {
        /// The API operation.
        operation: &'static str,
        /// The table (and region) it was called on.
        target: String,
        /// The service's message.
        message: String,
        /// Whether a later retry could succeed (throttling, 5xx, timeouts).
        retryable: bool,
    },
    /// An object the plan pinned is gone or changed (compaction or retention replaced it): the
    /// restore must start over with a new plan rather than mix two points in time.
    #[error("{key}: pinned by the restore plan but gone or changed since; plan again")]
    PinnedFileGone {
        /// The object.
        key: String,
    },
    /// A stored object or an item is not what the format says it must be.
    #[error("{what} {location}: {reason}")]
    Invalid {
        /// Kind of thing (snapshot manifest, export line, scanned item, ...).
        what: &'static str,
        /// Where (object key, key JSON, line number).
        location: String,
        /// What is wrong.
        reason: String,
    },
    /// The catalog refused (a foreign table, an unusable stream) or DescribeTable failed.
    /// Catalog store failures and unreadable records arrive as [`ReplayError::Store`] and
    /// [`ReplayError::Invalid`], so callers keep one way of telling transient from final.
    #[error(transparent)]
    Catalog(CatalogError),
    /// What the reconstructed items were handed to (a snapshot writer, a caller's sink) failed.
    /// Its own error is the source, typed, so the caller can take it back
    /// ([`ReplayError::into_consumer_error`]) instead of reading a message.
    #[error("{what}: {source}")]
    Consumer {
        /// What was being done with the items.
        what: &'static str,
        /// The consumer's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Local spill files or other local I/O failed.
    #[error("local file {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl ReplayError {
    /// Whether the failure is in the request (exit code 2) rather than the system (exit 3).
    pub fn is_bad_input(&self) -> bool {
        if let ReplayError::TargetFailed { cause, .. } = self {
            return cause.is_bad_input();
        }
        if let ReplayError::Catalog(e) = self {
            return e.is_refusal();
        }
        matches!(
            self,
            ReplayError::NothingRestorable { .. }
                | ReplayError::OutsideWindow { .. }
                | ReplayError::Quarantined { .. }
                | ReplayError::TargetExists { .. }
                | ReplayError::BadTarget { .. }
                | ReplayError::BadArgument { .. }
        )
    }

    /// A consumer's error, kept typed (see [`ReplayError::Consumer`]).
    pub fn consumer(
        what: &'static str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        ReplayError::Consumer {
            what,
            source: Box::new(source),
        }
    }

    /// The consumer's own error when this is a [`ReplayError::Consumer`] of type `E`, else
    /// `self` unchanged.
    pub fn into_consumer_error<E: std::error::Error + 'static>(self) -> Result<E, Self> {
        match self {
            ReplayError::Consumer { what, source } => match source.downcast::<E>() {
                Ok(inner) => Ok(*inner),
                Err(source) => Err(ReplayError::Consumer { what, source }),
            },
            other => Err(other),
        }
    }

    /// An [`ReplayError::Io`] for `path`.
    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        ReplayError::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }
}

impl From<CatalogError> for ReplayError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::Store(s) => ReplayError::Store(s),
            CatalogError::Invalid {
                what,
                location,
                reason,
            } => ReplayError::Invalid {
                what,
                location,
                reason,
            },
            other => ReplayError::Catalog(other),
        }
    }
}

fn describe_window(window: &[Interval]) -> String {
    if window.is_empty() {
        return "nothing is restorable yet".into();
    }
    let parts: Vec<String> = window.iter().map(|i| i.to_string()).collect();
    format!("restorable: {}", parts.join(", "))
}

fn describe_nearest(before: &Option<i64>, after: &Option<i64>) -> String {
    let fmt = crate::at::format_second;
    match (before, after) {
        (Some(b), Some(a)) => format!("; nearest restorable points: {} and {}", fmt(*b), fmt(*a)),
        (Some(b), None) => format!("; nearest restorable point: {}", fmt(*b)),
        (None, Some(a)) => format!("; nearest restorable point: {}", fmt(*a)),
        (None, None) => String::new(),
    }
}
