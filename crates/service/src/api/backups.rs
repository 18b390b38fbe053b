//! `POST /backups` and `GET /backups/{id}`: a full backup (parallel Scan into a snapshot) as a
//! job. The table need not be in the store yet (a backup may come before capture); it must exist
//! in DynamoDB with a stream whose view type can support restores, checked before any job exists.

use super::error::{unknown_if_too_long, ApiError};
use super::runner::launch_backup;
use super::{accepted, job_of_kind, ApiState};
use crate::jobs::{JobKind, JobRecord, NewJob};
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use rewind_catalog::{check_view_type, CatalogError};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

/// The body of `POST /backups`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupBody {
    /// The DynamoDB table to back up.
    pub table: String,
}

/// `POST /backups`: 202 and the job, or a 4xx saying what is wrong (and no job).
pub async fn create(
    State(state): State<Arc<ApiState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let body: BackupBody = serde_json::from_slice(&body?)
        .map_err(|e| ApiError::bad_request(format!("request body: {e}")))?;
    rewind_catalog::layout::validate_table(&body.table)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let description = match rewind_catalog::describe_table(&state.dynamodb, &body.table).await {
        Ok(d) => d,
        Err(CatalogError::TableNotFound { message, .. }) => {
            return Err(ApiError::not_found(
                "unknown_table",
                format!("DynamoDB has no table {:?} here: {message}", body.table),
            ))
        }
        Err(e) if e.is_retryable() => {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "dynamodb_unavailable",
                e.to_string(),
            ))
        }
        Err(e) => {
            return Err(ApiError::new(
                StatusCode::BAD_GATEWAY,
                "dynamodb",
                e.to_string(),
            ))
        }
    };
    let unusable = |message: String| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "stream_unusable", message)
    };
    if !description.stream.enabled {
        return Err(unusable(format!(
            "table {} has no stream enabled: enable one with view type NEW_AND_OLD_IMAGES, so the changes during and after the scan are captured",
            body.table
        )));
    }
    check_view_type(
        &body.table,
        description.stream.view_type.as_deref().unwrap_or(""),
    )
    .map_err(|e| unusable(e.to_string()))?;

    let job = state
        .jobs
        .create(NewJob {
            kind: JobKind::Backup,
            table: body.table.clone(),
            at: None,
            target: None,
            request: json!({"table": body.table}).to_string(),
        })
        .await?;
    launch_backup(&state, job.job_id.clone(), body.table).await?;
    Ok(accepted(&job, "backups"))
}

/// `GET /backups/{id}`: the job; 404 for an unknown id.
pub async fn status(
    State(state): State<Arc<ApiState>>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<JobRecord>, ApiError> {
    let Path(id) = id?;
    unknown_if_too_long(&id, "backup")?;
    job_of_kind(&state, &id, JobKind::Backup).await
}
