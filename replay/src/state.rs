//! What a restore's state is made of: the stamp range a plan applies, the tier a version comes
//! from (base rows rank below every change), and the live items the fold ([`crate::fold`]) hands
//! on.

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

#[cfg(test)]
mod tests {
    use super::*;

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
