//! Compaction metrics in CloudWatch, one `PutMetricData` per run, in capture's namespace and
//! dimension (`Rewind`, `Table`):
//!
//! | metric | unit | meaning |
//! |---|---|---|
//! | `SnapshotAgeSeconds` | Seconds | now minus the newest snapshot's time: how much a restore replays (alarm when it grows: compaction is not keeping up) |
//! | `CompactionSeconds` | Seconds | how long the run took |
//! | `FilesCompacted` | Count | small change files merged into hourly files |
//! | `BytesWritten` | Bytes | bytes of snapshot and merged files written |
//! | `ScrubFindings` | Count | problems a scheduled `check` found (alarm on > 0) |
//! | `ScrubObjects` | Count | objects a scheduled `check` read and verified |
//! | `ScrubSeconds` | Seconds | how long the scrub took |
//! | `DrillRestoreSeconds` | Seconds | the slowest restore of a scheduled drill: the measured RTO (alarm when it passes the RTO objective) |
//! | `DrillItemsPerSecond` | Count/Second | the slowest drill's restore rate |
//! | `DrillFailures` | Count | drills whose restore did not equal the state (alarm on > 0) |

use crate::compact::CompactReport;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use rewind_aws::metric_names::{NAMESPACE, TABLE_DIMENSION};
use rewind_replay::check::CheckReport;

/// Metric names, as published.
pub mod names {
    /// Now minus the newest snapshot's time.
    pub const SNAPSHOT_AGE_SECONDS: &str = "SnapshotAgeSeconds";
    /// Duration of the run.
    pub const COMPACTION_SECONDS: &str = "CompactionSeconds";
    /// Change files merged.
    pub const FILES_COMPACTED: &str = "FilesCompacted";
    /// Bytes written (shared name with capture's metric; the dimension tells tables apart).
    pub const BYTES_WRITTEN: &str = "BytesWritten";
    /// Problems a scrub found.
    pub const SCRUB_FINDINGS: &str = "ScrubFindings";
    /// Objects a scrub read and verified.
    pub const SCRUB_OBJECTS: &str = "ScrubObjects";
    /// Duration of a scrub.
    pub const SCRUB_SECONDS: &str = "ScrubSeconds";
    /// The slowest drill restore (the measured RTO).
    pub const DRILL_RESTORE_SECONDS: &str = "DrillRestoreSeconds";
    /// The slowest drill's items per second.
    pub const DRILL_ITEMS_PER_SECOND: &str = "DrillItemsPerSecond";
    /// Drills that did not equal the state.
    pub const DRILL_FAILURES: &str = "DrillFailures";
}

/// One data point of `table`.
fn datum(table: &str, name: &str, value: f64, unit: StandardUnit, now_ms: i64) -> MetricDatum {
    MetricDatum::builder()
        .metric_name(name)
        .dimensions(
            Dimension::builder()
                .name(TABLE_DIMENSION)
                .value(table)
                .build(),
        )
        .timestamp(DateTime::from_millis(now_ms))
        .value(value)
        .unit(unit)
        .build()
}

/// The data points of one round of restore drills of `table` (none without drills).
pub fn drill_metric_data(
    table: &str,
    drills: &[rewind_replay::drill::DrillResult],
    now_ms: i64,
) -> Vec<MetricDatum> {
    let Some(slowest) = drills
        .iter()
        .max_by(|a, b| a.restore_seconds.total_cmp(&b.restore_seconds))
    else {
        return Vec::new();
    };
    vec![
        datum(
            table,
            names::DRILL_RESTORE_SECONDS,
            slowest.restore_seconds,
            StandardUnit::Seconds,
            now_ms,
        ),
        datum(
            table,
            names::DRILL_ITEMS_PER_SECOND,
            slowest.items_per_second,
            StandardUnit::CountSecond,
            now_ms,
        ),
        datum(
            table,
            names::DRILL_FAILURES,
            drills.iter().filter(|d| !d.equal).count() as f64,
            StandardUnit::Count,
            now_ms,
        ),
    ]
}

/// The data points of one scrub.
pub fn scrub_metric_data(report: &CheckReport, seconds: f64, now_ms: i64) -> Vec<MetricDatum> {
    let t = &report.table;
    vec![
        datum(
            t,
            names::SCRUB_FINDINGS,
            report.findings.len() as f64,
            StandardUnit::Count,
            now_ms,
        ),
        datum(
            t,
            names::SCRUB_OBJECTS,
            report.objects as f64,
            StandardUnit::Count,
            now_ms,
        ),
        datum(
            t,
            names::SCRUB_SECONDS,
            seconds,
            StandardUnit::Seconds,
            now_ms,
        ),
    ]
}

/// The data points of one run. `newest_snapshot` is the newest snapshot's time (seconds) after
/// the run, if any exists.
pub fn metric_data(
    report: &CompactReport,
    newest_snapshot: Option<i64>,
    now_ms: i64,
) -> Vec<MetricDatum> {
    let datum = |name: &str, value: f64, unit: StandardUnit| {
        datum(&report.table, name, value, unit, now_ms)
    };
    let merge = report.merge.clone().unwrap_or_default();
    let mut data = vec![
        datum(
            names::COMPACTION_SECONDS,
            report.seconds,
            StandardUnit::Seconds,
        ),
        datum(
            names::FILES_COMPACTED,
            merge.files_merged as f64,
            StandardUnit::Count,
        ),
        datum(
            names::BYTES_WRITTEN,
            (report.bytes_written + merge.bytes_written) as f64,
            StandardUnit::Bytes,
        ),
    ];
    if let Some(at) = newest_snapshot {
        data.push(datum(
            names::SNAPSHOT_AGE_SECONDS,
            (now_ms / 1000 - at).max(0) as f64,
            StandardUnit::Seconds,
        ));
    }
    data
}

/// Publishes one run's metrics.
pub async fn publish(
    client: &aws_sdk_cloudwatch::Client,
    report: &CompactReport,
    newest_snapshot: Option<i64>,
    now_ms: i64,
) -> Result<(), String> {
    publish_data(client, metric_data(report, newest_snapshot, now_ms)).await
}

/// Publishes data points in the rewind namespace.
pub async fn publish_data(
    client: &aws_sdk_cloudwatch::Client,
    data: Vec<MetricDatum>,
) -> Result<(), String> {
    client
        .put_metric_data()
        .namespace(NAMESPACE)
        .set_metric_data(Some(data))
        .send()
        .await
        .map_err(|e| {
            format!(
                "PutMetricData: {}",
                aws_sdk_cloudwatch::error::DisplayErrorContext(&e)
            )
        })?;
    Ok(())
}
