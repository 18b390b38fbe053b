//! Running a job on this server: claim it (one worker only), run it with its progress written to
//! the catalog every few seconds, then record its report or its error.

use super::ApiState;
use crate::jobs::{Claim, JobError, Progress};
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

/// Runs the job as a task of this server. Its outcome is in the catalog; a failure to update
/// the catalog itself is logged (the job then stays `running`, and this server's next start
/// marks it resumable).
///
/// The restore's future is not `Send` for every lifetime (its planner takes async closures,
/// which the compiler cannot yet prove `Send` in general), so it is driven on a blocking thread
/// of the same runtime rather than spawned as a task: its own I/O, timers and tasks still run on
/// the runtime's workers.
pub fn spawn_restore(state: Arc<ApiState>, job: RestoreJob) {
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let job_id = job.job_id.clone();
        if let Err(e) = runtime.block_on(run_restore(&state, job)) {
            tracing::error!(job = %job_id, error = %e, "the job's outcome could not be recorded");
        }
    });
}

async fn run_restore(state: &ApiState, job: RestoreJob) -> Result<(), JobError> {
    if let Claim::Taken { status, worker } = state.jobs.claim(&job.job_id, &state.worker).await? {
        tracing::info!(job = %job.job_id, ?status, ?worker, "job taken by another worker");
        return Ok(());
    }
    let progress = Arc::new(RestoreProgress::default());
    let reporter = tokio::spawn(report_progress(
        state.clone(),
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
    let outcome = result.map_err(|e| {
        tracing::warn!(job = %job.job_id, error = %e, "restore job failed");
        // Posting the same restore again resumes it from its journal in the store.
        (e.to_string(), false)
    });
    state.jobs.finish(&job.job_id, &state.worker, outcome).await
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
