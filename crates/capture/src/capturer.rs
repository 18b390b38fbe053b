//! The capture front door shared by the Lambda handler, the poller and redrive: it checks a
//! table once (prefix ownership, view type) and then captures batches.

use crate::batch::{capture_batch, BatchFailure, BatchOutcome, CaptureOptions, ShardBatch};
use crate::error::{CaptureError, Result};
use rewind_catalog::claim_table;
use rewind_catalog::view_type::{check_view_type, ViewTypeVerdict};
use rewind_store::Store;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

/// Captures batches into one store. Cheap to share: build one per process.
#[derive(Debug)]
pub struct Capturer {
    store: Store,
    options: CaptureOptions,
    claimed: Mutex<HashSet<String>>,
    warned: Mutex<HashSet<String>>,
    describer: Option<Describer>,
}

/// Keeps the stored table description current from where capture runs (the Lambda).
#[derive(Debug)]
struct Describer {
    client: aws_sdk_dynamodb::Client,
    every: Duration,
    last: Mutex<HashMap<String, i64>>,
}

impl Capturer {
    /// A capturer writing to `store`.
    pub fn new(store: Store, options: CaptureOptions) -> Self {
        Capturer {
            store,
            options,
            claimed: Mutex::new(HashSet::new()),
            warned: Mutex::new(HashSet::new()),
            describer: None,
        }
    }

    /// Also keeps each captured table's description in the store: described when the table is
    /// first seen and again once `every` has passed, a new version written only when it changed.
    /// A restore creates the table from the description in force at its time.
    pub fn with_describer(mut self, client: aws_sdk_dynamodb::Client, every: Duration) -> Self {
        self.describer = Some(Describer {
            client,
            every,
            last: Mutex::new(HashMap::new()),
        });
        self
    }

    /// Describes `table` and saves its description if it changed, when a describer is set and
    /// the last look is older than its interval. A failure is logged, not returned: the batch's
    /// records matter more than a late description, and the next invocation tries again.
    pub async fn refresh_description(&self, table: &str, now_ms: i64) {
        let Some(d) = &self.describer else { return };
        {
            let last = d.last.lock().expect("not poisoned");
            if let Some(at) = last.get(table) {
                if now_ms - at < d.every.as_millis() as i64 {
                    return;
                }
            }
        }
        let now = chrono::DateTime::from_timestamp_millis(now_ms).unwrap_or_default();
        let result = async {
            let description = rewind_catalog::description::describe_table(&d.client, table).await?;
            rewind_catalog::description::save_description_if_changed(
                self.store.as_ref(),
                &description,
                now,
            )
            .await
        }
        .await;
        match result {
            Ok(written) => {
                if let Some(key) = written {
                    tracing::info!(table, key, "table description saved");
                }
                d.last
                    .lock()
                    .expect("not poisoned")
                    .insert(table.to_string(), now_ms);
            }
            Err(error) => {
                tracing::error!(table, %error, "could not save the table description; retrying next invocation")
            }
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
