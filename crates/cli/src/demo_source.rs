//! The demo's table as a full backup reads it: the workload's model of the table at one
//! simulated instant ([`ItemsAt`]). The backup code path is the one `rewind backup` runs against
//! DynamoDB ([`rewind_compactor::backup_from`]).

use rewind_catalog::TableDescription;
use rewind_compactor::table_source::{scanned_from_json, ItemsAt};
use rewind_compactor::Result;

/// The items of `model` (DynamoDB JSON maps) as the table held them at `now_ms`.
pub fn model_at(
    description: TableDescription,
    model: impl Iterator<Item = rewind_workload::Item>,
    now_ms: i64,
) -> Result<ItemsAt> {
    let items = scanned_from_json(model.map(|raw| serde_json::Value::Object(raw).to_string()))?;
    Ok(ItemsAt {
        description,
        items,
        now_ms,
    })
}
