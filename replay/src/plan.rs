//! The planner: a pure function from the catalog and a restore point to a plan — the base, the
//! change files to read, the stamp range to apply, the bucket count — or a refusal naming the
//! restorable window and the nearest restorable points. The executor only follows a plan.

use crate::at::{format_second, AtSpec};
use crate::bucket::bucket_count_for;
use crate::error::{ReplayError, Result};
use crate::state::StampRange;
use crate::window::{restorable_window, BaseRef, Interval, SnapshotUse, Window, WindowOptions};
use chrono::{DateTime, Utc};
use rewind_catalog::layout::HourPartition;
use rewind_catalog::TableDescription;
use rewind_catalog::{Catalog, SnapshotInfo};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Knobs of planning.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlanOptions {
    /// Window rules.
    pub window: WindowOptions,
    /// Restore even though quarantined records may fall in the range (they are listed in the
    /// plan).
    pub skip_quarantined: bool,
    /// Rebuild from the change log alone, as if no snapshot existed (a snapshot suspected bad;
    /// comparisons). Only possible where the log covers the table's whole life.
    pub ignore_snapshots: bool,
}

/// An object the plan reads, pinned by key and size.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PinnedFile {
    /// Object key.
    pub key: String,
    /// Size when planned.
    pub size: u64,
}

/// A restore plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Source table.
    pub table: String,
    /// What was asked for.
    pub requested: String,
    /// The resolved restore point (seconds since the epoch).
    pub at: i64,
    /// The base snapshot, if any (`None`: the whole-life change log).
    pub base: Option<SnapshotInfo>,
    /// Which changes are applied.
    pub changes: StampRange,
    /// Change files to read, in key order.
    pub files: Vec<PinnedFile>,
    /// Key-hash buckets the work is split into.
    pub buckets: u32,
    /// The table description in force at the restore point.
    pub description: Option<TableDescription>,
    /// Key attribute names (hash key first), from the description; empty without one.
    pub key_names: Vec<String>,
    /// The restorable window when planned.
    pub window: Vec<Interval>,
    /// The watermark when planned.
    pub watermark: Option<i64>,
    /// Quarantined records that may fall in the range and were skipped on request.
    pub skipped_quarantine: Vec<String>,
    /// The lineage (incarnation of the table name) the restore point belongs to, in words.
    #[serde(default)]
    pub lineage: Option<String>,
}

impl Plan {
    /// Bytes of every pinned object (base and changes).
    pub fn input_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum::<u64>()
            + self
                .base
                .iter()
                .flat_map(|b| b.files.iter().map(|(_, s)| *s))
                .sum::<u64>()
    }

    /// Identifies the plan for resume: the point, the base and every pinned object. Two runs
    /// with the same fingerprint reconstruct the same state.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        h.update(format!("{}\n{}\n{}\n", self.table, self.at, self.buckets));
        if let Some(base) = &self.base {
            h.update(format!("base {}\n", base.manifest_key));
            for (key, size) in &base.files {
                h.update(format!("base file {key} {size}\n"));
            }
        }
        for f in &self.files {
            h.update(format!("{} {}\n", f.key, f.size));
        }
        hex::encode(&h.finalize()[..16])
    }
}

