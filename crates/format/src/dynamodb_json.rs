//! Canonical DynamoDB JSON: the text form of items in the change log.
//!
//! DynamoDB JSON (`{"name": {"S": "x"}}`) is lossless for every type: numbers stay the strings
//! DynamoDB sent, binary stays binary (base64), sets stay sets. It is also what Athena users can read
//! and what ImportTable accepts. *Canonical* means equal items give equal bytes: attribute names are
//! sorted (by UTF-8 bytes) at every depth, set members are sorted, and no whitespace is written. That
//! is what lets a MODIFY's old-image hash be compared with the previous version's new image.

use crate::number;
use base64::Engine;
use serde_dynamo::{AttributeValue, Item};
use std::collections::HashMap;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Why a value is not valid DynamoDB JSON, with the attribute path where it went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at {path}: {reason}")]
pub struct ValueError {
    /// Attribute path such as `order.lines[2].price`.
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

/// Writes an item as canonical DynamoDB JSON.
pub fn item_to_json(item: &HashMap<String, AttributeValue>) -> String {
    let mut out = String::with_capacity(256);
    write_map(&mut out, item);
    out
}

/// Parses DynamoDB JSON (canonical or not) into an item, validating every number.
pub fn item_from_json(text: &str) -> Result<Item, ValueError> {
    let item: Item = serde_json::from_str(text).map_err(|e| ValueError {
        path: "<item>".into(),
        reason: format!("not DynamoDB JSON: {e}"),
    })?;
    validate_item(&item)?;
    Ok(item)
}

/// Checks what serde cannot: numbers parse, sets are non-empty and have no duplicates.
pub fn validate_item(item: &HashMap<String, AttributeValue>) -> Result<(), ValueError> {
    for (name, value) in item {
        validate_value(value, &mut name.clone())?;
    }
    Ok(())
}

fn validate_value(value: &AttributeValue, path: &mut String) -> Result<(), ValueError> {
    let fail = |path: &str, reason: String| ValueError {
        path: path.to_string(),
        reason,
    };
    match value {
        AttributeValue::N(n) => {
            number::canonical(n).map_err(|e| fail(path, e.to_string()))?;
        }
        AttributeValue::Ns(ns) => {
            let mut seen = std::collections::HashSet::new();
            for n in ns {
                let c = number::canonical(n).map_err(|e| fail(path, e.to_string()))?;
                if !seen.insert(c) {
                    return Err(fail(path, format!("duplicate number {n:?} in NS")));
                }
            }
            if ns.is_empty() {
                return Err(fail(path, "empty NS".into()));
            }
        }
        AttributeValue::Ss(ss) if ss.is_empty() => return Err(fail(path, "empty SS".into())),
        AttributeValue::Bs(bs) if bs.is_empty() => return Err(fail(path, "empty BS".into())),
        AttributeValue::M(m) => {
            for (name, v) in m {
                let len = path.len();
                path.push('.');
                path.push_str(name);
                validate_value(v, path)?;
                path.truncate(len);
            }
        }
        AttributeValue::L(l) => {
            for (i, v) in l.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                validate_value(v, path)?;
                path.truncate(len);
            }
        }
        _ => {}
    }
    Ok(())
}

fn write_str(out: &mut String, s: &str) {
    // serde_json's escaping is the JSON spec's; writing into a String cannot fail.
    out.push_str(&serde_json::to_string(s).expect("strings serialise"));
}

fn write_map(out: &mut String, map: &HashMap<String, AttributeValue>) {
    let mut names: Vec<&String> = map.keys().collect();
    names.sort_unstable();
    out.push('{');
    for (i, name) in names.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(out, name);
        out.push(':');
        write_value(out, &map[name]);
    }
    out.push('}');
}

fn write_sorted_strings(out: &mut String, mut items: Vec<String>) {
    items.sort_unstable();
    out.push('[');
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(out, s);
    }
    out.push(']');
}

