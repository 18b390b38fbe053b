//! What a notification says: a subject and text a person can read, and attributes a filter can
//! match. Pure, so every wording is unit-tested.

use crate::jobs::{JobKind, JobRecord, JobStatus};
use serde::Serialize;
use std::collections::BTreeMap;

/// What happened (the `kind` attribute).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// A backup job ended.
    Backup,
    /// A restore job ended.
    Restore,
    /// A table's capture lag crossed its threshold.
    CaptureLag,
}

impl NotificationKind {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::Backup => "backup",
            NotificationKind::Restore => "restore",
            NotificationKind::CaptureLag => "capture_lag",
        }
    }
}

/// How it ended (the `status` attribute).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationStatus {
    /// The job succeeded.
    Succeeded,
    /// The job failed for good.
    Failed,
    /// The job stopped mid-way; posting it again resumes it.
    FailedResumable,
    /// The lag is over the threshold.
    Lagging,
    /// The lag is back under the threshold.
    Recovered,
}

impl NotificationStatus {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationStatus::Succeeded => "succeeded",
            NotificationStatus::Failed => "failed",
            NotificationStatus::FailedResumable => "failed_resumable",
            NotificationStatus::Lagging => "lagging",
            NotificationStatus::Recovered => "recovered",
        }
    }
}

/// One notification.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// The e-mail subject (SNS: ASCII, at most 100 characters, one line).
    pub subject: String,
    /// The body, for a person.
    pub text: String,
    /// Message attributes (`table`, `kind`, `status`, and `job_id` for jobs).
    pub attributes: BTreeMap<String, String>,
}

/// SNS refuses a subject over 100 characters, with a line break or non-ASCII.
const SUBJECT_MAX: usize = 100;

impl Notification {
    fn new(
        subject: String,
        text: String,
        table: &str,
        kind: NotificationKind,
        status: NotificationStatus,
    ) -> Self {
        let mut attributes = BTreeMap::new();
        attributes.insert("table".to_string(), table.to_string());
        attributes.insert("kind".to_string(), kind.as_str().to_string());
        attributes.insert("status".to_string(), status.as_str().to_string());
        Notification {
            subject: subject_line(&subject),
            text,
            attributes,
        }
    }

    /// A job that ended (succeeded, failed, or stopped and resumable). `None` for a job that
    /// has not ended.
    pub fn job_ended(job: &JobRecord) -> Option<Self> {
        let status = match job.status {
            JobStatus::Succeeded => NotificationStatus::Succeeded,
            JobStatus::Failed => NotificationStatus::Failed,
            JobStatus::FailedResumable => NotificationStatus::FailedResumable,
            JobStatus::Queued | JobStatus::Running => return None,
        };
        let (kind, what, path) = match job.kind {
            JobKind::Backup => (
                NotificationKind::Backup,
                format!("full backup of {}", job.table),
                "backups",
            ),
            JobKind::Restore => (
                NotificationKind::Restore,
                format!(
                    "restore of {} to {} into {}",
                    job.table,
                    job.at.as_deref().unwrap_or("?"),
                    job.target.as_deref().unwrap_or("?")
                ),
                "restores",
            ),
        };
        let verb = match status {
            NotificationStatus::Succeeded => "succeeded",
            NotificationStatus::FailedResumable => "stopped (resumable)",
            _ => "failed",
        };
        let subject = format!("rewind: {} of {} {verb}", kind.as_str(), job.table);
        let mut text = format!("The {what} {verb}.\n\n");
        text.push_str(&format!("Job:      {}\n", job.job_id));
        if let Some(worker) = &job.worker {
            text.push_str(&format!("Worker:   {worker}\n"));
        }
        text.push_str(&format!("Created:  {}\n", job.created_at));
        if let Some(started) = &job.started_at {
            text.push_str(&format!("Started:  {started}\n"));
        }
        if let Some(finished) = &job.finished_at {
            text.push_str(&format!("Finished: {finished}\n"));
        }
        if job.attempts > 1 {
            text.push_str(&format!("Attempts: {}\n", job.attempts));
        }
        match status {
            NotificationStatus::Succeeded => {
                if let Some(summary) = job.report.as_deref().and_then(report_summary) {
                    text.push_str(&format!("Result:   {summary}\n"));
                }
            }
            _ => {
                text.push_str(&format!(
                    "Error:    {}\n",
                    job.error.as_deref().unwrap_or("(none recorded)")
                ));
                if matches!(job.kind, JobKind::Restore) {
                    text.push_str(
                        "\nPosting the same restore again resumes it from its journal.\n",
                    );
                }
            }
        }
        text.push_str(&format!("\nDetails:  GET /{path}/{}\n", job.job_id));
        let mut note = Notification::new(subject, text, &job.table, kind, status);
        note.attributes
            .insert("job_id".to_string(), job.job_id.clone());
        Some(note)
    }

