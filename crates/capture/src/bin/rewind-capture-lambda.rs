//! The stream-consumer Lambda: DynamoDB stream batches into the change log.
//!
//! Thin on purpose: clients are built once per execution environment, then every invocation
//! goes to [`rewind_capture::lambda::invoke`] (capture + one PutMetricData call). Settings and
//! the event source mapping it needs are in docs/OPERATIONS.md.

use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use rewind_capture::{lambda, CaptureError, CaptureOptions, Capturer};
use serde_json::Value;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    // JSON lines, so CloudWatch Logs Insights can filter on fields (table, shard, error).
    // Level: RUST_LOG, else Lambda's AWS_LAMBDA_LOG_LEVEL, else info.
    let directives = ["RUST_LOG", "AWS_LAMBDA_LOG_LEVEL"]
        .into_iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "info".to_string());
    let filter = EnvFilter::try_new(directives).unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .init();

    let url = std::env::var("REWIND_STORE")
        .map_err(|_| "REWIND_STORE is not set: give the store as s3://BUCKET/PREFIX")?;
    let store = rewind_store::open(&url).await?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&sdk);
    // The table description (for restores) is re-read at most every five minutes per table.
    let capturer = Capturer::new(store, CaptureOptions::default()).with_describer(
        aws_sdk_dynamodb::Client::new(&sdk),
        std::time::Duration::from_secs(300),
    );
    tracing::info!(store = %url, "rewind capture Lambda ready");

    let (capturer, cloudwatch) = (&capturer, &cloudwatch);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let now_ms = chrono::Utc::now().timestamp_millis();
        lambda::invoke(capturer, Some(cloudwatch), event.payload, now_ms)
            .await
            .map_err(diagnostic)
    }))
    .await
}

/// An error the Lambda console and the on-failure record can tell apart by type.
fn diagnostic(error: CaptureError) -> Diagnostic {
    let error_type = match &error {
        CaptureError::Input(_) => "Rewind.InvalidEvent",
        CaptureError::ViewType { .. } => "Rewind.UnsupportedStreamViewType",
        CaptureError::Store(rewind_store::StoreError::ForeignTable { .. }) => "Rewind.ForeignTable",
        CaptureError::Store(_) => "Rewind.StoreError",
        CaptureError::Encode { .. } => "Rewind.EncodeError",
        CaptureError::Aws { .. } => "Rewind.AwsError",
        #[allow(unreachable_patterns)] // variants added later still get a type
        _ => "Rewind.CaptureError",
    };
    Diagnostic {
        error_type: error_type.into(),
        error_message: error.to_string(),
    }
}
