//! The REST API in AWS: API Gateway (REST, proxy integration) invokes this Lambda, which answers
//! with the very router `rewind serve` runs ([`rewind_service::api::router`]), through
//! `lambda_http`. What differs is only who runs the jobs: a Lambda cannot keep working after it
//! has answered, so each accepted job starts a Step Functions execution
//! ([`JobRunner::StepFunctions`]) whose tasks claim and update the same job item.
//!
//! Configuration is the environment the template sets ([`LambdaConfig::from_env`]).

use rewind_service::api::runner::JobRunner;
use rewind_service::api::ApiState;
use rewind_service::jobs::JobCatalog;
pub use rewind_service::lambda_env::ConfigError;
use rewind_service::lambda_env::{optional, required};
use rewind_service::mask_key::MaskKey;
use rewind_service::notify::Notifier;
use std::sync::Arc;

/// What the API Lambda runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LambdaConfig {
    /// `REWIND_STORE`: where the backups live (s3://BUCKET/PREFIX).
    pub store: String,
    /// `REWIND_JOB_TABLE`: the job catalog's DynamoDB table (the template creates it).
    pub job_table: String,
    /// `REWIND_STATE_MACHINE_ARN`: the state machine that runs jobs.
    pub state_machine_arn: String,
    /// `REWIND_SNS_TOPIC`: where job ends are announced (optional).
    pub sns_topic: Option<String>,
    /// The worker id in job items this Lambda touches: `api-lambda@<function name>`.
    pub worker: String,
}

impl LambdaConfig {
    /// Reads the configuration from `var` (the process environment in the binary).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(LambdaConfig {
            store: required(&var, "REWIND_STORE", "the store as s3://BUCKET/PREFIX")?,
            job_table: required(&var, "REWIND_JOB_TABLE", "the job catalog's DynamoDB table")?,
            state_machine_arn: required(
                &var,
                "REWIND_STATE_MACHINE_ARN",
                "the ARN of the state machine that runs backup and restore jobs",
            )?,
            sns_topic: optional(&var, "REWIND_SNS_TOPIC"),
            worker: format!(
                "api-lambda@{}",
                var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|| "local".into())
            ),
        })
    }

    /// [`LambdaConfig::from_vars`] on the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }
}

/// The router's shared state for `config`, with clients from `sdk`.
pub async fn api_state(
    config: &LambdaConfig,
    sdk: &aws_config::SdkConfig,
) -> Result<Arc<ApiState>, ConfigError> {
    let store = rewind_store::open(&config.store).await?;
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    let notifier = match &config.sns_topic {
        Some(topic) => Notifier::sns(aws_sdk_sns::Client::new(sdk), topic),
        None => Notifier::disabled(),
    };
    Ok(Arc::new(ApiState {
        store,
        jobs: JobCatalog::new(dynamodb.clone(), &config.job_table),
        worker: config.worker.clone(),
        dynamodb,
        notifier,
        runner: JobRunner::StepFunctions {
            client: aws_sdk_sfn::Client::new(sdk),
            state_machine_arn: config.state_machine_arn.clone(),
        },
        mask_key: MaskKey::from_env(&aws_sdk_secretsmanager::Client::new(sdk)).await?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn the_environment_names_what_is_missing() {
        let err = LambdaConfig::from_vars(vars(&[("REWIND_STORE", "s3://b/p")])).unwrap_err();
        assert!(
            err.to_string().starts_with("REWIND_JOB_TABLE is not set"),
            "{err}"
        );
        let err = LambdaConfig::from_vars(vars(&[
            ("REWIND_STORE", "s3://b/p"),
            ("REWIND_JOB_TABLE", "jobs"),
            ("REWIND_STATE_MACHINE_ARN", ""),
        ]))
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("REWIND_STATE_MACHINE_ARN is not set"),
            "{err}"
        );
        let config = LambdaConfig::from_vars(vars(&[
            ("REWIND_STORE", "s3://b/p"),
            ("REWIND_JOB_TABLE", "jobs"),
            (
                "REWIND_STATE_MACHINE_ARN",
                "arn:aws:states:us-east-1:1:stateMachine:jobs",
            ),
            ("AWS_LAMBDA_FUNCTION_NAME", "rewind-api"),
        ]))
        .unwrap();
        assert_eq!(config.worker, "api-lambda@rewind-api");
        assert_eq!(config.sns_topic, None);
    }
}
