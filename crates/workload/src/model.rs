//! The generator's model of the table: every item currently present, as DynamoDB JSON.
//!
//! Why a model: a MODIFY or REMOVE must name a key that exists, and its OldImage must be,
//! byte for byte, the NewImage of that key's previous record. Keeping the items themselves
//! (not a summary) makes that true by construction, and lets tests compare a restore with
//! the table the stream describes.

use crate::attr::{get_int, Item};
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The kinds of item in the shop table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Profile,
    Order,
    Cart,
    Session,
    Review,
}

impl Kind {
    fn index(self) -> usize {
        self as usize
    }
}

/// The model's identity of an item: partition key and the text form of the sort key.
pub(crate) type ItemKey = (String, String);

#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub kind: Kind,
    pub item: Item,
}

/// Keys of one kind in insertion order (deterministic; uniform or recency-skewed choice in
/// O(1)), with tombstones for removed keys, compacted when they are half the vector.
#[derive(Debug, Default)]
struct KindIndex {
    keys: Vec<Option<ItemKey>>,
    pos: HashMap<ItemKey, usize>,
}

impl KindIndex {
    fn add(&mut self, key: ItemKey) {
        self.pos.insert(key.clone(), self.keys.len());
        self.keys.push(Some(key));
    }

    fn remove(&mut self, key: &ItemKey) {
        let Some(i) = self.pos.remove(key) else {
            return;
        };
        self.keys[i] = None;
        if self.keys.len() >= 64 && self.pos.len() * 2 < self.keys.len() {
            self.keys.retain(Option::is_some);
            for (i, k) in self.keys.iter().enumerate() {
                if let Some(k) = k {
                    self.pos.insert(k.clone(), i);
                }
            }
        }
    }

    fn len(&self) -> usize {
        self.pos.len()
    }

    /// The live key at `i` or the nearest one before it (wrapping), `None` if empty.
    fn live_at(&self, i: usize) -> Option<ItemKey> {
        if self.pos.is_empty() {
            return None;
        }
        let n = self.keys.len();
        (0..n).find_map(|d| self.keys[(i + n - d) % n].clone())
    }
}

/// The TTL attribute of the table (DynamoDB's TimeToLiveSpecification.AttributeName).
pub(crate) const TTL_ATTRIBUTE: &str = "expires_at";

/// Current items, ordered by key (so iteration is deterministic), indexed by kind and by
/// expiry time (for TTL deletions, which DynamoDB makes roughly in expiry order).
#[derive(Debug, Default)]
pub(crate) struct Model {
    items: BTreeMap<ItemKey, Entry>,
    index: [KindIndex; 5],
    expiry: BTreeSet<(i64, ItemKey)>,
}

/// The item's TTL time in epoch seconds, if it has one.
pub(crate) fn expires_at(item: &Item) -> Option<i64> {
    get_int(item, TTL_ATTRIBUTE)
}

impl Model {
    pub fn get(&self, key: &ItemKey) -> Option<&Entry> {
        self.items.get(key)
    }

