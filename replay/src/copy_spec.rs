//! Dev/test copies: a restore of some keys only (`--key-filter`) with chosen attributes masked
//! (`--mask ATTR=hmac|drop|fixed:VALUE`), so a developer gets production's shape without its
//! personal data.
//!
//! - **Key filter**: `prefix:TEXT` keeps items whose partition key (its text: a string, a
//!   number's digits, a binary's base64) starts with `TEXT`; `file:PATH` keeps the keys listed in
//!   a file, one DynamoDB JSON key per line (`{"pk":{"S":"USER#1"},"sk":{"S":"CART"}}`); a JSON
//!   key or array of keys given inline does the same. With `--into-existing` only the filtered
//!   keys of the target are touched: the others stay as they are (rolling chosen keys back).
//! - **Masks**: `hmac` replaces a value by a keyed HMAC-SHA256 of it. A plain hash of a phone
//!   number can be brute-forced; a keyed one cannot without the key, which comes from the
//!   environment (`REWIND_MASK_KEY`, at least 16 bytes) and is never stored with the copy or in
//!   the journal (only a short HMAC of a constant identifies it). Strings stay strings (32 hex
//!   characters), numbers stay numbers (15 digits, from the canonical number, so `1E+2` and
//!   `100` mask alike), binaries stay binaries, sets stay sets; booleans, nulls, lists and maps
//!   become a string. The same key and value always give the same mask, so joins on a masked
//!   attribute still work across tables and runs. `drop` removes the attribute; `fixed:VALUE`
//!   replaces it by a constant (DynamoDB JSON such as `{"N":"0"}`, else the text as a string).
//!   A mask never adds an attribute an item lacks.
//! - Key attributes of the table or of any index are refused: masking them would merge items or
//!   break the index, silently.

use crate::error::{ReplayError, Result};
use crate::state::LiveItem;
use hmac::{Hmac, Mac};
use rewind_catalog::TableDescription;
use rewind_format::{encode_key, item_from_json, item_to_json, number, AttributeValue};
use sha2::Sha256;
use std::collections::{BTreeSet, HashMap};

/// An item's attributes, as the format's JSON functions take them.
type Attrs = HashMap<String, AttributeValue>;

fn attrs(text: &str) -> std::result::Result<Attrs, rewind_format::ValueError> {
    item_from_json(text).map(|item| item.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}
use std::sync::Arc;

/// The environment variable holding the HMAC key of `hmac` masks.
pub const MASK_KEY_ENV: &str = "REWIND_MASK_KEY";
/// Shortest HMAC key accepted, in bytes.
pub const MIN_MASK_KEY_BYTES: usize = 16;

/// Which items a copy keeps.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyFilter {
    /// Items whose partition key's text starts with this.
    PartitionPrefix(String),
    /// Exactly these keys (key attributes only), in the order given.
    Keys(Vec<Attrs>),
}

/// What a mask does to its attribute.
#[derive(Debug, Clone, PartialEq)]
pub enum MaskAction {
    /// A keyed HMAC-SHA256 of the value, of the same type where the type allows.
    Hmac,
    /// The attribute is removed.
    Drop,
    /// The attribute is set to this value.
    Fixed(AttributeValue),
}

/// One `--mask ATTR=ACTION`.
#[derive(Debug, Clone, PartialEq)]
pub struct MaskRule {
    /// A top-level attribute name.
    pub attribute: String,
    /// What happens to it.
    pub action: MaskAction,
}

/// A restore's copy options; the default keeps every item as it is.
#[derive(Clone, Default)]
pub struct CopySpec {
    /// Which items to keep (`None`: all).
    pub key_filter: Option<KeyFilter>,
    /// Attributes to mask.
    pub masks: Vec<MaskRule>,
    /// The HMAC key (never serialised, never logged).
    hmac_key: Option<Vec<u8>>,
}

impl std::fmt::Debug for CopySpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CopySpec")
            .field("key_filter", &self.key_filter)
            .field("masks", &self.masks)
            .field("hmac_key", &self.hmac_key.as_ref().map(|_| "<set>"))
            .finish()
    }
}

