//! Capture metrics in CloudWatch: what an operator alarms on.
//!
//! One `PutMetricData` call per Lambda invocation (never per record: a busy shard would cost a
//! call per change), namespace [`NAMESPACE`], one dimension [`TABLE_DIMENSION`] naming the
//! source table, so dashboards and alarms are per table whatever shard a batch came from:
//!
//! | metric | unit | meaning |
//! |---|---|---|
//! | `RecordsCaptured` | Count | records written to change files |
//! | `BytesWritten` | Bytes | bytes of change files written |
//! | `CaptureLagSeconds` | Seconds | now minus the newest captured record's stamp: the live RPO (only sent when records were captured) |
//! | `QuarantinedRecords` | Count | records kept raw in `quarantine/` (alarm on > 0) |
//! | `FailedBatches` | Count | invocations that left part of their batch for a retry, or failed |
//!
//! Counts are sent even when zero, so a `Sum` over a period is meaningful and an alarm on
//! `QuarantinedRecords > 0` has data to look at. Publishing is best effort for the caller: a
//! metric that cannot be sent must not fail a batch whose records are already durable.

use crate::error::CaptureError;
use aws_sdk_cloudwatch::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};

pub use rewind_aws::metric_names::{NAMESPACE, TABLE_DIMENSION};

/// Metric names, as published (alarms and dashboards in `deploy/` refer to these).
pub mod names {
    /// Records written to change files.
    pub const RECORDS_CAPTURED: &str = "RecordsCaptured";
    /// Bytes of change files written.
    pub const BYTES_WRITTEN: &str = "BytesWritten";
    /// Now minus the newest captured record's `ApproximateCreationDateTime`, in seconds.
    pub const CAPTURE_LAG_SECONDS: &str = "CaptureLagSeconds";
    /// Records written to quarantine.
    pub const QUARANTINED_RECORDS: &str = "QuarantinedRecords";
    /// Invocations that did not make their whole batch durable.
    pub const FAILED_BATCHES: &str = "FailedBatches";
}

/// What one invocation (one batch of one shard) did, for its metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvocationStats {
    /// Source table name (the `Table` dimension); empty when the event did not say, in which
    /// case nothing is published.
    pub table: String,
    /// Records written to change files.
    pub records_captured: u64,
    /// Bytes of change files written.
    pub bytes_written: u64,
    /// Newest `approximate_creation_time` (ms) among the captured records, if any.
    pub newest_stamp_ms: Option<i64>,
    /// Records written to quarantine.
    pub quarantined: u64,
    /// 1 when the batch was not made durable in full (retry requested, or the invocation
    /// failed), else 0.
    pub failed_batches: u64,
}

impl InvocationStats {
    /// Stats of an invocation that captured nothing and failed (a refused or malformed event).
    pub fn failed(table: impl Into<String>) -> Self {
        InvocationStats {
            table: table.into(),
            failed_batches: 1,
            ..InvocationStats::default()
        }
    }

    /// The capture lag at `now_ms`, in seconds; `None` when no record was captured (an idle
    /// shard has no lag to report: the stream's IteratorAge covers a stuck consumer). Never
    /// negative: a record stamped after `now_ms` means clock skew, not negative lag.
    pub fn capture_lag_seconds(&self, now_ms: i64) -> Option<f64> {
        self.newest_stamp_ms
            .map(|stamp| (now_ms.saturating_sub(stamp)).max(0) as f64 / 1000.0)
    }

    /// The data points one `PutMetricData` call sends, all stamped `now_ms`.
    pub fn metric_data(&self, now_ms: i64) -> Vec<MetricDatum> {
        let dimension = Dimension::builder()
            .name(TABLE_DIMENSION)
            .value(&self.table)
            .build();
        let timestamp = DateTime::from_millis(now_ms);
        let datum = |name: &str, value: f64, unit: StandardUnit| {
            MetricDatum::builder()
                .metric_name(name)
                .dimensions(dimension.clone())
                .timestamp(timestamp)
                .value(value)
                .unit(unit)
                .build()
        };
        let mut data = vec![
            datum(
                names::RECORDS_CAPTURED,
                self.records_captured as f64,
                StandardUnit::Count,
            ),
            datum(
                names::BYTES_WRITTEN,
                self.bytes_written as f64,
                StandardUnit::Bytes,
            ),
            datum(
                names::QUARANTINED_RECORDS,
                self.quarantined as f64,
                StandardUnit::Count,
            ),
            datum(
                names::FAILED_BATCHES,
                self.failed_batches as f64,
                StandardUnit::Count,
            ),
        ];
        if let Some(lag) = self.capture_lag_seconds(now_ms) {
            data.push(datum(
                names::CAPTURE_LAG_SECONDS,
                lag,
                StandardUnit::Seconds,
            ));
        }
        data
    }
}

