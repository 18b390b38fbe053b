//! The capture front door shared by the Lambda handler, the poller and redrive: it checks a
//! table once (prefix ownership, view type) and then captures batches.

use crate::batch::{capture_batch, BatchFailure, BatchOutcome, CaptureOptions, ShardBatch};
use crate::error::{CaptureError, Result};
use crate::view_type::{check_view_type, ViewTypeVerdict};
use rewind_store::{claim_table, Store};
use std::collections::HashSet;
use std::sync::Mutex;

/// Captures batches into one store. Cheap to share: build one per process.
#[derive(Debug)]
pub struct Capturer {
    store: Store,
    options: CaptureOptions,
    claimed: Mutex<HashSet<String>>,
    warned: Mutex<HashSet<String>>,
}

impl Capturer {
    /// A capturer writing to `store`.
    pub fn new(store: Store, options: CaptureOptions) -> Self {
        Capturer {
            store,
            options,
            claimed: Mutex::new(HashSet::new()),
            warned: Mutex::new(HashSet::new()),
        }
    }

    /// The store written to.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Binds `table` in this store to `table_arn` (once per process): refuses a store prefix that
    /// already holds another table of the same name.
    pub async fn claim(&self, table: &str, table_arn: &str) -> Result<()> {
        if self.claimed.lock().expect("not poisoned").contains(table) {
            return Ok(());
        }
        claim_table(self.store.as_ref(), table, table_arn).await?;
        self.claimed
            .lock()
            .expect("not poisoned")
            .insert(table.to_string());
        Ok(())
    }

    /// Refuses view types that cannot rebuild items; warns once per table about NEW_IMAGE.
    pub fn check_view_type(&self, table: &str, view_type: &str) -> Result<()> {
        if check_view_type(table, view_type)? == ViewTypeVerdict::NewImageOnly
            && self
                .warned
                .lock()
                .expect("not poisoned")
                .insert(table.to_string())
        {
            tracing::warn!(
                table,
                "stream view type NEW_IMAGE: deleted items' content and the continuity hash between \
                 versions are not captured; NEW_AND_OLD_IMAGES is recommended"
            );
        }
        Ok(())
    }

    /// Captures one batch (see [`capture_batch`]), after checking the view type its records
    /// declare. `now_ms` is the ingestion time.
    pub async fn capture(&self, batch: &ShardBatch, now_ms: i64) -> BatchOutcome {
        if let Some(view) = batch.records.iter().find_map(|r| r.view_type()) {
            if let Err(error) = self.check_view_type(&batch.table, &view) {
                return refused(batch, error);
            }
        }
        capture_batch(self.store.as_ref(), batch, &self.options, now_ms).await
    }
}

fn refused(batch: &ShardBatch, error: CaptureError) -> BatchOutcome {
    BatchOutcome {
        records: batch.records.len(),
        failure: Some(BatchFailure {
            first_failed: 0,
            sequence_number: batch
                .records
                .first()
                .and_then(|r| r.sequence_number())
                .map(str::to_string),
            error,
        }),
        ..BatchOutcome::default()
    }
}