fn bad(argument: &'static str, value: &str, reason: impl Into<String>) -> ReplayError {
    ReplayError::BadArgument {
        argument,
        value: value.to_string(),
        reason: reason.into(),
    }
}

impl KeyFilter {
    /// Parses `prefix:TEXT`, `file:PATH`, or inline DynamoDB JSON (a key or an array of keys).
    pub fn parse(spec: &str) -> Result<Self> {
        if let Some(prefix) = spec.strip_prefix("prefix:") {
            if prefix.is_empty() {
                return Err(bad(
                    "--key-filter",
                    spec,
                    "prefix: needs the text keys start with",
                ));
            }
            return Ok(KeyFilter::PartitionPrefix(prefix.to_string()));
        }
        if let Some(path) = spec.strip_prefix("file:") {
            let text = std::fs::read_to_string(path)
                .map_err(|e| bad("--key-filter", spec, format!("cannot read {path}: {e}")))?;
            let keys = text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
                .map(|(n, l)| {
                    attrs(l.trim())
                        .map_err(|e| bad("--key-filter", spec, format!("line {}: {e}", n + 1)))
                })
                .collect::<Result<Vec<_>>>()?;
            return Self::keys(keys, spec);
        }
        let value: serde_json::Value = serde_json::from_str(spec).map_err(|_| {
            bad(
                "--key-filter",
                spec,
                "expected prefix:TEXT, file:PATH, or a DynamoDB JSON key or array of keys",
            )
        })?;
        let texts: Vec<serde_json::Value> = match value {
            serde_json::Value::Array(a) => a,
            one => vec![one],
        };
        let keys = texts
            .iter()
            .enumerate()
            .map(|(n, v)| {
                attrs(&v.to_string())
                    .map_err(|e| bad("--key-filter", spec, format!("key {}: {e}", n + 1)))
            })
            .collect::<Result<Vec<_>>>()?;
        Self::keys(keys, spec)
    }

    fn keys(keys: Vec<Attrs>, spec: &str) -> Result<Self> {
        if keys.is_empty() {
            return Err(bad("--key-filter", spec, "no key given"));
        }
        Ok(KeyFilter::Keys(keys))
    }
}

impl MaskRule {
    /// Parses `ATTR=hmac`, `ATTR=drop` or `ATTR=fixed:VALUE`.
    pub fn parse(spec: &str) -> Result<Self> {
        let (attribute, action) = spec
            .split_once('=')
            .filter(|(a, _)| !a.is_empty())
            .ok_or_else(|| bad("--mask", spec, "expected ATTR=hmac|drop|fixed:VALUE"))?;
        let action = match action {
            "hmac" => MaskAction::Hmac,
            "drop" => MaskAction::Drop,
            fixed if fixed.starts_with("fixed:") => {
                let value = &fixed["fixed:".len()..];
                let as_item = format!("{{\"v\":{value}}}");
                let typed = attrs(&as_item).ok().and_then(|mut item| item.remove("v"));
                MaskAction::Fixed(typed.unwrap_or_else(|| AttributeValue::S(value.to_string())))
            }
            other => {
                return Err(bad(
                    "--mask",
                    spec,
                    format!("unknown action {other:?} (hmac, drop or fixed:VALUE)"),
                ))
            }
        };
        Ok(MaskRule {
            attribute: attribute.to_string(),
            action,
        })
    }
}

