//! The demo's table as a full backup reads it: the workload's model of the table at one
//! simulated instant, served as one Scan segment, on the simulated clock. The backup code path
//! is the one `rewind backup` runs against DynamoDB ([`rewind_compactor::backup_from`]).

use rewind_capture::TableDescription;
use rewind_compactor::table_source::{ScannedItem, TableSource};
use rewind_compactor::{CompactorError, Result};

/// The model's items at `now_ms`, and the table's description.
pub struct ModelSource {
    table: String,
    description: TableDescription,
    items: Vec<ScannedItem>,
    now_ms: i64,
}

impl ModelSource {
    /// The items of `model` (DynamoDB JSON maps) as the table held them at `now_ms`.
    pub fn new(
        description: TableDescription,
        model: impl Iterator<Item = rewind_workload::Item>,
        now_ms: i64,
    ) -> Result<Self> {
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
        Ok(ModelSource {
            table: description.table_name.clone(),
            description,
            items,
            now_ms,
        })
    }
}

#[async_trait::async_trait]
impl TableSource for ModelSource {
    fn table(&self) -> &str {
        &self.table
    }

    async fn describe(&self) -> Result<TableDescription> {
        Ok(self.description.clone())
    }

    async fn scan_segment(
        &self,
        segment: u32,
        segments: u32,
        page: &mut (dyn FnMut(Vec<ScannedItem>) -> bool + Send),
    ) -> Result<()> {
        let mine: Vec<ScannedItem> = self
            .items
            .iter()
            .enumerate()
            .filter(|(i, _)| *i as u32 % segments == segment)
            .map(|(_, item)| item.clone())
            .collect();
        for chunk in mine.chunks(1_000) {
            if !page(chunk.to_vec()) {
                break;
            }
        }
        Ok(())
    }

    fn now_ms(&self) -> i64 {
        self.now_ms
    }
}