fn write_value(out: &mut String, value: &AttributeValue) {
    match value {
        AttributeValue::S(s) => {
            out.push_str("{\"S\":");
            write_str(out, s);
        }
        AttributeValue::N(n) => {
            out.push_str("{\"N\":");
            write_str(out, n);
        }
        AttributeValue::B(b) => {
            out.push_str("{\"B\":\"");
            out.push_str(&B64.encode(b));
            out.push('"');
        }
        AttributeValue::Bool(b) => out.push_str(if *b {
            "{\"BOOL\":true"
        } else {
            "{\"BOOL\":false"
        }),
        AttributeValue::Null(b) => out.push_str(if *b {
            "{\"NULL\":true"
        } else {
            "{\"NULL\":false"
        }),
        AttributeValue::Ss(ss) => {
            out.push_str("{\"SS\":");
            write_sorted_strings(out, ss.clone());
        }
        AttributeValue::Ns(ns) => {
            // Sorted by canonical text, then text, so the order does not depend on the order
            // DynamoDB listed members in; unparseable numbers (refused elsewhere) sort by text.
            let mut sorted: Vec<(String, &String)> = ns
                .iter()
                .map(|n| (number::canonical(n).unwrap_or_default(), n))
                .collect();
            sorted.sort_unstable();
            out.push_str("{\"NS\":[");
            for (i, (_, n)) in sorted.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_str(out, n);
            }
            out.push(']');
        }
        AttributeValue::Bs(bs) => {
            // Sorted by base64 text: a total order that does not depend on the order sent.
            out.push_str("{\"BS\":");
            write_sorted_strings(out, bs.iter().map(|b| B64.encode(b)).collect());
        }
        AttributeValue::M(m) => {
            out.push_str("{\"M\":");
            write_map(out, m);
        }
        AttributeValue::L(l) => {
            out.push_str("{\"L\":[");
            for (i, v) in l.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, v);
            }
            out.push(']');
        }
    }
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(pairs: Vec<(&str, AttributeValue)>) -> HashMap<String, AttributeValue> {
        pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }

    #[test]
    fn every_type_writes_canonically() {
        let it = item(vec![
            ("z", AttributeValue::S("é\"\n".into())),
            (
                "n",
                AttributeValue::N("12345678901234567890123456789012345678".into()),
            ),
            ("b", AttributeValue::B(vec![0, 255, 7])),
            ("t", AttributeValue::Bool(true)),
            ("nul", AttributeValue::Null(true)),
            ("ss", AttributeValue::Ss(vec!["b".into(), "a".into()])),
            (
                "ns",
                AttributeValue::Ns(vec!["10".into(), "9".into(), "1E+2".into()]),
            ),
            ("bs", AttributeValue::Bs(vec![vec![2], vec![1]])),
            (
                "l",
                AttributeValue::L(vec![
                    AttributeValue::N("1".into()),
                    AttributeValue::M(HashMap::new()),
                ]),
            ),
            (
                "m",
                AttributeValue::M(item(vec![
                    ("y", AttributeValue::S("1".into())),
                    ("x", AttributeValue::L(vec![])),
                ])),
            ),
        ]);
        assert_eq!(
            item_to_json(&it),
            r#"{"b":{"B":"AP8H"},"bs":{"BS":["AQ==","Ag=="]},"l":{"L":[{"N":"1"},{"M":{}}]},"m":{"M":{"x":{"L":[]},"y":{"S":"1"}}},"n":{"N":"12345678901234567890123456789012345678"},"ns":{"NS":["10","1E+2","9"]},"nul":{"NULL":true},"ss":{"SS":["a","b"]},"t":{"BOOL":true},"z":{"S":"é\"\n"}}"#
        );
        let back = item_from_json(&item_to_json(&it)).unwrap();
        assert_eq!(item_to_json(&back), item_to_json(&it));
    }

    #[test]
    fn bad_numbers_are_named_by_path() {
        let e = item_from_json(r#"{"a":{"M":{"b":{"L":[{"S":"x"},{"N":"1x"}]}}}}"#).unwrap_err();
        assert_eq!(e.path, "a.b[1]");
        assert!(e.reason.contains("1x"), "{e}");
        let e = item_from_json(r#"{"a":{"X":"1"}}"#).unwrap_err();
        assert!(e.reason.contains("not DynamoDB JSON"), "{e}");
        assert!(item_from_json(r#"{"s":{"NS":["1","1.0"]}}"#).is_err());
        assert!(item_from_json(r#"{"s":{"SS":[]}}"#).is_err());
    }
}