impl CopySpec {
    /// A copy with these options; `hmac_key` is needed when a mask is `hmac`.
    pub fn new(
        key_filter: Option<KeyFilter>,
        masks: Vec<MaskRule>,
        hmac_key: Option<Vec<u8>>,
    ) -> Result<Self> {
        let mut seen = BTreeSet::new();
        for rule in &masks {
            if !seen.insert(rule.attribute.as_str()) {
                return Err(bad(
                    "--mask",
                    &rule.attribute,
                    "the attribute is masked twice",
                ));
            }
        }
        let needs_key = masks.iter().any(|m| m.action == MaskAction::Hmac);
        let hmac_key = if needs_key {
            let key = hmac_key.ok_or_else(|| {
                bad(
                    "--mask",
                    "hmac",
                    format!("hmac masks need a key: set {MASK_KEY_ENV} (at least {MIN_MASK_KEY_BYTES} bytes; keep it out of the copy)"),
                )
            })?;
            if key.len() < MIN_MASK_KEY_BYTES {
                return Err(bad(
                    "--mask",
                    "hmac",
                    format!(
                        "{MASK_KEY_ENV} is {} bytes; use at least {MIN_MASK_KEY_BYTES}",
                        key.len()
                    ),
                ));
            }
            Some(key)
        } else {
            None
        };
        Ok(CopySpec {
            key_filter,
            masks,
            hmac_key,
        })
    }

    /// The copy the CLI's and the API's options ask for: `--key-filter` (or `key_filter`) and
    /// each `--mask`, the HMAC key from [`MASK_KEY_ENV`].
    pub fn from_options(key_filter: Option<&str>, masks: &[String]) -> Result<Self> {
        CopySpec::from_options_with_key(
            key_filter,
            masks,
            std::env::var_os(MASK_KEY_ENV).map(|k| k.into_encoded_bytes()),
        )
    }

    /// [`CopySpec::from_options`] with the HMAC key given (a server reads it once, from the
    /// environment or Secrets Manager).
    pub fn from_options_with_key(
        key_filter: Option<&str>,
        masks: &[String],
        hmac_key: Option<Vec<u8>>,
    ) -> Result<Self> {
        CopySpec::new(
            key_filter.map(KeyFilter::parse).transpose()?,
            masks
                .iter()
                .map(|m| MaskRule::parse(m))
                .collect::<Result<_>>()?,
            hmac_key,
        )
    }

    /// Whether the copy keeps every item as it is.
    pub fn is_identity(&self) -> bool {
        self.key_filter.is_none() && self.masks.is_empty()
    }

    /// What the copy does, for the journal and the report: a restore resumed with other options
    /// must start over. The HMAC key appears only as a short HMAC of a constant.
    pub fn describe(&self) -> Option<String> {
        if self.is_identity() {
            return None;
        }
        let mut parts = Vec::new();
        match &self.key_filter {
            Some(KeyFilter::PartitionPrefix(p)) => {
                parts.push(format!("keys: partition key prefix {p:?}"))
            }
            Some(KeyFilter::Keys(keys)) => parts.push(format!(
                "keys: {} listed ({})",
                keys.len(),
                hex::encode(&sha2_of(keys.iter().map(item_to_json))[..6])
            )),
            None => {}
        }
        for rule in &self.masks {
            let action = match &rule.action {
                MaskAction::Hmac => format!("hmac (key {})", self.key_id().unwrap_or_default()),
                MaskAction::Drop => "drop".to_string(),
                MaskAction::Fixed(v) => format!("fixed {}", value_json(v)),
            };
            parts.push(format!("mask {}: {action}", rule.attribute));
        }
        Some(parts.join("; "))
    }

    fn key_id(&self) -> Option<String> {
        let key = self.hmac_key.as_ref()?;
        Some(hex::encode(&hmac(key, b"rewind mask key id")[..4]))
    }

