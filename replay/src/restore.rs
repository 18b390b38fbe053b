//! The restore executor: follows a plan into a target, bucket by bucket, recording progress in
//! the journal so that a re-run of the same command resumes (DESIGN.md, "Resume").

use crate::at::{format_second, AtSpec};
use crate::copy_spec::{CopySpec, ResolvedFilter};
use crate::error::{ReplayError, Result};
use crate::folded::FoldedState;
use crate::journal::{missing_pins, Journal, JournalRef, JournalStatus};
use crate::plan::{plan_restore, Plan, PlanOptions};
use crate::reconstruct::{ReconstructOptions, ReconstructStats};
use crate::target::{
    BucketWritten, FinishContext, PrepareContext, RestoreTarget, WriteMode, WriteStats,
};
use crate::whole_life::{load_checked_catalog, refute_on_missing_insert};
use rewind_catalog::Catalog;
use rewind_store::Store;
use serde::Serialize;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// What to restore, and how.
#[derive(Debug, Clone)]
pub struct RestoreRequest {
    /// Source table.
    pub table: String,
    /// The point.
    pub at: AtSpec,
    /// Make an existing target equal to the state instead of refusing it.
    pub into_existing: bool,
    /// Do not enable TTL on the restored table.
    pub no_ttl: bool,
    /// Planning knobs.
    pub plan: PlanOptions,
    /// Reconstruction knobs.
    pub reconstruct: ReconstructOptions,
    /// A dev/test copy: some keys only, some attributes masked (default: the whole state as it
    /// was).
    pub copy: CopySpec,
}

/// Live progress, shared with a progress display.
#[derive(Debug, Default)]
pub struct RestoreProgress {
    /// Write counters.
    pub stats: WriteStats,
    /// Buckets in the plan.
    pub buckets_total: AtomicU64,
    /// Buckets finished (including those finished by an earlier run).
    pub buckets_done: AtomicU64,
}

/// What a restore did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RestoreReport {
    /// Source table.
    pub table: String,
    /// Target URL.
    pub target: String,
    /// The point as requested.
    pub requested: String,
    /// The resolved point, RFC 3339.
    pub at: String,
    /// The plan's fingerprint.
    pub plan: String,
    /// This run continued an interrupted one.
    pub resumed: bool,
    /// An earlier run's plan had lost pinned files, so this one started over.
    pub restarted: bool,
    /// Buckets in the plan.
    pub buckets: u32,
    /// Buckets an earlier run had finished (skipped now).
    pub buckets_skipped: u32,
    /// Items in the restored state.
    pub items: u64,
    /// Items written by this run.
    pub items_written: u64,
    /// Bytes of items written by this run.
    pub bytes_written: u64,
    /// `--into-existing`: items deleted, overwritten with other content, already equal.
    pub deleted: u64,
    /// See `deleted`.
    pub changed: u64,
    /// See `deleted`.
    pub unchanged: u64,
    /// Throttled requests.
    pub throttles: u64,
    /// Retried requests.
    pub retries: u64,
    /// Change and snapshot objects read.
    pub files_read: u64,
    /// Bytes of them.
    pub bytes_read: u64,
    /// Rows applied.
    pub rows_applied: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Quarantined records skipped on request.
    pub skipped_quarantine: Vec<String>,
    /// What a dev/test copy kept and masked (`None`: the whole state as it was).
    pub copy: Option<String>,
    /// The lineage the restored point belongs to (a table deleted and re-created under its name
    /// has two), in words.
    pub lineage: Option<String>,
    /// A rollback in place (`--into-existing` with `--key-filter`): the keys it put or deleted.
    pub rolled_back: Vec<String>,
    /// A rollback in place: items left alone because the application wrote them again after
    /// the rollback read them (each in words). A restore with conflicts exits non-zero.
    pub conflicts: Vec<String>,
}

