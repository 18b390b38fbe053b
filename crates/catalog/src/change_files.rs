//! The change log as the store lists it: every change file's name (hour, stream, shard,
//! sequence range or compaction run) and size, read without opening a file.

use crate::error::{CatalogError, Result};
use crate::layout::{self, ChangeFile, ChangeFileKind, HourPartition};
use rewind_store::ObjectStore;

/// A change file the store lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogFile {
    /// What its name says (hour, label, shard, sequence range, or compaction run).
    pub file: ChangeFile,
    /// Object key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
}

impl CatalogFile {
    /// The stream label, for batch files (a compacted file may hold several).
    pub fn stream_label(&self) -> Option<&str> {
        match &self.file.kind {
            ChangeFileKind::Batch { stream_label, .. } => Some(stream_label),
            ChangeFileKind::Compacted { .. } => None,
        }
    }
}

/// Every change file of `table` up to `last_hour`, paged and stopped at the first later hour.
pub async fn list_change_files(
    store: &dyn ObjectStore,
    table: &str,
    last_hour: Option<HourPartition>,
) -> Result<Vec<CatalogFile>> {
    let prefix = layout::changes_prefix(table);
    let mut out = Vec::new();
    let mut start_after: Option<String> = None;
    loop {
        let page = store
            .list_page(&prefix, start_after.as_deref(), rewind_store::MAX_LIST_PAGE)
            .await?;
        for meta in &page.objects {
            let file = ChangeFile::parse(&meta.key).map_err(|e| CatalogError::Invalid {
                what: "change file name",
                location: store.describe(&meta.key),
                reason: e.to_string(),
            })?;
            if last_hour.is_some_and(|last| file.hour > last) {
                return Ok(out);
            }
            out.push(CatalogFile {
                file,
                key: meta.key.clone(),
                size: meta.size,
            });
        }
        match (page.objects.last(), page.truncated) {
            (Some(last), true) => start_after = Some(last.key.clone()),
            (None, true) => return Err(rewind_store::empty_truncated_page(store, &prefix).into()),
            (_, false) => return Ok(out),
        }
    }
}
