//! A restore in steps, for a Step Functions Distributed Map (one Lambda per bucket) or any
//! other fan-out, with the same journal as a restore in one process, so the two can take over
//! from each other:
//!
//! 1. [`plan_fanout`] plans (or resumes) as [`crate::restore::restore`] does, checks and
//!    creates the target, writes the journal and answers the buckets still to write;
//! 2. [`restore_bucket`] reconstructs one bucket (reading only what the pinned plan names,
//!    keeping that bucket's rows), writes it and marks it done; a bucket already done answers
//!    its marker, so a retried step writes nothing twice;
//! 3. [`commit_fanout`] checks that every bucket is done, runs the target's finishing steps
//!    (TTL and settings, or the export's manifests) and marks the journal done.
//!
//! Each step opens its own target instance (a Lambda keeps nothing between invocations): the
//! plan step prepares in the restore's mode, the later ones attach to the prepared target in
//! [`WriteMode::Resume`]. A restore into an existing table (`into_existing`) is not fanned out:
//! reconciling reads the whole existing table once and compares bucket by bucket, which one
//! process does in one pass; [`FanoutPlan::fan_out`] is then `false` and the caller runs the
//! plain restore in one step.
//!
//! What a step that fails leaves is what a failed plain restore leaves: the journal and the
//! buckets done; the same request planned again resumes.

use crate::at::format_second;
use crate::error::{ReplayError, Result};
use crate::folded::FoldedState;
use crate::journal::{Journal, JournalRef, JournalStatus};
use crate::plan::Plan;
use crate::restore::{
    add, decide, finish_restore, write_buckets, RestoreProgress, RestoreRequest, Setup,
};
use crate::target::{BucketWritten, PrepareContext, RestoreTarget, WriteMode};
use crate::whole_life::{load_checked_catalog, refute_on_missing_insert};
use rewind_store::Store;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::atomic::AtomicU64;

/// What the plan step answers: the fan-out's items and what the later steps need to say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FanoutPlan {
    /// Source table.
    pub table: String,
    /// The target's identity (its canonical URL).
    pub target: String,
    /// The resolved point, RFC 3339.
    pub at: String,
    /// Buckets of the plan.
    pub bucket_count: u32,
    /// Buckets still to write (all of them for a new restore; fewer when resuming).
    pub buckets: Vec<u32>,
    /// `false`: restore in one step instead (see the module docs).
    pub fan_out: bool,
}

/// Plans (or resumes) `req` into `target`, prepares the target and writes the journal.
pub async fn plan_fanout(
    store: &Store,
    target: &dyn RestoreTarget,
    req: &RestoreRequest,
) -> Result<FanoutPlan> {
    let journal_ref = JournalRef::new(&req.table, &target.id());
    let catalog = load_checked_catalog(
        store,
        &req.table,
        req.at.second(),
        &req.plan,
        &req.reconstruct,
    )
    .await?;
    let setup = decide(store, &journal_ref, &catalog, target, req).await?;
    let plan = &setup.plan;
    let answer = |buckets: Vec<u32>, fan_out: bool| FanoutPlan {
        table: req.table.clone(),
        target: target.id(),
        at: format_second(plan.at),
        bucket_count: plan.buckets,
        buckets,
        fan_out,
    };
    if setup.mode == WriteMode::Reconcile {
        return Ok(answer((0..plan.buckets).collect(), false));
    }
    let ctx = context(req, plan, setup.mode)?;
    target.precheck(&ctx).await?;
    target.prepare(&ctx).await?;
    let done = match &setup.new_journal {
        Some(journal) => {
            journal_ref.clear_done(store.as_ref()).await?;
            journal_ref.save(store.as_ref(), journal).await?;
            Default::default()
        }
        None => journal_ref.done(store.as_ref()).await?,
    };
    let pending = (0..plan.buckets)
        .filter(|b| !done.contains_key(b))
        .collect();
    Ok(answer(pending, true))
}

