//! A seeded, deterministic, realistic e-commerce workload that produces DynamoDB Streams
//! records exactly as a stream-triggered Lambda receives them.
//!
//! Why it exists: benchmarks, the laptop demo (`rewind demo`) and the tests all need a
//! table's change stream without an AWS account, and the numbers they report (compression
//! ratios, restore speed) are only honest if the data looks like a real table's: names,
//! addresses, order lines, skewed product popularity, repeated enum values, item versions
//! that differ in a few attributes, sizes from 200 B to 20 KB, every DynamoDB type.
//!
//! ```
//! use rewind_workload::{lambda_event, Workload, WorkloadConfig};
//! let mut w = Workload::new(WorkloadConfig { seed: 7, ..WorkloadConfig::default() });
//! let batch: Vec<_> = w.by_ref().take(100).collect();
//! let event = lambda_event(&batch); // {"Records": [...]} as Lambda delivers it
//! assert_eq!(event["Records"].as_array().unwrap().len(), 100);
//! ```
//!
//! The table is a single-table design keyed by `pk` (S) and `sk` (S, or N with
//! [`WorkloadConfig::numeric_sort_key`]):
//!
//! | item    | pk              | sk                  | changes                                   |
//! |---------|-----------------|---------------------|-------------------------------------------|
//! | profile | `USER#<id>`     | `PROFILE`           | logins, points, moves, tags, consent      |
//! | cart    | `USER#<id>`     | `CART`              | lines added/removed; TTL `expires_at`     |
//! | session | `USER#<id>`     | `SESSION#<hex>`     | page views; TTL `expires_at` (idle 1-15 min) |
//! | order   | `ORDER#<no>`    | `DETAILS`           | PENDING→PAID→SHIPPED→DELIVERED/CANCELLED, lines |
//! | review  | `PRODUCT#<sku>` | `REVIEW#<user id>`  | helpful votes, replies, edits             |
//!
//! Records are about 20 % INSERT, 70 % MODIFY and 10 % REMOVE (after the initial population,
//! which is all INSERTs); about a quarter of the REMOVEs are TTL deletions at the default
//! rate, marked with `userIdentity` as AWS marks them.
//!
//! The generator keeps a model of every live item, so each MODIFY and REMOVE names a key that
//! exists and carries an OldImage equal to the key's previous NewImage; the model doubles as
//! the expected table for restore tests ([`Workload::current_items`]).

mod attr;
mod blob;
mod item;
mod model;
mod modify;
// Data tables read better one row per line than one word per line.
#[rustfmt::skip]
mod names;
mod stream;
mod values;

pub use attr::{item_size, Item};

use item::{Customer, NewItem};
use model::{ItemKey, Kind, Model};
use rand::Rng;
use serde_json::{json, Value};
use stream::{Change, EventName, Sequencer, Source};
use values::Gen;

/// How to generate: the table's identity, the clock, the population and the seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadConfig {
    /// Table name, as in the table and stream ARNs (default `shop`).
    pub table: String,
    /// AWS region of the table (default `us-east-1`); `awsRegion` of every record.
    pub region: String,
    /// 12-digit account id in the ARNs (default `123456789012`).
    pub account: String,
    /// The stream label, the last part of the stream ARN (default
    /// `2026-11-26T06:00:00.000`). Sequence numbers are ordered only within one label.
    pub stream_label: String,
    /// Epoch seconds of the first record (default 2026-11-26T06:00:00Z).
    pub start_epoch_secs: i64,
    /// Records per second of simulated time; `ApproximateCreationDateTime` (whole seconds,
    /// rounded down as AWS does) advances at this rate. 0 is treated as 1. Default 5: a
    /// small shop's pace, at which idle sessions expire within a 10k-record run (so TTL
    /// deletions are about a quarter of the REMOVEs) and 28k records span more than an hour
    /// (so change logs cross hour partitions). Much faster rates leave no time for TTL.
    pub records_per_second: u32,
    /// Customers created up front (default 100), each with a profile, up to two orders and
    /// maybe a session or a cart, so MODIFY and REMOVE have targets from the start.
    pub initial_users: usize,
    /// `true` (default): the initial population is the stream's first records (INSERTs), so
    /// the stream covers the table's whole life. `false`: it exists before the stream starts
    /// (backdated) and is available from [`Workload::initial_items`] only, as a table whose
    /// stream was enabled late would be: restore then needs a snapshot.
    pub emit_initial_inserts: bool,
    /// `false` (default): the sort key `sk` is a string (`PROFILE`, `CART`, `DETAILS`,
    /// `SESSION#<hex>`, `REVIEW#<user>`). `true`: `sk` is a number (profile and order 0, cart
    /// 1, sessions and reviews a serial), to test tables with a numeric key attribute.
    pub numeric_sort_key: bool,
    /// Upper bound on an item's compact DynamoDB-JSON length (default 20,000 bytes). Orders
    /// with many lines are trimmed to fit, and stop growing at it.
    pub max_item_bytes: usize,
    /// Seed of the one random stream everything is drawn from: same seed and config, same
    /// records byte for byte.
    pub seed: u64,
}

