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

use rewind_catalog::Checkpoint;
use rewind_catalog::{Catalog, SnapshotInfo, TableDeletion, WholeLifeVerdict};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicI64, Ordering as AtomicOrdering};

/// Knobs of the window computation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowOptions {
    /// Clock-skew margin subtracted from read-through times (DESIGN.md: default 2 s; why, in
    /// docs/DECISIONS.md "The skew margin").
    pub skew_margin_ms: i64,
}

/// The margin DESIGN.md sets: it covers the delay before a write shows in its shard's stream
/// plus the offset between this host's clock and DynamoDB's, which AWS does not bound.
pub const DEFAULT_SKEW_MARGIN_MS: i64 = 2_000;

/// The margin every [`WindowOptions::default`] of this process uses. A process-wide setting,
/// not a per-call one, so that `ls`, restores, verification, compaction and the API of one
/// process can never disagree about the window.
static PROCESS_SKEW_MARGIN_MS: AtomicI64 = AtomicI64::new(DEFAULT_SKEW_MARGIN_MS);

/// Sets the margin of this process (`rewind --skew-margin`, the Lambdas' `REWIND_SKEW_MARGIN`);
/// call it once at start-up, before any window is computed.
pub fn set_process_skew_margin(margin: std::time::Duration) {
    let ms = i64::try_from(margin.as_millis()).unwrap_or(i64::MAX);
    PROCESS_SKEW_MARGIN_MS.store(ms, AtomicOrdering::Relaxed);
}

/// The variable a Lambda (or any process without `--skew-margin`) takes its margin from.
pub const SKEW_MARGIN_ENV: &str = "REWIND_SKEW_MARGIN";

/// Sets the process margin from `REWIND_SKEW_MARGIN` ("2s", "1500ms") when it is set; a value
/// that is no duration is refused with its text, so a typo never silently means the default.
pub fn set_process_skew_margin_from_env(
    var: impl Fn(&str) -> Option<String>,
) -> std::result::Result<(), String> {
    let Some(text) = var(SKEW_MARGIN_ENV).filter(|v| !v.trim().is_empty()) else {
        return Ok(());
    };
    let margin = humantime::parse_duration(text.trim())
        .map_err(|e| format!("{SKEW_MARGIN_ENV}={text:?} is not a duration such as 2s: {e}"))?;
    set_process_skew_margin(margin);
    Ok(())
}

impl Default for WindowOptions {
    fn default() -> Self {
        WindowOptions {
            skew_margin_ms: PROCESS_SKEW_MARGIN_MS.load(AtomicOrdering::Relaxed),
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

/// Whether a snapshot can be the base of a restore now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "reason")]
pub enum SnapshotUse {
    /// It is the base of a restorable span.
    Usable,
    /// A full backup whose changes capture has not read far enough yet (named): it becomes
    /// usable by itself once capture catches up.
    WaitingForCapture(String),
    /// It can never be a base (the reason names why and what to do).
    Refused(String),
    /// A late record stamped within it arrived after it was cut (a redrive).
    Invalidated,
}

/// A snapshot and whether it can be used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotState {
    /// Its manifest.
    pub manifest_key: String,
    /// Its name time.
    pub at: i64,
    /// Its first valid second.
    pub valid_from: i64,
    /// A full backup (Scan) rather than a compaction.
    pub scan: bool,
    /// Usable or not, and why.
    pub status: SnapshotUse,
}

impl SnapshotState {
    /// `full backup` (a Scan) or `snapshot` (a compaction).
    pub fn kind(&self) -> &'static str {
        if self.scan {
            "full backup"
        } else {
            "snapshot"
        }
    }

    /// The snapshot and whether restores can use it, in one sentence for operators.
    pub fn describe(&self) -> String {
        let (what, at) = (self.kind(), format_second(self.at));
        match &self.status {
            SnapshotUse::Usable => {
                format!("{what} at {at} is usable from {}", format_second(self.valid_from))
            }
            SnapshotUse::WaitingForCapture(why) => {
                format!("{what} at {at} is waiting for capture ({why})")
            }
            SnapshotUse::Refused(why) => format!("{what} at {at} cannot be used: {why}"),
            SnapshotUse::Invalidated => format!(
                "{what} at {at} is invalidated by records captured late; take a full backup (rewind backup)"
            ),
        }
    }
}

/// What is known of the change log covering the table's whole life (docs/DECISIONS.md,
/// "Whole-life rule").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum WholeLife {
    /// Proven: restorable from the first stream's first second without a snapshot.
    Confirmed {
        /// The backup whose Scan the log explained.
        snapshot: Option<String>,
    },
    /// Capture read the first stream from its start, but nothing has shown yet that the table
    /// held no item before the stream began.
    Unconfirmed {
        /// What is missing.
        reason: String,
        /// A usable full backup to compare the log with now ([`crate::whole_life`]).
        confirm_with: Option<String>,
    },
    /// The log does not cover the whole life (the reason says why).
    No {
        /// Why.
        reason: String,
    },
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
    /// What is known of the change log covering the table's whole life.
    pub whole_life: WholeLife,
    /// Every snapshot and whether it can be used, oldest first.
    pub snapshots: Vec<SnapshotState>,
    /// The table's lineages (one per table incarnation under the name), oldest first.
    pub lineages: Vec<Lineage>,
    /// Checkpoints the store's files do not bear out yet (a replica still arriving), each in
    /// words: the window ends before what they claim.
    pub incomplete: Vec<String>,
}

