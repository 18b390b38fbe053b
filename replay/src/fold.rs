//! The fold that turns one bucket's versions into its state: per key, the highest-ranked
//! version wins and a REMOVE means absent, after the continuity check ([`crate::chain`]) has
//! passed over the key's whole history. Pure and order-independent, so duplicates and file order
//! never matter.
//!
//! Rank is (tier, stream label, sequence number): rows of a base snapshot are tier 0 and every
//! change tier 1. A compacted snapshot holds versions older than any change applied over it, and a
//! Scan snapshot's rows must rank below every change (DESIGN.md), so one rule serves both.
//!
//! Rows are not copied out of where they were read: the fold sorts borrowed [`Version`]s by
//! (key, rank), walks each key's run, and copies out only the winning version of a live item.

use crate::chain::{check_links, Link};
use crate::error::Result;
use crate::state::{LiveItem, Tier};
use arrow::array::RecordBatch;
use rewind_format::{EventName, VersionColumns};
use std::cmp::Ordering;

/// One bucket's state.
#[derive(Debug, Default)]
pub struct FoldedBucket {
    /// The items present, sorted by key.
    pub items: Vec<LiveItem>,
    /// Keys seen, present or removed.
    pub keys_seen: usize,
}

/// One version as the fold sees it, borrowed from wherever it was read (an Arrow batch of a
/// snapshot file, a bucket's spill file), so that sorting moves small references, not rows.
#[derive(Debug, Clone, Copy)]
pub struct Version<'a> {
    /// Base row or change.
    pub tier: Tier,
    /// Canonical binary key.
    pub key: &'a [u8],
    /// Key attributes, canonical DynamoDB JSON (names the item in errors).
    pub keys: &'a str,
    /// Stream label.
    pub stream_label: &'a str,
    /// Sequence number (padded).
    pub sequence_number: &'a str,
    /// INSERT, MODIFY or REMOVE.
    pub event: EventName,
    /// Stamp, ms.
    pub stamp_ms: i64,
    /// The item after the change.
    pub new_image: Option<&'a str>,
    /// Hash of the item before the change.
    pub old_hash: Option<u32>,
}

impl<'a> Version<'a> {
    /// Row `row` of a checked batch.
    pub fn of_row(tier: Tier, v: &VersionColumns<'a>, row: usize) -> Self {
        Version {
            tier,
            key: v.key(row),
            keys: v.keys(row),
            stream_label: v.stream_label(row),
            sequence_number: v.sequence_number(row),
            event: v.event(row),
            stamp_ms: v.stamp_ms(row),
            new_image: v.new_image(row),
            old_hash: v.old_image_hash(row),
        }
    }

    fn link(&self) -> Link<'a> {
        Link {
            tier: self.tier,
            stream_label: self.stream_label,
            sequence_number: self.sequence_number,
            event: self.event,
            new_image: self.new_image,
            new_image_hash: None,
            old_hash: self.old_hash,
        }
    }

    /// Rank: (tier, stream label, sequence number).
    fn rank(&self, other: &Self) -> Ordering {
        self.tier
            .cmp(&other.tier)
            .then_with(|| self.stream_label.cmp(other.stream_label))
            .then_with(|| self.sequence_number.cmp(other.sequence_number))
    }
}

/// Folds `batches` (each with its tier; `object` names them in errors) into the state; fails on
/// a broken history. `whole_life`: there is no base, the log holds every item's whole history.
pub fn fold_batches(
    object: &str,
    batches: &[(Tier, RecordBatch)],
    whole_life: bool,
) -> Result<FoldedBucket> {
    let views = batches
        .iter()
        .map(|(tier, batch)| Ok((*tier, VersionColumns::new(object, batch)?)))
        .collect::<Result<Vec<_>>>()?;
    let mut versions = Vec::with_capacity(views.iter().map(|(_, v)| v.len()).sum());
    for (tier, v) in &views {
        versions.extend((0..v.len()).map(|r| Version::of_row(*tier, v, r)));
    }
    fold_versions(&mut versions, whole_life)
}

