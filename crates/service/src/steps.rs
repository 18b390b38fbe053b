//! The steps of the restore and backup state machines (deploy/statemachines/), run by the
//! worker Lambda: each is one invocation whose input is the Task's payload and whose answer is
//! the next state's input. The job item in the catalog is the thread through them: its stored
//! request says what to restore, every step of one job's execution acts as the same worker
//! (`sfn:<job id>`), and the last step (or the failure path) ends it and announces the end.
//!
//! ```text
//! restore_plan ─┬─ fan_out: Map(restore_bucket per bucket) ─ restore_commit ─ restore_verify
//!               └─ otherwise: restore_whole (into an existing table, dry runs)
//! backup_plan ── Map(backup_segment per segment) ── Map(backup_bucket per bucket) ── backup_commit
//! any failure ── job_failed ── Fail
//! ```
//!
//! A scheduled backup (an EventBridge rule) has no job yet: `backup_plan` without `job_id`
//! creates one for its `table`.

use crate::api::restores::RestoreBody;
use crate::jobs::{Claim, JobCatalog, JobError, JobKind, JobRecord, JobStatus, NewJob};
use crate::mask_key::MaskKey;
use crate::notify::{Notification, Notifier};
use rewind_compactor::backup_fanout::{
    backup_bucket, backup_segment, commit_backup, load_backup_run, plan_backup,
};
use rewind_compactor::fanout::BucketResult;
use rewind_compactor::{CompactorError, DynamoDbSource, TableSource};
use rewind_replay::dry_run::dry_run;
use rewind_replay::fanout::{commit_fanout, plan_fanout, restore_bucket};
use rewind_replay::journal::{Journal, JournalRef};
use rewind_replay::restore::{restore, RestoreProgress, RestoreRequest};
use rewind_replay::target::{open_target, RestoreTarget, TargetUrl};
use rewind_replay::verify::verify;
use rewind_replay::{AtSpec, ReplayError};
use rewind_store::Store;
use serde::Deserialize;
use serde_json::{json, Value};

/// One step's input (the Task's payload), by its `action`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Claim the job, plan (or resume) its restore, prepare the target; answers the buckets.
    RestorePlan {
        /// The job.
        job_id: String,
    },
    /// Write one bucket.
    RestoreBucket {
        /// The job.
        job_id: String,
        /// The bucket (an item of the plan's `buckets`).
        bucket: u32,
    },
    /// Finish the target once every bucket is written.
    RestoreCommit {
        /// The job.
        job_id: String,
    },
    /// Verify the target against the state, then end the job and announce it.
    RestoreVerify {
        /// The job.
        job_id: String,
    },
    /// The whole restore (or dry run) in this one step, verified, and the job ended.
    RestoreWhole {
        /// The job.
        job_id: String,
    },
    /// Claim the backup job (or create one for `table`, for a scheduled backup), describe the
    /// table and plan the scan; answers the run, its segments and buckets.
    BackupPlan {
        /// The job, when the API created it.
        #[serde(default)]
        job_id: Option<String>,
        /// The table, for a scheduled backup without a job.
        #[serde(default)]
        table: Option<String>,
    },
    /// Scan one segment into staged parts.
    BackupSegment {
        /// The job.
        job_id: String,
        /// The run, from the plan.
        run_id: String,
        /// The segment.
        segment: u32,
    },
    /// Write one snapshot bucket from every segment's parts.
    BackupBucket {
        /// The job.
        job_id: String,
        /// The run.
        run_id: String,
        /// The bucket.
        bucket: u32,
    },
    /// Commit the snapshot from the buckets' results, end the job and announce it.
    BackupCommit {
        /// The job.
        job_id: String,
        /// The run.
        run_id: String,
        /// The bucket Map's results.
        results: Vec<BucketResult>,
    },
    /// The execution failed: end the job as failed (resumable) with the error, and announce it.
    JobFailed {
        /// The job.
        job_id: String,
        /// What the Catch caught: `{"Error": ..., "Cause": ...}`.
        error: Value,
    },
}

