//! The stream-consumer Lambda: DynamoDB stream batches into the change log.
//!
//! Thin on purpose: clients are built once per execution environment, then every invocation
//! goes to [`rewind_capture::lambda::invoke`] (capture + one PutMetricData call), except a
//! scheduled `{"action": "probe", "table": T}`, which probes idle shards. Settings and
//! the event source mapping it needs are in docs/OPERATIONS.md.

use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use rewind_capture::lambda_event::Invocation;
use rewind_capture::{lambda, CaptureOptions, Capturer};
use serde_json::value::RawValue;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    rewind_aws::lambda_logging::init();

    let url = std::env::var("REWIND_STORE")
        .map_err(|_| "REWIND_STORE is not set: give the store as s3://BUCKET/PREFIX")?;
    let store = rewind_store::open(&url).await?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&sdk);
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let streams = aws_sdk_dynamodbstreams::Client::new(&sdk);
    // The table description (for restores) is re-read at most every five minutes per table.
    let capturer = Capturer::new(store, CaptureOptions::default())
        .with_describer(dynamodb.clone(), std::time::Duration::from_secs(300));
    tracing::info!(store = %url, "rewind capture Lambda ready");

    let (capturer, cloudwatch, dynamodb, streams) = (&capturer, &cloudwatch, &dynamodb, &streams);
    // The payload stays text: records are converted from it without building a JSON tree.
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Box<RawValue>>| async move {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let stream = match Invocation::parse(event.payload.get()).map_err(Diagnostic::from)? {
            Invocation::Stream(stream) => stream,
            Invocation::Probe { table } => {
            let report = rewind_capture::poller::probe_stale_shards(
                capturer.store().as_ref(),
                dynamodb,
                streams,
                &table,
                rewind_capture::poller::STALE_AFTER_MS,
                now_ms,
            )
            .await
            .map_err(Diagnostic::from)?;
            tracing::info!(table = %table, advanced = ?report.advanced, behind = ?report.behind, "idle shards probed");
            return Ok(serde_json::to_value(report).expect("reports serialise"));
            }
        };
        lambda::invoke(capturer, Some(cloudwatch), stream, now_ms)
            .await
            .map_err(Diagnostic::from)
    }))
    .await
}