    /// A table whose capture lag went over `threshold_seconds`.
    pub fn lagging(table: &str, lag_seconds: i64, threshold_seconds: i64, watermark: &str) -> Self {
        Notification::new(
            format!(
                "rewind: capture of {table} is {} behind",
                duration(lag_seconds)
            ),
            format!(
                "Capture of {table} is {} behind (threshold {}).\n\n\
                 The last second fully captured is {watermark}: a restore cannot reach later \
                 than that, and changes after it are lost if the stream's 24-hour retention \
                 passes them.\nCheck the capture Lambda's errors and its iterator age, or the \
                 `rewind capture` process.\n",
                duration(lag_seconds),
                duration(threshold_seconds)
            ),
            table,
            NotificationKind::CaptureLag,
            NotificationStatus::Lagging,
        )
    }

    /// A table whose capture lag is back under `threshold_seconds`.
    pub fn lag_recovered(
        table: &str,
        lag_seconds: i64,
        threshold_seconds: i64,
        watermark: &str,
    ) -> Self {
        Notification::new(
            format!("rewind: capture of {table} caught up"),
            format!(
                "Capture of {table} is {} behind again, under the threshold of {}.\n\
                 The last second fully captured is {watermark}.\n",
                duration(lag_seconds),
                duration(threshold_seconds)
            ),
            table,
            NotificationKind::CaptureLag,
            NotificationStatus::Recovered,
        )
    }
}

/// "2 d 3 h", "3 h 4 min", "12 min 5 s", "42 s".
fn duration(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        3600..=86399 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86400, s % 86400 / 3600),
    }
}

/// One ASCII line of at most [`SUBJECT_MAX`] characters.
fn subject_line(subject: &str) -> String {
    let clean: String = subject
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                '?'
            }
        })
        .collect();
    if clean.len() <= SUBJECT_MAX {
        clean
    } else {
        format!("{}...", &clean[..SUBJECT_MAX - 3])
    }
}