/// Why a step failed; its [`StepError::error_type`] is what the state machine's Retry and
/// Catch match.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// Throttling, timeouts, 5xx: the same step may succeed when retried.
    #[error("{0}")]
    Retryable(String),
    /// The input is not a step of this machine, or names no such job.
    #[error("{0}")]
    Invalid(String),
    /// The work failed in a way a retry does not fix (a refused plan, a broken history, a
    /// verification that found differences).
    #[error("{0}")]
    Failed(String),
}

impl StepError {
    /// The Lambda `errorType`: `Rewind.Retryable`, `Rewind.InvalidEvent` or `Rewind.Failed`.
    pub fn error_type(&self) -> &'static str {
        match self {
            StepError::Retryable(_) => "Rewind.Retryable",
            StepError::Invalid(_) => "Rewind.InvalidEvent",
            StepError::Failed(_) => "Rewind.Failed",
        }
    }
}

impl StepError {
    fn classified(retryable: bool, message: String) -> Self {
        if retryable {
            StepError::Retryable(message)
        } else {
            StepError::Failed(message)
        }
    }
}

/// Whether a replay failure may go away when the step is retried.
fn replay_retryable(e: &ReplayError) -> bool {
    match e {
        ReplayError::Store(s) => s.is_retryable(),
        ReplayError::Aws { retryable, .. } => *retryable,
        _ => false,
    }
}

impl From<ReplayError> for StepError {
    fn from(e: ReplayError) -> Self {
        StepError::classified(replay_retryable(&e), e.to_string())
    }
}

impl From<CompactorError> for StepError {
    fn from(e: CompactorError) -> Self {
        let retryable = match &e {
            CompactorError::Store(s) => s.is_retryable(),
            CompactorError::Catalog(c) => c.is_retryable(),
            CompactorError::Replay(r) => replay_retryable(r),
            // DescribeTable and Scan: throttling and service errors are worth retrying.
            CompactorError::Aws { message, .. } => [
                "Throttl",
                "ProvisionedThroughputExceeded",
                "RequestLimitExceeded",
                "InternalServerError",
                "ServiceUnavailable",
            ]
            .iter()
            .any(|code| message.contains(code)),
            _ => false,
        };
        StepError::classified(retryable, e.to_string())
    }
}

impl From<JobError> for StepError {
    fn from(e: JobError) -> Self {
        StepError::classified(e.is_retryable(), e.to_string())
    }
}

/// What the steps work with.
#[derive(Debug, Clone)]
pub struct StepContext {
    /// The backup store.
    pub store: Store,
    /// The job catalog.
    pub jobs: JobCatalog,
    /// Where job ends are announced.
    pub notifier: Notifier,
    /// The HMAC key of masked copies.
    pub mask_key: MaskKey,
    /// DynamoDB, for the tables a backup scans.
    pub dynamodb: aws_sdk_dynamodb::Client,
}

/// Parses a step's payload.
pub fn parse_step(payload: &Value) -> Result<Step, StepError> {
    serde_json::from_value(payload.clone()).map_err(|e| {
        let shown: String = payload.to_string().chars().take(200).collect();
        StepError::Invalid(format!(
            "not a step of the restore or backup state machine ({e}): {shown}"
        ))
    })
}