/// Plans (or resumes) and runs a restore of `req.table` into `target`.
pub async fn restore(
    store: &Store,
    target: &dyn RestoreTarget,
    req: &RestoreRequest,
    progress: &RestoreProgress,
) -> Result<RestoreReport> {
    let started = Instant::now();
    let journal_ref = JournalRef::new(&req.table, &target.id());
    let mut restarted = false;
    // A pinned file can vanish between the check and the read (compaction racing the restore):
    // then start over once more with a new plan. A whole-life plan that meets an item without
    // an INSERT records that the log does not cover the whole life, and plans again.
    for attempt in 0..4 {
        let catalog = load_checked_catalog(
            store,
            &req.table,
            req.at.second(),
            &req.plan,
            &req.reconstruct,
        )
        .await?;
        let setup = decide(store, &journal_ref, &catalog, target, req).await?;
        restarted |= setup.restarted;
        match run(store, target, req, progress, &journal_ref, setup.clone()).await {
            Ok((stats, totals, skipped)) => {
                let plan = &setup.plan;
                return Ok(RestoreReport {
                    table: req.table.clone(),
                    target: target.id(),
                    requested: req.at.to_string(),
                    at: format_second(plan.at),
                    plan: plan.fingerprint(),
                    resumed: setup.mode == WriteMode::Resume,
                    restarted,
                    buckets: plan.buckets,
                    buckets_skipped: skipped,
                    items: totals.items_written + totals.unchanged,
                    items_written: WriteStats::get(&progress.stats.items),
                    bytes_written: WriteStats::get(&progress.stats.bytes),
                    deleted: totals.deleted,
                    changed: totals.changed,
                    unchanged: totals.unchanged,
                    throttles: WriteStats::get(&progress.stats.throttles),
                    retries: WriteStats::get(&progress.stats.retries),
                    files_read: stats.files_read,
                    bytes_read: stats.bytes_read,
                    rows_applied: stats.rows_applied,
                    seconds: started.elapsed().as_secs_f64(),
                    skipped_quarantine: plan.skipped_quarantine.clone(),
                    copy: req.copy.describe(),
                    lineage: plan.lineage.clone(),
                    rolled_back: totals.rolled_back.clone(),
                    conflicts: totals.conflicts.clone(),
                });
            }
            Err(ReplayError::PinnedFileGone { key }) if attempt < 3 => {
                tracing::warn!(%key, "a pinned file is gone; planning the restore again");
                restarted = true;
            }
            Err(e)
                if attempt < 3
                    && refute_on_missing_insert(store, &req.table, &setup.plan, &e).await? => {}
            Err(e) => return Err(e),
        }
    }
    unreachable!("the loop returns on its last attempt")
}

#[derive(Debug, Clone)]
pub(crate) struct Setup {
    pub(crate) plan: Plan,
    pub(crate) mode: WriteMode,
    pub(crate) restarted: bool,
    /// A journal to write before the first bucket (`None`: resuming the stored one).
    pub(crate) new_journal: Option<Journal>,
}

/// Resume the stored journal if it is this request's and its pins still hold; otherwise plan.
pub(crate) async fn decide(
    store: &Store,
    journal_ref: &JournalRef,
    catalog: &Catalog,
    target: &dyn RestoreTarget,
    req: &RestoreRequest,
) -> Result<Setup> {
    let stored = journal_ref.load(store.as_ref()).await?;
    let requested = req.at.to_string();
    let copy = req.copy.describe();
    let new_journal = |plan: &Plan| Journal {
        target: target.id(),
        requested: requested.clone(),
        plan: plan.clone(),
        fingerprint: plan.fingerprint(),
        status: JournalStatus::Running,
        started_at: chrono::Utc::now().to_rfc3339(),
        copy: copy.clone(),
    };
    // Only the same request resumes: the same point, and the same keys and masks (another
    // filter or mask key would leave a mix of two copies).
    if let Some(journal) = stored.filter(|j| {
        j.status == JournalStatus::Running && j.requested == requested && j.copy == copy
    }) {
        let listed: BTreeSet<(String, u64)> = catalog
            .change_files
            .iter()
            .map(|f| (f.key.clone(), f.size))
            .collect();
        let missing = missing_pins(&journal.plan, &listed);
        if missing.is_empty() {
            tracing::info!(at = %format_second(journal.plan.at), "resuming the restore");
            return Ok(Setup {
                plan: journal.plan,
                mode: WriteMode::Resume,
                restarted: false,
                new_journal: None,
            });
        }
        tracing::warn!(
            first = %missing[0],
            count = missing.len(),
            "files pinned by the interrupted restore are gone; starting over with a new plan"
        );
        let plan = plan_restore(catalog, req.at, &req.plan)?;
        return Ok(Setup {
            new_journal: Some(new_journal(&plan)),
            plan,
            // The target holds part of another point's state: make it equal, deleting leftovers.
            mode: WriteMode::Reconcile,
            restarted: true,
        });
    }
    let plan = plan_restore(catalog, req.at, &req.plan)?;
    Ok(Setup {
        new_journal: Some(new_journal(&plan)),
        plan,
        mode: if req.into_existing {
            WriteMode::Reconcile
        } else {
            WriteMode::Fresh
        },
        restarted: false,
    })
}

