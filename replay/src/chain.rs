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
use rewind_format::{image_hash, ChangeRecord, EventName};
use std::collections::HashMap;

#[derive(Debug, Clone)]
struct Link {
    tier: Tier,
    stream_label: String,
    sequence_number: String,
    event: EventName,
    new_hash: Option<u32>,
    old_hash: Option<u32>,
}

/// The versions of every key of one bucket, as hashes.
#[derive(Debug, Default)]
pub struct ChainCheck {
    links: HashMap<Vec<u8>, (String, Vec<Link>)>,
}

impl ChainCheck {
    /// An empty check.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one version (before it is folded).
    pub fn add(&mut self, record: &ChangeRecord, tier: Tier) {
        let link = Link {
            tier,
            stream_label: record.stream_label.clone(),
            sequence_number: record.sequence_number.clone(),
            event: record.event_name,
            new_hash: record.new_image.as_deref().map(image_hash),
            old_hash: record.old_image_hash,
        };
        self.links
            .entry(record.key.clone())
            .or_insert_with(|| (record.keys.clone(), Vec::new()))
            .1
            .push(link);
    }

    /// Checks every key; `whole_life`: no base, the log holds each item's whole history.
    pub fn check(self, whole_life: bool) -> Result<(), ReplayError> {
        for (_, (keys, mut links)) in self.links {
            links.sort_by(|a, b| {
                (a.tier, &a.stream_label, &a.sequence_number).cmp(&(
                    b.tier,
                    &b.stream_label,
                    &b.sequence_number,
                ))
            });
            links.dedup_by(|a, b| {
                a.tier == b.tier
                    && a.stream_label == b.stream_label
                    && a.sequence_number == b.sequence_number
            });
            let broken = |link: &Link, detail: String| ReplayError::BrokenHistory {
                key: keys.clone(),
                stream_label: link.stream_label.clone(),
                sequence_number: link.sequence_number.clone(),
                detail,
            };
            let changes: Vec<&Link> = links.iter().filter(|l| l.tier == Tier::Change).collect();
            if let Some(first) = changes.first() {
                if whole_life && first.event != EventName::Insert {
                    return Err(broken(
                        first,
                        format!(
                            "its first version is a {}, but the log covers the table's whole life, so its INSERT is missing",
                            first.event.as_str()
                        ),
                    ));
                }
            }
            for pair in changes.windows(2) {
                let (prev, cur) = (pair[0], pair[1]);
                if prev.stream_label != cur.stream_label {
                    continue;
                }
                let Some(expected) = cur.old_hash else {
                    continue;
                };
                match (prev.event, prev.new_hash) {
                    (EventName::Remove, _) => {
                        return Err(broken(
                            cur,
                            format!(
                                "a {} follows the REMOVE at sequence {}: the INSERT in between is missing",
                                cur.event.as_str(),
                                prev.sequence_number
                            ),
                        ))
                    }
                    (_, Some(found)) if found != expected => {
                        return Err(broken(
                            cur,
                            format!(
                                "it changes a version with hash {expected:08x}, but the version before it (sequence {}) has hash {found:08x}: a version in between is missing",
                                prev.sequence_number
                            ),
                        ))
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let mut c = ChainCheck::new();
        for r in records {
            c.add(r, Tier::Change);
        }
        c.check(whole_life).map_err(|e| e.to_string())
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
        assert!(e.contains("INSERT is missing"), "{e}");
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
