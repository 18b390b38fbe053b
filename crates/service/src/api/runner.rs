//! Running a job on this server: claim it (one worker only), run it with its progress written to
//! the catalog every few seconds, then record its report or its error.

use super::ApiState;
use crate::jobs::{Claim, JobError, Progress};
use crate::notify::Notification;
use rewind_replay::dry_run::dry_run;
use rewind_replay::restore::{restore, RestoreProgress, RestoreRequest};
use rewind_replay::target::{open_target, TargetUrl, WriteStats};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often a running job's progress is written.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(2);

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

/// Runs a restore job on this server (see [`spawn_job`]), its progress written as it goes.
pub fn spawn_restore(state: Arc<ApiState>, job: RestoreJob) {
    let job_id = job.job_id.clone();
    spawn_job(state, job_id, move |state| async move {
        let progress = Arc::new(RestoreProgress::default());
        let reporter = tokio::spawn(report_progress(
            (*state).clone(),
            job.job_id.clone(),
            Arc::clone(&progress),
        ));
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
    spawn_job(state, job_id, move |state| async move {
        let report = rewind_compactor::full_backup(
            &state.store,
            &state.dynamodb,
            &table,
            &Default::default(),
        )
        .await
        .map_err(|e| e.to_string())?;
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

/// Writes the job's progress every [`PROGRESS_EVERY`] until aborted.
async fn report_progress(state: ApiState, job_id: String, progress: Arc<RestoreProgress>) {
    let started = Instant::now();
    let mut tick = tokio::time::interval(PROGRESS_EVERY);
    tick.tick().await;
    loop {
        tick.tick().await;
        let done = progress.buckets_done.load(Ordering::Relaxed);
        let total = progress.buckets_total.load(Ordering::Relaxed);
        let elapsed = started.elapsed().as_secs_f64();
        let now = Progress {
            items: WriteStats::get(&progress.stats.items),
            bytes: WriteStats::get(&progress.stats.bytes),
            buckets_done: done,
            buckets_total: total,
            eta_seconds: (done > 0 && total > done)
                .then(|| elapsed / done as f64 * (total - done) as f64),
        };
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