/// Runs one step; the answer is the Lambda's payload.
pub async fn run_step(ctx: &StepContext, step: Step) -> Result<Value, StepError> {
    match step {
        Step::RestorePlan { job_id } => {
            let job = claimed(ctx, &job_id).await?;
            let (body, request, url) = restore_of(ctx, &job)?;
            if body.dry_run {
                return Ok(
                    json!({"job_id": job_id, "table": job.table, "target": url.to_string(),
                    "at": body.at, "buckets": [], "fan_out": false}),
                );
            }
            let target = open_target(&url).await?;
            let plan = plan_fanout(&ctx.store, target.as_ref(), &request).await?;
            let mut answer = serde_json::to_value(&plan).expect("plans serialise");
            answer["job_id"] = json!(job_id);
            Ok(answer)
        }
        Step::RestoreBucket { job_id, bucket } => {
            let job = running(ctx, &job_id).await?;
            let (_, request, url) = restore_of(ctx, &job)?;
            let target = open_target(&url).await?;
            let written = restore_bucket(&ctx.store, target.as_ref(), &request, bucket).await?;
            Ok(
                json!({"bucket": bucket, "items_written": written.items_written,
                "bytes_written": written.bytes_written}),
            )
        }
        Step::RestoreCommit { job_id } => {
            let job = running(ctx, &job_id).await?;
            let (_, request, url) = restore_of(ctx, &job)?;
            let target = open_target(&url).await?;
            let totals = commit_fanout(&ctx.store, target.as_ref(), &request).await?;
            Ok(json!({"job_id": job_id, "items": totals.items_written + totals.unchanged}))
        }
        Step::RestoreVerify { job_id } => {
            let job = running(ctx, &job_id).await?;
            let (_, request, url) = restore_of(ctx, &job)?;
            let target = open_target(&url).await?;
            let at = resolved_point(&ctx.store, target.as_ref(), &request).await?;
            let report = json!({"at": rewind_replay::at::format_second(at)});
            verified_end(ctx, &job_id, &request, target.as_ref(), at, report).await
        }
        Step::RestoreWhole { job_id } => {
            let job = claimed(ctx, &job_id).await?;
            let (body, request, url) = restore_of(ctx, &job)?;
            if body.dry_run {
                let report = dry_run(&ctx.store, &request).await?;
                let report = serde_json::to_string(&report).expect("reports serialise");
                end(ctx, &job_id, Ok(report)).await?;
                return Ok(json!({"job_id": job_id, "status": "succeeded", "verified": false}));
            }
            let target = open_target(&url).await?;
            let report = restore(
                &ctx.store,
                target.as_ref(),
                &request,
                &RestoreProgress::default(),
            )
            .await?;
            let at = resolved_point(&ctx.store, target.as_ref(), &request).await?;
            let report = serde_json::to_value(&report).expect("reports serialise");
            verified_end(ctx, &job_id, &request, target.as_ref(), at, report).await
        }
        Step::BackupPlan { job_id, table } => {
            let job = match (job_id, table) {
                (Some(id), _) => claimed(ctx, &id).await?,
                (None, Some(table)) => {
                    let job = ctx
                        .jobs
                        .create(NewJob {
                            kind: JobKind::Backup,
                            table: table.clone(),
                            at: None,
                            target: None,
                            request: json!({"table": table, "scheduled": true}).to_string(),
                        })
                        .await?;
                    claimed(ctx, &job.job_id).await?
                }
                (None, None) => {
                    return Err(StepError::Invalid(
                        "backup_plan needs a job_id (from the API) or a table (a schedule)".into(),
                    ))
                }
            };
            backup_job(&job)?;
            let source = DynamoDbSource::new(ctx.dynamodb.clone(), &job.table);
            let items = source.describe().await?.item_count.unwrap_or(0).max(0) as u64;
            let run = plan_backup(&ctx.store, &source, scan_segments(items), None, 5_000).await?;
            Ok(
                json!({"job_id": job.job_id, "table": job.table, "run_id": run.run_id,
                "segments": run.segment_list(), "buckets": run.bucket_list()}),
            )
        }
        Step::BackupSegment {
            job_id,
            run_id,
            segment,
        } => {
            let job = running(ctx, &job_id).await?;
            backup_job(&job)?;
            let run = load_backup_run(&ctx.store, &job.table, &run_id).await?;
            let source = DynamoDbSource::new(ctx.dynamodb.clone(), &job.table);
            let done = backup_segment(&ctx.store, &source, &run, segment).await?;
            Ok(json!({"segment": segment, "items": done.items}))
        }
        Step::BackupBucket {
            job_id,
            run_id,
            bucket,
        } => {
            let job = running(ctx, &job_id).await?;
            backup_job(&job)?;
            let run = load_backup_run(&ctx.store, &job.table, &run_id).await?;
            let result = backup_bucket(&ctx.store, &run, bucket).await?;
            Ok(serde_json::to_value(&result).expect("results serialise"))
        }
        Step::BackupCommit {
            job_id,
            run_id,
            results,
        } => {
            let job = running(ctx, &job_id).await?;
            backup_job(&job)?;
            let run = load_backup_run(&ctx.store, &job.table, &run_id).await?;
            let source = DynamoDbSource::new(ctx.dynamodb.clone(), &job.table);
            let report = commit_backup(&ctx.store, &source, &run, &results).await?;
            let manifest = report.manifest.clone();
            end(
                ctx,
                &job_id,
                Ok(serde_json::to_string(&report).expect("reports serialise")),
            )
            .await?;
            Ok(json!({"job_id": job_id, "status": "succeeded", "manifest": manifest}))
        }
        Step::JobFailed { job_id, error } => {
            let what = error
                .get("Error")
                .and_then(Value::as_str)
                .unwrap_or("failed");
            let cause = error
                .get("Cause")
                .and_then(Value::as_str)
                .map(cause_message)
                .unwrap_or_default();
            let job = ctx.jobs.get(&job_id).await?;
            let next = match job.as_ref().map(|j| j.kind) {
                Some(JobKind::Backup) => "the staged scan is never used: run the backup again",
                _ => "the restore journal keeps what was written: post the same request again to resume",
            };
            let message = format!("{what}: {cause} ({next})");
            match job {
                Some(job) if job.status == JobStatus::Running => {
                    end(ctx, &job_id, Err((message, true))).await?;
                }
                Some(job) if matches!(job.status, JobStatus::Queued) => {
                    // Failed before the plan claimed it.
                    if let Claim::Won(_) = ctx.jobs.claim(&job_id, &worker(&job_id)).await? {
                        end(ctx, &job_id, Err((message, true))).await?;
                    }
                }
                // Ended already (a failed verification ends the job before failing the step).
                Some(_) => {}
                None => {
                    return Err(StepError::Invalid(format!(
                        "no job {job_id} in the catalog"
                    )))
                }
            }
            Ok(json!({"job_id": job_id, "status": "failed"}))
        }
    }
}

