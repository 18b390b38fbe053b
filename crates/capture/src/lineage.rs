//! Shard lineage: which shards of a stream the poller may read now, from where, and which ones are
//! done. Pure functions over a shard listing and the stored checkpoints, so the rules are tested
//! table by table without any AWS call.
//!
//! The rules, and why:
//!
//! - **Parents before children.** A DynamoDB stream shard splits into children when its partition
//!   does; the same item's earlier versions are in the parent. A child is read only once its parent
//!   is *ended* (closed and read to its end, [`Checkpoint::shard_ended`]) or no longer in the
//!   stream's shard list (trimmed away after 24 h: nothing left to read first). Otherwise a child
//!   record could be captured before an older version of the same item, and a checkpoint could
//!   claim more than the bucket holds.
//! - **Resume after the checkpoint.** A shard with a captured record resumes with
//!   `AFTER_SEQUENCE_NUMBER` of it; a shard never captured starts at `TRIM_HORIZON`, the oldest
//!   record the stream still holds.
//! - **A checkpointed shard that vanished is a gap.** A shard whose checkpoint is not ended but
//!   that the stream no longer lists was trimmed before capture read it to its end: the records
//!   after the checkpoint are lost, and that must be recorded, never hidden. The same holds when a
//!   listed shard starts after its own checkpoint (its first available record is past what was
//!   captured).
//! - **May still deliver** (for the watermark): every listed shard that is not finished: open
//!   shards, closed shards not yet read to their end, and children not read at all yet.

use rewind_catalog::checkpoint::Checkpoint;
use std::collections::{HashMap, HashSet};

/// One shard as `DescribeStream` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardInfo {
    /// The shard id.
    pub shard_id: String,
    /// The shard it split from, if any.
    pub parent_shard_id: Option<String>,
    /// First sequence number of the shard (as sent, unpadded), when listed.
    pub starting_sequence_number: Option<String>,
    /// Last sequence number of a closed shard; `None` while the shard is open.
    pub ending_sequence_number: Option<String>,
}

impl ShardInfo {
    /// A closed shard receives no new records; it is finished once read to its end.
    pub fn is_closed(&self) -> bool {
        self.ending_sequence_number.is_some()
    }
}

/// Where reading a shard starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartPosition {
    /// The oldest record the stream still holds.
    TrimHorizon,
    /// Just after this sequence number (as the Streams API wants it: decimal, no padding).
    AfterSequenceNumber(String),
}

/// What the poller may do with a shard now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShardStatus {
    /// Closed and read to its end (the checkpoint says so): nothing left to read.
    Finished,
    /// Read it, starting here.
    Readable(StartPosition),
    /// Its parent (named) may still deliver records: read that first.
    WaitingForParent(String),
}

/// Why a shard's records after its checkpoint can no longer be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GapCause {
    /// The stream no longer lists the shard, and its checkpoint is not ended.
    ShardVanished,
    /// The shard's first available sequence number is past the checkpoint.
    StartsAfterCheckpoint {
        /// The shard's first sequence number, as listed.
        first_available: String,
    },
}

/// A shard with a checkpoint that the stream can no longer continue: recorded as a gap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LostRange {
    /// The shard.
    pub shard_id: String,
    /// Its checkpoint: the gap starts after `last_sequence_number`.
    pub checkpoint: Checkpoint,
    /// Why.
    pub cause: GapCause,
}

/// The decision for one listed shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardPlan {
    /// The shard as listed.
    pub shard: ShardInfo,
    /// What to do with it.
    pub status: ShardStatus,
}

impl ShardPlan {
    /// Whether the shard can still hold the watermark back: it is not finished.
    pub fn may_still_deliver(&self) -> bool {
        self.status != ShardStatus::Finished
    }
}

/// The decisions for a whole stream.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LineagePlan {
    /// Every listed shard, parents before children (then in listing order).
    pub shards: Vec<ShardPlan>,
    /// Checkpointed shards whose remaining records are lost (gaps to record).
    pub lost: Vec<LostRange>,
}

