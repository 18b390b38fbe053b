//! The whole-life check: does the change log hold every item the table had since its first
//! stream began?
//!
//! Timing cannot tell (docs/DECISIONS.md, "Whole-life rule"): a stream enabled by UpdateTable a
//! moment after CreateTable looks like one given at creation, and items written in between
//! are in no stream record. What can tell is the table itself. A full backup's Scan is compared
//! with the log at the backup's first valid second V: the state rebuilt from the log alone
//! (which also requires every item's first version to be an INSERT) must equal the state
//! rebuilt from the backup plus the changes over it. An item alive when the stream began is
//! then either untouched until the scan (the scan holds it, the log does not: refuted) or
//! touched before it (its first version is a MODIFY or REMOVE: refuted). Equal states prove
//! that no such item exists, for every second since the stream began.
//!
//! A verdict is stored once ([`record_whole_life`]); a refutation outranks a confirmation and
//! is never withdrawn. A restore, a verify or a compaction that meets a first version that is
//! not an INSERT refutes the claim the same way ([`refute_on_missing_insert`]) and plans again
//! from a snapshot.

use crate::at::{format_second, AtSpec};
use crate::error::{ReplayError, Result};
use crate::fingerprint::{fingerprint, Fingerprint};
use crate::plan::{plan_restore, Plan, PlanOptions};
use crate::reconstruct::{reconstruct, ReconstructOptions};
use crate::state::LiveItem;
use crate::window::restorable_window;
use rewind_catalog::{
    load_catalog, record_whole_life, Catalog, WholeLifeEvidence, WholeLifeVerdict,
};
use rewind_format::item_from_json;
use rewind_store::Store;
use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

/// Loads the catalog of `table` (as [`load_catalog`]), first settling the whole-life claim when
/// a usable full backup can prove or refute it. A check that cannot run (a broken log, a store
/// error) is logged and leaves the claim unconfirmed: restores from snapshots still work.
pub async fn load_checked_catalog(
    store: &Store,
    table: &str,
    until_second: Option<i64>,
    plan_opts: &PlanOptions,
    recon_opts: &ReconstructOptions,
) -> Result<Catalog> {
    let catalog = load_catalog(store.as_ref(), table, until_second).await?;
    if restorable_window(&catalog, &plan_opts.window)
        .confirm_with()
        .is_none()
    {
        return Ok(catalog);
    }
    match check_whole_life(store, table, plan_opts, recon_opts).await {
        Ok(Some(verdict)) => {
            tracing::info!(table, verdict = ?verdict.verdict, reason = %verdict.reason, "whole-life check");
            Ok(load_catalog(store.as_ref(), table, until_second).await?)
        }
        Ok(None) => Ok(catalog),
        Err(e) => {
            tracing::warn!(table, error = %e, "the whole-life check could not run; the claim stays unconfirmed");
            Ok(catalog)
        }
    }
}

/// Plans `at` from a catalog whose whole-life claim is settled ([`load_checked_catalog`]) and
/// runs `work` on the plan. A whole-life plan that meets an item without an INSERT records the
/// refutation and is planned again once (now from a snapshot), as a restore does.
pub async fn with_checked_plan<T>(
    store: &Store,
    table: &str,
    at: AtSpec,
    plan_opts: &PlanOptions,
    recon_opts: &ReconstructOptions,
    work: impl AsyncFn(&Plan) -> Result<T>,
) -> Result<T> {
    for attempt in 0..2 {
        let catalog =
            load_checked_catalog(store, table, at.second(), plan_opts, recon_opts).await?;
        let plan = plan_restore(&catalog, at, plan_opts)?;
        match work(&plan).await {
            Err(e) if attempt == 0 && refute_on_missing_insert(store, table, &plan, &e).await? => {}
            other => return other,
        }
    }
    unreachable!("the second attempt returns")
}