/// Parallel Scan segments for a table of `items` (DynamoDB's estimate): one per 250k items,
/// 1 to 64, so each segment's Lambda scans for minutes, not hours.
fn scan_segments(items: u64) -> u32 {
    (items / 250_000).clamp(1, 64) as u32
}

/// Refuses a job that is not a backup.
fn backup_job(job: &JobRecord) -> Result<(), StepError> {
    if job.kind != JobKind::Backup {
        return Err(StepError::Invalid(format!(
            "job {} is a {:?} job, not a backup",
            job.job_id, job.kind
        )));
    }
    Ok(())
}

/// The worker id every step of one job's execution acts as.
fn worker(job_id: &str) -> String {
    format!("sfn:{job_id}")
}

/// The job, claimed for this execution (a retried plan step finds it claimed by itself).
async fn claimed(ctx: &StepContext, job_id: &str) -> Result<JobRecord, StepError> {
    match ctx.jobs.claim(job_id, &worker(job_id)).await? {
        Claim::Won(job) => Ok(*job),
        Claim::Taken {
            worker: Some(w), ..
        } if w == worker(job_id) => running(ctx, job_id).await,
        Claim::Taken { status, worker } => Err(StepError::Failed(format!(
            "job {job_id} is {} (worker {}): not this execution's to run",
            status.as_str(),
            worker.as_deref().unwrap_or("none")
        ))),
    }
}

