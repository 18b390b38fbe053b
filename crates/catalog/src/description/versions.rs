//! Description versions in the store: one object per change, in force from its time, so a
//! restore to T re-creates the table as it was at T.

use super::TableDescription;
use crate::error::Result;
use crate::json_record;
use crate::layout;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use rewind_store::ObjectStore;

/// The newest stored description of `table` and the time it is in force from.
pub async fn latest_description(
    store: &dyn ObjectStore,
    table: &str,
) -> Result<Option<(DateTime<Utc>, TableDescription)>> {
    let mut versions: Vec<(DateTime<Utc>, String)> =
        rewind_store::list_all(store, &layout::descriptions_prefix(table))
            .await?
            .into_iter()
            .filter_map(|m| {
                let (t, at) = layout::parse_description_key(&m.key).ok()?;
                (t == table).then_some((at, m.key))
            })
            .collect();
    versions.sort();
    let Some((at, key)) = versions.pop() else {
        return Ok(None);
    };
    let body = store.get(&key).await?;
    let description = json_record::parse(store, &key, &body, "table description")?;
    Ok(Some((at, description)))
}

/// Writes `description` as the version in force from `now`, unless the newest stored version is
/// the same apart from volatile fields. Returns the key written, `None` when nothing changed.
pub async fn save_description_if_changed(
    store: &dyn ObjectStore,
    description: &TableDescription,
    now: DateTime<Utc>,
) -> Result<Option<String>> {
    if let Some((at, stored)) = latest_description(store, &description.table_name).await? {
        if !description.differs_from(&stored) {
            tracing::debug!(table = %description.table_name, since = %at, "table description unchanged");
            return Ok(None);
        }
    }
    let key = layout::description_key(&description.table_name, now);
    store.put(&key, Bytes::from(description.to_json())).await?;
    tracing::info!(table = %description.table_name, key = %key, "table description written");
    Ok(Some(key))
}

/// A stored table description and the time it is in force from.
#[derive(Debug, Clone, PartialEq)]
pub struct DescribedAt {
    /// In force from (ms): when capture or backup described the table.
    pub at_ms: i64,
    /// Object key.
    pub key: String,
    /// The description.
    pub description: TableDescription,
}

/// Every stored description version of `table`, oldest first.
pub async fn list_descriptions(store: &dyn ObjectStore, table: &str) -> Result<Vec<DescribedAt>> {
    let mut out = Vec::new();
    for meta in rewind_store::list_all(store, &layout::descriptions_prefix(table)).await? {
        let Ok((t, at)) = layout::parse_description_key(&meta.key) else {
            continue;
        };
        if t != table {
            continue;
        }
        let body = store.get(&meta.key).await?;
        let description = json_record::parse(store, &meta.key, &body, "table description")?;
        out.push(DescribedAt {
            at_ms: at.timestamp_millis(),
            key: meta.key,
            description,
        });
    }
    out.sort_by_key(|d| d.at_ms);
    Ok(out)
}
