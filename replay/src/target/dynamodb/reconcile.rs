//! `Reconcile`: making an existing table equal to the state. `prepare` scans the table once,
//! keeping each item's fingerprint and key, grouped by bucket; each `write_bucket` then puts only
//! the items whose fingerprint differs (or that the table lacks) and deletes what the state does
//! not have. Both sides are fingerprinted by the one rule of [`crate::fingerprint`], the one
//! `verify` compares by.

use super::guarded::Guarded;
use super::{canonical_key, DynamoDbTarget, SdkItem, RECONCILE_SEGMENTS};
use crate::copy_spec::ResolvedFilter;
use crate::error::{ReplayError, Result};
use crate::fingerprint::{fingerprint, fingerprint_sdk_item, Fingerprint};
use crate::state::LiveItem;
use crate::target::BucketWritten;
use rewind_format::bucket_of;
use rewind_format::{item_to_json, Item};
use std::collections::{HashMap, HashSet};
use tokio::sync::mpsc;

/// An item found in the table by `Reconcile`: its fingerprint, its key, and the whole item when
/// the rollback is guarded (its writes are conditional on it).
pub(super) type Existing = (Fingerprint, SdkItem, Option<SdkItem>);

impl DynamoDbTarget {
    /// Reads the whole table into per-bucket fingerprints (for `Reconcile`).
    /// With a `scope` (a copy of some keys), items outside it are not read into the state's
    /// comparison, so the restore neither deletes nor rewrites them.
    pub(super) async fn fingerprint_table(
        &self,
        key_names: &[String],
        buckets: u32,
        scope: Option<&ResolvedFilter>,
        keep_items: bool,
    ) -> Result<HashMap<u32, HashMap<Vec<u8>, Existing>>> {
        let (tx, mut rx) = mpsc::channel::<Vec<SdkItem>>(16);
        let collect = async move {
            let mut out: HashMap<u32, HashMap<Vec<u8>, Existing>> = HashMap::new();
            while let Some(page) = rx.recv().await {
                for sdk in page {
                    let keys: SdkItem = key_names
                        .iter()
                        .map(|n| Some((n.clone(), sdk.get(n)?.clone())))
                        .collect::<Option<_>>()
                        .ok_or_else(|| {
                            self.invalid(
                                "scanned item",
                                format!("an item lacks a key attribute of {key_names:?}"),
                            )
                        })?;
                    let key = canonical_key(&keys).map_err(|e| self.invalid("scanned item", e))?;
                    if let Some(scope) = scope {
                        let keys_json = item_to_json(&Item::from(keys.clone()));
                        if !scope.admits(&key, &keys_json)? {
                            continue;
                        }
                    }
                    let whole = keep_items.then(|| sdk.clone());
                    let fp = fingerprint_sdk_item(sdk);
                    out.entry(bucket_of(&key, buckets))
                        .or_default()
                        .insert(key, (fp, keys, whole));
                }
            }
            Ok(out)
        };
        let ((), out) = tokio::try_join!(self.scan_all(RECONCILE_SEGMENTS, tx), collect)?;
        Ok(out)
    }

    /// The writes that make `before` (this bucket's part of the table) equal to `items`, each
    /// with what was read for its key (for guarded writes).
    pub(super) fn diff(
        before: &HashMap<Vec<u8>, Existing>,
        items: &[LiveItem],
        out: &mut BucketWritten,
    ) -> Result<Vec<Guarded>> {
        let mut writes = Vec::new();
        let mut seen = HashSet::with_capacity(items.len());
        for item in items {
            seen.insert(item.key.as_slice());
            let mut read = None;
            if let Some((fp, _, whole)) = before.get(&item.key) {
                let parsed = parse(item)?;
                let now = fingerprint(&parsed);
                if *fp == now {
                    out.unchanged += 1;
                    continue;
                }
                out.changed += 1;
                read.clone_from(whole);
            }
            writes.push(Guarded {
                write: Self::put(item),
                read,
            });
        }
        for (key, (_, keys, whole)) in before {
            if !seen.contains(key.as_slice()) {
                writes.push(Guarded {
                    write: Self::delete(key, keys),
                    read: whole.clone(),
                });
                out.deleted += 1;
            }
        }
        Ok(writes)
    }
}

/// A restored item's image as an item.
fn parse(item: &LiveItem) -> Result<Item> {
    rewind_format::item_from_json(item.image()).map_err(|e| ReplayError::Invalid {
        what: "restored item",
        location: item.keys().to_string(),
        reason: e.to_string(),
    })
}