impl LineagePlan {
    /// Shards to read now, with their start positions.
    pub fn readable(&self) -> impl Iterator<Item = (&ShardInfo, &StartPosition)> + '_ {
        self.shards.iter().filter_map(|p| match &p.status {
            ShardStatus::Readable(start) => Some((&p.shard, start)),
            _ => None,
        })
    }

    /// Ids of the shards that may still deliver records (the watermark's minimum runs over them).
    pub fn may_still_deliver(&self) -> Vec<&str> {
        self.shards
            .iter()
            .filter(|p| p.may_still_deliver())
            .map(|p| p.shard.shard_id.as_str())
            .collect()
    }

    /// Ids of the finished shards.
    pub fn finished(&self) -> Vec<&str> {
        self.shards
            .iter()
            .filter(|p| p.status == ShardStatus::Finished)
            .map(|p| p.shard.shard_id.as_str())
            .collect()
    }

    /// The plan of one shard.
    pub fn get(&self, shard_id: &str) -> Option<&ShardPlan> {
        self.shards.iter().find(|p| p.shard.shard_id == shard_id)
    }
}

/// A sequence number as the Streams API takes it: checkpoints store 40-digit zero-padded ones,
/// the API wants the number as it sent it (no leading zeros).
pub fn api_sequence_number(seq: &str) -> String {
    let trimmed = seq.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".to_string()
    } else {
        trimmed.to_string()
    }
}

/// Orders decimal sequence numbers of any width numerically.
pub fn compare_sequence_numbers(a: &str, b: &str) -> std::cmp::Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Decides, for every listed shard, whether and where to read it.
///
/// `checkpoints` are this stream's checkpoints (same table and stream label); others must not be
/// passed. Checkpoints of shards that are not listed only matter when not ended: they are
/// [`LineagePlan::lost`].
pub fn plan(shards: &[ShardInfo], checkpoints: &[Checkpoint]) -> LineagePlan {
    let by_shard: HashMap<&str, &Checkpoint> = checkpoints
        .iter()
        .map(|c| (c.shard_id.as_str(), c))
        .collect();
    let listed: HashSet<&str> = shards.iter().map(|s| s.shard_id.as_str()).collect();
    let ended = |id: &str| by_shard.get(id).is_some_and(|c| c.shard_ended);

    let mut out = LineagePlan::default();
    for shard in order_parents_first(shards) {
        let checkpoint = by_shard.get(shard.shard_id.as_str()).copied();
        let status = if checkpoint.is_some_and(|c| c.shard_ended) {
            ShardStatus::Finished
        } else if let Some(parent) = shard
            .parent_shard_id
            .as_deref()
            .filter(|p| listed.contains(p) && !ended(p))
        {
            ShardStatus::WaitingForParent(parent.to_string())
        } else {
            match checkpoint.and_then(|c| c.last_sequence_number.as_deref().map(|s| (c, s))) {
                Some((c, last)) => match shard.starting_sequence_number.as_deref() {
                    Some(first) if compare_sequence_numbers(first, last).is_gt() => {
                        out.lost.push(LostRange {
                            shard_id: shard.shard_id.clone(),
                            checkpoint: c.clone(),
                            cause: GapCause::StartsAfterCheckpoint {
                                first_available: first.to_string(),
                            },
                        });
                        ShardStatus::Readable(StartPosition::TrimHorizon)
                    }
                    _ => ShardStatus::Readable(StartPosition::AfterSequenceNumber(
                        api_sequence_number(last),
                    )),
                },
                None => ShardStatus::Readable(StartPosition::TrimHorizon),
            }
        };
        out.shards.push(ShardPlan {
            shard: shard.clone(),
            status,
        });
    }

    let mut vanished: Vec<&Checkpoint> = checkpoints
        .iter()
        .filter(|c| !c.shard_ended && !listed.contains(c.shard_id.as_str()))
        .collect();
    vanished.sort_by(|a, b| a.shard_id.cmp(&b.shard_id));
    out.lost.extend(vanished.into_iter().map(|c| LostRange {
        shard_id: c.shard_id.clone(),
        checkpoint: c.clone(),
        cause: GapCause::ShardVanished,
    }));
    out
}

