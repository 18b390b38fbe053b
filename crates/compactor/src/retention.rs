//! Retention: delete change files and snapshots older than the configured windows without ever
//! deleting what a restore inside the windows still needs.
//!
//! - Every second from `now - changes` to the watermark stays restorable: the newest snapshot
//!   valid at or before that cutoff (the *anchor*) is kept, with every change file from the
//!   changes it needs on. Older change files go.
//! - Snapshots newer than `now - daily` all stay. Older ones stay when they are the anchor, or a
//!   compacted snapshot (an exact point in time, restorable on its own) that is the first of its
//!   week within `weekly` or the first of its month within `monthly`. The rest go, manifest first
//!   (so the snapshot stops existing at once), then its files.
//! - Before any change file is deleted, `tables/table=<t>/retention.json` records how far the
//!   log is gone, so no planner assumes the log still covers the table's whole life.

use crate::error::Result;
use chrono::{DateTime, Datelike};
use rewind_catalog::{advance_retention_marker, load_catalog, SnapshotInfo};
use rewind_store::Store;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

const DAY: i64 = 86_400;

/// How long history is kept, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Every second restorable for this long.
    pub changes_s: i64,
    /// Every snapshot kept for this long.
    pub daily_s: i64,
    /// The first compacted snapshot of each week kept for this long.
    pub weekly_s: i64,
    /// The first compacted snapshot of each month kept for this long.
    pub monthly_s: i64,
}

impl Default for RetentionPolicy {
    /// 35 days of any second, weekly points for a year, monthly points for seven.
    fn default() -> Self {
        RetentionPolicy {
            changes_s: 35 * DAY,
            daily_s: 35 * DAY,
            weekly_s: 365 * DAY,
            monthly_s: 7 * 365 * DAY,
        }
    }
}

/// A retention policy as operators give it, in whole days: the CLI's `--keep-*-days` flags, the
/// compactor Lambda's environment (`REWIND_KEEP_CHANGES_DAYS`, `REWIND_KEEP_DAILY_DAYS`,
/// `REWIND_KEEP_WEEKLY_DAYS`, `REWIND_KEEP_MONTHLY_DAYS`) or its event's `"retention"` object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionDays {
    /// Every second restorable for this many days.
    pub keep_changes_days: u32,
    /// Every snapshot kept this many days.
    pub keep_daily_days: u32,
    /// The first snapshot of each week kept this many days.
    pub keep_weekly_days: u32,
    /// The first snapshot of each month kept this many days.
    pub keep_monthly_days: u32,
}

impl Default for RetentionDays {
    /// The same windows as [`RetentionPolicy::default`].
    fn default() -> Self {
        let p = RetentionPolicy::default();
        let days = |s: i64| (s / DAY) as u32;
        RetentionDays {
            keep_changes_days: days(p.changes_s),
            keep_daily_days: days(p.daily_s),
            keep_weekly_days: days(p.weekly_s),
            keep_monthly_days: days(p.monthly_s),
        }
    }
}

impl RetentionDays {
    /// The policy in seconds.
    pub fn policy(&self) -> RetentionPolicy {
        let s = |d: u32| i64::from(d) * DAY;
        RetentionPolicy {
            changes_s: s(self.keep_changes_days),
            daily_s: s(self.keep_daily_days),
            weekly_s: s(self.keep_weekly_days),
            monthly_s: s(self.keep_monthly_days),
        }
    }

    /// The defaults, each replaced by its `REWIND_KEEP_*_DAYS` variable when `env` has it; a
    /// value that is not a whole number of days is an error naming the variable.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> crate::error::Result<Self> {
        let mut days = RetentionDays::default();
        for (name, field) in [
            ("REWIND_KEEP_CHANGES_DAYS", &mut days.keep_changes_days),
            ("REWIND_KEEP_DAILY_DAYS", &mut days.keep_daily_days),
            ("REWIND_KEEP_WEEKLY_DAYS", &mut days.keep_weekly_days),
            ("REWIND_KEEP_MONTHLY_DAYS", &mut days.keep_monthly_days),
        ] {
            if let Some(value) = env(name).filter(|v| !v.trim().is_empty()) {
                *field = value
                    .trim()
                    .parse()
                    .map_err(|_| crate::CompactorError::Invalid {
                        what: "retention setting",
                        location: name.to_string(),
                        reason: format!("{value:?} is not a whole number of days"),
                    })?;
            }
        }
        Ok(days)
    }

    /// `self` with the fields `overrides` (a JSON object of `keep_*_days`) names replaced.
    pub fn overridden_by(&self, overrides: &serde_json::Value) -> Result<Self, serde_json::Error> {
        let mut merged = serde_json::to_value(self).expect("retention days serialise");
        if let (Some(base), Some(over)) = (merged.as_object_mut(), overrides.as_object()) {
            for (k, v) in over {
                base.insert(k.clone(), v.clone());
            }
        }
        serde_json::from_value(merged)
    }
}

