//! Change records straight from the text of a Lambda stream record, as the Lambda runtime
//! delivers it: one pass of the parser, the images written canonically while they are read
//! ([`crate::canonical_stream`]), no `serde_json::Value` tree of the record.
//!
//! Why: capture converts every image of every record (a MODIFY's old image too, for its hash),
//! and walking a parsed `Value` tree bounded its speed (docs/BENCHMARKS.md, "Capture encoding";
//! the parsers compared are in docs/DECISIONS.md). The small fields (`eventName`, `Keys`,
//! `SequenceNumber`, `userIdentity`, ...) are parsed as `Value`s and checked by the same code as
//! [`crate::from_lambda_record`], so the change record and every refusal are the same; a property
//! test holds the two paths equal on arbitrary and malformed records.

use crate::canonical_stream::{Buffers, Handler, ImageSeed, Name, Via};
use crate::dynamodb_json::ValueError;
use crate::error::ConvertError;
use crate::from_lambda::{
    describe, dynamodb_not_an_object, no_dynamodb, not_a_record, LambdaFields,
};
use crate::raw_change::Image;
use crate::record::{ChangeRecord, ConvertOptions};
use serde::de::value::SeqAccessDeserializer;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess};
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;
use std::cell::RefCell;

thread_local! {
    /// The canonical writer's buffers, reused by every record a thread converts.
    static BUFFERS: RefCell<Buffers> = RefCell::new(Buffers::default());
}

/// Converts one element of a Lambda event's `Records` from its JSON text (for instance a
/// `serde_json::value::RawValue` of the event, which is the record exactly as delivered). Gives
/// the change record, or the refusal, that [`crate::from_lambda_record`] gives for the same JSON
/// parsed as a `Value`; text that is not JSON is refused as field `<record>`.
pub fn from_lambda_record_json(
    record: &str,
    shard_id: &str,
    ingested_at_ms: i64,
    options: &ConvertOptions,
) -> Result<ChangeRecord, ConvertError> {
    let mut deserializer = serde_json::Deserializer::from_str(record);
    // serde_json over text borrows only strings that had no escape sequence.
    let parsed = parse(&mut deserializer, true).and_then(|parsed| {
        deserializer.end()?;
        Ok(parsed)
    });
    match parsed {
        Ok(parsed) => parsed.into_record(shard_id, ingested_at_ms, options),
        Err(e) => Err(not_json(e)),
    }
}

/// [`from_lambda_record_json`] with another serde deserializer over the record's JSON (another
/// parser, or a record inside a larger document). Capture uses serde_json's; this is how the
/// alternatives were measured against it (docs/DECISIONS.md, "Capture encoding without the
/// tree").
pub fn from_lambda_record_deserializer<'de, D: Deserializer<'de>>(
    deserializer: D,
    shard_id: &str,
    ingested_at_ms: i64,
    options: &ConvertOptions,
) -> Result<ChangeRecord, ConvertError> {
    parse(deserializer, false)
        .map_err(not_json)?
        .into_record(shard_id, ingested_at_ms, options)
}

fn not_json(e: impl std::fmt::Display) -> ConvertError {
    not_a_record(format!("not JSON: {e}"))
}

/// `verbatim_borrowed`: see [`Buffers::verbatim_borrowed`].
fn parse<'de, D: Deserializer<'de>>(
    deserializer: D,
    verbatim_borrowed: bool,
) -> Result<Parsed, D::Error> {
    BUFFERS.with_borrow_mut(|buffers| {
        buffers.verbatim_borrowed = verbatim_borrowed;
        Via(RecordHandler { buffers }).deserialize(deserializer)
    })
}

/// What a record's text held, as far as conversion reads it.
#[derive(Debug, Default)]
struct Parsed {
    object: bool,
    event_id: Option<Value>,
    event_name: Option<Value>,
    event_source_arn: Option<Value>,
    user_identity: Option<Value>,
    dynamodb: Option<Dynamodb>,
}

/// The record's `dynamodb` field: an object (the change), or anything else, kept to be named.
#[derive(Debug)]
enum Dynamodb {
    Change(Change),
    Other(Value),
}

#[derive(Debug, Default)]
struct Change {
    keys: Option<Value>,
    sequence_number: Option<Value>,
    approximate_creation_date_time: Option<Value>,
    /// `None`: absent; otherwise as [`ImageSeed`] wrote it.
    new_image: Option<Result<Option<String>, ValueError>>,
    old_image: Option<Result<Option<String>, ValueError>>,
}