impl Default for WorkloadConfig {
    fn default() -> Self {
        WorkloadConfig {
            table: "shop".into(),
            region: "us-east-1".into(),
            account: "123456789012".into(),
            stream_label: "2026-11-26T06:00:00.000".into(),
            start_epoch_secs: 1_795_672_800,
            records_per_second: 5,
            initial_users: 100,
            emit_initial_inserts: true,
            numeric_sort_key: false,
            max_item_bytes: 20_000,
            seed: 42,
        }
    }
}

/// A key attribute of the generated table, for CreateTable (`AttributeDefinitions` and
/// `KeySchema`) in tests and the demo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyAttribute {
    /// `pk` or `sk`.
    pub name: &'static str,
    /// `S` or `N`.
    pub attribute_type: &'static str,
    /// `HASH` or `RANGE`.
    pub key_type: &'static str,
}

/// Initial-population steps still to emit for the current customer.
#[derive(Debug, Clone, Copy)]
enum Boot {
    Order,
    Session,
    Cart,
}

/// The generator: an endless iterator of stream records (one `serde_json::Value` per
/// record, the shape of one element of a Lambda event's `Records`). Use `.take(n)`.
#[derive(Debug)]
pub struct Workload {
    cfg: WorkloadConfig,
    gen: Gen,
    model: Model,
    seq: Sequencer,
    src: Source,
    shard_id: String,
    emitted: u64,
    boot_users_left: usize,
    boot_user: Option<ItemKey>,
    boot_steps: Vec<Boot>,
    initial: Vec<Item>,
}

const DAY_MS: i64 = 86_400_000;

/// How long after its expiry time DynamoDB's TTL process deletes an item here. AWS takes
/// minutes to days; a short lag keeps TTL deletions in short runs while never deleting an
/// item at the very second it expires.
const TTL_DELETE_LAG_SECS: i64 = 30;

impl Workload {
    /// Builds the generator; with `emit_initial_inserts == false` this also builds the
    /// pre-existing population.
    pub fn new(cfg: WorkloadConfig) -> Self {
        let mut gen = Gen::new(cfg.seed, cfg.numeric_sort_key, cfg.max_item_bytes);
        let seq = Sequencer::new(&mut gen.rng);
        let shard_id = format!(
            "shardId-{:020}-{}",
            cfg.start_epoch_secs * 1000 + gen.rng.gen_range(0..1000),
            gen.hex(4)
        );
        let src = Source {
            region: cfg.region.clone(),
            stream_arn: stream_arn(&cfg),
        };
        let mut w = Workload {
            boot_users_left: cfg.initial_users,
            cfg,
            gen,
            model: Model::default(),
            seq,
            src,
            shard_id,
            emitted: 0,
            boot_user: None,
            boot_steps: Vec::new(),
            initial: Vec::new(),
        };
        if !w.cfg.emit_initial_inserts {
            // Backdated over the two weeks before the stream starts, one customer (and
            // their orders, minutes apart) after another.
            let span = 14 * DAY_MS;
            let step = span / w.cfg.initial_users.max(1) as i64;
            let gap = (step / 5).min(60_000);
            let start = w.cfg.start_epoch_secs * 1000 - span;
            let (mut user, mut k) = (-1i64, 0i64);
            loop {
                if w.boot_steps.is_empty() {
                    if w.boot_users_left == 0 {
                        break;
                    }
                    user += 1;
                    k = 0;
                }
                if w.bootstrap(start + user * step + k * gap).is_none() {
                    break;
                }
                k += 1;
            }
            w.initial = w.model.items().cloned().collect();
        }
        w
    }

