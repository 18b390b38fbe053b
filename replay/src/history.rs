//! Item history: every version of one item the store holds, oldest first, with times and event
//! names — "what did this order look like last Tuesday".

use crate::at::AtSpec;
use crate::error::{ReplayError, Result};
use crate::plan::{Plan, PlanOptions};
use crate::reconstruct::{reconstruct, ReconstructOptions};
use crate::whole_life::with_checked_plan;
use futures::{StreamExt, TryStreamExt};
use rewind_catalog::{list_change_files, list_descriptions, TableDescription};
use rewind_format::bucket_of;
use rewind_format::{
    encode_key, format_ms, item_from_json, key_attribute_types, ChangeFileReader, ChangeRecord,
};
use rewind_store::Store;
use serde::Serialize;
use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::sync::Mutex;

/// One version of an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemVersion {
    /// When DynamoDB made the change, RFC 3339 (ms).
    pub at: String,
    /// INSERT, MODIFY or REMOVE.
    pub event: &'static str,
    /// The stream label.
    pub stream_label: String,
    /// The sequence number (40 digits).
    pub sequence_number: String,
    /// The item after the change (DynamoDB JSON), absent for REMOVE.
    pub new_image: Option<serde_json::Value>,
    /// For REMOVE, the deleted item, when the stream carried it.
    pub old_image: Option<serde_json::Value>,
    /// Who made it, when DynamoDB says (a TTL deletion names dynamodb.amazonaws.com).
    pub user_identity: Option<serde_json::Value>,
}

/// Reads a key given as DynamoDB JSON (`{"pk":{"S":"u#1"}}`) or as plain JSON (`{"pk":"u#1"}`:
/// strings become S, numbers N).
pub fn parse_key(text: &str) -> Result<Vec<u8>> {
    let bad = |reason: String| ReplayError::BadArgument {
        argument: "--key",
        value: text.to_string(),
        reason,
    };
    let item = item_from_json(text).or_else(|_| {
        let plain: serde_json::Value =
            serde_json::from_str(text).map_err(|e| bad(format!("not JSON: {e}")))?;
        serde_dynamo::to_item::<_, rewind_format::Item>(plain)
            .map_err(|e| bad(format!("not a key: {e}")))
    })?;
    if item.is_empty() {
        return Err(bad("no key attributes".into()));
    }
    encode_key(&item).map_err(|e| bad(e.to_string()))
}

fn describe_attributes(attributes: &BTreeSet<(String, char)>) -> String {
    let names: Vec<String> = attributes
        .iter()
        .map(|(name, tag)| format!("{name} ({tag})"))
        .collect();
    names.join(", ")
}

/// Refuses a key that cannot be one of `table`'s: other attribute names or types than the key
/// schema of every stored description (a mistyped or partial key would otherwise answer "no
/// versions" or "no item" as if the item had never existed). Without a description, any key
/// passes.
fn check_key_schema<'a>(
    table: &str,
    key: &[u8],
    descriptions: impl IntoIterator<Item = &'a TableDescription>,
) -> Result<()> {
    let Some(given) = key_attribute_types(key).map(|a| a.into_iter().collect::<BTreeSet<_>>())
    else {
        return Ok(());
    };
    let mut expected = None;
    for d in descriptions {
        let schema: BTreeSet<(String, char)> = d
            .key_schema
            .iter()
            .map(|k| {
                let tag = d
                    .attribute_definitions
                    .iter()
                    .find(|a| a.attribute_name == k.attribute_name)
                    .and_then(|a| a.attribute_type.chars().next())
                    .unwrap_or('?');
                (k.attribute_name.clone(), tag)
            })
            .collect();
        if schema == given {
            return Ok(());
        }
        expected = Some(schema);
    }
    match expected {
        None => Ok(()),
        Some(schema) => Err(ReplayError::BadArgument {
            argument: "--key",
            value: describe_attributes(&given),
            reason: format!(
                "not a key of table {table}: its key is {}",
                describe_attributes(&schema)
            ),
        }),
    }
}