/// The counts a person wants from a job's report: items and bytes, when the report has them.
fn report_summary(report: &str) -> Option<String> {
    let report: serde_json::Value = serde_json::from_str(report).ok()?;
    let mut parts = Vec::new();
    for (field, label) in [
        ("items", "items"),
        ("items_written", "items written"),
        ("bytes", "bytes"),
        ("bytes_written", "bytes written"),
        ("at", "restored to"),
        ("valid_from", "restorable from"),
    ] {
        match report.get(field) {
            Some(serde_json::Value::Number(n)) => parts.push(format!("{n} {label}")),
            Some(serde_json::Value::String(s)) => parts.push(format!("{label} {s}")),
            _ => {}
        }
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::Progress;

    fn job(kind: JobKind, status: JobStatus) -> JobRecord {
        JobRecord {
            job_id: "restore-1".into(),
            kind,
            table: "orders".into(),
            at: Some("2026-12-03T09:00:00Z".into()),
            target: Some("dynamodb://orders-dev?region=eu-west-1".into()),
            request: "{}".into(),
            status,
            worker: Some("serve@a".into()),
            progress: Progress::default(),
            report: Some(
                r#"{"items": 1200, "bytes_written": 98765, "at": "2026-12-03T09:00:00Z"}"#.into(),
            ),
            error: Some("S3: NoSuchBucket: the bucket does not exist".into()),
            created_at: "2026-12-04T10:00:00.000Z".into(),
            started_at: Some("2026-12-04T10:00:01.000Z".into()),
            updated_at: "2026-12-04T10:02:00.000Z".into(),
            finished_at: Some("2026-12-04T10:02:00.000Z".into()),
            attempts: 1,
        }
    }

    #[test]
    fn a_succeeded_restore_names_table_point_target_and_counts() {
        let note = Notification::job_ended(&job(JobKind::Restore, JobStatus::Succeeded)).unwrap();
        assert_eq!(note.subject, "rewind: restore of orders succeeded");
        for part in [
            "restore of orders to 2026-12-03T09:00:00Z into dynamodb://orders-dev?region=eu-west-1 succeeded",
            "Job:      restore-1",
            "1200 items, 98765 bytes written, restored to 2026-12-03T09:00:00Z",
            "GET /restores/restore-1",
        ] {
            assert!(note.text.contains(part), "{part:?} missing from {}", note.text);
        }
        assert!(!note.text.contains("NoSuchBucket"), "no error on success");
        assert_eq!(note.attributes["table"], "orders");
        assert_eq!(note.attributes["kind"], "restore");
        assert_eq!(note.attributes["status"], "succeeded");
        assert_eq!(note.attributes["job_id"], "restore-1");
    }

    #[test]
    fn a_failed_job_carries_its_error_and_how_to_resume() {
        let failed = Notification::job_ended(&job(JobKind::Restore, JobStatus::Failed)).unwrap();
        assert_eq!(failed.attributes["status"], "failed");
        assert!(failed.text.contains("Error:    S3: NoSuchBucket"));
        assert!(failed.text.contains("resumes it from its journal"));
        let stopped =
            Notification::job_ended(&job(JobKind::Restore, JobStatus::FailedResumable)).unwrap();
        assert_eq!(stopped.attributes["status"], "failed_resumable");
        assert!(stopped.subject.ends_with("stopped (resumable)"));
        let backup = Notification::job_ended(&job(JobKind::Backup, JobStatus::Failed)).unwrap();
        assert_eq!(backup.subject, "rewind: backup of orders failed");
        assert!(backup.text.contains("GET /backups/restore-1"));
        assert!(!backup.text.contains("journal"));
    }

    #[test]
    fn a_job_still_running_is_no_notification() {
        assert!(Notification::job_ended(&job(JobKind::Backup, JobStatus::Running)).is_none());
        assert!(Notification::job_ended(&job(JobKind::Backup, JobStatus::Queued)).is_none());
    }

    #[test]
    fn lag_messages_say_how_far_behind_in_human_units() {
        let note = Notification::lagging("orders", 3 * 3600 + 240, 900, "2026-12-04T07:00:00Z");
        assert_eq!(
            note.subject,
            "rewind: capture of orders is 3 h 4 min behind"
        );
        assert!(note.text.contains("threshold 15 min 0 s"));
        assert!(note.text.contains("2026-12-04T07:00:00Z"));
        assert_eq!(note.attributes["kind"], "capture_lag");
        assert_eq!(note.attributes["status"], "lagging");
        let back = Notification::lag_recovered("orders", 42, 900, "2026-12-04T10:00:00Z");
        assert_eq!(back.attributes["status"], "recovered");
        assert!(back.text.contains("42 s behind"));
        assert_eq!(duration(733_826), "8 d 11 h");
    }

    #[test]
    fn subjects_are_one_short_ascii_line() {
        let long = "t".repeat(200);
        let note = Notification::lagging(&long, 5, 1, "x");
        assert_eq!(note.subject.len(), SUBJECT_MAX);
        assert!(note.subject.ends_with("..."));
        assert_eq!(subject_line("a\nb é"), "a?b ?");
    }
}