/// Folds the whole state first (every object read, every continuity check passed), then
/// creates the target and writes it: a refused plan, a broken history or a store failing
/// mid-way leaves nothing at the target. A failure after the target was created removes what
/// this run created when no bucket is written yet; otherwise the target is kept for the resume
/// the error describes.
async fn run(
    store: &Store,
    target: &dyn RestoreTarget,
    req: &RestoreRequest,
    progress: &RestoreProgress,
    journal_ref: &JournalRef,
    setup: Setup,
) -> Result<(ReconstructStats, BucketWritten, u32)> {
    let plan = &setup.plan;
    // A copy's masks and keys are checked against the table before anything is read.
    let scope = req
        .copy
        .resolve(plan.description.as_ref(), &plan.key_names)?;
    let ctx = PrepareContext {
        description: plan.description.clone(),
        key_names: plan.key_names.clone(),
        mode: setup.mode,
        buckets: plan.buckets,
        scope: scope.clone(),
    };
    target.precheck(&ctx).await?;
    let done = match setup.new_journal {
        None => journal_ref.done(store.as_ref()).await?,
        Some(_) => Default::default(),
    };
    let skip: BTreeSet<u32> = done.keys().copied().collect();
    let (folded, stats) = FoldedState::fold(store, plan, &req.reconstruct, &skip).await?;

    target.prepare(&ctx).await?;
    progress
        .buckets_total
        .store(plan.buckets as u64, Ordering::Relaxed);
    progress
        .buckets_done
        .store(done.len() as u64, Ordering::Relaxed);
    let written_now = AtomicU64::new(0);
    let written = write(
        store,
        target,
        req,
        progress,
        journal_ref,
        &setup,
        &done,
        &folded,
        &written_now,
        scope.as_deref(),
    )
    .await;
    match written {
        Ok(totals) => Ok((stats, totals, skip.len() as u32)),
        Err(cause) => {
            let buckets_written = done.len() as u64 + written_now.load(Ordering::Relaxed);
            Err(give_up(store, target, journal_ref, plan, cause, buckets_written).await)
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn write(
    store: &Store,
    target: &dyn RestoreTarget,
    req: &RestoreRequest,
    progress: &RestoreProgress,
    journal_ref: &JournalRef,
    setup: &Setup,
    done: &std::collections::BTreeMap<u32, BucketWritten>,
    folded: &FoldedState,
    written_now: &AtomicU64,
    scope: Option<&ResolvedFilter>,
) -> Result<BucketWritten> {
    let totals = write_buckets(
        store,
        target,
        req,
        progress,
        journal_ref,
        setup,
        done,
        folded,
        written_now,
        scope,
    )
    .await?;
    finish_restore(store, target, req, journal_ref, setup, totals).await
}

/// Writes the folded buckets (after the journal, when this run starts one), each marked done
/// in the journal once durable at the target. Returns the totals, earlier runs' included.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn write_buckets(
    store: &Store,
    target: &dyn RestoreTarget,
    req: &RestoreRequest,
    progress: &RestoreProgress,
    journal_ref: &JournalRef,
    setup: &Setup,
    done: &std::collections::BTreeMap<u32, BucketWritten>,
    folded: &FoldedState,
    written_now: &AtomicU64,
    scope: Option<&ResolvedFilter>,
) -> Result<BucketWritten> {
    // The journal is written only once the target accepted the restore: a refused target must
    // never look like a restore of ours to resume into.
    if let Some(journal) = &setup.new_journal {
        journal_ref.clear_done(store.as_ref()).await?;
        journal_ref.save(store.as_ref(), journal).await?;
        rewind_store::crash_point::crash_point("restore.journal");
    }
    let totals = Mutex::new(done.values().fold(BucketWritten::default(), |mut acc, w| {
        add(&mut acc, w);
        acc
    }));
    folded
        .drain(req.reconstruct.bucket_concurrency, |bucket, items| {
            let totals = &totals;
            async move {
                let items = if req.copy.is_identity() {
                    items
                } else {
                    let mut copied = Vec::with_capacity(items.len());
                    for item in items {
                        copied.extend(req.copy.apply(scope, item)?);
                    }
                    copied
                };
                let written = target.write_bucket(bucket, &items, &progress.stats).await?;
                journal_ref
                    .mark_done(store.as_ref(), bucket, &written)
                    .await?;
                rewind_store::crash_point::crash_point("restore.bucket");
                add(&mut totals.lock().expect("not poisoned"), &written);
                written_now.fetch_add(1, Ordering::Relaxed);
                progress.buckets_done.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
        })
        .await?;
    Ok(totals.into_inner().expect("not poisoned"))
}

/// After every bucket: the target's finishing steps, then the journal marked done.
pub(crate) async fn finish_restore(
    store: &Store,
    target: &dyn RestoreTarget,
    req: &RestoreRequest,
    journal_ref: &JournalRef,
    setup: &Setup,
    totals: BucketWritten,
) -> Result<BucketWritten> {
    let plan = &setup.plan;
    target
        .finish(&FinishContext {
            description: plan.description.clone(),
            no_ttl: req.no_ttl,
            source_table: plan.table.clone(),
            at: plan.at,
            buckets: plan.buckets,
            items: totals.items_written + totals.unchanged,
        })
        .await?;
    // The target is complete; what follows is bookkeeping. Failing the restore here would be
    // wrong twice over: the state is there, and when the journal write did land (an answer
    // lost after the write, found by the seeded fault runs) a re-run finds a finished journal,
    // plans afresh and refuses the existing target. A journal left `running` only makes a
    // re-run resume, find every bucket done and finish again.
    if let Err(e) = mark_journal_done(store, journal_ref, setup, &plan.table, target).await {
        tracing::warn!(error = %e, journal = %journal_ref.prefix(),
            "the restore is complete, but its journal could not be marked done; a re-run of the same restore only finishes again");
    }
    Ok(totals)
}

/// Records in the journal that the restore finished.
async fn mark_journal_done(
    store: &Store,
    journal_ref: &JournalRef,
    setup: &Setup,
    table: &str,
    target: &dyn RestoreTarget,
) -> Result<()> {
    let mut journal = match &setup.new_journal {
        Some(j) => j.clone(),
        None => journal_ref
            .load(store.as_ref())
            .await?
            .ok_or_else(|| ReplayError::Invalid {
                what: "restore journal",
                location: format!("{table} -> {}", target.id()),
                reason: "vanished while the restore ran".into(),
            })?,
    };
    journal.status = JournalStatus::Done;
    journal_ref.save(store.as_ref(), &journal).await?;
    Ok(())
}

/// After a failure at the target: remove what this run created when nothing of the restore is
/// written yet (and its journal with it); otherwise keep it and say how to resume or drop it.
async fn give_up(
    store: &Store,
    target: &dyn RestoreTarget,
    journal_ref: &JournalRef,
    plan: &Plan,
    cause: ReplayError,
    buckets_written: u64,
) -> ReplayError {
    let what = if buckets_written == 0 {
        match target.abandon().await {
            Ok(Some(removed)) => {
                if let Err(e) = journal_ref.remove(store.as_ref()).await {
                    tracing::warn!(error = %e, "could not remove the abandoned restore's journal");
                }
                removed
            }
            Ok(None) => format!("{} is as this restore found it", target.id()),
            Err(e) => format!("removing what this restore created failed: {e}"),
        }
    } else {
        format!(
            "{buckets_written} of {} buckets are written at {}: run the same command again to resume; to give it up, {} and delete {} in the store",
            plan.buckets,
            target.id(),
            target.drop_hint(),
            journal_ref.prefix()
        )
    };
    ReplayError::TargetFailed {
        cause: Box::new(cause),
        what,
    }
}

pub(crate) fn add(acc: &mut BucketWritten, w: &BucketWritten) {
    acc.items_written += w.items_written;
    acc.bytes_written += w.bytes_written;
    acc.deleted += w.deleted;
    acc.unchanged += w.unchanged;
    acc.changed += w.changed;
    acc.rolled_back.extend(w.rolled_back.iter().cloned());
    acc.conflicts.extend(w.conflicts.iter().cloned());
}