/// The listing reordered so that every listed parent comes before its children (a stable
/// topological order: otherwise listing order). A cycle (a malformed listing) keeps the remaining
/// shards in listing order rather than looping.
fn order_parents_first(shards: &[ShardInfo]) -> Vec<&ShardInfo> {
    let index: HashMap<&str, usize> = shards
        .iter()
        .enumerate()
        .map(|(i, s)| (s.shard_id.as_str(), i))
        .collect();
    let mut placed = vec![false; shards.len()];
    let mut out = Vec::with_capacity(shards.len());
    for start in 0..shards.len() {
        // Walk up to the oldest unplaced listed ancestor, then place down the chain.
        let mut chain = vec![start];
        let mut seen = HashSet::from([start]);
        while let Some(&parent) = shards[*chain.last().expect("non-empty")]
            .parent_shard_id
            .as_deref()
            .and_then(|p| index.get(p))
        {
            if placed[parent] || !seen.insert(parent) {
                break;
            }
            chain.push(parent);
        }
        for &i in chain.iter().rev() {
            if !placed[i] {
                placed[i] = true;
                out.push(&shards[i]);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(id: &str, parent: Option<&str>, start: &str, end: Option<&str>) -> ShardInfo {
        ShardInfo {
            shard_id: id.into(),
            parent_shard_id: parent.map(str::to_string),
            starting_sequence_number: Some(start.into()),
            ending_sequence_number: end.map(str::to_string),
        }
    }

    fn cp(id: &str, last: Option<&str>, ended: bool) -> Checkpoint {
        Checkpoint {
            table: "shop".into(),
            stream_label: "2026-11-26T06:00:00.000".into(),
            shard_id: id.into(),
            parent_shard_id: None,
            last_sequence_number: last.map(|s| format!("{s:0>40}")),
            last_stamp_ms: last.map(|_| 1_000),
            read_through_ms: 1_000,
            shard_ended: ended,
            updated_at_ms: 1_000,
            first_captured_ms: None,
        }
    }

    use ShardStatus::*;
    use StartPosition::*;

    fn after(s: &str) -> ShardStatus {
        Readable(AfterSequenceNumber(s.into()))
    }

    /// Table: (name, listing, checkpoints, expected status per listed shard in plan order,
    /// expected lost shard ids).
    #[test]
    fn decisions() {
        let p = || shard("p", None, "100", Some("199"));
        let open_p = || shard("p", None, "100", None);
        let a = || shard("a", Some("p"), "200", None);
        let b = || shard("b", Some("p"), "300", None);
        #[allow(clippy::type_complexity)]
        let cases: Vec<(
            &str,
            Vec<ShardInfo>,
            Vec<Checkpoint>,
            Vec<(&str, ShardStatus)>,
            Vec<&str>,
        )> = vec![
            (
                "fresh stream: one open shard from the horizon",
                vec![open_p()],
                vec![],
                vec![("p", Readable(TrimHorizon))],
                vec![],
            ),
            (
                "resume after the checkpoint, unpadded for the API",
                vec![open_p()],
                vec![cp("p", Some("150"), false)],
                vec![("p", after("150"))],
                vec![],
            ),
            (
                "checkpoint without a record (read-through only) starts at the horizon",
                vec![open_p()],
                vec![cp("p", None, false)],
                vec![("p", Readable(TrimHorizon))],
                vec![],
            ),
            (
                "split: children wait while the closed parent is not read to its end",
                vec![a(), p(), b()],
                vec![cp("p", Some("150"), false)],
                vec![
                    ("p", after("150")),
                    ("a", WaitingForParent("p".into())),
                    ("b", WaitingForParent("p".into())),
                ],
                vec![],
            ),
            (
                "split: children wait for an unread parent too",
                vec![p(), a(), b()],
                vec![],
                vec![
                    ("p", Readable(TrimHorizon)),
                    ("a", WaitingForParent("p".into())),
                    ("b", WaitingForParent("p".into())),
                ],
                vec![],
            ),
            (
                "split: parent ended, children readable from the horizon",
                vec![p(), a(), b()],
                vec![cp("p", Some("199"), true)],
                vec![
                    ("p", Finished),
                    ("a", Readable(TrimHorizon)),
                    ("b", Readable(TrimHorizon)),
                ],
                vec![],
            ),
            (
                "parent trimmed away (not listed, no checkpoint): child readable",
                vec![a()],
                vec![],
                vec![("a", Readable(TrimHorizon))],
                vec![],
            ),
            (
                "parent gone and ended: child resumes, nothing lost",
                vec![a()],
                vec![cp("p", Some("199"), true), cp("a", Some("250"), false)],
                vec![("a", after("250"))],
                vec![],
            ),
            (
                "parent vanished before it was read to its end: a gap, child readable",
                vec![a(), b()],
                vec![cp("p", Some("150"), false)],
                vec![("a", Readable(TrimHorizon)), ("b", Readable(TrimHorizon))],
                vec!["p"],
            ),
            (
                "listed shard starting after its checkpoint: a gap, read from the horizon",
                vec![shard("p", None, "500", None)],
                vec![cp("p", Some("150"), false)],
                vec![("p", Readable(TrimHorizon))],
                vec!["p"],
            ),
            (
                "grandchild waits for child, not for the ended grandparent",
                vec![p(), a(), shard("c", Some("a"), "400", None)],
                vec![cp("p", Some("199"), true)],
                vec![
                    ("p", Finished),
                    ("a", Readable(TrimHorizon)),
                    ("c", WaitingForParent("a".into())),
                ],
                vec![],
            ),
            (
                "ended shards are finished even when open in a stale listing",
                vec![open_p()],
                vec![cp("p", Some("150"), true)],
                vec![("p", Finished)],
                vec![],
            ),
            (
                "sequence numbers compare numerically, not as text",
                vec![shard("p", None, "99", None)],
                vec![cp("p", Some("100"), false)],
                vec![("p", after("100"))],
                vec![],
            ),
        ];
        for (name, shards, checkpoints, want, want_lost) in cases {
            let got = plan(&shards, &checkpoints);
            let statuses: Vec<(&str, ShardStatus)> = got
                .shards
                .iter()
                .map(|p| (p.shard.shard_id.as_str(), p.status.clone()))
                .collect();
            assert_eq!(statuses, want, "{name}");
            let lost: Vec<&str> = got.lost.iter().map(|l| l.shard_id.as_str()).collect();
            assert_eq!(lost, want_lost, "{name}");
        }
    }

    #[test]
    fn may_still_deliver_and_finished() {
        let shards = vec![
            shard("p", None, "100", Some("199")),
            shard("a", Some("p"), "200", Some("299")),
            shard("b", Some("p"), "300", None),
            shard("c", Some("a"), "400", None),
        ];
        let checkpoints = vec![cp("p", Some("199"), true), cp("a", Some("250"), false)];
        let got = plan(&shards, &checkpoints);
        // a: closed, not read to its end; b: open; c: child with no checkpoint.
        let mut deliver = got.may_still_deliver();
        deliver.sort_unstable();
        assert_eq!(deliver, vec!["a", "b", "c"]);
        assert_eq!(got.finished(), vec!["p"]);
        let readable: Vec<(&str, &StartPosition)> = got
            .readable()
            .map(|(s, p)| (s.shard_id.as_str(), p))
            .collect();
        assert_eq!(
            readable,
            vec![
                ("a", &AfterSequenceNumber("250".into())),
                ("b", &TrimHorizon)
            ]
        );
        assert_eq!(got.get("c").unwrap().status, WaitingForParent("a".into()));
    }

    #[test]
    fn lost_range_carries_the_checkpoint() {
        let got = plan(
            &[],
            &[cp("gone", Some("150"), false), cp("done", Some("9"), true)],
        );
        assert_eq!(got.lost.len(), 1);
        assert_eq!(got.lost[0].cause, GapCause::ShardVanished);
        assert_eq!(
            got.lost[0].checkpoint.last_sequence_number.as_deref(),
            Some(&*format!("{:0>40}", "150"))
        );
    }

    #[test]
    fn parents_first_ordering_is_stable_and_total() {
        let shards = vec![
            shard("c", Some("b"), "3", None),
            shard("x", None, "9", None),
            shard("b", Some("a"), "2", Some("2")),
            shard("a", None, "1", Some("1")),
            // A malformed cycle must not loop forever.
            shard("y", Some("z"), "5", None),
            shard("z", Some("y"), "6", None),
        ];
        let order: Vec<&str> = order_parents_first(&shards)
            .iter()
            .map(|s| s.shard_id.as_str())
            .collect();
        assert_eq!(order, vec!["a", "b", "c", "x", "z", "y"]);
    }

    #[test]
    fn sequence_helpers() {
        assert_eq!(
            api_sequence_number(&format!("{:0>40}", "1100000000017454423009")),
            "1100000000017454423009"
        );
        assert_eq!(api_sequence_number("0000"), "0");
        assert!(compare_sequence_numbers("0099", "100").is_lt());
        assert!(compare_sequence_numbers("200", "100").is_gt());
        assert!(compare_sequence_numbers("000100", "100").is_eq());
    }
}
