//! Canonical DynamoDB JSON written straight from the parsed Lambda event (`serde_json::Value`),
//! validating as it goes: the same text and the same refusals as parsing into
//! [`crate::AttributeValue`]s, validating and writing with [`crate::item_to_json`], without
//! building the typed tree. Capture converts every image of every record (a MODIFY's old image
//! too, for its hash), and the typed detour was most of capture's CPU.

use crate::dynamodb_json::ValueError;
use crate::number;
use base64::Engine;
use serde_json::{Map, Value};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Writes the DynamoDB-JSON item `value` (an object of attribute values) canonically, or says
/// what is wrong and at which attribute path.
pub fn item_value_to_json(value: &Value) -> Result<String, ValueError> {
    let map = value.as_object().ok_or_else(|| ValueError {
        path: "<item>".into(),
        reason: format!(
            "not DynamoDB JSON: expected an object, found {}",
            kind(value)
        ),
    })?;
    let mut out = Vec::with_capacity(256);
    let mut path = String::new();
    write_map(&mut out, map, &mut path)?;
    Ok(String::from_utf8(out).expect("JSON text is UTF-8"))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn fail(path: &str, reason: String) -> ValueError {
    ValueError {
        path: if path.is_empty() {
            "<item>".into()
        } else {
            path.to_string()
        },
        reason,
    }
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(&mut *out, s).expect("writing to a Vec cannot fail");
}

fn write_map(
    out: &mut Vec<u8>,
    map: &Map<String, Value>,
    path: &mut String,
) -> Result<(), ValueError> {
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    // Already sorted unless serde_json keeps insertion order; sorting sorted input is cheap.
    if !entries.is_sorted_by(|a, b| a.0 <= b.0) {
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    }
    out.push(b'{');
    for (i, (name, value)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(out, name);
        out.push(b':');
        let len = path.len();
        if len > 0 {
            path.push('.');
        }
        path.push_str(name);
        write_value(out, value, path)?;
        path.truncate(len);
    }
    out.push(b'}');
    Ok(())
}

fn strings<'a>(v: &'a Value, tag: &str, path: &str) -> Result<Vec<&'a str>, ValueError> {
    let items = v
        .as_array()
        .ok_or_else(|| fail(path, format!("not DynamoDB JSON: {tag} is {}", kind(v))))?;
    let out = items
        .iter()
        .map(|m| {
            m.as_str().ok_or_else(|| {
                fail(
                    path,
                    format!("not DynamoDB JSON: a member of {tag} is {}", kind(m)),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if out.is_empty() {
        return Err(fail(path, format!("empty {tag}")));
    }
    Ok(out)
}

/// Canonical base64 of a base64 value (refused if it does not decode).
fn binary(text: &str, path: &str) -> Result<String, ValueError> {
    let bytes = B64
        .decode(text)
        .map_err(|e| fail(path, format!("not DynamoDB JSON: bad base64: {e}")))?;
    Ok(if B64.encode(&bytes) == text {
        text.to_string()
    } else {
        B64.encode(bytes)
    })
}

fn write_sorted(out: &mut Vec<u8>, mut items: Vec<String>) {
    items.sort_unstable();
    out.push(b'[');
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(out, s);
    }
    out.push(b']');
}

fn write_value(out: &mut Vec<u8>, value: &Value, path: &mut String) -> Result<(), ValueError> {
    let obj = value.as_object().ok_or_else(|| {
        fail(
            path,
            format!(
                "not DynamoDB JSON: expected an attribute value, found {}",
                kind(value)
            ),
        )
    })?;
    let mut tags = obj.iter();
    let (tag, v) = match (tags.next(), tags.next()) {
        (Some(one), None) => one,
        _ => {
            return Err(fail(
                path,
                format!(
                    "not DynamoDB JSON: an attribute value has exactly one type, found {}",
                    obj.len()
                ),
            ))
        }
    };
    let wrong = |expected: &str| {
        fail(
            path,
            format!(
                "not DynamoDB JSON: {tag} must be {expected}, found {}",
                kind(v)
            ),
        )
    };
    match tag.as_str() {
        "S" => {
            let s = v.as_str().ok_or_else(|| wrong("a string"))?;
            out.extend_from_slice(b"{\"S\":");
            write_str(out, s);
        }
        "N" => {
            let n = v.as_str().ok_or_else(|| wrong("a string"))?;
            number::canonical(n).map_err(|e| fail(path, e.to_string()))?;
            out.extend_from_slice(b"{\"N\":");
            write_str(out, n);
        }
        "B" => {
            let b = v.as_str().ok_or_else(|| wrong("a base64 string"))?;
            out.extend_from_slice(b"{\"B\":");
            write_str(out, &binary(b, path)?);
        }
        "BOOL" => {
            let b = v.as_bool().ok_or_else(|| wrong("a boolean"))?;
            out.extend_from_slice(if b {
                b"{\"BOOL\":true"
            } else {
                b"{\"BOOL\":false"
            });
        }
        "NULL" => {
            let b = v.as_bool().ok_or_else(|| wrong("a boolean"))?;
            out.extend_from_slice(if b {
                b"{\"NULL\":true"
            } else {
                b"{\"NULL\":false"
            });
        }
        "SS" => {
            let ss = strings(v, "SS", path)?;
            out.extend_from_slice(b"{\"SS\":");
            write_sorted(out, ss.into_iter().map(str::to_string).collect());
        }
        "NS" => {
            let ns = strings(v, "NS", path)?;
            let mut sorted = Vec::with_capacity(ns.len());
            for n in ns {
                let c = number::canonical(n).map_err(|e| fail(path, e.to_string()))?;
                sorted.push((c, n));
            }
            sorted.sort_unstable();
            if let Some(w) = sorted.windows(2).find(|w| w[0].0 == w[1].0) {
                return Err(fail(path, format!("duplicate number {:?} in NS", w[1].1)));
            }
            out.extend_from_slice(b"{\"NS\":[");
            for (i, (_, n)) in sorted.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, n);
            }
            out.push(b']');
        }
        "BS" => {
            let bs = strings(v, "BS", path)?;
            let encoded = bs
                .into_iter()
                .map(|b| binary(b, path))
                .collect::<Result<Vec<_>, _>>()?;
            out.extend_from_slice(b"{\"BS\":");
            write_sorted(out, encoded);
        }
        "M" => {
            let m = v.as_object().ok_or_else(|| wrong("an object"))?;
            out.extend_from_slice(b"{\"M\":");
            write_map(out, m, path)?;
        }
        "L" => {
            let l = v.as_array().ok_or_else(|| wrong("an array"))?;
            out.extend_from_slice(b"{\"L\":[");
            for (i, item) in l.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                write_value(out, item, path)?;
                path.truncate(len);
            }
            out.push(b']');
        }
        other => {
            return Err(fail(
                path,
                format!("not DynamoDB JSON: unknown type {other:?}"),
            ))
        }
    }
    out.push(b'}');
    Ok(())
}

