//! The demo's table as a full backup reads it: the workload's model of the table at one
//! simulated instant ([`ItemsAt`]). The backup code path is the one `rewind backup` runs against
//! DynamoDB ([`rewind_compactor::backup_from`]).

use rewind_capture::TableDescription;
use rewind_compactor::table_source::{ItemsAt, ScannedItem};
use rewind_compactor::{CompactorError, Result};

/// The items of `model` (DynamoDB JSON maps) as the table held them at `now_ms`.
pub fn model_at(
    description: TableDescription,
    model: impl Iterator<Item = rewind_workload::Item>,
    now_ms: i64,
) -> Result<ItemsAt> {
    let items = model
        .enumerate()
        .map(|(i, raw)| {
            let text = serde_json::Value::Object(raw).to_string();
            let item =
                rewind_format::item_from_json(&text).map_err(|e| CompactorError::Invalid {
                    what: "model item",
                    location: format!("item {i}"),
                    reason: e.to_string(),
                })?;
            Ok(item.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        })
        .collect::<Result<Vec<ScannedItem>>>()?;
    Ok(ItemsAt {
        description,
        items,
        now_ms,
    })
}