    /// Checks the copy against the table before anything is read: no mask on a key attribute of
    /// the table or of an index, listed keys made of exactly the key attributes, and a partition
    /// key known for a prefix filter. Returns the filter in the form items are tested against.
    pub fn resolve(
        &self,
        description: Option<&TableDescription>,
        key_names: &[String],
    ) -> Result<Option<Arc<ResolvedFilter>>> {
        if let Some(d) = description {
            let index_keys = d
                .global_secondary_indexes
                .iter()
                .map(|i| (format!("index {}", i.index_name), &i.key_schema))
                .chain(
                    d.local_secondary_indexes
                        .iter()
                        .map(|i| (format!("index {}", i.index_name), &i.key_schema)),
                )
                .chain(std::iter::once(("the table".to_string(), &d.key_schema)));
            for (owner, schema) in index_keys {
                if let Some(rule) = self
                    .masks
                    .iter()
                    .find(|m| schema.iter().any(|k| k.attribute_name == m.attribute))
                {
                    return Err(bad(
                        "--mask",
                        &rule.attribute,
                        format!("a key attribute of {owner}: masking it would merge items or break the index; mask other attributes, or filter keys instead"),
                    ));
                }
            }
        } else if let Some(rule) = self.masks.iter().find(|m| key_names.contains(&m.attribute)) {
            return Err(bad(
                "--mask",
                &rule.attribute,
                "a key attribute of the table",
            ));
        }
        let Some(filter) = &self.key_filter else {
            return Ok(None);
        };
        Ok(Some(Arc::new(match filter {
            KeyFilter::PartitionPrefix(prefix) => {
                let hash = description
                    .and_then(|d| d.key_schema.iter().find(|k| k.key_type == "HASH"))
                    .map(|k| k.attribute_name.clone())
                    .ok_or_else(|| {
                        bad(
                            "--key-filter",
                            prefix,
                            "prefix: needs the table description (its partition key); the store holds none",
                        )
                    })?;
                ResolvedFilter::Prefix {
                    attribute: hash,
                    prefix: prefix.clone(),
                }
            }
            KeyFilter::Keys(keys) => {
                let wanted: BTreeSet<&String> = key_names.iter().collect();
                let mut set = BTreeSet::new();
                for (n, key) in keys.iter().enumerate() {
                    let got: BTreeSet<&String> = key.keys().collect();
                    if got != wanted {
                        return Err(bad(
                            "--key-filter",
                            &item_to_json(key),
                            format!(
                                "key {} has attributes {got:?}; the table's key is {wanted:?}",
                                n + 1
                            ),
                        ));
                    }
                    let encoded = encode_key(key)
                        .map_err(|e| bad("--key-filter", &item_to_json(key), e.to_string()))?;
                    set.insert(encoded);
                }
                ResolvedFilter::Keys(set)
            }
        })))
    }

    /// The item as the copy holds it: `None` when the filter leaves it out, else masked.
    pub fn apply(
        &self,
        filter: Option<&ResolvedFilter>,
        item: LiveItem,
    ) -> Result<Option<LiveItem>> {
        if let Some(filter) = filter {
            if !filter.admits(&item.key, item.keys())? {
                return Ok(None);
            }
        }
        if self.masks.is_empty() {
            return Ok(Some(item));
        }
        let mut image = attrs(item.image()).map_err(|e| ReplayError::Invalid {
            what: "item",
            location: item.keys().to_string(),
            reason: e.to_string(),
        })?;
        for rule in &self.masks {
            match &rule.action {
                MaskAction::Drop => {
                    image.remove(&rule.attribute);
                }
                MaskAction::Fixed(v) => {
                    // A mask replaces what is there; it never adds an attribute.
                    if let Some(old) = image.get_mut(&rule.attribute) {
                        *old = v.clone();
                    }
                }
                MaskAction::Hmac => {
                    if let Some(v) = image.get_mut(&rule.attribute) {
                        let key = self.hmac_key.as_deref().expect("checked in new");
                        *v = mask_value(key, v);
                    }
                }
            }
        }
        Ok(Some(item.with_image(&item_to_json(&image))))
    }
}

/// A key filter checked against the table, as items are tested against it.
#[derive(Debug, Clone, PartialEq)]
pub enum ResolvedFilter {
    /// The partition key attribute's text starts with `prefix`.
    Prefix {
        /// The partition key attribute.
        attribute: String,
        /// The text it starts with.
        prefix: String,
    },
    /// The canonical binary key is one of these.
    Keys(BTreeSet<Vec<u8>>),
}

