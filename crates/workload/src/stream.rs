//! Assembling stream records exactly as a DynamoDB-stream Lambda event delivers them.
//!
//! The shape is that of one element of `Records` in the event (not the `GetRecords` API
//! shape, which nests differently and uses epoch seconds as a float): capture parses this
//! shape, so tests feed it this shape.

use crate::attr::{item_size, Item};
use rand::Rng;
use serde_json::{json, Map, Value};

/// INSERT, MODIFY or REMOVE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventName {
    Insert,
    Modify,
    Remove,
}

impl EventName {
    pub fn as_str(self) -> &'static str {
        match self {
            EventName::Insert => "INSERT",
            EventName::Modify => "MODIFY",
            EventName::Remove => "REMOVE",
        }
    }
}

/// Sequence numbers of the (single, simulated) shard.
///
/// Real ones are decimal strings of 21+ digits that grow by irregular steps within a shard;
/// this starts at a seeded 21-digit value and adds a random step of up to 10^9, so ten
/// million records stay within 22 digits and the numbers only ever increase.
#[derive(Debug)]
pub(crate) struct Sequencer {
    next: u128,
}

impl Sequencer {
    pub fn new<R: Rng>(rng: &mut R) -> Self {
        Sequencer {
            next: rng.gen_range(1..=8) * 100_000_000_000_000_000_000
                + rng.gen_range(0..10_000_000_000_000_000_000u128),
        }
    }

    pub fn next<R: Rng>(&mut self, rng: &mut R) -> String {
        self.next += rng.gen_range(1..=1_000_000_000u128);
        self.next.to_string()
    }
}

/// The `Keys` of an item: its `pk` and `sk` attributes.
pub(crate) fn keys_of(item: &Item) -> Item {
    ["pk", "sk"]
        .into_iter()
        .filter_map(|k| item.get(k).map(|v| (k.to_owned(), v.clone())))
        .collect()
}

/// Everything about the source that is the same in every record.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    pub region: String,
    pub stream_arn: String,
}

/// One change, before it becomes JSON.
#[derive(Debug)]
pub(crate) struct Change {
    pub event: EventName,
    pub keys: Item,
    pub new_image: Option<Item>,
    pub old_image: Option<Item>,
    /// A deletion by DynamoDB's TTL process rather than by the application.
    pub ttl: bool,
}

/// Builds one Lambda-event stream record.
pub(crate) fn record(
    src: &Source,
    event_id: String,
    sequence_number: String,
    approximate_creation_secs: i64,
    change: Change,
) -> Value {
    let size = item_size(&change.keys)
        + change.new_image.as_ref().map_or(0, item_size)
        + change.old_image.as_ref().map_or(0, item_size);
    let mut ddb = Map::with_capacity(7);
    ddb.insert(
        "ApproximateCreationDateTime".into(),
        json!(approximate_creation_secs),
    );
    ddb.insert("Keys".into(), Value::Object(change.keys));
    if let Some(new) = change.new_image {
        ddb.insert("NewImage".into(), Value::Object(new));
    }
    if let Some(old) = change.old_image {
        ddb.insert("OldImage".into(), Value::Object(old));
    }
    ddb.insert("SequenceNumber".into(), Value::String(sequence_number));
    ddb.insert("SizeBytes".into(), json!(size));
    ddb.insert("StreamViewType".into(), json!("NEW_AND_OLD_IMAGES"));

    let mut rec = Map::with_capacity(8);
    rec.insert("eventID".into(), Value::String(event_id));
    rec.insert("eventName".into(), json!(change.event.as_str()));
    rec.insert("eventVersion".into(), json!("1.1"));
    rec.insert("eventSource".into(), json!("aws:dynamodb"));
    rec.insert("awsRegion".into(), Value::String(src.region.clone()));
    rec.insert("dynamodb".into(), Value::Object(ddb));
    rec.insert(
        "eventSourceARN".into(),
        Value::String(src.stream_arn.clone()),
    );
    if change.ttl {
        rec.insert(
            "userIdentity".into(),
            json!({"type": "Service", "principalId": "dynamodb.amazonaws.com"}),
        );
    }
    Value::Object(rec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn sequence_numbers_increase_and_have_21_or_22_digits() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let mut seq = Sequencer::new(&mut rng);
        let mut prev = 0u128;
        for _ in 0..10_000 {
            let s = seq.next(&mut rng);
            assert!((21..=22).contains(&s.len()), "{s}");
            let v: u128 = s.parse().unwrap();
            assert!(v > prev);
            prev = v;
        }
    }
}
