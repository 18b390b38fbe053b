//! The retention marker: what retention has deleted of a table's change log, so restores never
//! assume the log covers what is gone.

use crate::error::Result;
use crate::json_record;
use crate::layout;
use bytes::Bytes;
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

/// Records that change files of hours ending at or before `deleted_before_ms` are about to go:
/// written before any is deleted, and only ever moved forward (a retention run with a shorter
/// window never makes the log look more complete than it is). Returns the marker now stored.
pub async fn advance_retention_marker(
    store: &dyn ObjectStore,
    table: &str,
    deleted_before_ms: i64,
) -> Result<RetentionMarker> {
    let previous = load_retention_marker(store, table).await?;
    let marker = RetentionMarker {
        changes_deleted_before_ms: previous.map_or(deleted_before_ms, |p| {
            p.changes_deleted_before_ms.max(deleted_before_ms)
        }),
    };
    let body = serde_json::to_vec_pretty(&marker).expect("markers serialise");
    store
        .put(&layout::retention_marker(table), Bytes::from(body))
        .await?;
    Ok(marker)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_marker_only_moves_forward() {
        let dir = tempfile::tempdir().unwrap();
        let store = rewind_store::LocalStore::new(dir.path());
        assert_eq!(load_retention_marker(&store, "shop").await.unwrap(), None);
        let m = advance_retention_marker(&store, "shop", 7_200_000)
            .await
            .unwrap();
        assert_eq!(m.changes_deleted_before_ms, 7_200_000);
        let m = advance_retention_marker(&store, "shop", 3_600_000)
            .await
            .unwrap();
        assert_eq!(m.changes_deleted_before_ms, 7_200_000, "never moved back");
        assert_eq!(
            load_retention_marker(&store, "shop").await.unwrap(),
            Some(m)
        );
    }
}