/// Items every canonical writer refuses: the text, the attribute path named, and a word of the
/// reason (shared with [`crate::canonical_stream`]'s tests, which must refuse them alike).
#[cfg(test)]
pub(crate) const REFUSALS: &[(&str, &str, &str)] = &[
    (
        r#"{"a":{"M":{"b":{"L":[{"S":"x"},{"N":"1x"}]}}}}"#,
        "a.b[1]",
        "1x",
    ),
    (r#"{"a":{"X":"1"}}"#, "a", "not DynamoDB JSON"),
    (r#"{"s":{"NS":["1","1.0"]}}"#, "s", "duplicate"),
    (r#"{"s":{"SS":[]}}"#, "s", "empty SS"),
    (r#"{"s":{"BS":["***"]}}"#, "s", "base64"),
    (r#"{"s":{"S":"x","N":"1"}}"#, "s", "exactly one type"),
    (r#"{"s":{"S":1}}"#, "s", "must be a string"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dynamodb_json::item_from_json;
    use crate::item_to_json;

    #[test]
    fn same_text_as_the_typed_path() {
        let text = r#"{"z":{"S":"é\"\n"},"n":{"N":"1E+2"},"b":{"B":"AP8H"},"t":{"BOOL":true},"nul":{"NULL":true},"ss":{"SS":["b","a"]},"ns":{"NS":["10","9","1E+3"]},"bs":{"BS":["Ag==","AQ=="]},"l":{"L":[{"N":"1"},{"M":{}}]},"m":{"M":{"y":{"S":"1"},"x":{"L":[]}}}}"#;
        let value: Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            item_value_to_json(&value).unwrap(),
            item_to_json(&item_from_json(text).unwrap())
        );
    }

    #[test]
    fn refusals_name_the_path() {
        for &(text, path, needle) in REFUSALS {
            let e = item_value_to_json(&serde_json::from_str(text).unwrap()).unwrap_err();
            assert_eq!(e.path, path, "{text}: {e}");
            assert!(e.reason.contains(needle), "{text}: {e}");
            assert!(
                item_from_json(text).is_err(),
                "the typed path refuses {text} too"
            );
        }
    }
}
