//! Running the jobs the API accepts. `rewind serve` runs them as tasks of the server: claim
//! (one worker only), run with progress written to the catalog every few seconds, record the
//! report or the error, announce the end. The API Lambda cannot work after it has answered, so
//! it starts one Step Functions execution per job instead, whose tasks update the same job item.

use super::error::ApiError;
use super::ApiState;
use crate::jobs::{Claim, JobError, JobKind, Progress};
use crate::notify::Notification;
use axum::http::StatusCode;
use rewind_compactor::backup::{BackupOptions, BackupProgress};
use rewind_replay::dry_run::dry_run;
use rewind_replay::restore::{restore, RestoreProgress, RestoreRequest};
use rewind_replay::target::{open_target, TargetUrl, WriteStats};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often a running job's progress is written.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(2);

/// Who runs the jobs the API accepts.
#[derive(Debug, Clone)]
pub enum JobRunner {
    /// Tasks of this process (`rewind serve`).
    InProcess,
    /// One execution of this state machine per job (the API Lambda), named after the job id
    /// (so a retried start cannot run a job twice) with input `{"job_id", "kind", "table"}`.
    StepFunctions {
        /// The Step Functions client.
        client: aws_sdk_sfn::Client,
        /// The state machine that runs jobs.
        state_machine_arn: String,
    },
}

/// A restore job, ready to run.
#[derive(Debug)]
pub struct RestoreJob {
    /// The job's id in the catalog.
    pub job_id: String,
    /// What to restore.
    pub request: RestoreRequest,
    /// Where.
    pub target: TargetUrl,
    /// Only plan and count.
    pub dry_run: bool,
}

/// Starts a created restore job with the state's [`JobRunner`]. An error means it could not be
/// started; the job is then marked failed with that error.
pub async fn launch_restore(state: &Arc<ApiState>, job: RestoreJob) -> Result<(), ApiError> {
    match &state.runner {
        JobRunner::InProcess => {
            spawn_restore(Arc::clone(state), job);
            Ok(())
        }
        JobRunner::StepFunctions { .. } => {
            start_execution(state, &job.job_id, JobKind::Restore, &job.request.table).await
        }
    }
}

/// Starts a created full backup job of `table` (see [`launch_restore`]).
pub async fn launch_backup(
    state: &Arc<ApiState>,
    job_id: String,
    table: String,
) -> Result<(), ApiError> {
    match &state.runner {
        JobRunner::InProcess => {
            spawn_backup(Arc::clone(state), job_id, table);
            Ok(())
        }
        JobRunner::StepFunctions { .. } => {
            start_execution(state, &job_id, JobKind::Backup, &table).await
        }
    }
}

/// Starts the job's Step Functions execution; if that fails, the job is marked failed (it will
/// never run) and the answer is 502 naming the job.
async fn start_execution(
    state: &ApiState,
    job_id: &str,
    kind: JobKind,
    table: &str,
) -> Result<(), ApiError> {
    let JobRunner::StepFunctions {
        client,
        state_machine_arn,
    } = &state.runner
    else {
        unreachable!("only called for the Step Functions runner");
    };
    let input = serde_json::json!({"job_id": job_id, "kind": kind, "table": table});
    let started = client
        .start_execution()
        .state_machine_arn(state_machine_arn)
        .name(job_id)
        .input(input.to_string())
        .send()
        .await;
    let error = match started {
        Ok(out) => {
            tracing::info!(job = %job_id, execution = %out.execution_arn(), "job execution started");
            return Ok(());
        }
        // The same name: this job's execution exists already (a retried request).
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_execution_already_exists()) =>
        {
            return Ok(())
        }
        Err(e) => rewind_aws::classify(&e).message,
    };
    let message = format!("Step Functions StartExecution on {state_machine_arn}: {error}");
    let recorded = async {
        if let Claim::Won(_) = state.jobs.claim(job_id, &state.worker).await? {
            state
                .jobs
                .finish(job_id, &state.worker, Err((message.clone(), false)))
                .await?;
        }
        Ok::<_, JobError>(())
    }
    .await;
    if let Err(e) = recorded {
        tracing::error!(job = %job_id, error = %e, "a job that could not start stays queued");
    }
    announce_end(state, job_id).await;
    Err(ApiError::new(
        StatusCode::BAD_GATEWAY,
        "runner_unavailable",
        format!("job {job_id} could not be started and is marked failed: {message}"),
    ))
}