/// What retention deleted (or, in a dry run, would delete).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RetentionReport {
    /// Nothing was deleted.
    pub dry_run: bool,
    /// Every second from here on stays restorable (seconds).
    pub cutoff: i64,
    /// The snapshot that keeps the cutoff restorable (`None`: the change log from the start).
    pub anchor: Option<String>,
    /// Change files deleted.
    pub change_files: Vec<String>,
    /// Snapshots deleted (manifest keys).
    pub snapshots: Vec<String>,
    /// Snapshots kept (manifest keys).
    pub kept_snapshots: Vec<String>,
    /// Objects deleted in all (change files, manifests, snapshot files).
    pub objects_deleted: u64,
}

/// Applies `policy` to `table` as of `now_s`.
pub async fn apply_retention(
    store: &Store,
    table: &str,
    policy: &RetentionPolicy,
    now_s: i64,
    dry_run: bool,
) -> Result<RetentionReport> {
    let catalog = load_catalog(store.as_ref(), table, None).await?;
    let cutoff = now_s - policy.changes_s;
    let live: Vec<&SnapshotInfo> = catalog
        .snapshots
        .iter()
        .filter(|s| !s.invalidated)
        .collect();
    let anchor = live
        .iter()
        .filter(|s| s.valid_from <= cutoff)
        .max_by_key(|s| (s.valid_from, s.changes_from_ms))
        .copied();
    let mut report = RetentionReport {
        dry_run,
        cutoff,
        anchor: anchor.map(|a| a.manifest_key.clone()),
        ..Default::default()
    };

    let keep = snapshots_to_keep(&catalog.snapshots, anchor, policy, now_s);
    for snap in &catalog.snapshots {
        if keep.contains(&snap.manifest_key) {
            report.kept_snapshots.push(snap.manifest_key.clone());
        } else {
            report.snapshots.push(snap.manifest_key.clone());
        }
    }
    // Change files of hours that end before the anchor needs changes (none without an anchor:
    // the log from the start is then what makes the cutoff restorable).
    let deleted_before_ms = anchor.map(|a| a.changes_from_ms);
    if let Some(before) = deleted_before_ms {
        report.change_files = catalog
            .change_files
            .iter()
            .filter(|f| f.file.hour.start().timestamp() * 1000 + 3_600_000 <= before)
            .map(|f| f.key.clone())
            .collect();
    }
    if dry_run {
        return Ok(report);
    }

    if !report.change_files.is_empty() {
        let before = deleted_before_ms.expect("files are deleted only with an anchor");
        let hour_aligned = before - before.rem_euclid(3_600_000);
        advance_retention_marker(store.as_ref(), table, hour_aligned).await?;
        for key in &report.change_files {
            delete(store, key, &mut report.objects_deleted).await?;
        }
    }
    for manifest in report.snapshots.clone() {
        let files = catalog
            .snapshots
            .iter()
            .find(|s| s.manifest_key == manifest)
            .map(|s| s.files.clone())
            .unwrap_or_default();
        delete(store, &manifest, &mut report.objects_deleted).await?;
        for (key, _) in files {
            delete(store, &key, &mut report.objects_deleted).await?;
        }
    }
    Ok(report)
}

async fn delete(store: &Store, key: &str, count: &mut u64) -> Result<()> {
    match store.delete(key).await {
        Ok(()) => {
            rewind_store::crash_point::crash_point("retention.delete");
            *count += 1
        }
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// The manifests of the snapshots the policy keeps.
fn snapshots_to_keep(
    snapshots: &[SnapshotInfo],
    anchor: Option<&SnapshotInfo>,
    policy: &RetentionPolicy,
    now_s: i64,
) -> BTreeSet<String> {
    let mut keep = BTreeSet::new();
    let mut weeks_seen = BTreeSet::new();
    let mut months_seen = BTreeSet::new();
    let newest = snapshots.iter().map(|s| s.at).max();
    let mut ordered: Vec<&SnapshotInfo> = snapshots.iter().collect();
    ordered.sort_by_key(|s| s.at);
    for snap in ordered {
        let age = now_s - snap.at;
        let instant = snap.changes_from_ms >= (snap.valid_from + 1) * 1000 && !snap.invalidated;
        let t = DateTime::from_timestamp(snap.at, 0).unwrap_or_default();
        let week = (t.iso_week().year(), t.iso_week().week());
        let month = (t.year(), t.month());
        let first_of_week = instant && weeks_seen.insert(week);
        let first_of_month = instant && months_seen.insert(month);
        if age < policy.daily_s
            || Some(snap.at) == newest
            || anchor.is_some_and(|a| a.manifest_key == snap.manifest_key)
            || (first_of_week && age < policy.weekly_s)
            || (first_of_month && age < policy.monthly_s)
        {
            keep.insert(snap.manifest_key.clone());
        }
    }
    keep
}
