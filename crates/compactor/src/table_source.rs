//! Where a full backup reads the table from: DynamoDB's parallel, consistent Scan, or a
//! stand-in that holds the table some other way (the demo's model of its simulated table).
//! The backup itself ([`crate::backup`]) only sees pages of items and a clock.

use crate::error::{CompactorError, Result};
use aws_sdk_dynamodb::types::AttributeValue as SdkValue;
use rewind_catalog::{describe_table, TableDescription};
use rewind_format::AttributeValue;
use std::collections::HashMap;

/// One item as a scan reads it: attribute name to value.
pub type ScannedItem = HashMap<String, AttributeValue>;

/// A table a full backup can read.
#[async_trait::async_trait]
pub trait TableSource: Send + Sync {
    /// The table's name.
    fn table(&self) -> &str;

    /// The table's description now (key schema, stream, ARN).
    async fn describe(&self) -> Result<TableDescription>;

    /// Reads segment `segment` of `segments` with consistent reads, handing every page to
    /// `page` in order; stops early when `page` returns `false`.
    async fn scan_segment(
        &self,
        segment: u32,
        segments: u32,
        page: &mut (dyn FnMut(Vec<ScannedItem>) -> bool + Send),
    ) -> Result<()>;

    /// The time now, ms since the epoch: the scan's start and end are stamped with it.
    fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis()
    }
}

/// A DynamoDB table, read through the SDK.
#[derive(Debug, Clone)]
pub struct DynamoDbSource {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoDbSource {
    /// `table` through `client`.
    pub fn new(client: aws_sdk_dynamodb::Client, table: &str) -> Self {
        DynamoDbSource {
            client,
            table: table.to_string(),
        }
    }
}

#[async_trait::async_trait]
impl TableSource for DynamoDbSource {
    fn table(&self) -> &str {
        &self.table
    }

    async fn describe(&self) -> Result<TableDescription> {
        Ok(describe_table(&self.client, &self.table).await?)
    }

    async fn scan_segment(
        &self,
        segment: u32,
        segments: u32,
        page: &mut (dyn FnMut(Vec<ScannedItem>) -> bool + Send),
    ) -> Result<()> {
        let mut start: Option<HashMap<String, SdkValue>> = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .segment(segment as i32)
                .total_segments(segments as i32)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| CompactorError::Aws {
                    operation: "Scan",
                    table: self.table.clone(),
                    message: format!(
                        "segment {segment}: {}",
                        aws_sdk_dynamodb::error::DisplayErrorContext(&e)
                    ),
                })?;
            let items = out
                .items()
                .iter()
                .map(|item| {
                    item.iter()
                        .map(|(k, v)| (k.clone(), AttributeValue::from(v.clone())))
                        .collect()
                })
                .collect();
            if !page(items) {
                return Ok(());
            }
            match out.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok(()),
            }
        }
    }
}

/// Items given as DynamoDB JSON text (one item per string), as a Scan returns them: the input of
/// an in-memory table ([`ItemsAt`]). A text that is not an item is an error naming its index.
pub fn scanned_from_json(texts: impl IntoIterator<Item = String>) -> Result<Vec<ScannedItem>> {
    texts
        .into_iter()
        .enumerate()
        .map(|(i, text)| {
            let item =
                rewind_format::item_from_json(&text).map_err(|e| CompactorError::Invalid {
                    what: "item",
                    location: format!("item {i}"),
                    reason: e.to_string(),
                })?;
            Ok(item.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        })
        .collect()
}

/// A table held in memory: its items at one instant and a clock that says when that is. The
/// demo backs up its simulated table with it, and tests script when a scan ran.
#[derive(Debug, Clone)]
pub struct ItemsAt {
    /// The table's description (its name, key schema and stream).
    pub description: TableDescription,
    /// Every item.
    pub items: Vec<ScannedItem>,
    /// The instant, ms since the epoch: the scan starts and ends then.
    pub now_ms: i64,
}

#[async_trait::async_trait]
impl TableSource for ItemsAt {
    fn table(&self) -> &str {
        &self.description.table_name
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
            .filter(|(i, _)| *i as u32 % segments.max(1) == segment)
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
