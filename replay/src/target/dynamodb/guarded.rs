//! Guarded writes: rolling chosen keys back in place on a table that keeps taking writes.
//!
//! A rollback (`restore --into-existing --key-filter …`) reads the keys it covers, then writes
//! each one that differs from the state at T. Between the read and the write, the application
//! may write the same item again; overwriting that blindly would lose a write made *after* the
//! operator decided to roll back. So every write is conditional on the item still being exactly
//! what the rollback read: every attribute equal (`=` compares any type, maps and lists
//! included), or absent when it was read absent. A write whose condition fails is not retried:
//! the item is reported as a conflict and left as the application wrote it.
//!
//! What a condition cannot see: a concurrent write that only *adds* an attribute (an UpdateItem
//! `SET` of a new name) leaves every attribute the rollback read equal, so the rollback
//! overwrites it. And a condition expression is limited to 4 KB: an item with more top-level
//! attributes than fit is not written at all but reported, never written unguarded.

use super::batch_writer::Pending;
use super::{DynamoDbTarget, SdkItem};
use crate::error::{ReplayError, Result};
use crate::target::WriteStats;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::AttributeValue;
use futures::{StreamExt, TryStreamExt};
use std::collections::HashMap;

/// DynamoDB's limit on a condition expression's length.
const MAX_EXPRESSION: usize = 4096;
/// Guarded writes in flight (each is one PutItem or DeleteItem).
const GUARDED_CONCURRENCY: usize = 16;

/// A write and what the rollback read for its key (`None`: the key was absent).
#[derive(Debug, Clone)]
pub(super) struct Guarded {
    pub(super) write: Pending,
    pub(super) read: Option<SdkItem>,
}

/// What became of one guarded write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum GuardedOutcome {
    /// Written: the item was as read.
    Written,
    /// Not written: the item changed after the rollback read it (or could not be guarded); the
    /// reason says which.
    Conflict(String),
}

/// A condition expression with its placeholders.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Condition {
    pub(super) expression: String,
    pub(super) names: HashMap<String, String>,
    pub(super) values: HashMap<String, AttributeValue>,
}

/// The condition that the item is exactly `read` (or absent, for `None`). `None` when it does
/// not fit in a condition expression.
pub(super) fn condition_on(read: Option<&SdkItem>, key_names: &[String]) -> Option<Condition> {
    let mut names = HashMap::new();
    let mut values = HashMap::new();
    let expression = match read {
        None => {
            let key = key_names.first()?;
            names.insert("#k".to_string(), key.clone());
            "attribute_not_exists(#k)".to_string()
        }
        Some(item) => {
            let mut attributes: Vec<(&String, &AttributeValue)> = item.iter().collect();
            attributes.sort_by(|a, b| a.0.cmp(b.0));
            let mut clauses = Vec::with_capacity(attributes.len());
            for (i, (name, value)) in attributes.into_iter().enumerate() {
                names.insert(format!("#a{i}"), name.clone());
                values.insert(format!(":v{i}"), value.clone());
                clauses.push(format!("#a{i} = :v{i}"));
            }
            clauses.join(" AND ")
        }
    };
    (expression.len() <= MAX_EXPRESSION && !expression.is_empty()).then_some(Condition {
        expression,
        names,
        values,
    })
}

impl DynamoDbTarget {
    /// Writes each request on condition that its item is still what the rollback read; returns
    /// the outcome of each, in the order given.
    pub(super) async fn write_guarded(
        &self,
        writes: Vec<Guarded>,
        key_names: &[String],
        stats: &WriteStats,
    ) -> Result<Vec<(Guarded, GuardedOutcome)>> {
        futures::stream::iter(writes)
            .map(|w| async move {
                let outcome = self.write_one_guarded(&w, key_names, stats).await?;
                Ok::<_, ReplayError>((w, outcome))
            })
            .buffered(GUARDED_CONCURRENCY.min(self.max_concurrency.max(1)))
            .try_collect()
            .await
    }

