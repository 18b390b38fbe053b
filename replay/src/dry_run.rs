//! `restore --dry-run`: the plan, and what carrying it out would write — reconstructed for real
//! (files are read, nothing is written), so the item count, sizes and write cost are exact
//! rather than guessed from file sizes.

use crate::at::format_second;
use crate::error::Result;
use crate::plan::{PinnedFile, Plan};
use crate::reconstruct::reconstruct;
use crate::restore::RestoreRequest;
use crate::whole_life::with_checked_plan;
use rewind_store::Store;
use serde::Serialize;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};

/// On-demand write price assumed for the cost estimate: USD per million write request units
/// (us-east-1, standard table class, since November 2024).
pub const USD_PER_MILLION_WRU: f64 = 0.625;
/// Write request units per second a new on-demand table absorbs by default (its table-level
/// throughput limit): the time estimate is this bound, not a promise.
pub const DEFAULT_ON_DEMAND_WRU_PER_SECOND: f64 = 40_000.0;

/// What a restore would do.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DryRunReport {
    /// Source table.
    pub table: String,
    /// The point as requested.
    pub requested: String,
    /// The resolved point.
    pub at: String,
    /// Restorable intervals, as text.
    pub window: Vec<String>,
    /// Base snapshot manifest, if any.
    pub base: Option<String>,
    /// Change files the plan reads.
    pub files: Vec<PinnedFile>,
    /// Bytes the plan reads.
    pub bytes: u64,
    /// Rows the files hold, and those applied.
    pub rows_read: u64,
    /// See `rows_read`.
    pub rows_applied: u64,
    /// Buckets.
    pub buckets: u32,
    /// Items the restored table would hold.
    pub items: u64,
    /// Their size (DynamoDB JSON bytes, a close proxy for DynamoDB's item size).
    pub item_bytes: u64,
    /// Write request units to load them (1 per started KB per item).
    pub write_units: u64,
    /// Seconds to load at a new on-demand table's default limit (a lower bound).
    pub estimated_seconds: f64,
    /// On-demand write cost, USD.
    pub estimated_cost_usd: f64,
    /// Quarantined records the restore would skip.
    pub skipped_quarantine: Vec<String>,
}

/// Plans the restore and reconstructs its state without writing anything.
pub async fn dry_run(store: &Store, req: &RestoreRequest) -> Result<DryRunReport> {
    with_checked_plan(
        store,
        &req.table,
        req.at,
        &req.plan,
        &req.reconstruct,
        async |plan: &Plan| {
            // A copy counts what it would write: its keys, its masked images.
            let scope = req
                .copy
                .resolve(plan.description.as_ref(), &plan.key_names)?;
            let item_bytes = AtomicU64::new(0);
            let write_units = AtomicU64::new(0);
            let kept = AtomicU64::new(0);
            let stats = reconstruct(
                store,
                plan,
                &req.reconstruct,
                &BTreeSet::new(),
                |_, items| {
                    let (item_bytes, write_units, kept) = (&item_bytes, &write_units, &kept);
                    let scope = scope.as_deref();
                    async move {
                        for item in items {
                            let Some(item) = req.copy.apply(scope, item)? else {
                                continue;
                            };
                            kept.fetch_add(1, Ordering::Relaxed);
                            let size = item.image_len() as u64;
                            item_bytes.fetch_add(size, Ordering::Relaxed);
                            write_units.fetch_add(size.div_ceil(1024).max(1), Ordering::Relaxed);
                        }
                        Ok(())
                    }
                },
            )
            .await?;
            let write_units = write_units.into_inner();
            Ok(DryRunReport {
                table: plan.table.clone(),
                requested: req.at.to_string(),
                at: format_second(plan.at),
                window: plan.window.iter().map(|i| i.to_string()).collect(),
                base: plan.base.as_ref().map(|b| b.manifest_key.clone()),
                bytes: plan.input_bytes(),
                files: plan.files.clone(),
                rows_read: stats.rows_read,
                rows_applied: stats.rows_applied,
                buckets: plan.buckets,
                items: kept.into_inner(),
                item_bytes: item_bytes.into_inner(),
                write_units,
                estimated_seconds: write_units as f64 / DEFAULT_ON_DEMAND_WRU_PER_SECOND,
                estimated_cost_usd: write_units as f64 / 1e6 * USD_PER_MILLION_WRU,
                skipped_quarantine: plan.skipped_quarantine.clone(),
            })
        },
    )
    .await
}
