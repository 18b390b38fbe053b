//! What a restore's state is made of: the stamp range a plan applies, the tier a version comes
//! from (base rows rank below every change), and the live items the fold ([`crate::fold`]) hands
//! on.

use std::ops::Range;
use std::sync::Arc;

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
/// The items of one fold share two allocations, one for their keys and one for their texts (key
/// attributes, image, stream label, sequence number): a reconstruction makes one item per live
/// key (half a million for the state-at-T benchmark), and allocating each one's texts, then
/// freeing them on whichever thread consumed the bucket, was 6-10 % of its CPU.
#[derive(Clone)]
pub struct LiveItem {
    /// Stamp of the version, ms.
    pub stamp_ms: i64,
    block: Arc<Block>,
    key: Range<usize>,
    /// Where the key attributes start, and where they, the image, the stream label and the
    /// sequence number end, in the block's text.
    bounds: [usize; 5],
}

/// What the items of one fold hold between them.
#[derive(Debug, Default)]
struct Block {
    keys: Vec<u8>,
    text: String,
}

/// Builds the items of one fold into one shared [`Block`].
#[derive(Debug, Default)]
pub struct LiveItems {
    block: Block,
    items: Vec<(i64, Range<usize>, [usize; 5])>,
}

impl LiveItems {
    /// Room for `items` items whose keys take `key_bytes` and whose four texts take
    /// `text_bytes` (so that the block is allocated once, not grown).
    pub fn with_capacity(items: usize, key_bytes: usize, text_bytes: usize) -> Self {
        LiveItems {
            block: Block {
                keys: Vec::with_capacity(key_bytes),
                text: String::with_capacity(text_bytes),
            },
            items: Vec::with_capacity(items),
        }
    }

    /// Adds an item: its canonical binary key, its key attributes and whole image (canonical
    /// DynamoDB JSON), and the version it comes from (stamp, stream label, 40-digit sequence
    /// number).
    pub fn push(
        &mut self,
        key: &[u8],
        keys: &str,
        image: &str,
        stamp_ms: i64,
        stream_label: &str,
        sequence_number: &str,
    ) {
        let Block {
            keys: key_bytes,
            text,
        } = &mut self.block;
        let key_at = key_bytes.len();
        key_bytes.extend_from_slice(key);
        let mut bounds = [text.len(); 5];
        for (end, part) in bounds[1..]
            .iter_mut()
            .zip([keys, image, stream_label, sequence_number])
        {
            text.push_str(part);
            *end = text.len();
        }
        self.items.push((stamp_ms, key_at..key_bytes.len(), bounds));
    }

    /// The items, in the order pushed.
    pub fn finish(self) -> Vec<LiveItem> {
        let block = Arc::new(self.block);
        self.items
            .into_iter()
            .map(|(stamp_ms, key, bounds)| LiveItem {
                stamp_ms,
                block: Arc::clone(&block),
                key,
                bounds,
            })
            .collect()
    }
}

impl LiveItem {
    /// One item on its own (see [`LiveItems::push`]).
    pub fn new(
        key: impl AsRef<[u8]>,
        keys: &str,
        image: &str,
        stamp_ms: i64,
        stream_label: &str,
        sequence_number: &str,
    ) -> Self {
        let key = key.as_ref();
        let text = keys.len() + image.len() + stream_label.len() + sequence_number.len();
        let mut one = LiveItems::with_capacity(1, key.len(), text);
        one.push(key, keys, image, stamp_ms, stream_label, sequence_number);
        one.finish().pop().expect("one item pushed")
    }

    /// Canonical binary key.
    pub fn key(&self) -> &[u8] {
        &self.block.keys[self.key.clone()]
    }

    fn text(&self, part: usize) -> &str {
        &self.block.text[self.bounds[part]..self.bounds[part + 1]]
    }

    /// Key attributes, canonical DynamoDB JSON.
    pub fn keys(&self) -> &str {
        self.text(0)
    }

    /// The whole item, canonical DynamoDB JSON.
    pub fn image(&self) -> &str {
        self.text(1)
    }

    /// The image's length in bytes (what a dry run counts, without touching the text).
    pub fn image_len(&self) -> usize {
        self.bounds[2] - self.bounds[1]
    }

    /// Stream label of the version.
    pub fn stream_label(&self) -> &str {
        self.text(2)
    }

    /// Sequence number of the version (40 digits).
    pub fn sequence_number(&self) -> &str {
        self.text(3)
    }

    /// The same item and version with another image (a masked copy's).
    pub fn with_image(&self, image: &str) -> Self {
        LiveItem::new(
            self.key(),
            self.keys(),
            image,
            self.stamp_ms,
            self.stream_label(),
            self.sequence_number(),
        )
    }
}

impl PartialEq for LiveItem {
    fn eq(&self, other: &Self) -> bool {
        self.stamp_ms == other.stamp_ms
            && self.key() == other.key()
            && (0..4).all(|part| self.text(part) == other.text(part))
    }
}

impl Eq for LiveItem {}

impl std::fmt::Debug for LiveItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveItem")
            .field("key", &self.key())
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
        let empty = LiveItem::new(b"", "", "", 0, "", "");
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
    fn items_built_together_read_back_each_their_own() {
        let mut items = LiveItems::with_capacity(3, 0, 0);
        for i in 0..3 {
            let n = "x".repeat(i);
            items.push(
                n.as_bytes(),
                &format!("k{n}"),
                &format!("{{{n}}}"),
                i as i64,
                "L",
                &format!("{i:040}"),
            );
        }
        let items = items.finish();
        for (i, item) in items.iter().enumerate() {
            let n = "x".repeat(i);
            let alone = LiveItem::new(
                n.as_bytes(),
                &format!("k{n}"),
                &format!("{{{n}}}"),
                i as i64,
                "L",
                &format!("{i:040}"),
            );
            assert_eq!(item, &alone);
            assert_eq!(
                (item.key(), item.image()),
                (n.as_bytes(), format!("{{{n}}}").as_str())
            );
        }
        assert_ne!(items[0], items[1]);
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