    /// The configuration this generator was built with.
    pub fn config(&self) -> &WorkloadConfig {
        &self.cfg
    }

    /// The items currently in the table, in key order, as DynamoDB JSON: what a restore to
    /// "now" must produce. Also usable as PutItem bodies (see [`put_request`]).
    pub fn current_items(&self) -> impl Iterator<Item = &Item> + '_ {
        self.model.items()
    }

    /// How many items the table holds now.
    pub fn item_count(&self) -> usize {
        self.model.len()
    }

    /// The table as it was before the stream's first record when `emit_initial_inserts` is
    /// `false` (empty otherwise): load it with PutItem/BatchWriteItem, or treat it as a
    /// snapshot, before replaying the stream.
    pub fn initial_items(&self) -> &[Item] {
        &self.initial
    }

    /// Records generated so far.
    pub fn records_emitted(&self) -> u64 {
        self.emitted
    }

    /// `arn:aws:dynamodb:<region>:<account>:table/<table>`
    pub fn table_arn(&self) -> String {
        format!(
            "arn:aws:dynamodb:{}:{}:table/{}",
            self.cfg.region, self.cfg.account, self.cfg.table
        )
    }

    /// `<table ARN>/stream/<label>`: the `eventSourceARN` of every record.
    pub fn stream_arn(&self) -> String {
        self.src.stream_arn.clone()
    }

    /// The id of the one simulated shard, for tumbling-window events and checkpoints.
    pub fn shard_id(&self) -> &str {
        &self.shard_id
    }

    /// `pk` (S, HASH) and `sk` (S or N, RANGE).
    pub fn key_schema(&self) -> [KeyAttribute; 2] {
        [
            KeyAttribute {
                name: "pk",
                attribute_type: "S",
                key_type: "HASH",
            },
            KeyAttribute {
                name: "sk",
                attribute_type: if self.cfg.numeric_sort_key { "N" } else { "S" },
                key_type: "RANGE",
            },
        ]
    }

    /// The table's TTL attribute (`expires_at`, epoch seconds) on sessions and carts: enable
    /// TTL on it when creating the table so an emulator or AWS expires them too.
    pub fn ttl_attribute(&self) -> &'static str {
        model::TTL_ATTRIBUTE
    }

    fn now_ms(&self) -> i64 {
        let rps = u64::from(self.cfg.records_per_second.max(1));
        self.cfg.start_epoch_secs * 1000 + (self.emitted * 1000 / rps) as i64
    }

    fn next_change(&mut self, now_ms: i64) -> Change {
        if let Some(c) = self.bootstrap(now_ms) {
            return c;
        }
        let r: f64 = self.gen.rng.gen();
        if r < 0.20 {
            self.insert(now_ms)
        } else if r < 0.90 {
            self.modify(now_ms)
        } else {
            self.remove(now_ms)
        }
    }

    /// The next initial-population INSERT, or `None` once the population exists.
    fn bootstrap(&mut self, now_ms: i64) -> Option<Change> {
        if let (Some(step), Some(user)) = (self.boot_steps.pop(), self.boot_user.clone()) {
            let c = self.customer(&user)?;
            let new = match step {
                Boot::Order => item::order(&mut self.gen, &c, now_ms),
                Boot::Session => item::session(&mut self.gen, &c, now_ms),
                Boot::Cart => item::cart(&mut self.gen, &c, now_ms),
            };
            return Some(self.add(new));
        }
        if self.boot_users_left == 0 {
            return None;
        }
        self.boot_users_left -= 1;
        let profile = item::profile(&mut self.gen, now_ms);
        self.boot_user = Some(profile.key.clone());
        self.boot_steps.clear();
        for _ in 0..self.gen.rng.gen_range(0..=2) {
            self.boot_steps.push(Boot::Order);
        }
        if self.gen.chance(0.3) {
            self.boot_steps.push(Boot::Session);
        }
        if self.gen.chance(0.15) {
            self.boot_steps.push(Boot::Cart);
        }
        Some(self.add(profile))
    }

    fn customer(&self, key: &ItemKey) -> Option<Customer> {
        self.model.get(key).map(|e| Customer::from_profile(&e.item))
    }

    fn add(&mut self, new: NewItem) -> Change {
        let keys = stream::keys_of(&new.item);
        let image = new.item.clone();
        self.model.insert(new.key, new.kind, new.item);
        Change {
            event: EventName::Insert,
            keys,
            new_image: Some(image),
            old_image: None,
            ttl: false,
        }
    }

    fn insert(&mut self, now_ms: i64) -> Change {
        let r: f64 = self.gen.rng.gen();
        let user = self.model.random_key(Kind::Profile, &mut self.gen.rng);
        let (Some(user), false) = (user, r < 0.12) else {
            let p = item::profile(&mut self.gen, now_ms);
            return self.add(p);
        };
        let c = self.customer(&user).expect("profile from the model");
        let cart_key = (user.0.clone(), "CART".to_owned());
        let new = if r < 0.52 || (r < 0.64 && self.model.contains(&cart_key)) {
            item::order(&mut self.gen, &c, now_ms)
        } else if r < 0.64 {
            item::cart(&mut self.gen, &c, now_ms)
        } else if r < 0.88 {
            item::session(&mut self.gen, &c, now_ms)
        } else {
            let model = &self.model;
            match item::review(&mut self.gen, &c, |k| model.contains(k), now_ms) {
                Some(review) => review,
                None => item::session(&mut self.gen, &c, now_ms),
            }
        };
        self.add(new)
    }

    /// A random live key of `kind` (up to four draws), preferring items for which `prefer`
    /// holds (orders still in flight). Items past their TTL time are skipped: to the
    /// application they are gone, only DynamoDB's TTL process still touches them.
    fn pick(&mut self, kind: Kind, now_ms: i64, prefer: impl Fn(&Item) -> bool) -> Option<ItemKey> {
        let now_s = now_ms.div_euclid(1000);
        let mut first = None;
        for _ in 0..4 {
            let k = match kind {
                Kind::Session | Kind::Cart => self.model.recent_key(kind, &mut self.gen.rng, 3.0),
                _ => self.model.random_key(kind, &mut self.gen.rng),
            }?;
            let Some(e) = self.model.get(&k) else {
                continue;
            };
            if model::expires_at(&e.item).is_some_and(|t| t <= now_s) {
                continue;
            }
            if prefer(&e.item) {
                return Some(k);
            }
            first.get_or_insert(k);
        }
        first
    }

    fn modify(&mut self, now_ms: i64) -> Change {
        let r: f64 = self.gen.rng.gen();
        let wanted = if r < 0.40 {
            Kind::Order
        } else if r < 0.55 {
            Kind::Profile
        } else if r < 0.67 {
            Kind::Cart
        } else if r < 0.90 {
            Kind::Session
        } else {
            Kind::Review
        };
        let fallback = [
            Kind::Order,
            Kind::Session,
            Kind::Profile,
            Kind::Cart,
            Kind::Review,
        ];
        let in_flight =
            |it: &Item| !matches!(attr::get_s(it, "status"), Some("DELIVERED" | "CANCELLED"));
        let mut chosen = None;
        for kind in std::iter::once(wanted).chain(fallback) {
            if let Some(key) = self.pick(kind, now_ms, in_flight) {
                chosen = Some((kind, key));
                break;
            }
        }
        let Some((kind, key)) = chosen else {
            let p = item::profile(&mut self.gen, now_ms);
            return self.add(p);
        };
        let mut new = self.model.get(&key).expect("picked key").item.clone();
        match kind {
            Kind::Profile => modify::profile(&mut self.gen, &mut new, now_ms),
            Kind::Order => modify::order(&mut self.gen, &mut new, now_ms),
            Kind::Cart => modify::cart(&mut self.gen, &mut new, now_ms),
            Kind::Session => modify::session(&mut self.gen, &mut new, now_ms),
            Kind::Review => modify::review(&mut self.gen, &mut new, now_ms),
        }
        let old = self.model.replace(&key, new.clone());
        Change {
            event: EventName::Modify,
            keys: stream::keys_of(&new),
            new_image: Some(new),
            old_image: Some(old),
            ttl: false,
        }
    }

    /// What the application deletes of `kind`: only finished orders are purged.
    fn delete_target(&mut self, kind: Kind, now_ms: i64) -> Option<ItemKey> {
        if kind != Kind::Order {
            return self.pick(kind, now_ms, |_| true);
        }
        let done = |it: &Item| matches!(attr::get_s(it, "status"), Some("DELIVERED" | "CANCELLED"));
        self.pick(kind, now_ms, done)
            .filter(|k| self.model.get(k).is_some_and(|e| done(&e.item)))
    }

    /// A REMOVE: DynamoDB's TTL process deleting the item that expired first (about 40 % of
    /// removes, when something has expired), else an application delete: a logout, a
    /// checked-out or emptied cart, a purged finished order, a withdrawn review, a closed
    /// account.
    fn remove(&mut self, now_ms: i64) -> Change {
        const APP_DELETES: [(Kind, f64); 5] = [
            (Kind::Session, 0.10),
            (Kind::Cart, 0.20),
            (Kind::Order, 0.45),
            (Kind::Review, 0.10),
            (Kind::Profile, 0.15),
        ];
        let r: f64 = self.gen.rng.gen();
        let expired = if r < 0.40 {
            self.model
                .first_expired(now_ms.div_euclid(1000) - TTL_DELETE_LAG_SECS)
        } else {
            None
        };
        let (key, ttl) = match expired {
            Some(k) => (k, true),
            None => {
                let mut x: f64 = self.gen.rng.gen();
                let first = APP_DELETES
                    .iter()
                    .position(|&(_, w)| {
                        x -= w;
                        x < 0.0
                    })
                    .unwrap_or(0);
                // The chosen kind, else the next ones in turn.
                let mut key = None;
                for i in 0..APP_DELETES.len() {
                    let kind = APP_DELETES[(first + i) % APP_DELETES.len()].0;
                    key = self.delete_target(kind, now_ms);
                    if key.is_some() {
                        break;
                    }
                }
                let Some(k) = key.or_else(|| self.model.first_expired(i64::MAX)) else {
                    let p = item::profile(&mut self.gen, now_ms);
                    return self.add(p);
                };
                (k, false)
            }
        };
        let old = self.model.remove(&key).item;
        Change {
            event: EventName::Remove,
            keys: stream::keys_of(&old),
            new_image: None,
            old_image: Some(old),
            ttl,
        }
    }
}

