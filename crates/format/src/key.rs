//! The canonical binary key: what change records are grouped and ordered by.
//!
//! A DynamoDB key is one or two attributes of type S, N or B. The encoding lists them sorted by name,
//! each as `u16 name length, name, type tag, u32 value length, value`, big-endian. Lengths make it
//! injective (no two keys share bytes); sorting makes it independent of attribute order; numbers are
//! written in [`crate::number::canonical`] form, so `1E+2` and `100` are one key, as in DynamoDB.

use crate::number;
use serde_dynamo::AttributeValue;
use std::collections::HashMap;

/// Why a set of attributes cannot be a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// No key attributes at all.
    #[error("the key has no attributes")]
    Empty,
    /// A key attribute of a type keys cannot have.
    #[error("key attribute {name:?} has type {found}; key attributes are S, N or B")]
    BadType {
        /// The attribute.
        name: String,
        /// Its DynamoDB type.
        found: &'static str,
    },
    /// A number that does not parse.
    #[error("key attribute {name:?}: {source}")]
    BadNumber {
        /// The attribute.
        name: String,
        /// The parse failure.
        source: number::NumberError,
    },
    /// Longer than the encoding's length fields allow (far beyond DynamoDB's own limits).
    #[error("key attribute {name:?} is too long to encode")]
    TooLong {
        /// The attribute.
        name: String,
    },
}

/// The DynamoDB type name of a value, for messages.
pub fn type_name(value: &AttributeValue) -> &'static str {
    match value {
        AttributeValue::S(_) => "S",
        AttributeValue::N(_) => "N",
        AttributeValue::B(_) => "B",
        AttributeValue::Bool(_) => "BOOL",
        AttributeValue::Null(_) => "NULL",
        AttributeValue::M(_) => "M",
        AttributeValue::L(_) => "L",
        AttributeValue::Ss(_) => "SS",
        AttributeValue::Ns(_) => "NS",
        AttributeValue::Bs(_) => "BS",
    }
}

/// Encodes the key attributes of an item (exactly the attributes given: pass the stream's `Keys`).
pub fn encode_key(keys: &HashMap<String, AttributeValue>) -> Result<Vec<u8>, KeyError> {
    if keys.is_empty() {
        return Err(KeyError::Empty);
    }
    let mut names: Vec<&String> = keys.keys().collect();
    names.sort_unstable();
    let mut out = Vec::with_capacity(64);
    for name in names {
        let value = &keys[name];
        let (tag, bytes): (u8, std::borrow::Cow<[u8]>) = match value {
            AttributeValue::S(s) => (b'S', s.as_bytes().into()),
            AttributeValue::N(n) => {
                let c = number::canonical(n).map_err(|source| KeyError::BadNumber {
                    name: name.clone(),
                    source,
                })?;
                (b'N', c.into_bytes().into())
            }
            AttributeValue::B(b) => (b'B', b.as_slice().into()),
            other => {
                return Err(KeyError::BadType {
                    name: name.clone(),
                    found: type_name(other),
                })
            }
        };
        let too_long = || KeyError::TooLong { name: name.clone() };
        let name_len = u16::try_from(name.len()).map_err(|_| too_long())?;
        let value_len = u32::try_from(bytes.len()).map_err(|_| too_long())?;
        out.extend_from_slice(&name_len.to_be_bytes());
        out.extend_from_slice(name.as_bytes());
        out.push(tag);
        out.extend_from_slice(&value_len.to_be_bytes());
        out.extend_from_slice(&bytes);
    }
    Ok(out)
}