/// Runs a restore job on this server (see [`spawn_job`]), its progress written as it goes.
pub fn spawn_restore(state: Arc<ApiState>, job: RestoreJob) {
    let job_id = job.job_id.clone();
    spawn_job(state, job_id, move |state| async move {
        let progress = Arc::new(RestoreProgress::default());
        let reporter = {
            let progress = Arc::clone(&progress);
            tokio::spawn(report_progress(
                (*state).clone(),
                job.job_id.clone(),
                move |elapsed| restore_progress(&progress, elapsed),
            ))
        };
        let result = async {
            if job.dry_run {
                let report = dry_run(&state.store, &job.request).await?;
                return Ok(serde_json::to_string(&report).expect("reports serialise"));
            }
            let target = open_target(&job.target).await?;
            let report = restore(&state.store, target.as_ref(), &job.request, &progress).await?;
            Ok::<_, rewind_replay::ReplayError>(
                serde_json::to_string(&report).expect("reports serialise"),
            )
        }
        .await;
        reporter.abort();
        result.map_err(|e| e.to_string())
    });
}

/// Runs a full backup job of `table` on this server.
pub fn spawn_backup(state: Arc<ApiState>, job_id: String, table: String) {
    let reported = job_id.clone();
    spawn_job(state, job_id, move |state| async move {
        let options = BackupOptions::default();
        let reporter = {
            let progress = Arc::clone(&options.progress);
            tokio::spawn(report_progress(
                (*state).clone(),
                reported,
                move |elapsed| backup_progress(&progress, elapsed),
            ))
        };
        let result =
            rewind_compactor::full_backup(&state.store, &state.dynamodb, &table, &options).await;
        reporter.abort();
        let report = result.map_err(|e| e.to_string())?;
        Ok(serde_json::to_string(&report).expect("reports serialise"))
    });
}

/// Runs the future `make` builds on a blocking thread of the current runtime, rather than as a
/// spawned task: the planner's futures are not provably `Send` for every lifetime (it takes
/// async closures), which `tokio::spawn` and axum handlers require. Their I/O, timers and inner
/// tasks still run on the runtime's workers.
pub fn spawn_unsend<F, Fut>(make: F) -> tokio::task::JoinHandle<Fut::Output>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future,
    Fut::Output: Send + 'static,
{
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || runtime.block_on(make()))
}