impl Iterator for Workload {
    type Item = Value;

    /// The next stream record. Never `None`: the workload is endless.
    fn next(&mut self) -> Option<Value> {
        let now_ms = self.now_ms();
        let change = self.next_change(now_ms);
        let event_id = self.gen.hex(16);
        let seq = self.seq.next(&mut self.gen.rng);
        self.emitted += 1;
        Some(stream::record(
            &self.src,
            event_id,
            seq,
            now_ms.div_euclid(1000),
            change,
        ))
    }
}

fn stream_arn(cfg: &WorkloadConfig) -> String {
    format!(
        "arn:aws:dynamodb:{}:{}:table/{}/stream/{}",
        cfg.region, cfg.account, cfg.table, cfg.stream_label
    )
}

/// Wraps records as the event a stream-triggered Lambda receives: `{"Records": [...]}`.
pub fn lambda_event(records: &[Value]) -> Value {
    json!({ "Records": records })
}

/// The event a Lambda receives when its event source mapping has a tumbling window: the
/// only form that names the shard, which capture needs for checkpoints and the watermark.
/// `window` is `(start, end)` in epoch seconds; `state` is what the previous invocation of
/// the window returned (`{}` for the first).
pub fn tumbling_window_event(
    records: &[Value],
    shard_id: &str,
    stream_arn: &str,
    window: (i64, i64),
    state: Value,
) -> Value {
    let rfc = |t: i64| {
        chrono::DateTime::<chrono::Utc>::from_timestamp(t, 0)
            .unwrap_or_default()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    json!({
        "Records": records,
        "window": {"start": rfc(window.0), "end": rfc(window.1)},
        "state": state,
        "shardId": shard_id,
        "eventSourceARN": stream_arn,
        "isFinalInvokeForWindow": false,
        "isWindowTerminatedEarly": false,
    })
}

/// A BatchWriteItem element for an item: `{"PutRequest": {"Item": item}}`. Load
/// [`Workload::initial_items`] or [`Workload::current_items`] into a table with these.
pub fn put_request(item: &Item) -> Value {
    json!({ "PutRequest": { "Item": item } })
}

#[cfg(test)]
mod tests;