/// One incarnation of a table name: the streams captured from it, and how it ended if it did.
/// A table deleted and created again under the same name is two lineages: a restore never mixes
/// them (a hole separates them, and the second is never restored from the first's log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lineage {
    /// 1 for the oldest lineage the store holds, then 2, ...
    pub number: usize,
    /// DynamoDB's id of the table, when a stored description names it.
    pub table_id: Option<String>,
    /// Its streams' labels, oldest first.
    pub streams: Vec<String>,
    /// First second of its first stream.
    pub start: i64,
    /// Last second captured (the deletion's last restorable second once it was deleted).
    pub end: Option<i64>,
    /// The deletion that closed it, if it was deleted.
    pub deleted: Option<TableDeletion>,
}

impl Lineage {
    /// The lineage in words, for `ls` and restore reports.
    pub fn describe(&self) -> String {
        let id = self
            .table_id
            .as_deref()
            .map(|id| format!(" (table id {id})"))
            .unwrap_or_default();
        match &self.deleted {
            Some(d) => format!(
                "lineage {}{id}: streams from {}; deleted (found gone at {}{}), last restorable point {}",
                self.number,
                format_second(self.start),
                format_ms(d.detected_at_ms),
                d.last_change_ms
                    .map(|ms| format!(", last change {}", format_ms(ms)))
                    .unwrap_or_default(),
                format_second(self.end.unwrap_or_else(|| d.last_restorable_second())),
            ),
            None => format!(
                "lineage {}{id}: streams from {}, live",
                self.number,
                format_second(self.start)
            ),
        }
    }

    /// Whether `second` lies in this lineage's time (from its first stream to its end).
    pub fn holds(&self, second: i64) -> bool {
        second >= self.start && self.end.is_none_or(|e| second <= e)
    }
}

impl Window {
    /// The lineage `second` belongs to, if any.
    pub fn lineage_of(&self, second: i64) -> Option<&Lineage> {
        self.lineages.iter().rev().find(|l| l.holds(second))
    }

    /// The deletion that closed the newest lineage: the table is gone and nothing is captured
    /// any more (no lag to report).
    pub fn deleted(&self) -> Option<&TableDeletion> {
        self.lineages.last().and_then(|l| l.deleted.as_ref())
    }

    /// Whether `second` is restorable.
    pub fn contains(&self, second: i64) -> bool {
        self.intervals.iter().any(|i| i.contains(second))
    }

    /// Why the change log does not (or not yet provably) cover the table's whole life, when it
    /// does not.
    pub fn not_whole_life(&self) -> Option<&str> {
        match &self.whole_life {
            WholeLife::Confirmed { .. } => None,
            WholeLife::Unconfirmed { reason, .. } | WholeLife::No { reason } => Some(reason),
        }
    }