/// Claims the job for this server, runs `work` (see [`spawn_unsend`]), and records its report
/// (`Ok`) or its error (`Err`, the job `failed`: posting the same request again resumes a
/// restore from its journal), then announces the end ([`announce_end`]). A failure to update
/// the catalog itself is logged; the job then stays `running`, and this server's next start
/// marks it resumable (and announces that).
pub fn spawn_job<F, Fut>(state: Arc<ApiState>, job_id: String, work: F)
where
    F: FnOnce(Arc<ApiState>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<String, String>>,
{
    spawn_unsend(move || async move {
        let run = async {
            match state.jobs.claim(&job_id, &state.worker).await? {
                Claim::Won(_) => {}
                Claim::Taken { status, worker } => {
                    tracing::info!(job = %job_id, ?status, ?worker, "job taken by another worker");
                    return Ok(());
                }
            }
            let outcome = work(Arc::clone(&state)).await.map_err(|message| {
                tracing::warn!(job = %job_id, error = %message, "job failed");
                (message, false)
            });
            state.jobs.finish(&job_id, &state.worker, outcome).await?;
            announce_end(&state, &job_id).await;
            Ok::<_, JobError>(())
        };
        if let Err(e) = run.await {
            tracing::error!(job = %job_id, error = %e, "the job's outcome could not be recorded");
        }
    });
}

/// Publishes the end of job `job_id` as the catalog now holds it (see
/// [`crate::notify::Notifier::announce`]).
pub async fn announce_end(state: &ApiState, job_id: &str) {
    match state.jobs.get(job_id).await {
        Ok(Some(job)) => {
            if let Some(note) = Notification::job_ended(&job) {
                state.notifier.announce(&note).await;
            }
        }
        Ok(None) => tracing::warn!(job = %job_id, "job vanished from the catalog; not announced"),
        Err(e) => {
            tracing::warn!(job = %job_id, error = %e, "job not announced: the catalog could not be read")
        }
    }
}

/// Writes the job's progress, as `read` tells it, every [`PROGRESS_EVERY`] until aborted.
async fn report_progress(
    state: ApiState,
    job_id: String,
    read: impl Fn(f64) -> Progress + Send + 'static,
) {
    let started = Instant::now();
    let mut tick = tokio::time::interval(PROGRESS_EVERY);
    tick.tick().await;
    loop {
        tick.tick().await;
        let now = read(started.elapsed().as_secs_f64());
        if let Err(e) = state
            .jobs
            .report_progress(&job_id, &state.worker, &now)
            .await
        {
            tracing::warn!(job = %job_id, error = %e, "progress not recorded");
            if matches!(e, JobError::Lost { .. }) {
                return;
            }
        }
    }
}

/// Seconds left when `done` of `total` took `elapsed` seconds, if that can be told.
fn eta(elapsed: f64, done: u64, total: u64) -> Option<f64> {
    (done > 0 && total > done).then(|| elapsed / done as f64 * (total - done) as f64)
}

/// A restore's progress: items and bytes written, buckets done.
fn restore_progress(progress: &RestoreProgress, elapsed: f64) -> Progress {
    let done = progress.buckets_done.load(Ordering::Relaxed);
    let total = progress.buckets_total.load(Ordering::Relaxed);
    Progress {
        items: WriteStats::get(&progress.stats.items),
        bytes: WriteStats::get(&progress.stats.bytes),
        buckets_done: done,
        buckets_total: total,
        eta_seconds: eta(elapsed, done, total),
    }
}

/// A backup's progress: items scanned (the ETA from DynamoDB's item-count estimate while it
/// scans), then snapshot buckets written.
fn backup_progress(progress: &BackupProgress, elapsed: f64) -> Progress {
    let scanned = progress.items_scanned.load(Ordering::Relaxed);
    let expected = progress.items_expected.load(Ordering::Relaxed);
    let done = progress.buckets_written.load(Ordering::Relaxed);
    let total = progress.buckets_total.load(Ordering::Relaxed);
    Progress {
        items: scanned,
        bytes: 0,
        buckets_done: done,
        buckets_total: total,
        eta_seconds: if done == 0 {
            eta(elapsed, scanned, expected)
        } else {
            None
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_read_from_the_running_work() {
        let backup = BackupProgress::default();
        backup.items_expected.store(1000, Ordering::Relaxed);
        backup.items_scanned.store(250, Ordering::Relaxed);
        backup.buckets_total.store(16, Ordering::Relaxed);
        let p = backup_progress(&backup, 10.0);
        assert_eq!((p.items, p.buckets_done, p.buckets_total), (250, 0, 16));
        assert_eq!(p.eta_seconds, Some(30.0), "750 more items at 25 items/s");
        backup.buckets_written.store(4, Ordering::Relaxed);
        assert_eq!(backup_progress(&backup, 50.0).eta_seconds, None);
        backup.items_scanned.store(1500, Ordering::Relaxed);
        backup.buckets_written.store(0, Ordering::Relaxed);
        assert_eq!(
            backup_progress(&backup, 50.0).eta_seconds,
            None,
            "past the estimate: no guess"
        );

        let restore = RestoreProgress::default();
        restore.buckets_total.store(8, Ordering::Relaxed);
        restore.buckets_done.store(2, Ordering::Relaxed);
        let p = restore_progress(&restore, 4.0);
        assert_eq!((p.buckets_done, p.buckets_total), (2, 8));
        assert_eq!(p.eta_seconds, Some(12.0));
        assert_eq!(eta(1.0, 0, 8), None, "nothing done: no guess");
    }
}
