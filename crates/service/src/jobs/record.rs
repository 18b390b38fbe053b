//! A job as the catalog stores it, and its life cycle:
//!
//! ```text
//! queued ──claim──> running ──finish──> succeeded | failed
//!                      │
//!                      └── the worker restarted ──> failed_resumable ──claim──> running
//! ```
//!
//! A restore that fails resumably is re-run from its journal in the store, so claiming it again
//! continues where it stopped.

use serde::{Deserialize, Serialize};

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// A full backup (parallel Scan into a snapshot).
    Backup,
    /// A restore to a point in time.
    Restore,
}

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Created, waiting for a worker.
    Queued,
    /// A worker claimed it and runs it.
    Running,
    /// Done.
    Succeeded,
    /// Failed for good (bad input, a refusal); the error says why.
    Failed,
    /// Its worker stopped while running it; claiming it again resumes it.
    FailedResumable,
}

impl JobStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
            JobStatus::FailedResumable => "failed_resumable",
        }
    }
}

/// How far a running job is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Items written (restore) or scanned (backup).
    pub items: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Buckets finished.
    pub buckets_done: u64,
    /// Buckets in the plan (0 until planned).
    pub buckets_total: u64,
    /// Estimated seconds left, when it can be told.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta_seconds: Option<f64>,
}

/// A job to create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewJob {
    /// Backup or restore.
    pub kind: JobKind,
    /// The source table.
    pub table: String,
    /// The restore point as requested (`latest` or RFC 3339); `None` for a backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// The restore target URL; `None` for a backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The whole request as the API received it (JSON), so a worker can run it.
    pub request: String,
}

/// A job item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    /// The job's id (the table's key).
    pub job_id: String,
    /// Backup or restore.
    pub kind: JobKind,
    /// The source table.
    pub table: String,
    /// See [`NewJob::at`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// See [`NewJob::target`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// See [`NewJob::request`].
    pub request: String,
    /// Where it stands.
    pub status: JobStatus,
    /// The worker that claimed it last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
    /// How far it is.
    #[serde(default)]
    pub progress: Progress,
    /// The final report (JSON), when it succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<String>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When it was created, claimed, last updated and finished (RFC 3339, ms).
    pub created_at: String,
    /// See `created_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// See `created_at`.
    pub updated_at: String,
    /// See `created_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// How many times a worker claimed it (more than 1: it was resumed).
    #[serde(default)]
    pub attempts: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_stored_by_their_names() {
        for status in [
            JobStatus::Queued,
            JobStatus::Running,
            JobStatus::Succeeded,
            JobStatus::Failed,
            JobStatus::FailedResumable,
        ] {
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::json!(status.as_str())
            );
        }
    }
}