/// Plans a restore of `catalog`'s table to `at`.
pub fn plan_restore(catalog: &Catalog, at: AtSpec, opts: &PlanOptions) -> Result<Plan> {
    if opts.ignore_snapshots && !catalog.snapshots.is_empty() {
        let without = Catalog {
            snapshots: Vec::new(),
            ..catalog.clone()
        };
        return plan_restore(
            &without,
            at,
            &PlanOptions {
                ignore_snapshots: false,
                ..*opts
            },
        );
    }
    let window = restorable_window(catalog, &opts.window);
    if window.intervals.is_empty() {
        return Err(ReplayError::NothingRestorable {
            table: catalog.table.clone(),
            reason: nothing_reason(catalog, &window),
        });
    }
    let second = match at {
        // DESIGN.md: `latest` is the watermark. When a hole ends the window before it, refuse
        // (naming the nearest restorable point) rather than silently restore an older point.
        AtSpec::Latest => window
            .watermark
            .expect("a window with intervals has a watermark"),
        AtSpec::Second(s) => s,
    };
    // The newest base whose span holds the second: the least to replay.
    let Some(span) = window
        .spans
        .iter()
        .filter(|s| s.interval.contains(second))
        .max_by_key(|s| s.changes_from_ms.unwrap_or(i64::MIN))
    else {
        return Err(outside_window(&catalog.table, &window, second));
    };
    let base = match &span.base {
        BaseRef::WholeLife => None,
        BaseRef::Snapshot(manifest) => catalog
            .snapshots
            .iter()
            .find(|s| &s.manifest_key == manifest)
            .cloned(),
    };
    let changes = StampRange {
        from_ms: span.changes_from_ms,
        until_ms: (second + 1) * 1000,
    };

    let skipped_quarantine: Vec<String> = catalog
        .quarantined
        .iter()
        .filter(|q| match q.stamp_ms {
            Some(stamp) => changes.admits(stamp),
            // Unknown stamp: it may be anywhere, unless it was met before the range began.
            None => changes.from_ms.is_none_or(|from| q.ingested_at_ms >= from),
        })
        .map(|q| q.key.clone())
        .collect();
    if !skipped_quarantine.is_empty() && !opts.skip_quarantined {
        return Err(ReplayError::Quarantined {
            table: catalog.table.clone(),
            count: skipped_quarantine.len(),
            first: skipped_quarantine[0].clone(),
        });
    }

    // Partition pruning: only hours that can hold a stamp in the range.
    let first_hour = changes
        .from_ms
        .and_then(DateTime::<Utc>::from_timestamp_millis)
        .map(HourPartition::of);
    let last_hour = HourPartition::of(
        DateTime::<Utc>::from_timestamp_millis(changes.until_ms - 1).ok_or_else(|| {
            ReplayError::Invalid {
                what: "restore point",
                location: catalog.table.clone(),
                reason: format!("second {second} is outside the calendar"),
            }
        })?,
    );
    let files: Vec<PinnedFile> = catalog
        .change_files
        .iter()
        .filter(|f| f.file.hour <= last_hour && first_hour.is_none_or(|h| f.file.hour >= h))
        .map(|f| PinnedFile {
            key: f.key.clone(),
            size: f.size,
        })
        .collect();

    let described = description_at(catalog, second);
    let description = described.cloned();
    let key_names = description.as_ref().map(key_names_of).unwrap_or_default();
    let mut plan = Plan {
        table: catalog.table.clone(),
        requested: at.to_string(),
        at: second,
        base,
        changes,
        files,
        buckets: 0,
        description,
        key_names,
        window: window.intervals.clone(),
        watermark: window.watermark,
        skipped_quarantine,
        lineage: window.lineage_of(second).map(|l| l.describe()),
    };
    plan.buckets = bucket_count_for(plan.input_bytes());
    // A base already split finely enough sets the count: its files are then folded in place.
    if let Some(base) = plan
        .base
        .as_ref()
        .filter(|b| b.folds_in_place(plan.buckets))
    {
        plan.buckets = base.buckets;
    }
    Ok(plan)
}

/// The description in force at `second`: the newest written at or before it, else the oldest
/// (capture describes the table when it starts, a moment after the stream's first changes).
fn description_at(catalog: &Catalog, second: i64) -> Option<&TableDescription> {
    let until_ms = (second + 1) * 1000;
    catalog
        .descriptions
        .iter()
        .rev()
        .find(|d| d.at_ms < until_ms)
        .or(catalog.descriptions.first())
        .map(|d| &d.description)
}

/// Key attribute names, hash key first.
pub fn key_names_of(description: &TableDescription) -> Vec<String> {
    let mut keys: Vec<_> = description.key_schema.iter().collect();
    keys.sort_by_key(|k| k.key_type != "HASH");
    keys.into_iter().map(|k| k.attribute_name.clone()).collect()
}

fn nothing_reason(catalog: &Catalog, window: &Window) -> String {
    let snapshots = describe_snapshots(window);
    if catalog.checkpoints.is_empty() {
        return format!(
            "capture has not run for this table (no checkpoints in the store){}",
            if snapshots.is_empty() {
                String::new()
            } else {
                format!("; {snapshots}")
            }
        );
    }
    let Some(watermark) = window.watermark else {
        return "capture has not read any shard through yet".into();
    };
    match window.not_whole_life() {
        Some(why) if window.spans.is_empty() => format!(
            "the change log does not cover the table's whole life ({why}); {}",
            if snapshots.is_empty() {
                "no snapshot exists yet; take a full backup (rewind backup)".to_string()
            } else {
                snapshots
            }
        ),
        // No hole: the only thing missing is capture reaching the first restorable second.
        _ if window.holes.is_empty() => format!(
            "capture has not yet read past the first restorable second (watermark {}); retry shortly",
            format_second(watermark)
        ),
        _ => "every restorable span is cut by a gap".into(),
    }
}

/// The snapshots that are not usable, and why, in one phrase.
pub fn describe_snapshots(window: &Window) -> String {
    let parts: Vec<String> = window
        .snapshots
        .iter()
        .filter(|s| s.status != SnapshotUse::Usable)
        .map(|s| s.describe())
        .collect();
    parts.join("; ")
}

/// The refusal of `second`, outside `window`: the window and the nearest restorable seconds, so
/// the operator can pick one (a restore and a compaction at such a point say the same).
pub fn outside_window(table: &str, window: &Window, second: i64) -> ReplayError {
    let (nearest_before, nearest_after) = window.nearest(second);
    ReplayError::OutsideWindow {
        table: table.to_string(),
        at: format_second(second),
        window: window.intervals.clone(),
        nearest_before,
        nearest_after,
    }
}
