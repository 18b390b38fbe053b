//! The continuity check: every MODIFY and REMOVE carries the hash of the item before it
//! (`old_image_hash`, the CRC32C of the canonical old image), which must equal the hash of the
//! previous version's new image in the log. A version missing in between (a deleted or lost
//! change file, a record that never arrived) breaks the chain, and the restore stops naming the
//! item rather than writing a state that silently lacks a change.
//!
//! Only what the stream guarantees is checked: hashes between consecutive versions of one stream
//! (a new stream label follows a hole, which the window already requires a snapshot for), and,
//! when the log covers the table's whole life, that an item's first version is an INSERT. Rows
//! of a base snapshot are not linked (a Scan is not a point in time).

use crate::error::ReplayError;
use crate::state::Tier;
use rewind_format::{image_hash, EventName};

/// One version of an item as the check sees it, borrowed from the batch it was read from.
#[derive(Debug, Clone, Copy)]
pub struct Link<'a> {
    /// Base row or change.
    pub tier: Tier,
    /// The version's stream label.
    pub stream_label: &'a str,
    /// The version's sequence number.
    pub sequence_number: &'a str,
    /// INSERT, MODIFY or REMOVE.
    pub event: EventName,
    /// The item after the change (hashed only when a successor links to it).
    pub new_image: Option<&'a str>,
    /// The hash of `new_image`, when the caller already has it (the scrub keeps hashes, not
    /// images); `None`: hashed from `new_image` when needed.
    pub new_image_hash: Option<u32>,
    /// Hash of the item before the change, when the stream carried it.
    pub old_hash: Option<u32>,
}

impl Link<'_> {
    /// Whether two links are the same version (a duplicate delivery).
    pub fn same_version(&self, other: &Link<'_>) -> bool {
        self.tier == other.tier
            && self.sequence_number == other.sequence_number
            && self.stream_label == other.stream_label
    }
}

/// Checks one item's versions, given sorted by rank with duplicates removed; `keys` (the key
/// attributes) names the item in the error; `whole_life`: no base, the log holds the item's
/// whole history.
pub fn check_links(keys: &str, links: &[Link<'_>], whole_life: bool) -> Result<(), ReplayError> {
    let broken = |link: &Link, detail: String| ReplayError::BrokenHistory {
        key: keys.to_string(),
        stream_label: link.stream_label.to_string(),
        sequence_number: link.sequence_number.to_string(),
        detail,
    };
    let mut changes = links.iter().filter(|l| l.tier == Tier::Change);
    let Some(first) = changes.next() else {
        return Ok(());
    };
    if whole_life && first.event != EventName::Insert {
        return Err(ReplayError::MissingInsert {
            key: keys.to_string(),
            stream_label: first.stream_label.to_string(),
            sequence_number: first.sequence_number.to_string(),
            event: first.event.as_str(),
        });
    }
    let mut prev = first;
    for cur in changes {
        let linked = prev.stream_label == cur.stream_label;
        if let (true, Some(expected)) = (linked, cur.old_hash) {
            match prev.event {
                EventName::Remove => {
                    return Err(broken(
                        cur,
                        format!(
                        "a {} follows the REMOVE at sequence {}: the INSERT in between is missing",
                        cur.event.as_str(),
                        prev.sequence_number
                    ),
                    ))
                }
                _ => {
                    if let Some(found) = prev
                        .new_image_hash
                        .or_else(|| prev.new_image.map(image_hash))
                    {
                        if found != expected {
                            return Err(broken(
                                cur,
                                format!(
                                    "it changes a version with hash {expected:08x}, but the version before it (sequence {}) has hash {found:08x}: a version in between is missing",
                                    prev.sequence_number
                                ),
                            ));
                        }
                    }
                }
            }
        }
        prev = cur;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rewind_format::{to_batch, ChangeRecord};

    fn rec(seq: u32, event: EventName, value: &str, old: Option<&str>) -> ChangeRecord {
        ChangeRecord {
            table_name: "t".into(),
            event_name: event,
            stream_label: "L".into(),
            sequence_number: format!("{seq:040}"),
            approximate_creation_time_ms: 0,
            key: b"k".to_vec(),
            keys: r#"{"pk":{"S":"k"}}"#.into(),
            new_image: (event != EventName::Remove).then(|| value.to_string()),
            old_image: None,
            old_image_hash: old.map(image_hash),
            user_identity: None,
            shard_id: "s".into(),
            ingested_at_ms: 0,
        }
    }

    fn check(records: &[ChangeRecord], whole_life: bool) -> Result<(), String> {
        // Through the fold, which sorts and removes duplicates before checking.
        let batches = [(Tier::Change, to_batch(records))];
        crate::fold::fold_batches("t", &batches, whole_life)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn an_unbroken_history_passes_in_any_order_with_duplicates() {
        let h = [
            rec(3, EventName::Remove, "", Some("b")),
            rec(1, EventName::Insert, "a", None),
            rec(2, EventName::Modify, "b", Some("a")),
            rec(2, EventName::Modify, "b", Some("a")),
            rec(4, EventName::Insert, "c", None),
        ];
        assert_eq!(check(&h, true), Ok(()));
    }

    #[test]
    fn a_missing_version_is_named() {
        let h = [
            rec(1, EventName::Insert, "a", None),
            rec(3, EventName::Modify, "c", Some("b")),
        ];
        let e = check(&h, true).unwrap_err();
        assert!(
            e.contains(r#"{"pk":{"S":"k"}}"#) && e.contains("version in between is missing"),
            "{e}"
        );
    }

    #[test]
    fn a_missing_insert_is_named() {
        let e = check(&[rec(5, EventName::Modify, "b", Some("a"))], true).unwrap_err();
        assert!(e.contains("has no INSERT in the change log"), "{e}");
        // With a base (not the whole life) the first change links to the base: not checked.
        assert_eq!(
            check(&[rec(5, EventName::Modify, "b", Some("a"))], false),
            Ok(())
        );
        let after_remove = [
            rec(1, EventName::Insert, "a", None),
            rec(2, EventName::Remove, "", Some("a")),
            rec(3, EventName::Modify, "b", Some("x")),
        ];
        assert!(check(&after_remove, true)
            .unwrap_err()
            .contains("INSERT in between"));
    }

    #[test]
    fn records_without_old_image_hashes_are_not_linked() {
        let h = [
            rec(1, EventName::Insert, "a", None),
            rec(3, EventName::Modify, "c", None),
        ];
        assert_eq!(check(&h, true), Ok(()));
    }
}
