//! One rule for every AWS call rewind makes (S3, DynamoDB, DynamoDB Streams, CloudWatch): what
//! the error's code is, whether the service asked us to slow down, and whether the same call may
//! succeed if made again. Three copies of this with drifting code lists made a throttle retried
//! by capture fail a restore; now there is one.

use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

pub use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
/// The SDK's error of any service, its raw response HTTP by default (as every client's is).
pub type SdkError<E, R = HttpResponse> = aws_smithy_runtime_api::client::result::SdkError<E, R>;

/// Codes by which a service says "slow down" (the SDK's standard retry classifier's list, plus
/// DynamoDB's, DynamoDB Streams' and S3's own).
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    // DynamoDB Streams' GetRecords/GetShardIterator and DynamoDB's control plane (too many
    // table operations at once) both answer this.
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// Codes of transient failures that are not throttling: the service failed or timed out.
const TRANSIENT_CODES: &[&str] = &[
    "RequestTimeout",
    "RequestTimeoutException",
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "ServiceUnavailable",
];

/// Whether `code` is one a service uses to say "slow down".
fn is_throttling_code(code: &str) -> bool {
    THROTTLING_CODES.contains(&code)
}

/// What an SDK error means for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsErrorClass {
    /// The service's error code, when it answered with one.
    pub code: Option<String>,
    /// The HTTP status, when there was a response.
    pub status: Option<u16>,
    /// The service asked us to slow down (back off longer, count it as throttling).
    pub throttled: bool,
    /// The same call may succeed later: throttling, 5xx, timeouts, lost connections.
    /// Construction failures, client errors and unknown 4xx codes may not.
    pub retryable: bool,
    /// `code: message` when the service answered, else the SDK's full error chain.
    pub message: String,
}

/// Classifies an SDK error of any AWS service.
pub fn classify<E>(err: &SdkError<E, HttpResponse>) -> AwsErrorClass
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = err.code().map(str::to_string);
    let status = err.raw_response().map(|r| r.status().as_u16());
    let throttled = code.as_deref().is_some_and(is_throttling_code) || status == Some(429);
    let retryable = match err {
        SdkError::ConstructionFailure(_) => false,
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => true,
        // A misconfigured client ("user" dispatch failure) fails the same way every time.
        SdkError::DispatchFailure(f) => f.is_io() || f.is_timeout() || f.is_other(),
        SdkError::ServiceError(_) => {
            throttled
                || code
                    .as_deref()
                    .is_some_and(|c| TRANSIENT_CODES.contains(&c))
                || status.is_some_and(|s| s >= 500)
        }
        _ => false,
    };
    let message = match &code {
        Some(code) => format!("{code}: {}", err.message().unwrap_or("(no message)")),
        None => DisplayErrorContext(err).to_string(),
    };
    AwsErrorClass {
        code,
        status,
        throttled,
        retryable,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    fn service_error(code: &str, status: u16) -> SdkError<BatchWriteItemError, HttpResponse> {
        let meta = ErrorMetadata::builder()
            .code(code)
            .message("told so")
            .build();
        let raw = HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::empty());
        SdkError::service_error(BatchWriteItemError::generic(meta), raw)
    }

    #[test]
    fn throttling_is_retryable_and_named() {
        for code in [
            "ProvisionedThroughputExceededException",
            "LimitExceededException",
            "SlowDown",
            "ThrottlingException",
        ] {
            let class = classify(&service_error(code, 400));
            assert!(class.throttled && class.retryable, "{code}: {class:?}");
            assert_eq!(class.message, format!("{code}: told so"));
        }
    }

    #[test]
    fn server_errors_retry_without_counting_as_throttling() {
        let class = classify(&service_error("InternalServerError", 500));
        assert!(class.retryable && !class.throttled, "{class:?}");
        let class = classify(&service_error("Whatever", 503));
        assert!(class.retryable, "{class:?}");
    }

    #[test]
    fn client_errors_are_final() {
        for code in [
            "ValidationException",
            "ResourceNotFoundException",
            "AccessDenied",
        ] {
            let class = classify(&service_error(code, 400));
            assert!(!class.retryable && !class.throttled, "{code}: {class:?}");
        }
        let class = classify(&service_error("Unknown", 429));
        assert!(
            class.throttled && class.retryable,
            "429 is throttling: {class:?}"
        );
    }

    #[test]
    fn timeouts_retry_construction_failures_do_not() {
        let timeout: SdkError<BatchWriteItemError, HttpResponse> =
            SdkError::timeout_error("read timed out");
        assert!(classify(&timeout).retryable);
        let bad: SdkError<BatchWriteItemError, HttpResponse> =
            SdkError::construction_failure("no region");
        assert!(!classify(&bad).retryable);
    }
}
