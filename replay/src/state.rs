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
///
/// Its four texts share one allocation: a reconstruction makes one of these per item (half a
/// million for the state-at-T benchmark), and five allocations each, freed again as soon as the
/// bucket is written, were 6 % of its CPU.
#[derive(Clone, PartialEq, Eq)]
pub struct LiveItem {
    /// Canonical binary key.
    pub key: Vec<u8>,
    /// Stamp of the version, ms.
    pub stamp_ms: i64,
    /// Key attributes, image, stream label and sequence number, one after the other.
    text: String,
    /// Where the key attributes, the image and the stream label end in `text`.
    ends: [usize; 3],
}

impl LiveItem {
    /// An item: its canonical binary key, its key attributes and whole image (canonical DynamoDB
    /// JSON), and the version it comes from (stamp, stream label, 40-digit sequence number).
    pub fn new(
        key: Vec<u8>,
        keys: &str,
        image: &str,
        stamp_ms: i64,
        stream_label: &str,
        sequence_number: &str,
    ) -> Self {
        let mut text = String::with_capacity(
            keys.len() + image.len() + stream_label.len() + sequence_number.len(),
        );
        let mut ends = [0; 3];
        for (end, part) in ends.iter_mut().zip([keys, image, stream_label]) {
            text.push_str(part);
            *end = text.len();
        }
        text.push_str(sequence_number);
        LiveItem {
            key,
            stamp_ms,
            text,
            ends,
        }
    }

    /// Key attributes, canonical DynamoDB JSON.
    pub fn keys(&self) -> &str {
        &self.text[..self.ends[0]]
    }

    /// The whole item, canonical DynamoDB JSON.
    pub fn image(&self) -> &str {
        &self.text[self.ends[0]..self.ends[1]]
    }

    /// The image's length in bytes (what a dry run counts, without touching the text).
    pub fn image_len(&self) -> usize {
        self.ends[1] - self.ends[0]
    }

    /// Stream label of the version.
    pub fn stream_label(&self) -> &str {
        &self.text[self.ends[1]..self.ends[2]]
    }

    /// Sequence number of the version (40 digits).
    pub fn sequence_number(&self) -> &str {
        &self.text[self.ends[2]..]
    }

    /// The same item and version with another image (a masked copy's).
    pub fn with_image(&self, image: &str) -> Self {
        LiveItem::new(
            self.key.clone(),
            self.keys(),
            image,
            self.stamp_ms,
            self.stream_label(),
            self.sequence_number(),
        )
    }
}

impl std::fmt::Debug for LiveItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveItem")
            .field("key", &self.key)
            .field("keys", &self.keys())
            .field("image", &self.image())
            .field("stamp_ms", &self.stamp_ms)
            .field("stream_label", &self.stream_label())
            .field("sequence_number", &self.sequence_number())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_item_gives_back_each_text_as_given() {
        let item = LiveItem::new(
            vec![0, 1],
            r#"{"pk":{"S":"é"}}"#,
            r#"{"pk":{"S":"é"},"v":{"N":"1"}}"#,
            -3,
            "2026-12-05T00:00:00.000",
            "0001",
        );
        assert_eq!(item.keys(), r#"{"pk":{"S":"é"}}"#);
        assert_eq!(item.image(), r#"{"pk":{"S":"é"},"v":{"N":"1"}}"#);
        assert_eq!(item.stream_label(), "2026-12-05T00:00:00.000");
        assert_eq!(item.sequence_number(), "0001");
        assert_eq!(item.image_len(), item.image().len());
        let masked = item.with_image("{}");
        assert_eq!(
            (masked.keys(), masked.image(), masked.sequence_number()),
            (item.keys(), "{}", "0001")
        );
        let empty = LiveItem::new(Vec::new(), "", "", 0, "", "");
        assert_eq!(
            (
                empty.keys(),
                empty.image(),
                empty.stream_label(),
                empty.sequence_number()
            ),
            ("", "", "", "")
        );
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
