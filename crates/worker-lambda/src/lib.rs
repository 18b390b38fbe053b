//! The worker Lambda the state machines (restore and full backup) invoke: one step per
//! invocation (its payload the Task's input, its answer the next state's input). The steps are
//! [`rewind_service::steps`]; this crate reads the configuration, builds their context and maps
//! a failed step to a typed Lambda error (`Rewind.Retryable`, `Rewind.InvalidEvent`,
//! `Rewind.Failed`) that the state machine's Retry and Catch match.

use rewind_service::jobs::JobCatalog;
pub use rewind_service::lambda_env::ConfigError;
use rewind_service::lambda_env::{optional, required};
use rewind_service::mask_key::MaskKey;
use rewind_service::notify::Notifier;
use rewind_service::steps::{parse_step, run_step, StepContext, StepError};
use serde_json::Value;

/// What the worker runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerConfig {
    /// `REWIND_STORE`: where the backups live (s3://BUCKET/PREFIX).
    pub store: String,
    /// `REWIND_JOB_TABLE`: the job catalog's DynamoDB table.
    pub job_table: String,
    /// `REWIND_SNS_TOPIC`: where job ends are announced (optional).
    pub sns_topic: Option<String>,
}

impl WorkerConfig {
    /// Reads the configuration from `var` (the process environment in the binary).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(WorkerConfig {
            store: required(&var, "REWIND_STORE", "the store as s3://BUCKET/PREFIX")?,
            job_table: required(&var, "REWIND_JOB_TABLE", "the job catalog's DynamoDB table")?,
            sns_topic: optional(&var, "REWIND_SNS_TOPIC"),
        })
    }
}

/// The steps' context for `config`, with clients from `sdk` (the mask key from
/// `REWIND_MASK_KEY_SECRET` or `REWIND_MASK_KEY`, as the API reads it).
pub async fn step_context(
    config: &WorkerConfig,
    sdk: &aws_config::SdkConfig,
) -> Result<StepContext, ConfigError> {
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    Ok(StepContext {
        store: rewind_store::open(&config.store).await?,
        jobs: JobCatalog::new(dynamodb.clone(), &config.job_table),
        dynamodb,
        notifier: match &config.sns_topic {
            Some(topic) => Notifier::sns(aws_sdk_sns::Client::new(sdk), topic),
            None => Notifier::disabled(),
        },
        mask_key: MaskKey::from_env(&aws_sdk_secretsmanager::Client::new(sdk)).await?,
    })
}

/// One invocation: the step the payload names, run; a failure as the typed Lambda error.
pub async fn handle(
    ctx: &StepContext,
    payload: Value,
) -> Result<Value, lambda_runtime::Diagnostic> {
    let result = match parse_step(&payload) {
        Ok(step) => run_step(ctx, step).await,
        Err(e) => Err(e),
    };
    result.map_err(|e: StepError| {
        tracing::warn!(error_type = e.error_type(), error = %e, "step failed");
        lambda_runtime::Diagnostic {
            error_type: e.error_type().into(),
            error_message: e.to_string(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_names_what_is_missing() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let err = WorkerConfig::from_vars(vars(&[("REWIND_STORE", "s3://b/p")])).unwrap_err();
        assert!(
            err.to_string().starts_with("REWIND_JOB_TABLE is not set"),
            "{err}"
        );
        let config = WorkerConfig::from_vars(vars(&[
            ("REWIND_STORE", "s3://b/p"),
            ("REWIND_JOB_TABLE", "jobs"),
            ("REWIND_SNS_TOPIC", ""),
        ]))
        .unwrap();
        assert_eq!(config.sns_topic, None, "an empty topic is no topic");
    }
}
