//! `POST /restores` and `GET /restores/{id}`.
//!
//! A POST is checked before any job exists: the table is backed up here, the point parses and
//! is inside the restorable window, the target URL and the copy options are valid, and the
//! target does not exist (unless `into_existing`). Only then is a job created (202 with its id)
//! and run by this server; its progress, report or error are read back with the GET.
//!
//! Over the API, a key filter names its keys inline (`prefix:TEXT` or JSON): `file:PATH` would
//! read any file the server can, so it is refused. A target that cannot be used for a reason
//! other than a retryable failure (an S3 bucket that does not exist, access denied) is refused
//! with 422 `target_unusable`.

use super::error::{unknown_if_too_long, ApiError};
use super::runner::{launch_restore, RestoreJob};
use super::tables::known_table;
use super::{accepted, job_of_kind, ApiState};
use crate::jobs::{JobKind, JobRecord, NewJob};
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use rewind_replay::copy_spec::CopySpec;
use rewind_replay::plan::{plan_restore, PlanOptions};
use rewind_replay::restore::RestoreRequest;
use rewind_replay::target::{open_target, PrepareContext, TargetUrl, WriteMode};
use rewind_replay::{AtSpec, ReplayError};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

/// The body of `POST /restores`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestoreBody {
    /// The source table.
    pub table: String,
    /// The point: RFC 3339 (whole seconds) or `latest`.
    pub at: String,
    /// The target: `dynamodb://TABLE[?region=R]`, `file://DIR` or `s3://BUCKET/PREFIX`.
    pub to: String,
    /// Make an existing target equal to the state (only the filtered keys, with a filter).
    #[serde(default)]
    pub into_existing: bool,
    /// Do not enable TTL on the restored table.
    #[serde(default)]
    pub no_ttl: bool,
    /// Keys to copy (as `--key-filter`).
    #[serde(default)]
    pub key_filter: Option<String>,
    /// Attribute masks (as `--mask`), the HMAC key from the server's environment.
    #[serde(default)]
    pub mask: Vec<String>,
    /// Plan and count without writing.
    #[serde(default)]
    pub dry_run: bool,
}

impl RestoreBody {
    /// The restore the body asks for and its target, each option parsed as the CLI parses it;
    /// a bad one is a 400 naming it. The HMAC key of masks is the server's (`hmac_key`). Used
    /// when the job is posted and again by the Step Functions tasks that run it.
    pub fn to_request(
        &self,
        hmac_key: Option<Vec<u8>>,
    ) -> Result<(RestoreRequest, TargetUrl), ApiError> {
        let at: AtSpec = self
            .at
            .parse()
            .map_err(|e| ApiError::bad_request(format!("at: {e}")))?;
        let url: TargetUrl = self.to.parse().map_err(ApiError::from)?;
        if let Some(path) = self
            .key_filter
            .as_deref()
            .and_then(|f| f.strip_prefix("file:"))
        {
            return Err(ApiError::bad_request(format!(
                "key_filter \"file:{path}\": the API does not read the server's files; send the keys inline (a DynamoDB JSON key or an array of keys) or prefix:TEXT"
            )));
        }
        let copy =
            CopySpec::from_options_with_key(self.key_filter.as_deref(), &self.mask, hmac_key)?;
        let request = RestoreRequest {
            table: self.table.clone(),
            at,
            into_existing: self.into_existing,
            no_ttl: self.no_ttl,
            plan: PlanOptions::default(),
            reconstruct: Default::default(),
            copy,
        };
        Ok((request, url))
    }
}

/// `POST /restores`: 202 and the job, or a 4xx saying what is wrong (and no job).
pub async fn create(
    State(state): State<Arc<ApiState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let body: RestoreBody = serde_json::from_slice(&body?)
        .map_err(|e| ApiError::bad_request(format!("request body: {e}")))?;
    known_table(&state, &body.table).await?;
    let (request, url) = body.to_request(state.mask_key.bytes())?;
    let (at, copy) = (request.at, &request.copy);

    // What the job would refuse, refused now: the window, the copy options, the target.
    let catalog = rewind_catalog::load_catalog(state.store.as_ref(), &body.table, at.second())
        .await
        .map_err(ReplayError::from)?;
    let plan = plan_restore(&catalog, at, &PlanOptions::default())?;
    let scope = copy.resolve(plan.description.as_ref(), &plan.key_names)?;
    if !body.dry_run {
        let target = open_target(&url).await.map_err(target_error)?;
        target
            .precheck(&PrepareContext {
                description: plan.description.clone(),
                key_names: plan.key_names.clone(),
                mode: if body.into_existing {
                    WriteMode::Reconcile
                } else {
                    WriteMode::Fresh
                },
                buckets: plan.buckets,
                scope,
            })
            .await
            .map_err(target_error)?;
    }

    let job = state
        .jobs
        .create(NewJob {
            kind: JobKind::Restore,
            table: body.table.clone(),
            at: Some(body.at.clone()),
            target: Some(url.to_string()),
            request: serde_json::to_string(&json!({
                "table": body.table, "at": body.at, "to": body.to,
                "into_existing": body.into_existing, "no_ttl": body.no_ttl,
                "key_filter": body.key_filter, "mask": body.mask, "dry_run": body.dry_run,
            }))
            .expect("JSON"),
        })
        .await?;
    launch_restore(
        &state,
        RestoreJob {
            job_id: job.job_id.clone(),
            request,
            target: url,
            dry_run: body.dry_run,
        },
    )
    .await?;
    Ok(accepted(&job, "restores"))
}

/// What checking the target answered, as the API's error: bad input (it exists, a bad URL) and
/// retryable failures as everywhere; any other failure is the target the request names being
/// unusable (a bucket that does not exist, access denied), not the service failing.
fn target_error(e: ReplayError) -> ApiError {
    let retryable = match &e {
        ReplayError::Aws { retryable, .. } => *retryable,
        ReplayError::Store(s) => s.is_retryable(),
        _ => false,
    };
    if e.is_bad_input() || retryable {
        return e.into();
    }
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "target_unusable",
        format!("the target cannot be used: {e}"),
    )
}

/// `GET /restores/{id}`: the job as the catalog holds it; 404 for an unknown id.
pub async fn status(
    State(state): State<Arc<ApiState>>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<JobRecord>, ApiError> {
    let Path(id) = id?;
    unknown_if_too_long(&id, "restore")?;
    job_of_kind(&state, &id, JobKind::Restore).await
}
