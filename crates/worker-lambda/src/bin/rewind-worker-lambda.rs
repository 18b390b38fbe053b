//! The worker Lambda: one step of a restore state machine per invocation. Thin on purpose: the
//! configuration and the error mapping are [`rewind_worker_lambda`]'s, the steps
//! [`rewind_service::steps`]'.

use lambda_runtime::{service_fn, LambdaEvent};
use rewind_worker_lambda::{handle, step_context, WorkerConfig};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    rewind_aws::lambda_logging::init();
    let config = WorkerConfig::from_vars(|name| std::env::var(name).ok())?;
    rewind_replay::window::set_process_skew_margin_from_env(|name| std::env::var(name).ok())?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let ctx = step_context(&config, &sdk).await?;
    tracing::info!(store = %config.store, jobs = %config.job_table, "rewind worker Lambda ready");
    let ctx = &ctx;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handle(ctx, event.payload).await
    }))
    .await
}
