//! Verification: the target against the reconstructed state at T — counts and per-item
//! fingerprints (types included, numbers by value), the first differences listed.
//!
//! TTL: an item the state holds whose TTL attribute had already passed, missing from a target
//! with TTL on, was deleted by the target's TTL as it should be; it is counted as expired, not
//! as a difference.

use crate::at::{format_second, AtSpec};
use crate::copy_spec::CopySpec;
use crate::error::{ReplayError, Result};
use crate::fingerprint::{fingerprint, item_key, key_names_from_keys_json, Fingerprint};
use crate::plan::{Plan, PlanOptions};
use crate::reconstruct::{reconstruct, ReconstructOptions};
use crate::state::LiveItem;
use crate::target::RestoreTarget;
use crate::whole_life::with_checked_plan;
use rewind_format::{item_from_json, AttributeValue, Item};
use rewind_store::Store;
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

/// How many differences a report lists (all are counted).
pub const MAX_LISTED: usize = 20;

/// One difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// `missing` (in the state, not at the target), `extra` (at the target only), `differs`.
    pub kind: &'static str,
    /// The item's key attributes, DynamoDB JSON.
    pub key: String,
}

/// What verification found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Source table.
    pub table: String,
    /// The target.
    pub target: String,
    /// The resolved point, RFC 3339.
    pub at: String,
    /// Items in the reconstructed state.
    pub expected_items: u64,
    /// Items at the target.
    pub target_items: u64,
    /// Items equal on both sides.
    pub matching: u64,
    /// In the state, not at the target.
    pub missing: u64,
    /// At the target, not in the state.
    pub extra: u64,
    /// On both sides with different content.
    pub differing: u64,
    /// In the state, missing at the target, and already expired by the target's TTL.
    pub expired_by_ttl: u64,
    /// The first differences.
    pub differences: Vec<Difference>,
}

impl VerifyReport {
    /// Whether the target equals the state.
    pub fn is_equal(&self) -> bool {
        self.missing == 0 && self.extra == 0 && self.differing == 0
    }
}

struct Seen {
    keys: String,
    fingerprint: Fingerprint,
}

/// Verifies `target` against the state of `table` at `at`.
pub async fn verify(
    store: &Store,
    table: &str,
    at: AtSpec,
    target: &dyn RestoreTarget,
    plan_opts: &PlanOptions,
    opts: &ReconstructOptions,
    copy: &CopySpec,
) -> Result<VerifyReport> {
    with_checked_plan(store, table, at, plan_opts, opts, async |plan: &Plan| {
        verify_plan(store, table, plan, target, opts, copy).await
    })
    .await
}

async fn verify_plan(
    store: &Store,
    table: &str,
    plan: &Plan,
    target: &dyn RestoreTarget,
    opts: &ReconstructOptions,
    copy: &CopySpec,
) -> Result<VerifyReport> {
    // A copy is compared as it was made: its keys only, its masks applied to the state.
    let scope = copy.resolve(plan.description.as_ref(), &plan.key_names)?;
    let ttl = target.active_ttl_attribute().await?;
    let now_s = chrono::Utc::now().timestamp();

    let target_items = read_target(target).await?;
    let key_names = resolve_key_names(store, plan).await?;
    let mut at_target: HashMap<Vec<u8>, Seen> = HashMap::with_capacity(target_items.len());
    for (i, item) in target_items.into_iter().enumerate() {
        let (key, keys) = if key_names.is_empty() {
            // The state is empty and nothing names the key: every target item is extra.
            let json = rewind_format::item_to_json(&item);
            (json.clone().into_bytes(), json)
        } else {
            item_key(&item, &key_names, &format!("{} item {i}", target.id()))?
        };
        if let Some(scope) = &scope {
            if !scope.admits(&key, &keys)? {
                continue;
            }
        }
        at_target.insert(
            key,
            Seen {
                keys,
                fingerprint: fingerprint(&item),
            },
        );
    }
    let report = Mutex::new(VerifyReport {
        table: table.to_string(),
        target: target.id(),
        at: format_second(plan.at),
        target_items: at_target.len() as u64,
        ..Default::default()
    });
    let at_target = Mutex::new(at_target);
    reconstruct(
        store,
        plan,
        opts,
        &BTreeSet::new(),
        |_, items: Vec<LiveItem>| {
            let (report, at_target, ttl) = (&report, &at_target, &ttl);
            let scope = scope.as_deref();
            async move {
                for item in items {
                    let Some(item) = copy.apply(scope, item)? else {
                        continue;
                    };
                    let parsed =
                        item_from_json(item.image()).map_err(|e| ReplayError::Invalid {
                            what: "reconstructed item",
                            location: item.keys().to_string(),
                            reason: e.to_string(),
                        })?;
                    let expected = fingerprint(&parsed);
                    let held = at_target.lock().expect("not poisoned").remove(&item.key);
                    let mut r = report.lock().expect("not poisoned");
                    r.expected_items += 1;
                    match held {
                        Some(seen) if seen.fingerprint == expected => r.matching += 1,
                        Some(_) => {
                            r.differing += 1;
                            list(&mut r, "differs", item.keys());
                        }
                        None if expired(&parsed, ttl.as_deref(), now_s) => r.expired_by_ttl += 1,
                        None => {
                            r.missing += 1;
                            list(&mut r, "missing", item.keys());
                        }
                    }
                }
                Ok(())
            }
        },
    )
    .await?;
    let mut report = report.into_inner().expect("not poisoned");
    let mut extra: Vec<Seen> = at_target
        .into_inner()
        .expect("not poisoned")
        .into_values()
        .collect();
    extra.sort_by(|a, b| a.keys.cmp(&b.keys));
    report.extra = extra.len() as u64;
    for seen in extra {
        list(&mut report, "extra", &seen.keys);
    }
    Ok(report)
}

fn list(report: &mut VerifyReport, kind: &'static str, keys: &str) {
    if report.differences.len() < MAX_LISTED {
        report.differences.push(Difference {
            kind,
            key: keys.to_string(),
        });
    }
}

/// Whether DynamoDB's TTL would have deleted `item` by `now_s` (a number of epoch seconds in the
/// TTL attribute, in the past).
fn expired(item: &Item, ttl_attribute: Option<&str>, now_s: i64) -> bool {
    let Some(name) = ttl_attribute else {
        return false;
    };
    match item.get(name) {
        Some(AttributeValue::N(n)) => n.parse::<f64>().is_ok_and(|t| (t as i64) < now_s),
        _ => false,
    }
}

async fn read_target(target: &dyn RestoreTarget) -> Result<Vec<Item>> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let scan = target.scan(tx);
    let collect = async {
        let mut all = Vec::new();
        while let Some(page) = rx.recv().await {
            all.extend(page);
        }
        all
    };
    let (scanned, items) = tokio::join!(scan, collect);
    scanned?;
    Ok(items)
}

/// The key attribute names: from the description, or else from the first change record (its
/// `keys` column). Empty only when the plan reads nothing.
async fn resolve_key_names(store: &Store, plan: &crate::plan::Plan) -> Result<Vec<String>> {
    if !plan.key_names.is_empty() {
        return Ok(plan.key_names.clone());
    }
    let Some(first) = plan.files.first() else {
        return Ok(Vec::new());
    };
    let bytes = store.get(&first.key).await?;
    let mut reader = rewind_format::ChangeFileReader::open(&store.describe(&first.key), bytes)?;
    match reader.next_records() {
        Some(records) => Ok(records?
            .first()
            .map(|r| key_names_from_keys_json(&r.keys))
            .unwrap_or_default()),
        None => Ok(Vec::new()),
    }
}