impl Parsed {
    fn into_record(
        self,
        shard_id: &str,
        ingested_at_ms: i64,
        options: &ConvertOptions,
    ) -> Result<ChangeRecord, ConvertError> {
        let sequence = match &self.dynamodb {
            Some(Dynamodb::Change(c)) => c.sequence_number.as_ref(),
            _ => None,
        };
        let at = describe(self.event_id.as_ref(), sequence);
        self.convert(shard_id, ingested_at_ms, options)
            .map_err(|e| e.at(at))
    }

    fn convert(
        self,
        shard_id: &str,
        ingested_at_ms: i64,
        options: &ConvertOptions,
    ) -> Result<ChangeRecord, ConvertError> {
        if !self.object {
            return Err(not_a_record("not a JSON object".into()));
        }
        let change = match self.dynamodb {
            Some(Dynamodb::Change(change)) => change,
            Some(Dynamodb::Other(other)) => return Err(dynamodb_not_an_object(&other)),
            None => return Err(no_dynamodb()),
        };
        let image = |written: Option<_>| Image::Canonical(written.unwrap_or(Ok(None)));
        LambdaFields {
            event_name: self.event_name.as_ref(),
            event_source_arn: self.event_source_arn.as_ref(),
            user_identity: self.user_identity.as_ref(),
            keys: change.keys.as_ref(),
            sequence_number: change.sequence_number.as_ref(),
            approximate_creation_date_time: change.approximate_creation_date_time.as_ref(),
            new_image: image(change.new_image),
            old_image: image(change.old_image),
        }
        .into_record(shard_id, ingested_at_ms, options)
    }
}

/// The record: an object whose fields conversion reads; every other field is skipped unparsed.
/// A repeated field keeps its last value, as a parsed `Value` does.
struct RecordHandler<'b> {
    buffers: &'b mut Buffers,
}

impl<'de> Handler<'de> for RecordHandler<'_> {
    type Out = Parsed;

    fn other(self, _kind: &'static str) -> Parsed {
        Parsed::default()
    }

    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<Parsed, A::Error> {
        let mut parsed = Parsed {
            object: true,
            ..Parsed::default()
        };
        while let Some(key) = map.next_key_seed(Name)? {
            match &*key {
                "eventID" => parsed.event_id = Some(map.next_value()?),
                "eventName" => parsed.event_name = Some(map.next_value()?),
                "eventSourceARN" => parsed.event_source_arn = Some(map.next_value()?),
                "userIdentity" => parsed.user_identity = Some(map.next_value()?),
                "dynamodb" => {
                    parsed.dynamodb = Some(map.next_value_seed(Via(DynamodbHandler {
                        buffers: &mut *self.buffers,
                    }))?)
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(parsed)
    }
}

/// The record's `dynamodb` object: the images are written canonically as they are read.
struct DynamodbHandler<'b> {
    buffers: &'b mut Buffers,
}

impl<'de> Handler<'de> for DynamodbHandler<'_> {
    type Out = Dynamodb;

    // Every kind but an object is kept as a `Value` below, to be named in the refusal.
    fn other(self, _kind: &'static str) -> Dynamodb {
        Dynamodb::Other(Value::Null)
    }

    fn unit(self) -> Dynamodb {
        Dynamodb::Other(Value::Null)
    }

    fn bool(self, b: bool) -> Dynamodb {
        Dynamodb::Other(Value::Bool(b))
    }

    fn number(self, n: serde_json::Number) -> Dynamodb {
        Dynamodb::Other(Value::Number(n))
    }

    fn str(self, s: Cow<'de, str>) -> Dynamodb {
        Dynamodb::Other(Value::String(s.into_owned()))
    }

    fn seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Dynamodb, A::Error> {
        Value::deserialize(SeqAccessDeserializer::new(seq)).map(Dynamodb::Other)
    }

    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<Dynamodb, A::Error> {
        let mut change = Change::default();
        while let Some(key) = map.next_key_seed(Name)? {
            match &*key {
                "Keys" => change.keys = Some(map.next_value()?),
                "SequenceNumber" => change.sequence_number = Some(map.next_value()?),
                "ApproximateCreationDateTime" => {
                    change.approximate_creation_date_time = Some(map.next_value()?)
                }
                "NewImage" | "OldImage" => {
                    let image = map.next_value_seed(ImageSeed {
                        buffers: &mut *self.buffers,
                    })?;
                    if key == "NewImage" {
                        change.new_image = Some(image);
                    } else {
                        change.old_image = Some(image);
                    }
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Dynamodb::Change(change))
    }
}