/// The job, which this execution must be running.
async fn running(ctx: &StepContext, job_id: &str) -> Result<JobRecord, StepError> {
    let job = ctx
        .jobs
        .get(job_id)
        .await?
        .ok_or_else(|| StepError::Invalid(format!("no job {job_id} in the catalog")))?;
    if job.status != JobStatus::Running || job.worker.as_deref() != Some(&worker(job_id)) {
        return Err(StepError::Failed(format!(
            "job {job_id} is {} (worker {}), not running in this execution: run restore_plan first",
            job.status.as_str(),
            job.worker.as_deref().unwrap_or("none")
        )));
    }
    Ok(job)
}

/// The restore the job's stored request asks for.
fn restore_of(
    ctx: &StepContext,
    job: &JobRecord,
) -> Result<(RestoreBody, RestoreRequest, TargetUrl), StepError> {
    if job.kind != JobKind::Restore {
        return Err(StepError::Invalid(format!(
            "job {} is a {:?} job, not a restore",
            job.job_id, job.kind
        )));
    }
    let body: RestoreBody = serde_json::from_str(&job.request).map_err(|e| {
        StepError::Failed(format!(
            "job {}: its stored request does not parse: {e}",
            job.job_id
        ))
    })?;
    let (request, url) = body
        .to_request(ctx.mask_key.bytes())
        .map_err(|e| StepError::Failed(format!("job {}: {}", job.job_id, e.message)))?;
    Ok((body, request, url))
}

/// The second the restore resolved `latest` to, from its journal (verifying `latest` again
/// would compare with a newer state).
async fn resolved_point(
    store: &Store,
    target: &dyn RestoreTarget,
    request: &RestoreRequest,
) -> Result<i64, StepError> {
    if let AtSpec::Second(s) = request.at {
        return Ok(s);
    }
    let journal: Option<Journal> = JournalRef::new(&request.table, &target.id())
        .load(store.as_ref())
        .await
        .map_err(ReplayError::from)?;
    journal.map(|j| j.plan.at).ok_or_else(|| {
        StepError::Failed(format!(
            "the restore of {} into {} has no journal to read its point from",
            request.table,
            target.id()
        ))
    })
}

/// Verifies the target at `at`, ends the job (succeeded with `report` and the verification, or
/// failed naming the differences) and announces it.
async fn verified_end(
    ctx: &StepContext,
    job_id: &str,
    request: &RestoreRequest,
    target: &dyn RestoreTarget,
    at: i64,
    mut report: Value,
) -> Result<Value, StepError> {
    let check = verify(
        &ctx.store,
        &request.table,
        AtSpec::Second(at),
        target,
        &request.plan,
        &request.reconstruct,
        &request.copy,
    )
    .await?;
    report["verify"] = serde_json::to_value(&check).expect("reports serialise");
    if !check.is_equal() {
        let message = format!(
            "verification of {} found {} missing, {} extra and {} differing items",
            target.id(),
            check.missing,
            check.extra,
            check.differing
        );
        end(ctx, job_id, Err((message.clone(), false))).await?;
        return Err(StepError::Failed(message));
    }
    end(ctx, job_id, Ok(report.to_string())).await?;
    Ok(json!({"job_id": job_id, "status": "succeeded", "verified": true}))
}

/// Ends the job and announces the end.
async fn end(
    ctx: &StepContext,
    job_id: &str,
    outcome: Result<String, (String, bool)>,
) -> Result<(), StepError> {
    ctx.jobs.finish(job_id, &worker(job_id), outcome).await?;
    if let Some(job) = ctx.jobs.get(job_id).await? {
        if let Some(note) = Notification::job_ended(&job) {
            ctx.notifier.announce(&note).await;
        }
    }
    Ok(())
}

/// A Lambda error's `Cause` is JSON (`{"errorMessage": ..., "errorType": ...}`): its message.
fn cause_message(cause: &str) -> String {
    serde_json::from_str::<Value>(cause)
        .ok()
        .and_then(|v| {
            v.get("errorMessage")
                .and_then(Value::as_str)
                .map(String::from)
        })
        .unwrap_or_else(|| cause.to_string())
}