    /// The full backup to compare the log with now, when that could prove the whole life.
    pub fn confirm_with(&self) -> Option<&str> {
        match &self.whole_life {
            WholeLife::Unconfirmed { confirm_with, .. } => confirm_with.as_deref(),
            _ => None,
        }
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

    let (evidenced, incomplete) = evidenced_checkpoints(catalog);
    let mut holes = Vec::new();
    let mut coverage_end: Option<i64> = None; // last covered second of the newest stream
    let mut previous_end: Option<(i64, String, Option<&TableDeletion>)> = None;
    let mut lineages: Vec<Lineage> = Vec::new();
    for (i, label) in labels.iter().enumerate() {
        let deletion = catalog.deletions.iter().find(|d| d.stream_label == *label);
        // A table found deleted only after the name was used again (capture was down) ended
        // before the next table's stream began: its lineage ends there, so no point of it can
        // hold the next table's changes.
        let next_start = labels
            .get(i + 1)
            .and_then(|next| label_ms(next))
            .map(|ms| ms.div_euclid(1000) - 1)
            .unwrap_or(i64::MAX);
        let held: Vec<&Checkpoint> = evidenced
            .iter()
            .filter(|c| c.stream_label == *label)
            .collect();
        let covered = stream_coverage_ms(&held)
            .map(|ms| last_full_second(ms - opts.skew_margin_ms))
            .unwrap_or(i64::MIN);
        // A drained stream of a deleted table holds nothing more: it is covered up to the
        // deletion, whatever its shards' read-through. An undrained one keeps what its
        // checkpoints say (its recorded gaps end the window earlier).
        let end = match deletion {
            Some(d) if d.drained => d.last_restorable_second().min(next_start),
            Some(d) => covered.min(d.last_restorable_second()).min(next_start),
            None => covered,
        };
        let start = label_ms(label)
            .map(|ms| ms.div_euclid(1000))
            .unwrap_or(i64::MIN);
        let new_lineage = match &previous_end {
            None => true,
            Some((_, _, prev_deletion)) => prev_deletion.is_some(),
        };
        if let Some((prev_end, prev_label, prev_deletion)) = previous_end.take() {
            let reason = match prev_deletion {
                Some(d) => format!(
                    "the table of stream {prev_label} was deleted (found gone at {}) and the name re-used: stream {label} is another table's (a new lineage)",
                    format_ms(d.detected_at_ms)
                ),
                None => format!(
                    "stream {prev_label} ended and stream {label} began: changes in between were not streamed"
                ),
            };
            holes.push(Hole {
                start: prev_end.saturating_add(1),
                end: start.max(prev_end.saturating_add(1)),
                reason,
            });
        }
        if new_lineage {
            lineages.push(Lineage {
                number: lineages.len() + 1,
                table_id: table_id_of(catalog, label),
                streams: Vec::new(),
                start,
                end: None,
                deleted: None,
            });
        }
        let lineage = lineages.last_mut().expect("pushed above");
        lineage.streams.push(label.to_string());
        lineage.end = (end != i64::MIN).then_some(end);
        lineage.deleted = deletion.cloned();
        previous_end = Some((end, label.to_string(), deletion));
        coverage_end = Some(end);
    }
    for gap in &catalog.gaps {
        // The first second that may have lost a change: the last captured record's second,
        // or the second after everything the shard was read through, whichever is later.
        let start = gap
            .after_stamp_ms
            .map(|ms| ms.div_euclid(1000))
            .or_else(|| label_ms(&gap.stream_label).map(|ms| ms.div_euclid(1000)))
            .unwrap_or(i64::MIN)
            .max(gap.read_through_ms.map_or(i64::MIN, |ms| {
                last_full_second(ms - opts.skew_margin_ms) + 1
            }));
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
    // The first hole at or after `from` (a second) ends every span that starts before it.
    let end_before_hole = |from_second: i64| -> Option<i64> {
        let end_of_capture = watermark?;
        Some(
            holes
                .iter()
                .filter(|h| h.end >= from_second)
                .map(|h| h.start - 1)
                .min()
                .unwrap_or(end_of_capture)
                .min(end_of_capture),
        )
    };

    let mut spans = Vec::new();
    let mut snapshots = Vec::new();
    for snap in &catalog.snapshots {
        let (status, span) = snapshot_use(catalog, snap, watermark, &end_before_hole);
        snapshots.push(SnapshotState {
            manifest_key: snap.manifest_key.clone(),
            at: snap.at,
            valid_from: snap.valid_from,
            scan: snap.scan.is_some(),
            status,
        });
        spans.extend(span);
    }

    let first_label = labels.first().copied();
    let whole_life = whole_life_state(catalog, first_label, &snapshots, &end_before_hole);
    if let (WholeLife::Confirmed { .. }, Some(label)) = (&whole_life, first_label) {
        let start = label_ms(label).expect("checked").div_euclid(1000);
        if let Some(end) = end_before_hole(start).filter(|&end| end >= start) {
            spans.push(Span {
                interval: Interval { start, end },
                base: BaseRef::WholeLife,
                changes_from_ms: None,
            });
        }
    }
    spans.sort_by_key(|s| (s.interval.start, s.interval.end));
    Window {
        intervals: merge(spans.iter().map(|s| s.interval).collect()),
        spans,
        watermark,
        holes,
        whole_life,
        snapshots,
        lineages,
        incomplete,
    }
}

/// The checkpoints as far as the store's files bear them out, and what is missing.
///
/// A checkpoint is written after the change files it covers, so in the store capture wrote to,
/// the file holding a shard's last captured record is always there. A cross-region replica
/// receives objects in any order: a checkpoint can arrive before its files, and a restore that
/// trusted it would silently lack the changes still in flight. So a shard's last record must be
/// in a batch file present (by the sequence range in its name), or in an hour that compaction
/// merged (a compacted file of that hour), or quarantined, or older than what retention
/// deleted; otherwise its coverage stops before that record's hour, and the reason is reported.
fn evidenced_checkpoints(catalog: &Catalog) -> (Vec<Checkpoint>, Vec<String>) {
    use rewind_catalog::layout::{ChangeFileKind, HourPartition};
    use std::collections::{HashMap, HashSet};
    let mut ranges: HashMap<(&str, &str), Vec<(&str, &str)>> = HashMap::new();
    let mut compacted_hours: HashSet<HourPartition> = HashSet::new();
    for f in &catalog.change_files {
        match &f.file.kind {
            ChangeFileKind::Batch {
                stream_label,
                shard_id,
                first_sequence,
                last_sequence,
            } => ranges
                .entry((stream_label.as_str(), shard_id.as_str()))
                .or_default()
                .push((first_sequence.as_str(), last_sequence.as_str())),
            ChangeFileKind::Compacted { .. } => {
                compacted_hours.insert(f.file.hour);
            }
        }
    }
    let quarantined: HashSet<i64> = catalog
        .quarantined
        .iter()
        .filter_map(|q| q.stamp_ms)
        .collect();
    let mut incomplete = Vec::new();
    let checkpoints = catalog
        .checkpoints
        .iter()
        .map(|c| {
            let (Some(seq), Some(stamp)) = (c.last_sequence_number.as_deref(), c.last_stamp_ms)
            else {
                return c.clone();
            };
            let Some(hour) = DateTime::from_timestamp_millis(stamp).map(HourPartition::of) else {
                return c.clone();
            };
            let in_batch = ranges
                .get(&(c.stream_label.as_str(), c.shard_id.as_str()))
                .is_some_and(|rs| rs.iter().any(|(first, last)| *first <= seq && seq <= *last));
            let retired = catalog
                .changes_deleted_before_ms
                .is_some_and(|deleted| stamp < deleted);
            // An hour whose files were not listed (a restore to an earlier second) is not
            // judged: nothing of it is read.
            let unlisted = catalog.change_files_until.is_some_and(|last| hour > last);
            if in_batch
                || unlisted
                || compacted_hours.contains(&hour)
                || quarantined.contains(&stamp)
                || retired
            {
                return c.clone();
            }
            let hour_start = hour.start().timestamp_millis();
            incomplete.push(format!(
                "shard {} of stream {}: the change file holding its last captured record (sequence {}, hour {}) is not in the store (a replica still arriving?): the window ends before that hour",
                c.shard_id,
                c.stream_label,
                seq.trim_start_matches('0'),
                format_ms(hour_start)
            ));
            let mut capped = c.clone();
            capped.read_through_ms = capped.read_through_ms.min(hour_start - 1);
            capped.last_stamp_ms = Some(hour_start - 1);
            capped
        })
        .collect();
    (checkpoints, incomplete)
}

/// The table id of the table a stream belongs to, from the stored descriptions that name the
/// stream.
fn table_id_of(catalog: &Catalog, label: &str) -> Option<String> {
    catalog
        .descriptions
        .iter()
        .rev()
        .find(|d| {
            d.description.stream.latest_stream_label.as_deref() == Some(label)
                || d.description
                    .stream
                    .latest_stream_arn
                    .as_deref()
                    .is_some_and(|arn| arn.ends_with(&format!("/stream/{label}")))
        })
        .and_then(|d| d.description.table_id.clone())
}

/// What is known of the whole life: impossible (an obstacle, or a refutation), confirmed, or
/// unconfirmed, with the oldest usable full backup of the first stream that could settle it.
fn whole_life_state(
    catalog: &Catalog,
    first_label: Option<&str>,
    snapshots: &[SnapshotState],
    end_before_hole: &dyn Fn(i64) -> Option<i64>,
) -> WholeLife {
    match whole_life_obstacle(catalog, first_label) {
        Some(reason) => WholeLife::No { reason },
        None => match &catalog.whole_life {
            Some(e) if e.verdict == WholeLifeVerdict::Refuted => WholeLife::No {
                reason: e.reason.clone(),
            },
            Some(e) => WholeLife::Confirmed {
                snapshot: e.snapshot.clone(),
            },
            None => {
                let stream_start = first_label
                    .and_then(label_ms)
                    .expect("checked by whole_life_obstacle")
                    .div_euclid(1000);
                let reachable = end_before_hole(stream_start);
                // The oldest usable full backup that falls in the first stream's coverage:
                // the log's state and the backup's can be compared at its first valid second.
                let confirm_with = catalog
                    .snapshots
                    .iter()
                    .zip(snapshots)
                    .filter(|(s, st)| s.scan.is_some() && st.status == SnapshotUse::Usable)
                    .filter(|(s, _)| {
                        s.valid_from >= stream_start && reachable.is_some_and(|r| s.valid_from <= r)
                    })
                    .map(|(s, _)| s.manifest_key.clone())
                    .next();
                let reason = match &confirm_with {
                    Some(m) => format!(
                        "not yet confirmed: the full backup {m} is compared with the change log at the next restore or compaction"
                    ),
                    None => "not confirmed: items written before the stream began would be missing from the change log; a full backup (rewind backup), compared with the log once capture covers it, proves or refutes that the log holds every item".to_string(),
                };
                WholeLife::Unconfirmed {
                    reason,
                    confirm_with,
                }
            }
        },
    }
}

/// Whether `snap` can be a base, and the span it is the base of when it can.
fn snapshot_use(
    catalog: &Catalog,
    snap: &SnapshotInfo,
    watermark: Option<i64>,
    end_before_hole: &dyn Fn(i64) -> Option<i64>,
) -> (SnapshotUse, Option<Span>) {
    if snap.invalidated {
        return (SnapshotUse::Invalidated, None);
    }
    // A full backup is only as good as the capture of the changes made during and after its
    // scan: the stream it recorded must be captured from before its changes start.
    if let Some(label) = snap.scan.as_ref().and_then(|s| s.stream_label.as_deref()) {
        let cps = stream_checkpoints(catalog, label);
        if cps.is_empty() {
            return (
                SnapshotUse::WaitingForCapture(format!(
                    "capture has not read the table's stream {label} yet"
                )),
                None,
            );
        }
        match captured_from_ms(catalog, label, &cps) {
            Err(why) => return (SnapshotUse::Refused(format!("{why}; take a new full backup")), None),
            // Changes from before the stream began are not in it, and need not be: the scan
            // started after the stream was enabled, so it saw them.
            Ok(from) if from > snap.changes_from_ms.max(label_ms(label).unwrap_or(i64::MIN)) => {
                return (
                    SnapshotUse::Refused(format!(
                        "capture first read stream {label} more than 24 h after the backup's changes begin ({}): records of the scan's time may have been trimmed before capture read them; take a new full backup",
                        format_ms(snap.changes_from_ms)
                    )),
                    None,
                )
            }
            Ok(_) => {}
        }
    }
    // A full backup needs no change from before its stream began (its scan started later and
    // saw them), so the hole before its stream (another stream's end, a deleted table's
    // lineage) does not end its span.
    // For the same reason its changes start no earlier than its stream: older ones are
    // another stream's, and after a deletion another table's, never to be applied over it.
    let stream_ms = snap
        .scan
        .as_ref()
        .and_then(|s| s.stream_label.as_deref())
        .and_then(label_ms);
    let (needs_from_second, changes_from_ms) = match stream_ms {
        // AWS stamps records to the second (rounded down): the stream's first second is whole.
        Some(stream_ms) if snap.changes_from_ms < stream_ms.div_euclid(1000) * 1000 => (
            stream_ms.div_euclid(1000) + 1,
            stream_ms.div_euclid(1000) * 1000,
        ),
        _ => (snap.changes_from_ms.div_euclid(1000), snap.changes_from_ms),
    };
    let Some(end) = end_before_hole(needs_from_second) else {
        return (
            SnapshotUse::WaitingForCapture("capture has not read any shard through yet".into()),
            None,
        );
    };
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
    if end < snap.valid_from {
        let status = match watermark {
            Some(w) if w < snap.valid_from && end == w => {
                SnapshotUse::WaitingForCapture(format!(
                    "capture has read through {}; usable from {}",
                    format_second(w),
                    format_second(snap.valid_from)
                ))
            }
            _ => SnapshotUse::Refused(format!(
                "changes it needs are missing (a gap or a new stream before {}); take a new full backup",
                format_second(snap.valid_from)
            )),
        };
        return (status, None);
    }
    (
        SnapshotUse::Usable,
        Some(Span {
            interval: Interval {
                start: snap.valid_from,
                end,
            },
            base: BaseRef::Snapshot(snap.manifest_key.clone()),
            changes_from_ms: Some(changes_from_ms),
        }),
    )
}

fn stream_checkpoints<'a>(catalog: &'a Catalog, label: &str) -> Vec<&'a Checkpoint> {
    catalog
        .checkpoints
        .iter()
        .filter(|c| c.stream_label == label)
        .collect()
}

