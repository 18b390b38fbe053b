//! Item identity for comparisons: two items are equal when they have the same attributes with
//! the same types and values, numbers compared by value (`1E+2` equals `100`: DynamoDB
//! normalises numbers, moto and hand-written JSON do not).
//!
//! There is one rule, used by `verify` and by a `Reconcile` restore alike (an item read from
//! DynamoDB goes through `fingerprint_sdk_item`, which converts it and applies
//! [`fingerprint`]), so the two never disagree on whether an item changed.
//!
//! A number that does not parse (DynamoDB never holds one; moto and hand-written JSON may) is
//! kept as its text: it equals only a number of the same text, never a parseable one, and
//! fingerprinting never fails. Refusing such an item is the business of whoever reads or writes
//! it (`rewind_format::item_from_json`, DynamoDB itself), not of the comparison.

use crate::error::{ReplayError, Result};
use aws_sdk_dynamodb::types::AttributeValue as SdkValue;
use rewind_format::{encode_key, item_to_json, number, AttributeValue, Item};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// 128 bits of SHA-256 over the item's canonical DynamoDB JSON with canonical numbers.
pub type Fingerprint = [u8; 16];

/// The fingerprint of an item (numbers by value; one that does not parse by its text).
pub fn fingerprint(item: &Item) -> Fingerprint {
    let canonical: HashMap<String, AttributeValue> = item
        .iter()
        .map(|(k, v)| (k.clone(), canonical_numbers(v)))
        .collect();
    let digest = Sha256::digest(item_to_json(&canonical).as_bytes());
    digest[..16].try_into().expect("16 bytes")
}

/// An item as the DynamoDB SDK holds it (a scanned item), fingerprinted by [`fingerprint`].
pub(crate) fn fingerprint_sdk_item(item: HashMap<String, SdkValue>) -> Fingerprint {
    fingerprint(&Item::from(item))
}

/// The canonical form of a number, or its text when it does not parse (see the module docs).
fn canonical_number(n: &str) -> String {
    number::canonical(n).unwrap_or_else(|_| n.to_string())
}

fn canonical_numbers(v: &AttributeValue) -> AttributeValue {
    match v {
        AttributeValue::N(n) => AttributeValue::N(canonical_number(n)),
        AttributeValue::Ns(ns) => {
            AttributeValue::Ns(ns.iter().map(|n| canonical_number(n)).collect())
        }
        AttributeValue::L(l) => AttributeValue::L(l.iter().map(canonical_numbers).collect()),
        AttributeValue::M(m) => AttributeValue::M(
            m.iter()
                .map(|(k, v)| (k.clone(), canonical_numbers(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The canonical binary key of `item` and its key attributes as DynamoDB JSON.
pub fn item_key(item: &Item, key_names: &[String], location: &str) -> Result<(Vec<u8>, String)> {
    let mut keys = HashMap::with_capacity(key_names.len());
    for name in key_names {
        let value = item.get(name).ok_or_else(|| ReplayError::Invalid {
            what: "item",
            location: location.to_string(),
            reason: format!("key attribute {name} is missing"),
        })?;
        keys.insert(name.clone(), value.clone());
    }
    let encoded = encode_key(&keys).map_err(|e| ReplayError::Invalid {
        what: "item key",
        location: location.to_string(),
        reason: e.to_string(),
    })?;
    Ok((encoded, item_to_json(&keys)))
}

/// The key attribute names of a key given as DynamoDB JSON (`{"pk":{"S":"a"}}`), sorted.
pub fn key_names_from_keys_json(keys: &str) -> Vec<String> {
    let mut names: Vec<String> =
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(keys)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_by_value_and_types_matter() {
        let a = rewind_format::item_from_json(
            r#"{"n":{"N":"1E+2"},"l":{"L":[{"N":"12.050"}]},"s":{"NS":["1","2.0"]}}"#,
        )
        .unwrap();
        let b = rewind_format::item_from_json(
            r#"{"n":{"N":"100"},"l":{"L":[{"N":"12.05"}]},"s":{"NS":["2","1"]}}"#,
        )
        .unwrap();
        assert_eq!(fingerprint(&a), fingerprint(&b));
        let c = rewind_format::item_from_json(
            r#"{"n":{"S":"100"},"l":{"L":[{"N":"12.05"}]},"s":{"NS":["2","1"]}}"#,
        )
        .unwrap();
        assert_ne!(fingerprint(&b), fingerprint(&c));
    }

    #[test]
    fn fingerprints_compare_numbers_by_value() {
        let item = |json: &str| rewind_format::item_from_json(json).unwrap();
        let a = item(
            r#"{"pk":{"S":"a"},"n":{"N":"1E+2"},"l":{"L":[{"N":"0.50"}]},"s":{"NS":["1","2E0"]}}"#,
        );
        let b = item(
            r#"{"s":{"NS":["2","1.0"]},"l":{"L":[{"N":".5"}]},"n":{"N":"100"},"pk":{"S":"a"}}"#,
        );
        let c = item(
            r#"{"pk":{"S":"a"},"n":{"N":"101"},"l":{"L":[{"N":"0.5"}]},"s":{"NS":["1","2"]}}"#,
        );
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&a), fingerprint(&c));
    }

    /// `Reconcile` fingerprints the items it scans (SDK values) as `verify` fingerprints the
    /// same items as DynamoDB JSON, an unparseable number included (kept as its text).
    #[test]
    fn a_scanned_item_fingerprints_as_its_dynamodb_json() {
        let n = |text: &str| SdkValue::N(text.to_string());
        let sdk = |bad: &str| -> HashMap<String, SdkValue> {
            HashMap::from([
                ("pk".to_string(), SdkValue::S("a".into())),
                ("n".to_string(), n("1E+2")),
                ("bad".to_string(), n(bad)),
                ("l".to_string(), SdkValue::L(vec![n("0.50"), n(bad)])),
                (
                    "s".to_string(),
                    SdkValue::Ns(vec!["1".into(), "2E0".into()]),
                ),
                (
                    "m".to_string(),
                    SdkValue::M(HashMap::from([("x".to_string(), n(bad))])),
                ),
            ])
        };
        // Not through item_from_json, which refuses the unparseable number.
        let json = |bad: &str| -> Item {
            serde_json::from_str(&format!(
                r#"{{"pk":{{"S":"a"}},"n":{{"N":"1E+2"}},"bad":{{"N":"{bad}"}},
                    "l":{{"L":[{{"N":"0.50"}},{{"N":"{bad}"}}]}},"s":{{"NS":["1","2E0"]}},
                    "m":{{"M":{{"x":{{"N":"{bad}"}}}}}}}}"#
            ))
            .unwrap()
        };
        assert_eq!(
            fingerprint_sdk_item(sdk("eight")),
            fingerprint(&json("eight"))
        );
        assert_eq!(fingerprint_sdk_item(sdk("7")), fingerprint(&json("7.0")));
        assert_ne!(
            fingerprint_sdk_item(sdk("eight")),
            fingerprint(&json("nine"))
        );
        assert_ne!(fingerprint_sdk_item(sdk("eight")), fingerprint(&json("8")));
        // Everything parseable: by value, as verify compares restored items.
        let parsed = rewind_format::item_from_json(
            r#"{"pk":{"S":"a"},"n":{"N":"100"},"bad":{"N":"7"},"l":{"L":[{"N":".5"},{"N":"7"}]},
                "s":{"NS":["2","1"]},"m":{"M":{"x":{"N":"7.00"}}}}"#,
        )
        .unwrap();
        assert_eq!(fingerprint_sdk_item(sdk("7")), fingerprint(&parsed));
    }
}
