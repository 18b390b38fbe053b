//! The scheduled compactor Lambda: an EventBridge schedule invokes it with `{"table": "<name>"}`;
//! each invocation merges finished hours and cuts a snapshot at the watermark. Events with an
//! `action` are the steps of a Step Functions fan-out over buckets. Thin on purpose: everything
//! is in [`rewind_compactor::lambda::invoke`]. The store comes from `REWIND_STORE`; the retention
//! policy from `REWIND_KEEP_*_DAYS` (docs/OPERATIONS.md).

use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    rewind_aws::lambda_logging::init();
    let url = std::env::var("REWIND_STORE")
        .map_err(|_| "REWIND_STORE is not set: give the store as s3://BUCKET/PREFIX")?;
    let store = rewind_store::open(&url).await?;
    rewind_replay::window::set_process_skew_margin_from_env(|name| std::env::var(name).ok())?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&sdk);
    let clients = rewind_compactor::lambda::Clients {
        cloudwatch: Some(&cloudwatch),
    };
    tracing::info!(store = %url, "rewind compactor Lambda ready");
    let store = &store;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let now_ms = chrono::Utc::now().timestamp_millis();
        rewind_compactor::lambda::invoke(store, clients, event.payload, now_ms)
            .await
            .map_err(Diagnostic::from)
    }))
    .await
}
