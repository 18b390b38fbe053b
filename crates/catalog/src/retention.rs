//! The retention marker: what retention has deleted of a table's change log, so restores never
//! assume the log covers what is gone.

use crate::error::{CatalogError, Result};
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
    let key = layout::retention_marker(table);
    match store.get(&key).await {
        Ok(body) => serde_json::from_slice(&body)
            .map(Some)
            .map_err(|e| CatalogError::Invalid {
                what: "retention marker",
                location: store.describe(&key),
                reason: e.to_string(),
            }),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.into()),
    }
}
