//! The scheduled compactor Lambda: an EventBridge schedule invokes it with `{"table": "<name>"}`;
//! each invocation merges finished hours and cuts a snapshot at the watermark
//! ([`rewind_compactor::lambda::handle`]). Events with an `action` are the steps of a Step
//! Functions fan-out over buckets ([`rewind_compactor::lambda::handle_step`]). The store comes
//! from `REWIND_STORE`.

use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use rewind_compactor::CompactorError;
use serde_json::Value;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let directives = ["RUST_LOG", "AWS_LAMBDA_LOG_LEVEL"]
        .into_iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "info".to_string());
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(EnvFilter::try_new(directives).unwrap_or_else(|_| EnvFilter::new("info")))
        .with_current_span(false)
        .init();
    let url = std::env::var("REWIND_STORE")
        .map_err(|_| "REWIND_STORE is not set: give the store as s3://BUCKET/PREFIX")?;
    let store = rewind_store::open(&url).await?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&sdk);
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let streams = aws_sdk_dynamodbstreams::Client::new(&sdk);
    let clients = rewind_compactor::lambda::Clients {
        cloudwatch: Some(&cloudwatch),
        dynamodb: Some(&dynamodb),
        streams: Some(&streams),
    };
    let store = &store;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let now_ms = chrono::Utc::now().timestamp_millis();
        if event.payload.get("action").is_some() {
            // A step of a Step Functions fan-out (plan, one bucket, commit).
            rewind_compactor::lambda::handle_step(store, event.payload)
                .await
                .map_err(diagnostic)
        } else {
            rewind_compactor::lambda::handle(store, clients, event.payload, now_ms)
                .await
                .map(|report| serde_json::to_value(report).expect("reports serialise"))
                .map_err(diagnostic)
        }
    }))
    .await
}

fn diagnostic(error: CompactorError) -> Diagnostic {
    let error_type = match &error {
        CompactorError::Invalid { .. } => "Rewind.InvalidEvent",
        CompactorError::Store(_) => "Rewind.StoreError",
        CompactorError::Replay(_) => "Rewind.ReplayError",
        _ => "Rewind.CompactorError",
    };
    Diagnostic {
        error_type: error_type.into(),
        error_message: error.to_string(),
    }
}
