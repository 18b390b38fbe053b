//! Property: converting a Lambda stream record from its text ([`from_lambda_record_json`], what
//! capture does) gives exactly what converting the same text parsed as a `serde_json::Value`
//! gives ([`from_lambda_record`], the reference): the same change record byte for byte, or the
//! same refusal (field, reason, record). Records are arbitrary items as AWS sends them (names
//! in any order, strings with or without escapes), then damaged: values of the wrong kind,
//! bad numbers and base64, repeated and unknown names, missing fields.

mod common;

use common::*;
use proptest::prelude::*;
use rewind_format::{from_lambda_record, from_lambda_record_json, ConvertOptions};
use serde_json::Value;

/// JSON as text is written: objects keep their order and may repeat a name.
#[derive(Debug, Clone)]
enum Json {
    Null,
    Bool(bool),
    Number(String),
    Str(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    fn from_value(v: &Value) -> Json {
        match v {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Number(n) => Json::Number(n.to_string()),
            Value::String(s) => Json::Str(s.clone()),
            Value::Array(a) => Json::Array(a.iter().map(Json::from_value).collect()),
            Value::Object(m) => Json::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), Json::from_value(v)))
                    .collect(),
            ),
        }
    }

    fn count(&self) -> usize {
        1 + match self {
            Json::Array(a) => a.iter().map(Json::count).sum(),
            Json::Object(m) => m.iter().map(|(_, v)| v.count()).sum(),
            _ => 0,
        }
    }

    /// The node at pre-order position `n`.
    fn nth(&mut self, n: usize) -> Option<&mut Json> {
        if n == 0 {
            return Some(self);
        }
        let mut n = n - 1;
        let children: Vec<&mut Json> = match self {
            Json::Array(a) => a.iter_mut().collect(),
            Json::Object(m) => m.iter_mut().map(|(_, v)| v).collect(),
            _ => return None,
        };
        for child in children {
            let size = child.count();
            if n < size {
                return child.nth(n);
            }
            n -= size;
        }
        None
    }

    /// Every object's names in an order drawn from `rng`.
    fn shuffle(&mut self, rng: &mut Rng) {
        match self {
            Json::Array(a) => a.iter_mut().for_each(|v| v.shuffle(rng)),
            Json::Object(m) => {
                for i in (1..m.len()).rev() {
                    m.swap(i, rng.below(i + 1));
                }
                m.iter_mut().for_each(|(_, v)| v.shuffle(rng));
            }
            _ => {}
        }
    }

    /// One damage at a node chosen by `rng`.
    fn damage(&mut self, rng: &mut Rng) {
        let at = rng.below(self.count());
        let node = self.nth(at).expect("a node in range");
        const STRINGS: [&str; 10] = [
            "", "x", "1x", "AA=", "***", "1E+200", "-0", "00.10e2", "12.3.4", "S",
        ];
        const NUMBERS: [&str; 6] = ["7", "-3", "1.5", "1764000000", "1764000000.123", "1e3"];
        match rng.below(11) {
            0 => *node = Json::Null,
            1 => *node = Json::Bool(rng.below(2) == 0),
            2 => *node = Json::Number(NUMBERS[rng.below(NUMBERS.len())].into()),
            3 => *node = Json::Str(STRINGS[rng.below(STRINGS.len())].into()),
            4 => *node = Json::Array(vec![Json::Str("a".into()), Json::Number("1".into())]),
            5 => *node = Json::Object(Vec::new()),
            6 => match node {
                Json::Str(s) => s.push_str(STRINGS[rng.below(STRINGS.len())]),
                other => *other = Json::Array(Vec::new()),
            },
            // A repeated name: a copy of another entry's value under an existing name.
            7 => {
                if let Json::Object(m) = node {
                    if !m.is_empty() {
                        let name = m[rng.below(m.len())].0.clone();
                        let value = m[rng.below(m.len())].1.clone();
                        let at = rng.below(m.len() + 1);
                        m.insert(at, (name, value));
                    }
                }
            }
            // An unknown or second type tag, or an unknown field.
            8 => {
                if let Json::Object(m) = node {
                    let names = ["S", "N", "Q", "NULL", "M", "SequenceNumber", "zz"];
                    let name = names[rng.below(names.len())].to_string();
                    m.push((name, Json::Str("1".into())));
                }
            }
            9 => match node {
                Json::Object(m) if !m.is_empty() => {
                    m.remove(rng.below(m.len()));
                }
                Json::Array(a) if !a.is_empty() => {
                    a.remove(rng.below(a.len()));
                }
                _ => {}
            },
            // A repeated set member or list element.
            _ => {
                if let Json::Array(a) = node {
                    if !a.is_empty() {
                        let copy = a[rng.below(a.len())].clone();
                        a.push(copy);
                    }
                }
            }
        }
    }

    fn write(&self, out: &mut String, rng: &mut Rng) {
        let space = |out: &mut String, rng: &mut Rng| {
            if rng.below(8) == 0 {
                out.push_str(" \n\t");
            }
        };
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Number(n) => out.push_str(n),
            Json::Str(s) => write_string(s, out, rng),
            Json::Array(a) => {
                out.push('[');
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    space(out, rng);
                    v.write(out, rng);
                }
                out.push(']');
            }
            Json::Object(m) => {
                out.push('{');
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    space(out, rng);
                    write_string(k, out, rng);
                    out.push(':');
                    space(out, rng);
                    v.write(out, rng);
                }
                out.push('}');
            }
        }
    }
}