/// Writes bucket `bucket` of the planned restore of `req` into `target`.
pub async fn restore_bucket(
    store: &Store,
    target: &dyn RestoreTarget,
    req: &RestoreRequest,
    bucket: u32,
) -> Result<BucketWritten> {
    let (journal_ref, journal) = running_journal(store, target, req).await?;
    let plan = journal.plan;
    if bucket >= plan.buckets {
        return Err(ReplayError::Invalid {
            what: "restore bucket",
            location: format!("{} -> {}", req.table, target.id()),
            reason: format!("bucket {bucket} of a plan with {} buckets", plan.buckets),
        });
    }
    let done = journal_ref.done(store.as_ref()).await?;
    if let Some(written) = done.get(&bucket) {
        return Ok(written.clone());
    }
    let ctx = context(req, &plan, WriteMode::Resume)?;
    target.prepare(&ctx).await?;
    let skip: BTreeSet<u32> = (0..plan.buckets).filter(|b| *b != bucket).collect();
    let folded = match FoldedState::fold(store, &plan, &req.reconstruct, &skip).await {
        Ok((folded, _stats)) => folded,
        Err(e) => {
            // As a plain restore does: the next plan starts from a snapshot instead.
            refute_on_missing_insert(store, &req.table, &plan, &e).await?;
            return Err(e);
        }
    };
    let setup = Setup {
        plan,
        mode: WriteMode::Resume,
        restarted: false,
        new_journal: None,
    };
    write_buckets(
        store,
        target,
        req,
        &RestoreProgress::default(),
        &journal_ref,
        &setup,
        &Default::default(),
        &folded,
        &AtomicU64::new(0),
        ctx.scope.as_deref(),
    )
    .await
}

/// Finishes the planned restore of `req` into `target` once every bucket is done; answers the
/// totals of all buckets.
pub async fn commit_fanout(
    store: &Store,
    target: &dyn RestoreTarget,
    req: &RestoreRequest,
) -> Result<BucketWritten> {
    let (journal_ref, journal) = running_journal(store, target, req).await?;
    let plan = journal.plan;
    let done = journal_ref.done(store.as_ref()).await?;
    let missing: Vec<u32> = (0..plan.buckets)
        .filter(|b| !done.contains_key(b))
        .collect();
    if let Some(first) = missing.first() {
        return Err(ReplayError::Invalid {
            what: "restore commit",
            location: format!("{} -> {}", req.table, target.id()),
            reason: format!(
                "{} of {} buckets are not written yet (bucket {first} first): run their steps before the commit",
                missing.len(),
                plan.buckets
            ),
        });
    }
    target
        .prepare(&context(req, &plan, WriteMode::Resume)?)
        .await?;
    let totals = done.values().fold(BucketWritten::default(), |mut acc, w| {
        add(&mut acc, w);
        acc
    });
    let setup = Setup {
        plan,
        mode: WriteMode::Resume,
        restarted: false,
        new_journal: None,
    };
    finish_restore(store, target, req, &journal_ref, &setup, totals).await
}

/// The journal the plan step wrote for this very request, still running.
async fn running_journal(
    store: &Store,
    target: &dyn RestoreTarget,
    req: &RestoreRequest,
) -> Result<(JournalRef, Journal)> {
    let journal_ref = JournalRef::new(&req.table, &target.id());
    let journal: Option<Journal> = journal_ref.load(store.as_ref()).await?;
    let refuse = |reason: &str| ReplayError::Invalid {
        what: "restore journal",
        location: format!("{} -> {}", req.table, target.id()),
        reason: format!("{reason}: run the plan step (the same restore request) first"),
    };
    let journal = journal.ok_or_else(|| refuse("there is none"))?;
    if journal.status != JournalStatus::Running {
        return Err(refuse("it is finished"));
    }
    if journal.requested != req.at.to_string() || journal.copy != req.copy.describe() {
        return Err(refuse(
            "it belongs to another request (point or copy options)",
        ));
    }
    Ok((journal_ref, journal))
}

fn context(req: &RestoreRequest, plan: &Plan, mode: WriteMode) -> Result<PrepareContext> {
    Ok(PrepareContext {
        description: plan.description.clone(),
        key_names: plan.key_names.clone(),
        mode,
        buckets: plan.buckets,
        scope: req
            .copy
            .resolve(plan.description.as_ref(), &plan.key_names)?,
    })
}
