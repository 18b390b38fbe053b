//! Item identity for comparisons: two items are equal when they have the same attributes with
//! the same types and values, numbers compared by value (`1E+2` equals `100`: DynamoDB
//! normalises numbers, moto and hand-written JSON do not).

use crate::error::{ReplayError, Result};
use rewind_format::{encode_key, item_to_json, number, AttributeValue, Item};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// 128 bits of SHA-256 over the item's canonical DynamoDB JSON with canonical numbers.
pub type Fingerprint = [u8; 16];

/// The fingerprint of an item.
pub fn fingerprint(item: &Item) -> Fingerprint {
    let canonical: HashMap<String, AttributeValue> = item
        .iter()
        .map(|(k, v)| (k.clone(), canonical_numbers(v)))
        .collect();
    let digest = Sha256::digest(item_to_json(&canonical).as_bytes());
    digest[..16].try_into().expect("16 bytes")
}

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
}