fn format_ms(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_else(|| ms.to_string())
}

/// From when (ms) the store holds every record of stream `label`: records are kept 24 h, so a
/// shard first read at F (from its trim horizon) may have lost everything stamped before
/// F − 24 h. The latest such point over the stream's original shards (those whose parent is
/// not captured), and never before the stream began. An error says why nobody can tell.
pub fn captured_from_ms(
    catalog: &Catalog,
    label: &str,
    cps: &[&Checkpoint],
) -> Result<i64, String> {
    let stream_ms = label_ms(label).ok_or_else(|| format!("stream label {label} is not a time"))?;
    if catalog
        .gaps
        .iter()
        .any(|g| g.stream_label == label && g.after_sequence_number.is_none())
    {
        return Err(format!(
            "stream {label} lost records before its first capture"
        ));
    }
    let shard_ids: BTreeSet<&str> = cps.iter().map(|c| c.shard_id.as_str()).collect();
    let mut from = stream_ms;
    for root in cps.iter().filter(|c| {
        c.parent_shard_id
            .as_deref()
            .is_none_or(|p| !shard_ids.contains(p))
    }) {
        let first = root.first_captured_ms.ok_or_else(|| {
            format!(
                "shard {} of stream {label} has no record of when capture first read it",
                root.shard_id
            )
        })?;
        from = from.max(first - STREAM_RETENTION_MS + 1);
    }
    Ok(from)
}

