//! Capture metrics end to end against moto server: Lambda invocations capture into S3 (moto)
//! and publish their metrics with a real aws-sdk-cloudwatch client; ListMetrics and
//! GetMetricStatistics then show them under namespace `Rewind`, dimension `Table`.
//!
//! Needs moto: `scripts/test.sh` starts it and exports `AWS_ENDPOINT_URL`, `AWS_REGION` and dummy
//! credentials. Without it this test fails (it never skips), saying so.

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{DimensionFilter, Statistic};
use rewind_capture::lambda::invoke;
use rewind_capture::lambda_event::StreamEvent;
use rewind_capture::metrics::{names, NAMESPACE, TABLE_DIMENSION};
use rewind_capture::{CaptureOptions, Capturer};
use std::collections::BTreeSet;

const BATCH: &str = include_str!("fixtures/tumbling_batch.json");
const UNCONVERTIBLE: &str = include_str!("fixtures/tumbling_unconvertible.json");
const KEYS_ONLY: &str = include_str!("fixtures/tumbling_keys_only.json");

/// Checks that moto answers (failing, never skipping, when it does not) and loads the SDK
/// configuration from the environment, which points every client at it.
async fn moto_sdk() -> aws_config::SdkConfig {
    rewind_e2e::moto_endpoint();
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
}

/// A fixture event rewritten to name `table` instead of `shop`, so this test's metrics do not
/// mix with any other test's in the shared moto server.
/// The fixture's text with the table renamed: what the Lambda runtime would hand over.
fn event_for(fixture: &str, table: &str) -> String {
    fixture.replace(":table/shop/stream/", &format!(":table/{table}/stream/"))
}

async fn statistic(
    client: &aws_sdk_cloudwatch::Client,
    table: &str,
    metric: &str,
    statistic: Statistic,
    now_ms: i64,
) -> Option<f64> {
    let out = client
        .get_metric_statistics()
        .namespace(NAMESPACE)
        .metric_name(metric)
        .dimensions(
            aws_sdk_cloudwatch::types::Dimension::builder()
                .name(TABLE_DIMENSION)
                .value(table)
                .build(),
        )
        .start_time(DateTime::from_millis(now_ms - 3_600_000))
        .end_time(DateTime::from_millis(now_ms + 3_600_000))
        .period(7200)
        .statistics(statistic.clone())
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "GetMetricStatistics {metric}: {}",
                aws_sdk_cloudwatch::error::DisplayErrorContext(&e)
            )
        });
    let points = out.datapoints();
    if points.is_empty() {
        return None;
    }
    Some(match statistic {
        Statistic::Sum => points.iter().filter_map(|p| p.sum()).sum(),
        Statistic::Maximum => points
            .iter()
            .filter_map(|p| p.maximum())
            .fold(f64::MIN, f64::max),
        other => panic!("statistic {other:?} not used here"),
    })
}

#[tokio::test]
async fn invocations_publish_metrics_that_cloudwatch_returns_by_table() {
    let sdk = moto_sdk().await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&sdk);
    let unique = format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
            % 1_000_000_000
    );
    let bucket = format!("rewind-metrics-{unique}");
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "moto server not reachable: run scripts/test.sh: create_bucket failed: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            )
        });
    let store = rewind_store::open(&format!("s3://{bucket}/backups"))
        .await
        .unwrap();
    let capturer = Capturer::new(store.clone(), CaptureOptions::default());
    let table = format!("shop-metrics-{unique}");
    let now_ms = chrono::Utc::now().timestamp_millis();

    // Three invocations, three PutMetricData calls: 6 records captured; 2 captured and 1
    // quarantined; a KEYS_ONLY batch refused (the invocation fails, FailedBatches 1).
    let clean = invoke(
        &capturer,
        Some(&cloudwatch),
        StreamEvent::parse(&event_for(BATCH, &table)).expect("a stream event"),
        now_ms,
    )
    .await
    .unwrap();
    assert_eq!(clean["batchItemFailures"], serde_json::json!([]));
    invoke(
        &capturer,
        Some(&cloudwatch),
        StreamEvent::parse(&event_for(UNCONVERTIBLE, &table)).expect("a stream event"),
        now_ms,
    )
    .await
    .unwrap();
    let refused = invoke(
        &capturer,
        Some(&cloudwatch),
        StreamEvent::parse(&event_for(KEYS_ONLY, &table)).expect("a stream event"),
        now_ms,
    )
    .await
    .unwrap_err();
    assert!(refused.to_string().contains("KEYS_ONLY"), "{refused}");

    // The capture run really went to S3 on moto.
    let objects = rewind_store::list_all(
        store.as_ref(),
        &rewind_catalog::layout::changes_prefix(&table),
    )
    .await
    .unwrap();
    assert_eq!(
        objects.len(),
        4,
        "two hours of the batch + two runs around the quarantined record"
    );
    let bytes: u64 = objects.iter().map(|o| o.size).sum();

    let listed = cloudwatch
        .list_metrics()
        .namespace(NAMESPACE)
        .dimensions(
            DimensionFilter::builder()
                .name(TABLE_DIMENSION)
                .value(&table)
                .build(),
        )
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "ListMetrics: {}",
                aws_sdk_cloudwatch::error::DisplayErrorContext(&e)
            )
        });
    let found: BTreeSet<&str> = listed
        .metrics()
        .iter()
        .inspect(|m| {
            assert_eq!(m.namespace(), Some(NAMESPACE));
            let dims = m.dimensions();
            assert_eq!(dims.len(), 1, "{m:?}");
            assert_eq!(dims[0].name(), Some(TABLE_DIMENSION));
            assert_eq!(dims[0].value(), Some(table.as_str()));
        })
        .filter_map(|m| m.metric_name())
        .collect();
    let want: BTreeSet<&str> = [
        names::RECORDS_CAPTURED,
        names::BYTES_WRITTEN,
        names::CAPTURE_LAG_SECONDS,
        names::QUARANTINED_RECORDS,
        names::FAILED_BATCHES,
    ]
    .into_iter()
    .collect();
    assert_eq!(found, want);

    let sum = |metric| statistic(&cloudwatch, &table, metric, Statistic::Sum, now_ms);
    assert_eq!(sum(names::RECORDS_CAPTURED).await, Some(8.0));
    assert_eq!(sum(names::QUARANTINED_RECORDS).await, Some(1.0));
    assert_eq!(sum(names::FAILED_BATCHES).await, Some(1.0));
    assert_eq!(sum(names::BYTES_WRITTEN).await, Some(bytes as f64));
    // Lag: now minus the newest captured stamp of each invocation; the larger one is the
    // first batch's (newest record 2026-11-26T07:00:02Z).
    let lag = statistic(
        &cloudwatch,
        &table,
        names::CAPTURE_LAG_SECONDS,
        Statistic::Maximum,
        now_ms,
    )
    .await
    .expect("a lag data point");
    let expected = (now_ms - 1_795_676_402_000).max(0) as f64 / 1000.0;
    assert!(
        (lag - expected).abs() < 0.01,
        "lag {lag}, expected {expected}"
    );

    // A table with no metrics has none (the dimension filter really filters).
    let other = cloudwatch
        .list_metrics()
        .namespace(NAMESPACE)
        .dimensions(
            DimensionFilter::builder()
                .name(TABLE_DIMENSION)
                .value(format!("{table}-none"))
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(other.metrics().is_empty());
}
