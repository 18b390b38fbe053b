//! Where the table stands: DescribeTable (does it exist?) and waiting until it and its indexes
//! are ACTIVE, which creating the table, the settings applied after the load and `prepare` all
//! need before going on.

use super::{DynamoDbTarget, ACTIVE_DEADLINE};
use crate::error::{ReplayError, Result};
use aws_sdk_dynamodb::types as ddb;
use std::time::{Duration, Instant};

impl DynamoDbTarget {
    /// DescribeTable; `None` when the table does not exist.
    pub(super) async fn describe(&self) -> Result<Option<ddb::TableDescription>> {
        match self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
        {
            Ok(out) => Ok(out.table),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(self.aws_error("DescribeTable", &e)),
        }
    }

    /// Polls DescribeTable until the table and its indexes are ACTIVE.
    pub(super) async fn wait_active(&self) -> Result<ddb::TableDescription> {
        let deadline = Instant::now() + ACTIVE_DEADLINE;
        let mut pause = Duration::from_millis(100);
        loop {
            let table = self.describe().await?;
            let status = table
                .as_ref()
                .and_then(|t| t.table_status())
                .map_or("(not found yet)", |s| s.as_str())
                .to_string();
            if let Some(t) = table.filter(|t| {
                t.table_status() == Some(&ddb::TableStatus::Active)
                    && t.global_secondary_indexes().iter().all(|g| {
                        g.index_status()
                            .is_none_or(|s| *s == ddb::IndexStatus::Active)
                    })
            }) {
                return Ok(t);
            }
            if Instant::now() >= deadline {
                return Err(ReplayError::Aws {
                    operation: "DescribeTable",
                    target: self.label.clone(),
                    message: format!(
                        "table {} (or one of its indexes) is not ACTIVE after {} s (table status {status})",
                        self.table,
                        ACTIVE_DEADLINE.as_secs()
                    ),
                    retryable: true,
                });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(5));
        }
    }
}
