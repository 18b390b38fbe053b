//! The logging both Lambda binaries set up: JSON lines, so CloudWatch Logs Insights can filter on
//! fields (table, shard, error).

use tracing_subscriber::EnvFilter;

/// Installs the JSON subscriber. Level: `RUST_LOG`, else Lambda's `AWS_LAMBDA_LOG_LEVEL`, else
/// `info`; a directive that does not parse falls back to `info` rather than failing the cold start.
pub fn init() {
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
}
