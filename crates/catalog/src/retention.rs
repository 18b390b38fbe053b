//! The retention marker: what retention has deleted of a table's change log, so restores never
//! assume the log covers what is gone.

use crate::error::Result;
use crate::json_record;
use crate::layout;
use rewind_store::ObjectStore;
use serde::{Deserialize, Serialize};

/// The retention marker (`tables/table=<t>/retention.json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionMarker {
    /// Change files of hours ending at or before this (ms) may be gone.
    pub changes_deleted_before_ms: i64,
}

/// Reads the retention marker, `None` if retention never deleted change files.
pub async fn load_retention_marker(
    store: &dyn ObjectStore,
    table: &str,
) -> Result<Option<RetentionMarker>> {
    json_record::read(store, &layout::retention_marker(table), "retention marker").await
}
