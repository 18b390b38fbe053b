//! The API Lambda: API Gateway's proxy events in, the `rewind serve` router's answers out.
//! Thin on purpose: configuration and state are [`rewind_api_lambda`]'s, routes are
//! [`rewind_service::api`]'s.

use rewind_api_lambda::{api_state, LambdaConfig};

fn main() -> Result<(), lambda_http::Error> {
    // A REST API's event path has no stage ("/tables/x") but lambda_http puts it back
    // ("/prod/tables/x"), which no route matches. Set before any thread exists.
    if std::env::var_os("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH").is_none() {
        std::env::set_var("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH", "true");
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

async fn run() -> Result<(), lambda_http::Error> {
    rewind_aws::lambda_logging::init();
    let config = LambdaConfig::from_env()?;
    rewind_replay::window::set_process_skew_margin_from_env(|name| std::env::var(name).ok())?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let state = api_state(&config, &sdk).await?;
    tracing::info!(store = %config.store, jobs = %config.job_table, "rewind API Lambda ready");
    lambda_http::run(rewind_service::api::router(state)).await
}
