//! The restorable window: intervals of whole seconds, and the watermark that ends the last one.

use crate::at::format_second;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A closed interval of restorable seconds, `[start, end]` (seconds since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Interval {
    /// First restorable second.
    pub start: i64,
    /// Last restorable second.
    pub end: i64,
}

impl Interval {
    /// Whether `second` is in the interval.
    pub fn contains(&self, second: i64) -> bool {
        self.start <= second && second <= self.end
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.start == self.end {
            write!(f, "{}", format_second(self.start))
        } else {
            write!(
                f,
                "{} .. {}",
                format_second(self.start),
                format_second(self.end)
            )
        }
    }
}

use crate::catalog::Catalog;
use rewind_capture::Checkpoint;
use std::collections::BTreeSet;

/// Knobs of the window computation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowOptions {
    /// Clock-skew margin subtracted from read-through times (DESIGN.md: default 2 s).
    pub skew_margin_ms: i64,
    /// How far apart the table's creation and its first stream's creation may be for the stream
    /// to count as enabled at creation.
    pub creation_tolerance_ms: i64,
}

impl Default for WindowOptions {
    fn default() -> Self {
        WindowOptions {
            skew_margin_ms: 2_000,
            // A stream given at CreateTable carries the creation time as its label; one enabled
            // by UpdateTable comes after the table became ACTIVE, seconds later in AWS, and
            // writes may have happened in between. 1 s keeps the first and refuses the second.
            creation_tolerance_ms: 1_000,
        }
    }
}

/// How long a DynamoDB stream keeps records.
pub const STREAM_RETENTION_MS: i64 = 24 * 3600 * 1000;

/// A stretch of seconds whose changes are not (all) in the store: a recorded gap, or the time
/// between one stream's end and the next stream's creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hole {
    /// First second that may have lost changes.
    pub start: i64,
    /// Last second that may have lost changes.
    pub end: i64,
    /// What it is.
    pub reason: String,
}

/// A starting point of restorable time: the whole-life log, or a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BaseRef {
    /// No base: the change log covers the table's whole life.
    WholeLife,
    /// The snapshot with this manifest key.
    Snapshot(String),
}

/// One restorable interval and the base that makes it restorable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// The seconds.
    pub interval: Interval,
    /// The base.
    pub base: BaseRef,
    /// Changes stamped at or after this (ms) are applied over the base; `None` for the whole
    /// life.
    pub changes_from_ms: Option<i64>,
}

/// The restorable window of a table, and the facts it was computed from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// Restorable intervals, merged, in time order.
    pub intervals: Vec<Interval>,
    /// The spans behind them (one per base), in time order of their start.
    pub spans: Vec<Span>,
    /// The last second fully captured, if capture has run.
    pub watermark: Option<i64>,
    /// Where changes may be missing.
    pub holes: Vec<Hole>,
    /// Why the change log does not cover the table's whole life, when it does not.
    pub not_whole_life: Option<String>,
}

impl Window {
    /// Whether `second` is restorable.
    pub fn contains(&self, second: i64) -> bool {
        self.intervals.iter().any(|i| i.contains(second))
    }

    /// The restorable seconds nearest before and after `second`.
    pub fn nearest(&self, second: i64) -> (Option<i64>, Option<i64>) {
        let before = self
            .intervals
            .iter()
            .filter(|i| i.start <= second)
            .map(|i| i.end.min(second))
            .max();
        let after = self
            .intervals
            .iter()
            .filter(|i| i.end >= second)
            .map(|i| i.start.max(second))
            .min();
        (before, after)
    }
}

/// A stream label (`2026-11-26T05:40:12.123`, UTC, as DynamoDB writes it) as ms since the epoch.
pub fn label_ms(label: &str) -> Option<i64> {
    let trimmed = label.trim_end_matches('Z');
    chrono::NaiveDateTime::parse_from_str(trimmed, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc().timestamp_millis())
}

/// The last whole second fully covered when everything stamped up to `covered_ms` (inclusive) is
/// captured: every change of second S is stamped before (S + 1) s.
pub fn last_full_second(covered_ms: i64) -> i64 {
    (covered_ms + 1).div_euclid(1000) - 1
}

