//! The fold that turns versions into state: per key, the highest-ranked version wins, and a
//! REMOVE means absent. Pure and order-independent, so duplicates and file order never matter.
//!
//! Rank is (tier, stream label, sequence number): rows of a base snapshot are tier 0 and every
//! change tier 1. A compacted snapshot holds versions older than any change applied over it, and a
//! Scan snapshot's rows must rank below every change (DESIGN.md), so one rule serves both.

use rewind_format::{ChangeRecord, EventName};
use std::collections::HashMap;

/// Which changes a restore applies: stamps in `[from_ms, until_ms)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StampRange {
    /// First stamp applied (inclusive); `None` when there is no base (the whole-life log).
    pub from_ms: Option<i64>,
    /// First stamp not applied: the start of the second after T.
    pub until_ms: i64,
}

impl StampRange {
    /// Every change up to and including second `at` (no base).
    pub fn through_second(at: i64) -> Self {
        StampRange {
            from_ms: None,
            until_ms: (at + 1) * 1000,
        }
    }

    /// Whether a change stamped `stamp_ms` is applied.
    pub fn admits(&self, stamp_ms: i64) -> bool {
        stamp_ms < self.until_ms && self.from_ms.is_none_or(|from| stamp_ms >= from)
    }
}

/// Where a version comes from; base rows rank below every change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    /// A row of the base snapshot.
    Base,
    /// A change record.
    Change,
}

#[derive(Debug, Clone)]
struct Version {
    tier: Tier,
    stream_label: String,
    sequence_number: String,
    stamp_ms: i64,
    keys: String,
    /// `None`: the key is absent (REMOVE).
    image: Option<String>,
}

impl Version {
    fn outranks(&self, other: &Version) -> bool {
        (self.tier, &self.stream_label, &self.sequence_number)
            > (other.tier, &other.stream_label, &other.sequence_number)
    }
}

/// An item present in the state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveItem {
    /// Canonical binary key.
    pub key: Vec<u8>,
    /// Key attributes, canonical DynamoDB JSON.
    pub keys: String,
    /// The whole item, canonical DynamoDB JSON.
    pub image: String,
    /// Stamp of the version, ms.
    pub stamp_ms: i64,
    /// Stream label of the version.
    pub stream_label: String,
    /// Sequence number of the version (40 digits).
    pub sequence_number: String,
}

/// The state of one bucket being folded.
#[derive(Debug, Default)]
pub struct BucketState {
    versions: HashMap<Vec<u8>, Version>,
}

impl BucketState {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one record of the given tier (the caller has filtered by [`StampRange`]).
    pub fn apply(&mut self, record: ChangeRecord, tier: Tier) {
        let image = match record.event_name {
            EventName::Remove => None,
            EventName::Insert | EventName::Modify => record.new_image,
        };
        let version = Version {
            tier,
            stream_label: record.stream_label,
            sequence_number: record.sequence_number,
            stamp_ms: record.approximate_creation_time_ms,
            keys: record.keys,
            image,
        };
        match self.versions.get_mut(&record.key) {
            Some(held) if !version.outranks(held) => {}
            Some(held) => *held = version,
            None => {
                self.versions.insert(record.key, version);
            }
        }
    }

    /// Number of keys seen (present or removed).
    pub fn keys_seen(&self) -> usize {
        self.versions.len()
    }

    /// The items present, sorted by key.
    pub fn into_items(self) -> Vec<LiveItem> {
        let mut items: Vec<LiveItem> = self
            .versions
            .into_iter()
            .filter_map(|(key, v)| {
                Some(LiveItem {
                    key,
                    keys: v.keys,
                    image: v.image?,
                    stamp_ms: v.stamp_ms,
                    stream_label: v.stream_label,
                    sequence_number: v.sequence_number,
                })
            })
            .collect();
        items.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        items
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn last_version_wins_whatever_the_order() {
        let records = [
            rec("a", "L1", 1, EventName::Insert, "1"),
            rec("a", "L1", 3, EventName::Modify, "3"),
            rec("a", "L1", 2, EventName::Modify, "2"),
            rec("b", "L1", 1, EventName::Insert, "x"),
            rec("b", "L1", 2, EventName::Remove, ""),
            rec("a", "L1", 3, EventName::Modify, "3"),
        ];
        let mut forward = BucketState::new();
        let mut backward = BucketState::new();
        for r in records.iter().cloned() {
            forward.apply(r, Tier::Change);
        }
        for r in records.iter().rev().cloned() {
            backward.apply(r, Tier::Change);
        }
        let f = forward.into_items();
        assert_eq!(f, backward.into_items());
        assert_eq!(f.len(), 1);
        assert!(f[0].image.contains(r#""S":"3""#));
    }

    #[test]
    fn a_later_stream_label_outranks_a_larger_sequence_number() {
        let mut s = BucketState::new();
        s.apply(
            rec(
                "a",
                "2026-01-01T00:00:00.000",
                900,
                EventName::Insert,
                "old",
            ),
            Tier::Change,
        );
        s.apply(
            rec("a", "2026-02-01T00:00:00.000", 1, EventName::Insert, "new"),
            Tier::Change,
        );
        assert!(s.into_items()[0].image.contains("new"));
    }

    #[test]
    fn base_rows_rank_below_changes() {
        let mut s = BucketState::new();
        s.apply(rec("a", "L1", 1, EventName::Remove, ""), Tier::Change);
        s.apply(rec("a", "L9", 99, EventName::Insert, "scanned"), Tier::Base);
        assert!(s.into_items().is_empty());
    }

    #[test]
    fn stamp_range_is_half_open() {
        let r = StampRange {
            from_ms: Some(10_000),
            until_ms: 21_000,
        };
        assert!(!r.admits(9_999));
        assert!(r.admits(10_000));
        assert!(r.admits(20_999));
        assert!(!r.admits(21_000));
        assert!(StampRange::through_second(20).admits(20_999));
    }
}