impl ResolvedFilter {
    /// Whether an item with this canonical key (`key`) and key attributes (`keys`, DynamoDB
    /// JSON) is in the copy.
    pub fn admits(&self, key: &[u8], keys: &str) -> Result<bool> {
        match self {
            ResolvedFilter::Keys(set) => Ok(set.contains(key)),
            ResolvedFilter::Prefix { attribute, prefix } => {
                let parsed = attrs(keys).map_err(|e| ReplayError::Invalid {
                    what: "item key",
                    location: keys.to_string(),
                    reason: e.to_string(),
                })?;
                Ok(match parsed.get(attribute) {
                    Some(AttributeValue::S(s)) => s.starts_with(prefix.as_str()),
                    Some(AttributeValue::N(n)) => n.starts_with(prefix.as_str()),
                    Some(AttributeValue::B(b)) => {
                        use base64::Engine;
                        base64::engine::general_purpose::STANDARD
                            .encode(b)
                            .starts_with(prefix.as_str())
                    }
                    _ => false,
                })
            }
        }
    }
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn sha2_of(texts: impl Iterator<Item = String>) -> [u8; 32] {
    use sha2::Digest;
    let mut h = Sha256::new();
    for t in texts {
        h.update(t.as_bytes());
        h.update([0]);
    }
    h.finalize().into()
}

fn value_json(v: &AttributeValue) -> String {
    let mut item = Attrs::new();
    item.insert("v".into(), v.clone());
    let json = item_to_json(&item);
    json["{\"v\":".len()..json.len() - 1].to_string()
}

/// The masked form of one value: tagged by type, so the string "1" and the number 1 differ.
fn mask_value(key: &[u8], v: &AttributeValue) -> AttributeValue {
    let text = |tag: &str, body: &[u8]| {
        let mut data = tag.as_bytes().to_vec();
        data.push(0);
        data.extend_from_slice(body);
        hmac(key, &data)
    };
    let s = |x: &str| hex::encode(&text("S", x.as_bytes())[..16]);
    let n = |x: &str| {
        let canonical = number::canonical(x).unwrap_or_else(|_| x.to_string());
        let bytes = text("N", canonical.as_bytes());
        let value =
            u64::from_be_bytes(bytes[..8].try_into().expect("8 bytes")) % 1_000_000_000_000_000;
        value.to_string()
    };
    let b = |x: &[u8]| text("B", x).to_vec();
    match v {
        AttributeValue::S(x) => AttributeValue::S(s(x)),
        AttributeValue::N(x) => AttributeValue::N(n(x)),
        AttributeValue::B(x) => AttributeValue::B(b(x)),
        AttributeValue::Ss(xs) => AttributeValue::Ss(dedup(xs.iter().map(|x| s(x)).collect())),
        AttributeValue::Ns(xs) => AttributeValue::Ns(dedup(xs.iter().map(|x| n(x)).collect())),
        AttributeValue::Bs(xs) => AttributeValue::Bs(dedup(xs.iter().map(|x| b(x)).collect())),
        other => AttributeValue::S(hex::encode(&text("J", value_json(other).as_bytes())[..16])),
    }
}

fn dedup<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef";

    fn description(gsi_key: &str) -> TableDescription {
        serde_json::from_value(serde_json::json!({
            "format_version": 1, "table_name": "shop",
            "table_arn": "arn:aws:dynamodb:us-east-1:1:table/shop",
            "key_schema": [{"attribute_name": "pk", "key_type": "HASH"},
                           {"attribute_name": "sk", "key_type": "RANGE"}],
            "attribute_definitions": [], "billing_mode": "PAY_PER_REQUEST",
            "stream": {"enabled": false},
            "global_secondary_indexes": [{"index_name": "by_email",
                "key_schema": [{"attribute_name": gsi_key, "key_type": "HASH"}],
                "projection": {"projection_type": "ALL"}}],
            "captured_at": "2026-11-26T06:00:00Z"
        }))
        .unwrap()
    }