/// A JSON string, now and then with every character escaped (`\u` sequences, surrogate pairs
/// beyond the first plane), which the parser cannot hand over borrowed.
fn write_string(s: &str, out: &mut String, rng: &mut Rng) {
    if rng.below(6) != 0 {
        out.push_str(&serde_json::to_string(s).expect("serialises"));
        return;
    }
    out.push('"');
    let mut units = [0u16; 2];
    for c in s.chars() {
        for unit in c.encode_utf16(&mut units) {
            out.push_str(&format!("\\u{unit:04x}"));
        }
    }
    out.push('"');
}

/// xorshift64*: the test's own small generator, seeded by proptest.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n.max(1)
    }
}

/// A record of any event kind with arbitrary images.
fn record() -> impl Strategy<Value = Value> {
    (item(), item(), 0..3u8, 1u64..1_000_000).prop_map(|(new, old, kind, seq)| {
        let mut old = old;
        for (k, v) in keys_of(&new) {
            old.insert(k, v);
        }
        if !new.contains_key("sk") {
            old.remove("sk");
        }
        let secs = 1_764_000_000 + seq as i64;
        match kind {
            0 => lambda_record("INSERT", seq, secs, Some(&new), None),
            1 => lambda_record("MODIFY", seq, secs, Some(&new), Some(&old)),
            _ => lambda_record("REMOVE", seq, secs, None, Some(&old)),
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_text_path_equals_the_value_path(
        record in record(),
        seed in 1u64..u64::MAX,
        damages in prop_oneof![Just(0usize), 1usize..4],
        keep_old in any::<bool>(),
    ) {
        let mut rng = Rng(seed);
        let mut json = Json::from_value(&record);
        json.shuffle(&mut rng);
        for _ in 0..damages {
            json.damage(&mut rng);
        }
        let mut text = String::new();
        json.write(&mut text, &mut rng);
        let parsed: Value = serde_json::from_str(&text).expect("the test writes JSON");
        let options = ConvertOptions { keep_modify_old_image: keep_old };
        let from_text = from_lambda_record_json(&text, "shardId-1", 1_764_000_999_000, &options);
        let from_value = from_lambda_record(&parsed, "shardId-1", 1_764_000_999_000, &options);
        if damages == 0 {
            prop_assert!(from_text.is_ok(), "{text}: {from_text:?}");
        }
        prop_assert_eq!(from_text, from_value, "{}", text);
    }
}

#[test]
fn text_that_is_not_one_json_value_is_refused_as_the_record() {
    let options = ConvertOptions::default();
    for text in ["", "{", "{\"dynamodb\":{}} x", "[1,", "nul"] {
        let e = from_lambda_record_json(text, "s", 0, &options).unwrap_err();
        assert_eq!(e.field, "<record>", "{text:?}: {e}");
        assert!(e.reason.contains("not JSON"), "{text:?}: {e}");
    }
}
