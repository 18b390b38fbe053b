//! The API's errors: a status and a JSON body saying what is wrong (`{"error": code, "message":
//! ..., and what helps: the restorable window, the nearest points}`). Bad input is a 4xx and
//! creates no job; a failure of the system is a 5xx.

use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use rewind_replay::ReplayError;
use serde_json::{json, Value};

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable code a client can match (`unknown_table`, `outside_window`, ...).
    pub code: &'static str,
    /// What is wrong, for a person.
    pub message: String,
    /// What helps (the window, the nearest points), merged into the body.
    pub details: Value,
}

impl ApiError {
    /// An error without details.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: Value::Null,
        }
    }

    /// 400: a request that cannot be read.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// 404: no such table or job.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, code, message)
    }

    /// What axum refused before a handler ran (a path segment that is not UTF-8, a body over
    /// the size limit), with axum's status and text, in the API's JSON shape.
    fn rejection(status: StatusCode, text: String) -> Self {
        let code = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "too_large",
            s if s.is_client_error() => "bad_request",
            _ => "internal",
        };
        ApiError::new(status, code, text)
    }
}

/// The longest job id the catalog can hold: DynamoDB's partition key limit, 2048 bytes. A longer
/// id is no job (404); asking DynamoDB would be a ValidationException, a 500.
pub const MAX_JOB_ID_BYTES: usize = 2048;

/// 404 for an id longer than [`MAX_JOB_ID_BYTES`], before the catalog is asked.
pub fn unknown_if_too_long(id: &str, kind: &str) -> Result<(), ApiError> {
    if id.len() > MAX_JOB_ID_BYTES {
        return Err(ApiError::not_found(
            "unknown_job",
            format!(
                "no {kind} job has an id of {} bytes (job ids are at most {MAX_JOB_ID_BYTES})",
                id.len()
            ),
        ));
    }
    Ok(())
}

impl From<PathRejection> for ApiError {
    fn from(e: PathRejection) -> Self {
        ApiError::rejection(e.status(), e.body_text())
    }
}

impl From<BytesRejection> for ApiError {
    fn from(e: BytesRejection) -> Self {
        ApiError::rejection(e.status(), e.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({"error": self.code, "message": self.message});
        if let (Some(body), Value::Object(details)) = (body.as_object_mut(), self.details) {
            body.extend(details);
        }
        (self.status, Json(body)).into_response()
    }
}

impl From<ReplayError> for ApiError {
    fn from(e: ReplayError) -> Self {
        let message = e.to_string();
        match e {
            ReplayError::OutsideWindow {
                window,
                nearest_before,
                nearest_after,
                ..
            } => ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: "outside_window",
                message,
                details: json!({
                    "window": window.iter().map(|i| json!({
                        "start": rewind_replay::at::format_second(i.start),
                        "end": rewind_replay::at::format_second(i.end),
                    })).collect::<Vec<_>>(),
                    "nearest_before": nearest_before.map(rewind_replay::at::format_second),
                    "nearest_after": nearest_after.map(rewind_replay::at::format_second),
                }),
            },
            ReplayError::NothingRestorable { .. } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "nothing_restorable",
                message,
            ),
            ReplayError::Quarantined { .. } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "quarantined", message)
            }
            ReplayError::TargetExists { .. } => {
                ApiError::new(StatusCode::CONFLICT, "target_exists", message)
            }
            ReplayError::BadTarget { .. } => {
                ApiError::new(StatusCode::BAD_REQUEST, "bad_target", message)
            }
            ReplayError::BadArgument { .. } => ApiError::bad_request(message),
            e if e.is_bad_input() => ApiError::bad_request(message),
            ReplayError::Store(s) if s.is_retryable() => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                message,
            ),
            ReplayError::Aws {
                retryable: true, ..
            } => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "dynamodb_unavailable",
                message,
            ),
            _ => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message),
        }
    }
}

impl From<crate::jobs::JobError> for ApiError {
    fn from(e: crate::jobs::JobError) -> Self {
        let status = if e.is_retryable() {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::INTERNAL_SERVER_ERROR
        };
        ApiError::new(status, "job_catalog", e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_no_job_can_have_is_unknown_before_dynamodb_is_asked() {
        assert!(unknown_if_too_long(&"r".repeat(MAX_JOB_ID_BYTES), "restore").is_ok());
        let e = unknown_if_too_long(&"é".repeat(MAX_JOB_ID_BYTES / 2 + 1), "restore").unwrap_err();
        assert_eq!((e.status, e.code), (StatusCode::NOT_FOUND, "unknown_job"));
    }

    #[test]
    fn dynamodb_failures_that_may_pass_on_retry_are_503_the_others_500() {
        let aws = |retryable| ReplayError::Aws {
            operation: "DescribeTable",
            target: "dynamodb://t".into(),
            message: "throttled".into(),
            retryable,
        };
        let e = ApiError::from(aws(true));
        assert_eq!(
            (e.status, e.code),
            (StatusCode::SERVICE_UNAVAILABLE, "dynamodb_unavailable")
        );
        assert_eq!(
            ApiError::from(aws(false)).status,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    #[test]
    fn rejections_keep_their_status_in_the_json_shape() {
        let e = ApiError::rejection(StatusCode::PAYLOAD_TOO_LARGE, "too big".into());
        assert_eq!(e.code, "too_large");
        assert_eq!(
            ApiError::rejection(StatusCode::BAD_REQUEST, "x".into()).code,
            "bad_request"
        );
    }
}
