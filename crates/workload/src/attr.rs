//! DynamoDB JSON attribute-value constructors and DynamoDB's item-size rule.
//!
//! The workload builds items directly as DynamoDB JSON (`{"S": ".."}`, `{"N": ".."}`, ...)
//! because that is what a stream record carries and what the format crate must round-trip
//! losslessly; going through a typed model first would hide exactly the details (number
//! spelling, base64 binary, set order) that the tests need to see.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{Map, Value};

/// A DynamoDB item (or key) in DynamoDB JSON: attribute name -> typed value.
pub type Item = Map<String, Value>;

fn typed(tag: &str, v: Value) -> Value {
    let mut m = Map::with_capacity(1);
    m.insert(tag.to_owned(), v);
    Value::Object(m)
}

/// `{"S": v}`
pub(crate) fn s(v: impl Into<String>) -> Value {
    typed("S", Value::String(v.into()))
}

/// `{"N": v}`: `v` is already spelled as DynamoDB would return it.
pub(crate) fn n(v: impl Into<String>) -> Value {
    typed("N", Value::String(v.into()))
}

/// `{"N": "<i>"}`
pub(crate) fn n_int(v: i64) -> Value {
    n(v.to_string())
}

/// `{"B": "<base64>"}`: standard alphabet with padding, as in a Lambda event.
pub(crate) fn b(bytes: &[u8]) -> Value {
    typed("B", Value::String(STANDARD.encode(bytes)))
}

/// `{"BOOL": v}`
pub(crate) fn bool_(v: bool) -> Value {
    typed("BOOL", Value::Bool(v))
}

/// `{"NULL": true}`
pub(crate) fn null() -> Value {
    typed("NULL", Value::Bool(true))
}

/// `{"M": {...}}`
pub(crate) fn m(map: Item) -> Value {
    typed("M", Value::Object(map))
}

/// `{"L": [...]}`
pub(crate) fn l(items: Vec<Value>) -> Value {
    typed("L", Value::Array(items))
}

/// `{"SS": [...]}`. Callers pass distinct, non-empty values (a set).
pub(crate) fn ss<I: IntoIterator<Item = String>>(v: I) -> Value {
    typed(
        "SS",
        Value::Array(v.into_iter().map(Value::String).collect()),
    )
}

/// `{"NS": [...]}`. Callers pass distinct, non-empty values (a set).
pub(crate) fn ns<I: IntoIterator<Item = String>>(v: I) -> Value {
    typed(
        "NS",
        Value::Array(v.into_iter().map(Value::String).collect()),
    )
}

/// `{"BS": [...]}`. Callers pass distinct, non-empty values (a set).
pub(crate) fn bs(v: &[Vec<u8>]) -> Value {
    typed(
        "BS",
        Value::Array(
            v.iter()
                .map(|x| Value::String(STANDARD.encode(x)))
                .collect(),
        ),
    )
}

/// Reads `{"S": ..}` back (the model keeps items only as DynamoDB JSON).
pub(crate) fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)?.get("S")?.as_str()
}

/// Reads an integer `{"N": ..}` back.
pub(crate) fn get_int(item: &Item, name: &str) -> Option<i64> {
    item.get(name)?.get("N")?.as_str()?.parse().ok()
}

/// Builds a map from `(name, value)` pairs; keeps the builders readable.
pub(crate) fn map<const K: usize>(pairs: [(&str, Value); K]) -> Item {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// Formats cents as DynamoDB spells a decimal: no trailing zeros, no trailing dot
/// (`1990` -> `"19.9"`, `2000` -> `"20"`), because DynamoDB normalises numbers and a stream
/// record shows the normalised form.
pub(crate) fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let c = cents.unsigned_abs();
    let (whole, frac) = (c / 100, c % 100);
    match frac {
        0 => format!("{sign}{whole}"),
        f if f % 10 == 0 => format!("{sign}{whole}.{}", f / 10),
        f => format!("{sign}{whole}.{f:02}"),
    }
}

/// The size DynamoDB charges for an item, following the documented rules: attribute names
/// count their UTF-8 bytes; strings their UTF-8 bytes; binary its raw bytes; numbers about
/// one byte per two significant digits plus one; BOOL and NULL one byte; lists and maps three
/// bytes plus one per element plus their contents.
///
/// Why: it is what `SizeBytes` of a stream record approximates and what "item size" means to
/// anyone sizing a table, so bounds and benchmarks speak the same unit as AWS.
pub fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn value_size(v: &Value) -> usize {
    let Some((tag, inner)) = v.as_object().and_then(|o| o.iter().next()) else {
        return 0;
    };
    match (tag.as_str(), inner) {
        ("S", Value::String(x)) => x.len(),
        ("N", Value::String(x)) => number_size(x),
        ("B", Value::String(x)) => base64_len(x),
        ("BOOL", _) | ("NULL", _) => 1,
        ("SS", Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::len).sum(),
        ("NS", Value::Array(a)) => a.iter().filter_map(Value::as_str).map(number_size).sum(),
        ("BS", Value::Array(a)) => a.iter().filter_map(Value::as_str).map(base64_len).sum(),
        ("L", Value::Array(a)) => 3 + a.iter().map(|x| 1 + value_size(x)).sum::<usize>(),
        ("M", Value::Object(o)) => {
            3 + o
                .iter()
                .map(|(k, x)| 1 + k.len() + value_size(x))
                .sum::<usize>()
        }
        _ => 0,
    }
}

fn number_size(x: &str) -> usize {
    let mantissa = x.split(['e', 'E']).next().unwrap_or("");
    let digits = mantissa
        .bytes()
        .filter(u8::is_ascii_digit)
        .skip_while(|&d| d == b'0')
        .count();
    digits.div_ceil(2) + 1
}

fn base64_len(x: &str) -> usize {
    let pad = x.bytes().rev().take_while(|&c| c == b'=').count();
    (x.len() / 4 * 3).saturating_sub(pad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_normalised() {
        assert_eq!(money(1990), "19.9");
        assert_eq!(money(2000), "20");
        assert_eq!(money(1999), "19.99");
        assert_eq!(money(5), "0.05");
        assert_eq!(money(-1250), "-12.5");
        assert_eq!(money(0), "0");
    }

    #[test]
    fn sizes_follow_dynamodb_rules() {
        let item = map([
            ("pk", s("USER#1")),
            ("n", n("12345")),
            ("b", b(&[1, 2, 3, 4])),
            ("f", bool_(true)),
            ("l", l(vec![s("ab"), null()])),
        ]);
        // pk: 2+6, n: 1+(3+1), b: 1+4, f: 1+1, l: 1+(3+1+2+1+1)
        assert_eq!(item_size(&item), 8 + 5 + 5 + 2 + 9);
    }
}