/// Every version of the item with canonical key `key`, oldest first, duplicates removed. A key
/// whose attributes are not the table's key schema (when the store holds its description) is
/// refused as a bad argument.
pub async fn history(store: &Store, table: &str, key: &[u8]) -> Result<Vec<ItemVersion>> {
    let descriptions = list_descriptions(store.as_ref(), table).await?;
    check_key_schema(table, key, descriptions.iter().map(|d| &d.description))?;
    let files = list_change_files(store.as_ref(), table, None).await?;
    let found: Vec<Vec<ChangeRecord>> = futures::stream::iter(files)
        .map(|file| async move {
            let bytes = store.get(&file.key).await?;
            let object = store.describe(&file.key);
            let key = key.to_vec();
            tokio::task::spawn_blocking(move || -> Result<Vec<ChangeRecord>> {
                let mut reader = ChangeFileReader::open(&object, bytes)?;
                let mut out = Vec::new();
                while let Some(records) = reader.next_records() {
                    out.extend(records?.into_iter().filter(|r| r.key == key));
                }
                Ok(out)
            })
            .await
            .expect("history task panicked")
        })
        .buffer_unordered(4)
        .try_collect()
        .await?;
    let mut versions: BTreeMap<(String, String), ChangeRecord> = BTreeMap::new();
    for record in found.into_iter().flatten() {
        versions.insert(
            (record.stream_label.clone(), record.sequence_number.clone()),
            record,
        );
    }
    let json = |s: &Option<String>| s.as_deref().and_then(|t| serde_json::from_str(t).ok());
    Ok(versions
        .into_values()
        .map(|r| ItemVersion {
            at: format_ms(r.approximate_creation_time_ms),
            event: r.event_name.as_str(),
            new_image: json(&r.new_image),
            old_image: json(&r.old_image),
            user_identity: json(&r.user_identity),
            stream_label: r.stream_label,
            sequence_number: r.sequence_number,
        })
        .collect())
}

/// An item as it was at a second.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemAt {
    /// The resolved second, RFC 3339.
    pub at: String,
    /// The item (DynamoDB JSON), `None` when it did not exist then.
    pub item: Option<serde_json::Value>,
}

/// The item with canonical key `key` as a restore to `at` would hold it: the same plan (base
/// snapshot and changes, the window checked), reading only the key's bucket.
pub async fn value_at(store: &Store, table: &str, key: &[u8], at: AtSpec) -> Result<ItemAt> {
    let opts = ReconstructOptions::default();
    with_checked_plan(
        store,
        table,
        at,
        &PlanOptions::default(),
        &opts,
        async |plan: &Plan| {
            check_key_schema(table, key, plan.description.as_ref())?;
            let wanted = bucket_of(key, plan.buckets);
            let skip: BTreeSet<u32> = (0..plan.buckets).filter(|b| *b != wanted).collect();
            let found = Mutex::new(None);
            reconstruct(store, plan, &opts, &skip, |_, items| {
                let found = &found;
                async move {
                    if let Some(item) = items.into_iter().find(|i| i.key == key) {
                        *found.lock().expect("not poisoned") = Some(item.image().to_string());
                    }
                    Ok(())
                }
            })
            .await?;
            let image = found.into_inner().expect("not poisoned");
            Ok(ItemAt {
                at: crate::at::format_second(plan.at),
                item: image.and_then(|i| serde_json::from_str(&i).ok()),
            })
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_dynamodb_json_keys_agree() {
        let a = parse_key(r#"{"pk":{"S":"u#1"},"sk":{"N":"100"}}"#).unwrap();
        let b = parse_key(r#"{"sk":1E+2,"pk":"u#1"}"#).unwrap();
        assert_eq!(a, b);
        assert!(parse_key("{}").is_err());
        assert!(parse_key("nope").is_err());
    }

    #[test]
    fn a_key_of_another_schema_is_refused_naming_the_table_s_key() {
        let description: TableDescription = serde_json::from_value(serde_json::json!({
            "format_version": 1, "table_name": "shop", "table_arn": "arn:aws:dynamodb:us-east-1:1:table/shop",
            "key_schema": [{"attribute_name": "pk", "key_type": "HASH"},
                           {"attribute_name": "sk", "key_type": "RANGE"}],
            "attribute_definitions": [{"attribute_name": "pk", "attribute_type": "S"},
                                      {"attribute_name": "sk", "attribute_type": "N"}],
            "billing_mode": "PAY_PER_REQUEST",
            "stream": {"enabled": true, "view_type": "NEW_AND_OLD_IMAGES"},
            "captured_at": "2026-11-26T05:00:00Z"
        }))
        .unwrap();
        let check =
            |text: &str| check_key_schema("shop", &parse_key(text).unwrap(), [&description]);
        check(r#"{"pk":"u#1","sk":100}"#).unwrap();
        for (bad, given) in [
            (r#"{"pk":"u#1"}"#, "pk (S)"),
            (r#"{"pk":"u#1","sk":"100"}"#, "pk (S), sk (S)"),
            (
                r#"{"pk":"u#1","sk":100,"extra":"x"}"#,
                "extra (S), pk (S), sk (N)",
            ),
            (r#"{"id":"u#1","sk":100}"#, "id (S), sk (N)"),
        ] {
            let err = check(bad).unwrap_err();
            let message = err.to_string();
            assert!(err.is_bad_input(), "{message}");
            assert!(
                message.contains(given)
                    && message.contains("not a key of table shop: its key is pk (S), sk (N)"),
                "{bad}: {message}"
            );
        }
        // Without a stored description, any key passes (the store cannot say).
        check_key_schema("shop", &parse_key(r#"{"x":1}"#).unwrap(), []).unwrap();
    }
}
