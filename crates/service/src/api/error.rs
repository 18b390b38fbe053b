//! The API's errors: a status and a JSON body saying what is wrong (`{"error": code, "message":
//! ..., and what helps: the restorable window, the nearest points}`). Bad input is a 4xx and
//! creates no job; a failure of the system is a 5xx.

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