/// Why the change log cannot cover the table's whole life, whatever a backup shows
/// (DESIGN.md): capture must have read the first stream from its start, before anything was
/// trimmed, with no gap and no change file deleted. `None` when it may.
fn whole_life_obstacle(catalog: &Catalog, first_label: Option<&str>) -> Option<String> {
    let Some(label) = first_label else {
        return Some("no stream has been captured yet".into());
    };
    if let Some(deleted) = catalog.changes_deleted_before_ms {
        return Some(format!(
            "retention deleted the change files before {}",
            crate::at::format_second(deleted / 1000)
        ));
    }
    let stream_ms = match label_ms(label) {
        Some(ms) => ms,
        None => return Some(format!("stream label {label} is not a time")),
    };
    match captured_from_ms(catalog, label, &stream_checkpoints(catalog, label)) {
        Err(why) => Some(why),
        Ok(from) if from > stream_ms => Some(format!(
            "capture first read stream {label} more than 24 h after it began: older records may have been trimmed"
        )),
        Ok(_) => None,
    }
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

#[cfg(test)]
mod margin_tests {
    use super::*;

    #[test]
    fn a_margin_that_is_no_duration_is_refused_with_its_text() {
        let e = set_process_skew_margin_from_env(|_| Some("2 seconds-ish".into())).unwrap_err();
        assert!(e.contains("REWIND_SKEW_MARGIN=\"2 seconds-ish\""), "{e}");
        // Unset or empty: the default stands (the default itself keeps other tests unaffected).
        set_process_skew_margin_from_env(|_| None).unwrap();
        set_process_skew_margin_from_env(|_| Some(" ".into())).unwrap();
        set_process_skew_margin_from_env(|_| Some("2000ms".into())).unwrap();
        assert_eq!(
            WindowOptions::default().skew_margin_ms,
            DEFAULT_SKEW_MARGIN_MS
        );
    }
}
