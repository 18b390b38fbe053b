//! What rewind knows about talking to AWS, kept in one place so the crates that call AWS agree:
//! which errors are worth retrying and which mean "slow down" ([`classify`]), the CloudWatch
//! names both Lambdas publish under ([`metric_names`]), and the Lambdas' JSON logging
//! (`lambda_logging`, behind the `lambda` feature so a restore host does not link it).

mod error_class;
#[cfg(feature = "lambda")]
pub mod lambda_logging;
pub mod metric_names;

pub use error_class::{classify, AwsErrorClass, HttpResponse, SdkError};