/// Folds versions (in any order, duplicates allowed) into the state; fails on a broken history.
/// Sorts `versions` by (key, rank).
pub fn fold_versions(versions: &mut [Version<'_>], whole_life: bool) -> Result<FoldedBucket> {
    versions.sort_unstable_by(|a, b| a.key.cmp(b.key).then_with(|| a.rank(b)));
    let mut out = FoldedBucket::default();
    let mut links: Vec<Link<'_>> = Vec::new();
    let mut start = 0;
    while start < versions.len() {
        let k = versions[start].key;
        let end = start + versions[start..].iter().take_while(|v| v.key == k).count();
        links.clear();
        for v in &versions[start..end] {
            let l = v.link();
            if !links.last().is_some_and(|prev| prev.same_version(&l)) {
                links.push(l);
            }
        }
        let last = &versions[end - 1];
        check_links(last.keys, &links, whole_life)?;
        out.keys_seen += 1;
        let newest = links.last().expect("a run has a version");
        if newest.event != EventName::Remove {
            if let Some(image) = newest.new_image {
                out.items.push(LiveItem::new(
                    k.to_vec(),
                    last.keys,
                    image,
                    last.stamp_ms,
                    newest.stream_label,
                    newest.sequence_number,
                ));
            }
        }
        start = end;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rewind_format::{to_batch, ChangeRecord};

    fn rec(key: &str, label: &str, seq: u32, event: EventName, value: &str) -> ChangeRecord {
        ChangeRecord {
            table_name: "t".into(),
            event_name: event,
            stream_label: label.into(),
            sequence_number: format!("{seq:040}"),
            approximate_creation_time_ms: seq as i64 * 1000,
            key: key.as_bytes().to_vec(),
            keys: format!(r#"{{"pk":{{"S":"{key}"}}}}"#),
            new_image: (event != EventName::Remove)
                .then(|| format!(r#"{{"pk":{{"S":"{key}"}},"v":{{"S":"{value}"}}}}"#)),
            old_image: None,
            old_image_hash: None,
            user_identity: None,
            shard_id: "s".into(),
            ingested_at_ms: 0,
        }
    }

    fn fold(parts: &[(Tier, Vec<ChangeRecord>)]) -> FoldedBucket {
        let batches: Vec<_> = parts.iter().map(|(t, r)| (*t, to_batch(r))).collect();
        fold_batches("t", &batches, false).expect("fold")
    }

    #[test]
    fn last_version_wins_whatever_the_order() {
        let records = vec![
            rec("a", "L1", 1, EventName::Insert, "1"),
            rec("a", "L1", 3, EventName::Modify, "3"),
            rec("a", "L1", 2, EventName::Modify, "2"),
            rec("b", "L1", 1, EventName::Insert, "x"),
            rec("b", "L1", 2, EventName::Remove, ""),
            rec("a", "L1", 3, EventName::Modify, "3"),
        ];
        let mut reversed = records.clone();
        reversed.reverse();
        let (head, tail) = records.split_at(2);
        let forward = fold(&[(Tier::Change, head.to_vec()), (Tier::Change, tail.to_vec())]);
        let backward = fold(&[(Tier::Change, reversed)]);
        assert_eq!(forward.items, backward.items);
        assert_eq!(forward.keys_seen, 2);
        assert_eq!(forward.items.len(), 1);
        assert!(forward.items[0].image().contains(r#""S":"3""#));
        assert_eq!(forward.items[0].sequence_number(), format!("{:040}", 3));
        assert_eq!(forward.items[0].stamp_ms, 3000);
    }

    #[test]
    fn a_later_stream_label_outranks_a_larger_sequence_number() {
        let f = fold(&[(
            Tier::Change,
            vec![
                rec(
                    "a",
                    "2026-01-01T00:00:00.000",
                    900,
                    EventName::Insert,
                    "old",
                ),
                rec("a", "2026-02-01T00:00:00.000", 1, EventName::Insert, "new"),
            ],
        )]);
        assert!(f.items[0].image().contains("new"));
    }

    #[test]
    fn base_rows_rank_below_changes() {
        let f = fold(&[
            (Tier::Change, vec![rec("a", "L1", 1, EventName::Remove, "")]),
            (
                Tier::Base,
                vec![rec("a", "L9", 99, EventName::Insert, "scanned")],
            ),
        ]);
        assert!(f.items.is_empty());
        assert_eq!(f.keys_seen, 1);
    }

    #[test]
    fn items_come_out_sorted_by_key() {
        let f = fold(&[(
            Tier::Change,
            ["c", "a", "b"]
                .iter()
                .map(|k| rec(k, "L1", 1, EventName::Insert, "v"))
                .collect(),
        )]);
        let keys: Vec<_> = f.items.iter().map(|i| i.key.clone()).collect();
        assert_eq!(keys, vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
    }
}
