//! Shared test helpers: arbitrary DynamoDB items and Lambda stream records.
#![allow(dead_code)]

use proptest::prelude::*;
use rewind_format::AttributeValue;
use serde_json::{json, Value};
use std::collections::HashMap;

pub const ARN: &str =
    "arn:aws:dynamodb:us-east-1:123456789012:table/shop/stream/2026-11-26T06:00:00.000";

/// Numbers as DynamoDB may send them: up to 38 digits, signs, fractions, exponents.
pub fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        "-?[1-9][0-9]{0,37}",
        "-?[0-9]{1,18}\\.[0-9]{1,18}",
        ("-?[1-9]\\.[0-9]{0,20}", -130i32..125).prop_map(|(m, e)| format!("{m}E{e}")),
        Just("12345678901234567890123456789012345678".to_string()),
        Just("0.000000000000000000000000000000000000000001".to_string()),
    ]
}

pub fn scalar() -> impl Strategy<Value = AttributeValue> {
    prop_oneof![
        "\\PC{0,20}".prop_map(AttributeValue::S),
        number().prop_map(AttributeValue::N),
        proptest::collection::vec(any::<u8>(), 0..24).prop_map(AttributeValue::B),
        any::<bool>().prop_map(AttributeValue::Bool),
        Just(AttributeValue::Null(true)),
        proptest::collection::btree_set("\\PC{0,8}", 1..4)
            .prop_map(|s| AttributeValue::Ss(s.into_iter().collect())),
        proptest::collection::btree_set(any::<i32>(), 1..4)
            .prop_map(|s| AttributeValue::Ns(s.into_iter().map(|n| n.to_string()).collect())),
        proptest::collection::btree_set(proptest::collection::vec(any::<u8>(), 0..6), 1..4)
            .prop_map(|s| AttributeValue::Bs(s.into_iter().collect())),
    ]
}

/// Any value, nested (L and M) to depth 4.
pub fn value() -> impl Strategy<Value = AttributeValue> {
    scalar().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(AttributeValue::L),
            proptest::collection::hash_map("\\PC{1,10}", inner, 0..5).prop_map(AttributeValue::M),
        ]
    })
}

pub fn key_value() -> impl Strategy<Value = AttributeValue> {
    prop_oneof![
        "\\PC{1,20}".prop_map(AttributeValue::S),
        number().prop_map(AttributeValue::N),
        proptest::collection::vec(any::<u8>(), 1..16).prop_map(AttributeValue::B),
    ]
}

/// An item with `pk` (and sometimes `sk`) key attributes and arbitrary others.
pub fn item() -> impl Strategy<Value = HashMap<String, AttributeValue>> {
    (
        key_value(),
        proptest::option::of(key_value()),
        proptest::collection::hash_map("[a-zA-Z_][\\PC]{0,12}", value(), 0..8),
    )
        .prop_map(|(pk, sk, mut rest)| {
            rest.remove("pk");
            rest.remove("sk");
            rest.insert("pk".into(), pk);
            if let Some(sk) = sk {
                rest.insert("sk".into(), sk);
            }
            rest
        })
}

pub fn keys_of(item: &HashMap<String, AttributeValue>) -> HashMap<String, AttributeValue> {
    item.iter()
        .filter(|(k, _)| *k == "pk" || *k == "sk")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn to_json(item: &HashMap<String, AttributeValue>) -> Value {
    serde_json::to_value(item).unwrap()
}

/// A Lambda stream record as AWS delivers it.
pub fn lambda_record(
    event: &str,
    seq: u64,
    secs: i64,
    new: Option<&HashMap<String, AttributeValue>>,
    old: Option<&HashMap<String, AttributeValue>>,
) -> Value {
    let keys = keys_of(new.or(old).expect("an image"));
    let mut dynamodb = json!({
        "ApproximateCreationDateTime": secs,
        "Keys": to_json(&keys),
        "SequenceNumber": format!("{}", 100_000_000_000_000_000_000u128 + seq as u128),
        "SizeBytes": 100,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    });
    if let Some(n) = new {
        dynamodb["NewImage"] = to_json(n);
    }
    if let Some(o) = old {
        dynamodb["OldImage"] = to_json(o);
    }
    json!({
        "eventID": format!("{seq:032x}"),
        "eventName": event,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": dynamodb,
        "eventSourceARN": ARN,
    })
}