/// Publishes one invocation's metrics in a single `PutMetricData` call.
///
/// Stats without a table name are not published (there is no dimension to file them under);
/// that is `Ok`. A failure is [`CaptureError::Aws`]; callers log it and carry on, since the
/// batch itself is already durable (or already reported for retry).
pub async fn publish(
    client: &aws_sdk_cloudwatch::Client,
    stats: &InvocationStats,
    now_ms: i64,
) -> Result<(), CaptureError> {
    if stats.table.is_empty() {
        return Ok(());
    }
    client
        .put_metric_data()
        .namespace(NAMESPACE)
        .set_metric_data(Some(stats.metric_data(now_ms)))
        .send()
        .await
        .map_err(|e| aws_error("PutMetricData", e))?;
    Ok(())
}

/// Maps an SDK error to [`CaptureError::Aws`] with capture's one retry rule.
fn aws_error<E>(operation: &'static str, error: SdkError<E>) -> CaptureError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    crate::error::capture_error(operation, &error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value_of(data: &[MetricDatum], name: &str) -> Option<f64> {
        data.iter()
            .find(|d| d.metric_name() == Some(name))
            .and_then(MetricDatum::value)
    }

    #[test]
    fn data_points_carry_table_dimension_units_and_lag() {
        let stats = InvocationStats {
            table: "shop".into(),
            records_captured: 7,
            bytes_written: 4096,
            newest_stamp_ms: Some(1_000_000),
            quarantined: 1,
            failed_batches: 0,
        };
        let data = stats.metric_data(1_002_500);
        assert_eq!(data.len(), 5);
        for d in &data {
            let dims = d.dimensions();
            assert_eq!(dims.len(), 1);
            assert_eq!(dims[0].name(), Some(TABLE_DIMENSION));
            assert_eq!(dims[0].value(), Some("shop"));
            assert_eq!(d.timestamp(), Some(&DateTime::from_millis(1_002_500)));
        }
        assert_eq!(value_of(&data, names::RECORDS_CAPTURED), Some(7.0));
        assert_eq!(value_of(&data, names::BYTES_WRITTEN), Some(4096.0));
        assert_eq!(value_of(&data, names::QUARANTINED_RECORDS), Some(1.0));
        assert_eq!(value_of(&data, names::FAILED_BATCHES), Some(0.0));
        assert_eq!(value_of(&data, names::CAPTURE_LAG_SECONDS), Some(2.5));
        let unit = |name: &str| {
            data.iter()
                .find(|d| d.metric_name() == Some(name))
                .and_then(|d| d.unit().cloned())
        };
        assert_eq!(unit(names::BYTES_WRITTEN), Some(StandardUnit::Bytes));
        assert_eq!(
            unit(names::CAPTURE_LAG_SECONDS),
            Some(StandardUnit::Seconds)
        );
        assert_eq!(unit(names::RECORDS_CAPTURED), Some(StandardUnit::Count));
    }

    #[test]
    fn no_lag_without_records_and_never_negative() {
        let idle = InvocationStats::failed("shop");
        let data = idle.metric_data(5_000);
        assert_eq!(data.len(), 4);
        assert_eq!(value_of(&data, names::FAILED_BATCHES), Some(1.0));
        assert_eq!(value_of(&data, names::CAPTURE_LAG_SECONDS), None);
        let skewed = InvocationStats {
            newest_stamp_ms: Some(10_000),
            ..InvocationStats::default()
        };
        assert_eq!(skewed.capture_lag_seconds(9_000), Some(0.0));
    }
}