    pub fn contains(&self, key: &ItemKey) -> bool {
        self.items.contains_key(key)
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    #[cfg(test)]
    pub fn count(&self, kind: Kind) -> usize {
        self.index[kind.index()].len()
    }

    /// Adds a new item. Panics if the key exists: the generator must never "insert" over a
    /// live item (that would be a MODIFY in DynamoDB's stream).
    pub fn insert(&mut self, key: ItemKey, kind: Kind, item: Item) {
        self.index[kind.index()].add(key.clone());
        if let Some(t) = expires_at(&item) {
            self.expiry.insert((t, key.clone()));
        }
        let prev = self.items.insert(key, Entry { kind, item });
        assert!(prev.is_none(), "workload bug: INSERT over an existing key");
    }

    /// Replaces an item, returning the previous version.
    pub fn replace(&mut self, key: &ItemKey, item: Item) -> Item {
        let e = self
            .items
            .get_mut(key)
            .expect("workload bug: MODIFY of an absent key");
        if let Some(t) = expires_at(&e.item) {
            self.expiry.remove(&(t, key.clone()));
        }
        if let Some(t) = expires_at(&item) {
            self.expiry.insert((t, key.clone()));
        }
        std::mem::replace(&mut e.item, item)
    }

    pub fn remove(&mut self, key: &ItemKey) -> Entry {
        let e = self
            .items
            .remove(key)
            .expect("workload bug: REMOVE of an absent key");
        self.index[e.kind.index()].remove(key);
        if let Some(t) = expires_at(&e.item) {
            self.expiry.remove(&(t, key.clone()));
        }
        e
    }

    /// The item that expired first, if its TTL time is at or before `now_secs`.
    pub fn first_expired(&self, now_secs: i64) -> Option<ItemKey> {
        self.expiry
            .first()
            .filter(|(t, _)| *t <= now_secs)
            .map(|(_, k)| k.clone())
    }

    /// A uniformly chosen key of this kind.
    pub fn random_key<R: Rng>(&self, kind: Kind, rng: &mut R) -> Option<ItemKey> {
        let ix = &self.index[kind.index()];
        if ix.len() == 0 {
            return None;
        }
        // Live keys are at least half the slots: a few draws find one.
        for _ in 0..8 {
            if let Some(k) = &ix.keys[rng.gen_range(0..ix.keys.len())] {
                return Some(k.clone());
            }
        }
        ix.live_at(rng.gen_range(0..ix.keys.len()))
    }

    /// A key of this kind, skewed towards the most recently added (`skew` > 1: stronger):
    /// activity concentrates on new sessions and carts, older ones go idle and expire.
    pub fn recent_key<R: Rng>(&self, kind: Kind, rng: &mut R, skew: f64) -> Option<ItemKey> {
        let ix = &self.index[kind.index()];
        let n = ix.keys.len();
        if n == 0 {
            return None;
        }
        let u: f64 = rng.gen();
        let back = ((n as f64) * u.powf(skew)) as usize;
        ix.live_at(n - 1 - back.min(n - 1))
    }

    pub fn items(&self) -> impl Iterator<Item = &Item> {
        self.items.values().map(|e| &e.item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn index_follows_inserts_and_removes() {
        let mut model = Model::default();
        for i in 0..10 {
            model.insert(
                (format!("USER#{i}"), "PROFILE".into()),
                Kind::Profile,
                Item::new(),
            );
        }
        model.remove(&("USER#3".into(), "PROFILE".into()));
        model.remove(&("USER#9".into(), "PROFILE".into()));
        assert_eq!(model.count(Kind::Profile), 8);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for _ in 0..100 {
            let k = model.random_key(Kind::Profile, &mut rng).unwrap();
            assert!(model.contains(&k));
        }
        assert_eq!(model.random_key(Kind::Cart, &mut rng), None);
    }

    #[test]
    fn expiry_index_follows_ttl_attribute() {
        let mut model = Model::default();
        let ttl = |t: i64| -> Item {
            [(TTL_ATTRIBUTE.to_owned(), crate::attr::n_int(t))]
                .into_iter()
                .collect()
        };
        let (a, b) = (
            ("A".to_owned(), "S".to_owned()),
            ("B".to_owned(), "S".to_owned()),
        );
        model.insert(a.clone(), Kind::Session, ttl(100));
        model.insert(b.clone(), Kind::Session, ttl(50));
        assert_eq!(model.first_expired(49), None);
        assert_eq!(model.first_expired(50), Some(b.clone()));
        model.replace(&b, ttl(200));
        assert_eq!(model.first_expired(150), Some(a.clone()));
        model.remove(&a);
        assert_eq!(model.first_expired(150), None);
        assert_eq!(model.first_expired(200), Some(b));
    }
}