/// Compares the log with the oldest usable full backup when that can settle the whole-life
/// claim, and stores the verdict. Returns the verdict in force afterwards (`None`: nothing to
/// compare yet).
pub async fn check_whole_life(
    store: &Store,
    table: &str,
    plan_opts: &PlanOptions,
    recon_opts: &ReconstructOptions,
) -> Result<Option<WholeLifeEvidence>> {
    let catalog = load_catalog(store.as_ref(), table, None).await?;
    let window = restorable_window(&catalog, &plan_opts.window);
    let Some(manifest) = window.confirm_with().map(str::to_string) else {
        return Ok(catalog.whole_life);
    };
    let snapshot = catalog
        .snapshots
        .iter()
        .find(|s| s.manifest_key == manifest)
        .cloned()
        .expect("the window names a listed snapshot");
    let at = snapshot.valid_from;
    // Quarantined records in the range would make the two states differ for a reason that is
    // not the table's history: then nothing is decided (the operator fixes and redrives them).
    let opts = PlanOptions {
        skip_quarantined: false,
        ignore_snapshots: false,
        ..*plan_opts
    };
    // The log alone, as if the claim held; and the backup with the changes over it.
    let hypothetical = Catalog {
        snapshots: Vec::new(),
        whole_life: Some(evidence(
            WholeLifeVerdict::Confirmed,
            None,
            None,
            String::new(),
        )),
        ..catalog.clone()
    };
    let mut from_log = match plan_restore(&hypothetical, AtSpec::Second(at), &opts) {
        Err(e @ ReplayError::Quarantined { .. }) => {
            tracing::warn!(table, error = %e, "the whole-life check waits for quarantined records");
            return Ok(catalog.whole_life);
        }
        other => other?,
    };
    let backed_up = Catalog {
        snapshots: vec![snapshot],
        whole_life: None,
        ..catalog.clone()
    };
    let mut from_backup = plan_restore(&backed_up, AtSpec::Second(at), &opts)?;
    debug_assert!(from_log.base.is_none() && from_backup.base.is_some());
    let buckets = from_log.buckets.max(from_backup.buckets);
    from_log.buckets = buckets;
    from_backup.buckets = buckets;

    let log_state = match collect(store, &from_log, recon_opts).await {
        Ok(state) => state,
        Err(ReplayError::MissingInsert {
            key,
            stream_label,
            sequence_number,
            event,
        }) => {
            let reason = format!(
                "item {key} has no INSERT in the change log (its first version, stream {stream_label} sequence {sequence_number}, is a {event}): it existed before the stream began, or its INSERT was lost"
            );
            return Ok(record_whole_life(
                store.as_ref(),
                table,
                &evidence(WholeLifeVerdict::Refuted, Some(&manifest), Some(at), reason),
            )
            .await?);
        }
        Err(e) => return Err(e),
    };
    let items: usize = log_state.values().map(Vec::len).sum();
    let verdict = match first_difference_with(store, &from_backup, recon_opts, log_state).await? {
        None => evidence(
            WholeLifeVerdict::Confirmed,
            Some(&manifest),
            Some(at),
            format!(
                "the full backup {manifest} and the change log agree on all {items} items at {}",
                format_second(at)
            ),
        ),
        Some(difference) => evidence(
            WholeLifeVerdict::Refuted,
            Some(&manifest),
            Some(at),
            format!(
                "at {}, {difference} (full backup {manifest})",
                format_second(at)
            ),
        ),
    };
    Ok(record_whole_life(store.as_ref(), table, &verdict).await?)
}

/// Records a refutation when `err` is a whole-life restore meeting an item without an INSERT.
/// Returns whether it did (the caller then plans again).
pub async fn refute_on_missing_insert(
    store: &Store,
    table: &str,
    plan: &Plan,
    err: &ReplayError,
) -> Result<bool> {
    let ReplayError::MissingInsert { .. } = err else {
        return Ok(false);
    };
    if plan.base.is_some() {
        return Ok(false);
    }
    let reason = format!(
        "{err} (met restoring {} to {})",
        plan.table,
        format_second(plan.at)
    );
    tracing::warn!(table, %reason, "the change log does not cover the table's whole life; restores now need a snapshot");
    record_whole_life(
        store.as_ref(),
        table,
        &evidence(WholeLifeVerdict::Refuted, None, None, reason),
    )
    .await?;
    Ok(true)
}

fn evidence(
    verdict: WholeLifeVerdict,
    snapshot: Option<&str>,
    compared_at: Option<i64>,
    reason: String,
) -> WholeLifeEvidence {
    WholeLifeEvidence {
        verdict,
        snapshot: snapshot.map(str::to_string),
        compared_at,
        reason,
        decided_at_ms: chrono::Utc::now().timestamp_millis(),
    }
}

/// One item of a state, as compared: canonical key, key attributes, fingerprint.
type Entry = (Vec<u8>, String, Fingerprint);