/// The attribute names and type tags (`'S'`, `'N'`, `'B'`) of an encoded key, in name order;
/// `None` for bytes that are not an encoded key. What a key's schema is, without its values
/// (to tell a key of another schema from a key that was never written).
pub fn key_attribute_types(mut key: &[u8]) -> Option<Vec<(String, char)>> {
    let mut out = Vec::new();
    while !key.is_empty() {
        let name_len = usize::from(u16::from_be_bytes(key.get(..2)?.try_into().ok()?));
        let name = std::str::from_utf8(key.get(2..2 + name_len)?).ok()?;
        let tag = char::from(*key.get(2 + name_len)?);
        if !matches!(tag, 'S' | 'N' | 'B') {
            return None;
        }
        let at = 3 + name_len;
        let value_len = u32::from_be_bytes(key.get(at..at + 4)?.try_into().ok()?) as usize;
        key = key.get(at + 4 + value_len..)?;
        out.push((name.to_string(), tag));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_key_tells_its_schema() {
        let key = encode_key(&HashMap::from([
            ("sk".to_string(), AttributeValue::N("1E+2".into())),
            ("pk".to_string(), AttributeValue::S("USER#1".into())),
        ]))
        .unwrap();
        assert_eq!(
            key_attribute_types(&key),
            Some(vec![("pk".to_string(), 'S'), ("sk".to_string(), 'N')])
        );
        assert_eq!(
            key_attribute_types(&key[..key.len() - 1]),
            None,
            "truncated"
        );
        assert_eq!(
            key_attribute_types(b"\x00\x01pX\x00\x00\x00\x00"),
            None,
            "bad tag"
        );
    }

    fn key(pairs: &[(&str, AttributeValue)]) -> HashMap<String, AttributeValue> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn scalar() -> impl Strategy<Value = AttributeValue> {
        prop_oneof![
            "\\PC{0,12}".prop_map(AttributeValue::S),
            (any::<i64>(), 0u32..5).prop_map(|(m, e)| AttributeValue::N(format!("{m}E{e}"))),
            proptest::collection::vec(any::<u8>(), 0..12).prop_map(AttributeValue::B),
        ]
    }

    fn keyset() -> impl Strategy<Value = HashMap<String, AttributeValue>> {
        proptest::collection::hash_map("[a-zA-Z_]{1,6}", scalar(), 1..=2)
    }

    /// The value a key denotes, independent of spelling: what equality of keys means.
    fn meaning(k: &HashMap<String, AttributeValue>) -> Vec<(String, String, Vec<u8>)> {
        let mut v: Vec<_> = k
            .iter()
            .map(|(n, a)| match a {
                AttributeValue::S(s) => (n.clone(), "S".into(), s.as_bytes().to_vec()),
                AttributeValue::N(x) => (
                    n.clone(),
                    "N".into(),
                    number::canonical(x).unwrap().into_bytes(),
                ),
                AttributeValue::B(b) => (n.clone(), "B".into(), b.clone()),
                _ => unreachable!(),
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn numbers_equal_in_value_are_one_key() {
        let a = key(&[
            ("pk", AttributeValue::S("u".into())),
            ("sk", AttributeValue::N("1E+2".into())),
        ]);
        let b = key(&[
            ("sk", AttributeValue::N("100".into())),
            ("pk", AttributeValue::S("u".into())),
        ]);
        assert_eq!(encode_key(&a).unwrap(), encode_key(&b).unwrap());
    }

    #[test]
    fn type_is_part_of_the_key() {
        let s = key(&[("pk", AttributeValue::S("1".into()))]);
        let n = key(&[("pk", AttributeValue::N("1".into()))]);
        let b = key(&[("pk", AttributeValue::B(b"1".to_vec()))]);
        let all = [
            encode_key(&s).unwrap(),
            encode_key(&n).unwrap(),
            encode_key(&b).unwrap(),
        ];
        assert_ne!(all[0], all[1]);
        assert_ne!(all[0], all[2]);
        assert_ne!(all[1], all[2]);
    }

    #[test]
    fn non_key_types_and_empty_keys_are_refused() {
        assert_eq!(encode_key(&HashMap::new()), Err(KeyError::Empty));
        let e = encode_key(&key(&[("pk", AttributeValue::Bool(true))])).unwrap_err();
        assert!(e.to_string().contains("\"pk\" has type BOOL"), "{e}");
        let e = encode_key(&key(&[("pk", AttributeValue::N("x".into()))])).unwrap_err();
        assert!(matches!(e, KeyError::BadNumber { .. }));
    }

    proptest! {
        #[test]
        fn injective_and_order_independent(a in keyset(), b in keyset()) {
            let ea = encode_key(&a).unwrap();
            let eb = encode_key(&b).unwrap();
            prop_assert_eq!(ea == eb, meaning(&a) == meaning(&b));
        }

        #[test]
        fn spelling_of_numbers_does_not_matter(m in any::<i64>(), e in 0u32..10) {
            let plain = format!("{}{}", m, "0".repeat(e as usize));
            let sci = format!("{m}E+{e}");
            let a = key(&[("k", AttributeValue::N(plain))]);
            let b = key(&[("k", AttributeValue::N(sci))]);
            prop_assert_eq!(encode_key(&a).unwrap(), encode_key(&b).unwrap());
        }
    }
}