    fn live(image: &str) -> LiveItem {
        let item = attrs(image).unwrap();
        let keys: Attrs = item
            .iter()
            .filter(|(k, _)| *k == "pk" || *k == "sk")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        LiveItem::new(
            encode_key(&keys).unwrap(),
            &item_to_json(&keys),
            image,
            0,
            "",
            "",
        )
    }

    fn masked(key: &[u8], spec: &str, image: &str) -> Attrs {
        let copy = CopySpec::new(
            None,
            vec![MaskRule::parse(spec).unwrap()],
            Some(key.to_vec()),
        )
        .unwrap();
        attrs(copy.apply(None, live(image)).unwrap().unwrap().image()).unwrap()
    }

    #[test]
    fn hmac_keeps_types_and_is_keyed_and_deterministic() {
        let item = r#"{"pk":{"S":"u1"},"sk":{"S":"p"},"phone":{"S":"+44 20 7946 0000"},"age":{"N":"1E+2"},"raw":{"B":"AAEC"},"tags":{"SS":["a","b"]},"ok":{"BOOL":true}}"#;
        let a = masked(KEY, "phone=hmac", item);
        let AttributeValue::S(phone) = &a["phone"] else {
            panic!("{a:?}")
        };
        assert_eq!(phone.len(), 32);
        assert_ne!(phone, "+44 20 7946 0000");
        assert_eq!(a, masked(KEY, "phone=hmac", item), "deterministic");
        assert_ne!(
            a["phone"],
            masked(b"fedcba9876543210", "phone=hmac", item)["phone"]
        );
        // Numbers stay numbers, by value: 1E+2 and 100 mask alike.
        let n = masked(KEY, "age=hmac", item);
        assert!(matches!(&n["age"], AttributeValue::N(_)), "{n:?}");
        let hundred = item.replace(r#""1E+2""#, r#""100""#);
        assert_eq!(n["age"], masked(KEY, "age=hmac", &hundred)["age"]);
        assert!(matches!(
            masked(KEY, "raw=hmac", item)["raw"],
            AttributeValue::B(_)
        ));
        let AttributeValue::Ss(tags) = &masked(KEY, "tags=hmac", item)["tags"] else {
            panic!()
        };
        assert_eq!(tags.len(), 2);
        assert!(matches!(
            masked(KEY, "ok=hmac", item)["ok"],
            AttributeValue::S(_)
        ));
        // The string "1" and the number 1 mask differently.
        let s1 = masked(
            KEY,
            "x=hmac",
            r#"{"pk":{"S":"u"},"sk":{"S":"p"},"x":{"S":"1"}}"#,
        );
        let n1 = masked(
            KEY,
            "x=hmac",
            r#"{"pk":{"S":"u"},"sk":{"S":"p"},"x":{"N":"1"}}"#,
        );
        assert_ne!(format!("{:?}", s1["x"]), format!("{:?}", n1["x"]));
    }

    #[test]
    fn rules_parse_or_say_what_is_wrong() {
        assert_eq!(
            MaskRule::parse("email=drop").unwrap().action,
            MaskAction::Drop
        );
        assert_eq!(
            MaskRule::parse(r#"n=fixed:{"N":"0"}"#).unwrap().action,
            MaskAction::Fixed(AttributeValue::N("0".into()))
        );
        assert_eq!(
            MaskRule::parse("name=fixed:Jane Doe").unwrap().action,
            MaskAction::Fixed(AttributeValue::S("Jane Doe".into()))
        );
        for bad in ["email", "=hmac", "email=hash"] {
            let err = MaskRule::parse(bad).unwrap_err();
            assert!(
                err.is_bad_input() && err.to_string().contains("--mask"),
                "{err}"
            );
        }
        let no_key = CopySpec::new(None, vec![MaskRule::parse("e=hmac").unwrap()], None);
        assert!(no_key.unwrap_err().to_string().contains(MASK_KEY_ENV));
        let short = CopySpec::new(
            None,
            vec![MaskRule::parse("e=hmac").unwrap()],
            Some(b"short".to_vec()),
        );
        assert!(short.unwrap_err().to_string().contains("at least 16"));
        let twice = CopySpec::new(
            None,
            vec![
                MaskRule::parse("e=drop").unwrap(),
                MaskRule::parse("e=hmac").unwrap(),
            ],
            Some(KEY.to_vec()),
        );
        assert!(twice.unwrap_err().to_string().contains("masked twice"));
        assert!(KeyFilter::parse("prefix:").is_err());
        assert!(KeyFilter::parse("[]").is_err());
        assert!(KeyFilter::parse("not json")
            .unwrap_err()
            .to_string()
            .contains("prefix:TEXT"));
    }

    #[test]
    fn key_attributes_of_the_table_and_its_indexes_are_refused() {
        let names = vec!["pk".to_string(), "sk".to_string()];
        let copy = |attr: &str| {
            CopySpec::new(
                None,
                vec![MaskRule::parse(&format!("{attr}=hmac")).unwrap()],
                Some(KEY.to_vec()),
            )
            .unwrap()
        };
        let err = copy("sk")
            .resolve(Some(&description("email")), &names)
            .unwrap_err();
        assert!(
            err.to_string().contains("key attribute of the table"),
            "{err}"
        );
        let err = copy("email")
            .resolve(Some(&description("email")), &names)
            .unwrap_err();
        assert!(err.to_string().contains("index by_email"), "{err}");
        assert!(copy("email")
            .resolve(Some(&description("other")), &names)
            .is_ok());
        assert!(
            copy("pk").resolve(None, &names).is_err(),
            "without a description too"
        );
    }

    #[test]
    fn filters_keep_the_keys_they_name() {
        let names = vec!["pk".to_string(), "sk".to_string()];
        let d = description("email");
        let prefix = CopySpec::new(
            Some(KeyFilter::parse("prefix:USER#").unwrap()),
            vec![],
            None,
        )
        .unwrap();
        let scope = prefix.resolve(Some(&d), &names).unwrap().unwrap();
        let user = live(r#"{"pk":{"S":"USER#1"},"sk":{"S":"a"}}"#);
        let order = live(r#"{"pk":{"S":"ORDER#1"},"sk":{"S":"USER#1"}}"#);
        assert!(prefix.apply(Some(&scope), user.clone()).unwrap().is_some());
        assert!(
            prefix.apply(Some(&scope), order.clone()).unwrap().is_none(),
            "the sort key does not count"
        );
        assert!(prefix
            .resolve(None, &names)
            .unwrap_err()
            .to_string()
            .contains("partition key"));

        let listed = CopySpec::new(
            Some(KeyFilter::parse(r#"{"pk":{"S":"ORDER#1"},"sk":{"S":"USER#1"}}"#).unwrap()),
            vec![],
            None,
        )
        .unwrap();
        let scope = listed.resolve(Some(&d), &names).unwrap().unwrap();
        assert!(listed.apply(Some(&scope), order).unwrap().is_some());
        assert!(listed.apply(Some(&scope), user).unwrap().is_none());
        let partial = CopySpec::new(
            Some(KeyFilter::parse(r#"{"pk":{"S":"x"}}"#).unwrap()),
            vec![],
            None,
        )
        .unwrap();
        assert!(partial
            .resolve(Some(&d), &names)
            .unwrap_err()
            .to_string()
            .contains("the table's key"));
    }

    #[test]
    fn the_description_names_the_key_by_an_id_only() {
        let copy = CopySpec::new(
            Some(KeyFilter::parse("prefix:U").unwrap()),
            vec![
                MaskRule::parse("e=hmac").unwrap(),
                MaskRule::parse("n=drop").unwrap(),
            ],
            Some(KEY.to_vec()),
        )
        .unwrap();
        let text = copy.describe().unwrap();
        assert!(
            text.contains("mask e: hmac (key ") && text.contains("mask n: drop"),
            "{text}"
        );
        assert!(!text.contains("0123456789"), "{text}");
        assert!(!format!("{copy:?}").contains("0123456789"));
        assert_eq!(CopySpec::default().describe(), None);
    }
}