/// A plan's state, bucket by bucket (keys sorted within each).
async fn collect(
    store: &Store,
    plan: &Plan,
    opts: &ReconstructOptions,
) -> Result<HashMap<u32, Vec<Entry>>> {
    let out = Mutex::new(HashMap::new());
    reconstruct(store, plan, opts, &BTreeSet::new(), |bucket, items| {
        let out = &out;
        async move {
            let entries = items
                .into_iter()
                .map(entry)
                .collect::<Result<Vec<Entry>>>()?;
            out.lock().expect("not poisoned").insert(bucket, entries);
            Ok(())
        }
    })
    .await?;
    Ok(out.into_inner().expect("not poisoned"))
}

fn entry(item: LiveItem) -> Result<Entry> {
    let parsed = item_from_json(item.image()).map_err(|e| ReplayError::Invalid {
        what: "item image",
        location: item.keys().to_string(),
        reason: e.to_string(),
    })?;
    let keys = item.keys().to_string();
    Ok((item.key, keys, fingerprint(&parsed)))
}

/// Reconstructs `plan` (the backup's state) bucket by bucket and compares each bucket with
/// the log's as it comes, letting go of both: only the log's state is held whole. Returns the
/// first difference found, in words.
async fn first_difference_with(
    store: &Store,
    plan: &Plan,
    opts: &ReconstructOptions,
    log_state: HashMap<u32, Vec<Entry>>,
) -> Result<Option<String>> {
    let log_state = Mutex::new(log_state);
    let found: Mutex<Option<(u32, String)>> = Mutex::new(None);
    reconstruct(store, plan, opts, &BTreeSet::new(), |bucket, items| {
        let (log_state, found) = (&log_state, &found);
        async move {
            let backup = items
                .into_iter()
                .map(entry)
                .collect::<Result<Vec<Entry>>>()?;
            let log = log_state
                .lock()
                .expect("not poisoned")
                .remove(&bucket)
                .unwrap_or_default();
            if let Some(difference) = bucket_difference(&log, &backup) {
                let mut found = found.lock().expect("not poisoned");
                // The lowest bucket's, so the verdict does not depend on task timing.
                if found.as_ref().is_none_or(|(b, _)| bucket < *b) {
                    *found = Some((bucket, difference));
                }
            }
            Ok(())
        }
    })
    .await?;
    Ok(found.into_inner().expect("not poisoned").map(|(_, d)| d))
}

/// The first difference between one bucket of the log's state and the backup's (both sorted by
/// key), in words.
fn bucket_difference(log: &[Entry], backup: &[Entry]) -> Option<String> {
    let (mut i, mut j) = (0, 0);
    while i < log.len() || j < backup.len() {
        match (log.get(i), backup.get(j)) {
            (Some(x), Some(y)) if x.0 == y.0 => {
                if x.2 != y.2 {
                    return Some(format!(
                        "item {} differs between the backup and the change log",
                        x.1
                    ));
                }
                i += 1;
                j += 1;
            }
            (Some(x), Some(y)) if x.0 < y.0 => {
                return Some(format!(
                    "the change log holds item {}, which the backup does not",
                    x.1
                ))
            }
            (Some(x), None) => {
                return Some(format!(
                    "the change log holds item {}, which the backup does not",
                    x.1
                ))
            }
            (_, Some(y)) => {
                return Some(format!(
                    "the backup's Scan found item {}, which the change log never inserted: it was written before the stream began",
                    y.1
                ))
            }
            (None, None) => unreachable!("the loop condition"),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(key: u8, fp: u8) -> Entry {
        (vec![key], format!("k{key}"), [fp; 16])
    }

    #[test]
    fn names_the_first_difference_of_each_kind() {
        let log = [e(1, 1), e(3, 3)];
        assert_eq!(bucket_difference(&log, &[e(1, 1), e(3, 3)]), None);
        assert!(bucket_difference(&log, &[e(1, 1), e(2, 2), e(3, 3)])
            .unwrap()
            .contains("found item k2, which the change log never inserted"));
        assert!(bucket_difference(&log, &[e(1, 1)])
            .unwrap()
            .contains("the change log holds item k3, which the backup does not"));
        assert!(bucket_difference(&log, &[e(1, 9), e(3, 3)])
            .unwrap()
            .contains("item k1 differs"));
        assert!(bucket_difference(&[], &[e(5, 5)])
            .unwrap()
            .contains("k5, which the change log never inserted"));
    }
}