    async fn write_one_guarded(
        &self,
        guarded: &Guarded,
        key_names: &[String],
        stats: &WriteStats,
    ) -> Result<GuardedOutcome> {
        let write = &guarded.write;
        let Some(condition) = condition_on(guarded.read.as_ref(), key_names) else {
            return Ok(GuardedOutcome::Conflict(format!(
                "item {}: too many attributes to write on condition (a condition expression holds at most 4 KB); not rolled back",
                write.keys_json
            )));
        };
        let image: Option<SdkItem> = match &write.image {
            Some(json) => Some(
                rewind_format::item_from_json(json)
                    .map_err(|e| {
                        self.invalid("restored item", format!("{}: {e}", write.keys_json))
                    })?
                    .into(),
            ),
            None => None,
        };
        let keys: SdkItem = rewind_format::item_from_json(&write.keys_json)
            .map_err(|e| self.invalid("restored key", format!("{}: {e}", write.keys_json)))?
            .into();
        let mut attempt = 0u32;
        loop {
            let permit = self.limit.acquire().await;
            // PutItem and DeleteItem builders share no trait: one macro sets the condition on
            // either and sends.
            macro_rules! send_guarded {
                ($request:expr) => {
                    $request
                        .table_name(&self.table)
                        .condition_expression(&condition.expression)
                        .set_expression_attribute_names(Some(condition.names.clone()))
                        .set_expression_attribute_values(
                            (!condition.values.is_empty()).then(|| condition.values.clone()),
                        )
                        .send()
                        .await
                        .map(drop)
                        .map_err(|e| (e.code().map(str::to_string), rewind_aws::classify(&e)))
                };
            }
            let sent = match &image {
                Some(item) => send_guarded!(self.client.put_item().set_item(Some(item.clone()))),
                None => send_guarded!(self.client.delete_item().set_key(Some(keys.clone()))),
            };
            match sent {
                Ok(()) => {
                    permit.clean();
                    if image.is_some() {
                        WriteStats::add(&stats.items, 1);
                        WriteStats::add(&stats.bytes, write.bytes);
                    }
                    return Ok(GuardedOutcome::Written);
                }
                Err((Some(code), _)) if code == "ConditionalCheckFailedException" => {
                    permit.clean();
                    return Ok(GuardedOutcome::Conflict(format!(
                        "item {}: written again after the rollback read it; left as the application wrote it",
                        write.keys_json
                    )));
                }
                Err((_, class)) if class.retryable && attempt < self.retry.max_stalled => {
                    if class.throttled {
                        permit.throttled();
                        WriteStats::add(&stats.throttles, 1);
                    } else {
                        drop(permit);
                    }
                    WriteStats::add(&stats.retries, 1);
                    tokio::time::sleep(self.retry.delay(attempt)).await;
                    attempt += 1;
                }
                Err((_, class)) => {
                    return Err(ReplayError::Aws {
                        operation: if image.is_some() {
                            "PutItem"
                        } else {
                            "DeleteItem"
                        },
                        target: self.label.clone(),
                        message: format!("{} (item {})", class.message, write.keys_json),
                        retryable: class.retryable,
                    })
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(pairs: &[(&str, AttributeValue)]) -> SdkItem {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn an_item_read_is_guarded_by_every_attribute_and_an_absent_one_by_its_key() {
        let keys = vec!["pk".to_string(), "sk".to_string()];
        let read = item(&[
            ("pk", AttributeValue::S("a".into())),
            ("sk", AttributeValue::S("1".into())),
            (
                "m",
                AttributeValue::M(HashMap::from([("x".into(), AttributeValue::N("1".into()))])),
            ),
        ]);
        let c = condition_on(Some(&read), &keys).unwrap();
        assert_eq!(c.expression, "#a0 = :v0 AND #a1 = :v1 AND #a2 = :v2");
        assert_eq!(c.names["#a0"], "m", "sorted by name");
        assert_eq!(c.values[":v1"], AttributeValue::S("a".into()));
        let c = condition_on(None, &keys).unwrap();
        assert_eq!(c.expression, "attribute_not_exists(#k)");
        assert_eq!(c.names["#k"], "pk");
        assert!(c.values.is_empty());
    }

    #[test]
    fn an_item_too_wide_for_a_condition_is_not_guarded() {
        let wide: SdkItem = (0..400)
            .map(|i| (format!("attr{i}"), AttributeValue::N(i.to_string())))
            .collect();
        assert!(condition_on(Some(&wide), &["pk".to_string()]).is_none());
    }
}
