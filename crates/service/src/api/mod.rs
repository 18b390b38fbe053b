//! The REST API: one axum router for `rewind serve` (and, next, the API Lambda).
//!
//! - `GET /tables`, `GET /tables/{table}`: each table's restorable window, watermark, lag and
//!   snapshots; `GET /tables/{table}/items?key=..[&at=..]`: an item's history, or its value at a
//!   second ([`tables`]).
//! - `POST /backups` → 202 and a job id (a full backup by parallel Scan); `GET /backups/{id}`
//!   ([`backups`]).
//! - `POST /restores` → 202 and a job id; `GET /restores/{id}`: status, progress, report or
//!   error ([`restores`]). A request that cannot succeed (unknown table, a point outside the
//!   window, a bad target or copy option, a target that exists) is answered 4xx with what is
//!   wrong, and no job is created.
//! - `GET /openapi.json`: this API's OpenAPI document, kept in `crates/service/openapi.json`
//!   ([`openapi`]).
//!
//! Jobs live in the job catalog, so a client polls the catalog, not a server's memory. Who runs
//! them is the state's [`runner::JobRunner`]: tasks of `rewind serve`, or one Step Functions
//! execution per job behind the API Lambda.

pub mod backups;
pub mod error;
pub mod openapi;
pub mod restores;
pub mod runner;
pub mod tables;

use crate::jobs::{JobCatalog, JobKind, JobRecord};
use crate::mask_key::MaskKey;
use crate::notify::Notifier;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Json;
use axum::Router;
use error::ApiError;
use rewind_store::Store;
use runner::JobRunner;
use serde_json::{json, Value};
use std::sync::Arc;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct ApiState {
    /// The backup store.
    pub store: Store,
    /// The job catalog.
    pub jobs: JobCatalog,
    /// This server's worker id (jobs it claims carry it; its restart marks them resumable).
    pub worker: String,
    /// DynamoDB, for the tables full backups scan.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// Where a job's end is announced.
    pub notifier: Notifier,
    /// Who runs accepted jobs.
    pub runner: JobRunner,
    /// The HMAC key of masked copies (`hmac` masks are refused without one).
    pub mask_key: MaskKey,
}

/// The router, with `state` shared by every handler.
pub fn router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route("/tables", get(tables::list))
        .route("/tables/{table}", get(tables::one))
        .route("/tables/{table}/items", get(tables::item))
        .route("/restores", post(restores::create))
        .route("/restores/{id}", get(restores::status))
        .route("/backups", post(backups::create))
        .route("/backups/{id}", get(backups::status))
        .route("/openapi.json", get(openapi::document))
        .with_state(state)
}

/// The answer to an accepted job: 202, its id, status and where to poll it.
pub fn accepted(job: &JobRecord, collection: &str) -> (StatusCode, Json<Value>) {
    let location = format!("/{collection}/{}", job.job_id);
    (
        StatusCode::ACCEPTED,
        Json(json!({"job_id": job.job_id, "status": job.status, "location": location})),
    )
}

/// The job `id` if it is of `kind`; 404 otherwise (a restore's id is no backup job).
pub async fn job_of_kind(
    state: &ApiState,
    id: &str,
    kind: JobKind,
) -> Result<Json<JobRecord>, ApiError> {
    match state.jobs.get(id).await? {
        Some(job) if job.kind == kind => Ok(Json(job)),
        _ => Err(ApiError::not_found(
            "unknown_job",
            format!(
                "no {} job {id:?}",
                serde_json::to_value(kind)
                    .expect("kinds serialise")
                    .as_str()
                    .unwrap_or("such")
            ),
        )),
    }
}