/// How far (ms, inclusive) a stream's checkpoints say it is captured: the minimum over the shards
/// that may still deliver — not ended, or ended with no child checkpoint yet (its children may
/// hold later records) — of the shard's read-through (or last stamp, if later). `None` without
/// checkpoints.
pub fn stream_coverage_ms(checkpoints: &[&Checkpoint]) -> Option<i64> {
    let parents: BTreeSet<&str> = checkpoints
        .iter()
        .filter_map(|c| c.parent_shard_id.as_deref())
        .collect();
    let covered = |c: &Checkpoint| c.read_through_ms.max(c.last_stamp_ms.unwrap_or(i64::MIN));
    let bounding = checkpoints
        .iter()
        .filter(|c| !c.shard_ended || !parents.contains(c.shard_id.as_str()))
        .map(|c| covered(c))
        .min();
    // Every shard ended and has a child: the children bound it (they are in the list). An empty
    // bounding set can then only mean a cycle-free list whose leaves all ended with children,
    // which cannot happen; fall back to the smallest coverage rather than claiming more.
    bounding.or_else(|| checkpoints.iter().map(|c| covered(c)).min())
}

/// Computes the restorable window (DESIGN.md, "The restorable window").
pub fn restorable_window(catalog: &Catalog, opts: &WindowOptions) -> Window {
    let mut labels: Vec<&str> = catalog
        .checkpoints
        .iter()
        .map(|c| c.stream_label.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    labels.sort_by_key(|l| (label_ms(l), l.to_string()));

    let mut holes = Vec::new();
    let mut coverage_end: Option<i64> = None; // last covered second of the newest stream
    let mut previous_end: Option<(i64, String)> = None;
    for label in &labels {
        let cps: Vec<&Checkpoint> = catalog
            .checkpoints
            .iter()
            .filter(|c| c.stream_label == *label)
            .collect();
        let end = stream_coverage_ms(&cps)
            .map(|ms| last_full_second(ms - opts.skew_margin_ms))
            .unwrap_or(i64::MIN);
        let start = label_ms(label)
            .map(|ms| ms.div_euclid(1000))
            .unwrap_or(i64::MIN);
        if let Some((prev_end, prev_label)) = previous_end.take() {
            holes.push(Hole {
                start: prev_end.saturating_add(1),
                end: start.max(prev_end.saturating_add(1)),
                reason: format!(
                    "stream {prev_label} ended and stream {label} began: changes in between were not streamed"
                ),
            });
        }
        previous_end = Some((end, label.to_string()));
        coverage_end = Some(end);
    }
    for gap in &catalog.gaps {
        let start = gap
            .after_stamp_ms
            .map(|ms| ms.div_euclid(1000))
            .or_else(|| label_ms(&gap.stream_label).map(|ms| ms.div_euclid(1000)))
            .unwrap_or(i64::MIN);
        holes.push(Hole {
            start,
            end: gap.detected_at_ms.div_euclid(1000).max(start),
            reason: format!(
                "gap in stream {} shard {} after sequence {}: {}",
                gap.stream_label,
                gap.shard_id,
                gap.after_sequence_number.as_deref().unwrap_or("(start)"),
                gap.reason
            ),
        });
    }
    holes.sort_by_key(|h| (h.start, h.end));
    let watermark = coverage_end.filter(|&e| e != i64::MIN);

    let not_whole_life = whole_life_obstacle(catalog, labels.first().copied(), opts);
    let mut spans = Vec::new();
    let Some(end_of_capture) = watermark else {
        return Window {
            intervals: Vec::new(),
            spans,
            watermark,
            holes,
            not_whole_life,
        };
    };
    // The first hole at or after `from` (a second) ends every span that starts before it.
    let end_before_hole = |from_second: i64| -> i64 {
        holes
            .iter()
            .filter(|h| h.end >= from_second)
            .map(|h| h.start - 1)
            .min()
            .unwrap_or(end_of_capture)
            .min(end_of_capture)
    };
    if not_whole_life.is_none() {
        let start = label_ms(labels[0]).expect("checked").div_euclid(1000);
        let end = end_before_hole(start);
        if end >= start {
            spans.push(Span {
                interval: Interval { start, end },
                base: BaseRef::WholeLife,
                changes_from_ms: None,
            });
        }
    }
    for snap in catalog.snapshots.iter().filter(|s| !s.invalidated) {
        let end = end_before_hole(snap.changes_from_ms.div_euclid(1000));
        // A snapshot that needs no change to be the state at its first valid second (a compacted
        // one: changes from the next second on) is restorable there whatever holes surround it.
        // Judged by what it needs, not by its name: a Scan snapshot named at its validity still
        // needs the changes from its scan's start.
        let self_contained = snap.changes_from_ms >= (snap.valid_from + 1) * 1000;
        // Retention deleted changes this snapshot would need: only its own instant remains.
        let end = match catalog.changes_deleted_before_ms {
            Some(deleted) if snap.changes_from_ms < deleted => snap.valid_from - 1,
            _ => end,
        };
        let end = if self_contained {
            end.max(snap.valid_from)
        } else {
            end
        };
        if end >= snap.valid_from {
            spans.push(Span {
                interval: Interval {
                    start: snap.valid_from,
                    end,
                },
                base: BaseRef::Snapshot(snap.manifest_key.clone()),
                changes_from_ms: Some(snap.changes_from_ms),
            });
        }
    }
    spans.sort_by_key(|s| (s.interval.start, s.interval.end));
    Window {
        intervals: merge(spans.iter().map(|s| s.interval).collect()),
        spans,
        watermark,
        holes,
        not_whole_life,
    }
}

/// Why the change log alone does not cover the table's whole life (DESIGN.md): the stream must
/// have been enabled at the table's creation and read from its start before anything was
/// trimmed. `None` when it does.
fn whole_life_obstacle(
    catalog: &Catalog,
    first_label: Option<&str>,
    opts: &WindowOptions,
) -> Option<String> {
    let Some(label) = first_label else {
        return Some("no stream has been captured yet".into());
    };
    if let Some(deleted) = catalog.changes_deleted_before_ms {
        return Some(format!(
            "retention deleted the change files before {}",
            crate::at::format_second(deleted / 1000)
        ));
    }
    let Some(stream_ms) = label_ms(label) else {
        return Some(format!("stream label {label} is not a time"));
    };
    let Some(created) = catalog.descriptions.iter().find_map(|d| {
        let c = d.description.creation_date_time.as_deref()?;
        DateTime::parse_from_rfc3339(c).ok()
    }) else {
        return Some("no stored table description gives the table's creation time".into());
    };
    let created_ms = created.timestamp_millis();
    if (stream_ms - created_ms).abs() > opts.creation_tolerance_ms {
        return Some(format!(
            "the stream ({label}) was not enabled when the table was created ({created}): earlier changes were never streamed"
        ));
    }
    let cps: Vec<&Checkpoint> = catalog
        .checkpoints
        .iter()
        .filter(|c| c.stream_label == label)
        .collect();
    let shard_ids: BTreeSet<&str> = cps.iter().map(|c| c.shard_id.as_str()).collect();
    // The stream's original shards (their parents, if any, are not this stream's): each must
    // have been first read while nothing could have been trimmed yet.
    for root in cps.iter().filter(|c| {
        c.parent_shard_id
            .as_deref()
            .is_none_or(|p| !shard_ids.contains(p))
    }) {
        match root.first_captured_ms {
            None => {
                return Some(format!(
                    "shard {} has no record of when capture first read it",
                    root.shard_id
                ))
            }
            Some(first) if first - stream_ms >= STREAM_RETENTION_MS => {
                return Some(format!(
                    "capture first read shard {} more than 24 h after the stream began: older records may have been trimmed",
                    root.shard_id
                ))
            }
            Some(_) => {}
        }
    }
    if catalog
        .gaps
        .iter()
        .any(|g| g.stream_label == label && g.after_sequence_number.is_none())
    {
        return Some(format!(
            "stream {label} lost records before its first capture"
        ));
    }
    None
}

use chrono::DateTime;

fn merge(mut intervals: Vec<Interval>) -> Vec<Interval> {
    intervals.sort();
    let mut out: Vec<Interval> = Vec::new();
    for i in intervals {
        match out.last_mut() {
            Some(last) if i.start <= last.end.saturating_add(1) => last.end = last.end.max(i.end),
            _ => out.push(i),
        }
    }
    out
}
