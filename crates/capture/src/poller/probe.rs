//! Probing idle shards for the watermark. Lambda is never invoked for a shard with no new
//! records, so its checkpoint's read-through stops moving and the watermark — the minimum over
//! shards that may still deliver — would stop every snapshot. A scheduled probe (the capture
//! Lambda's `{"action": "probe"}` event, or `rewind compact` before it compacts) reads such shards
//! through the Streams API: a shard that has nothing after its checkpoint is read through the
//! probe's start; one with unread records is left as it is (capture is behind, and the watermark
//! must wait for it).

use super::streams_client::{
    describe_stream, get_records, get_shard_iterator, IteratorStart, ReadError,
};
use crate::error::{CaptureError, Result};
use crate::lineage::{self, ShardStatus};
use rewind_catalog::checkpoint::{list_checkpoints, save_checkpoint, Checkpoint};
use rewind_catalog::deletion::{load_deletion, DeletionCause, TableDeletion};
use rewind_catalog::description::{describe_table, latest_description};
use rewind_catalog::CatalogError;
use rewind_store::ObjectStore;
use serde::Serialize;

/// Shards whose read-through is older than this are probed (the compaction schedule's and the
/// probe schedule's default).
pub const STALE_AFTER_MS: i64 = 60_000;

/// What a probe found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProbeReport {
    /// Shards whose read-through was older than the staleness limit (or that had none).
    pub stale: Vec<String>,
    /// Of them, shards with nothing after their checkpoint: read through the probe's start now.
    pub advanced: Vec<String>,
    /// Of them, shards with records capture has not taken yet (capture is behind).
    pub behind: Vec<String>,
    /// Closed shards found read to their end (marked ended).
    pub ended: Vec<String>,
    /// The table is gone and every shard of its stream was delivered to its end (or its stream
    /// can no longer be read): the deletion record, which ends the lineage.
    pub deleted: Option<TableDeletion>,
}

/// Probes every shard of `table`'s current stream that may still deliver and whose read-through
/// is older than `stale_after_ms` before `now_ms`.
pub async fn probe_stale_shards(
    store: &dyn ObjectStore,
    dynamodb: &aws_sdk_dynamodb::Client,
    streams: &aws_sdk_dynamodbstreams::Client,
    table: &str,
    stale_after_ms: i64,
    now_ms: i64,
) -> Result<ProbeReport> {
    let mut report = ProbeReport::default();
    // Under Lambda nothing else notices a deleted table: the event source mapping goes on
    // delivering its stream to the end, then falls silent. The probe takes the stream from the
    // stored description and, once every shard has been delivered to its end, records the
    // deletion.
    let (description, deleted) = match describe_table(dynamodb, table).await {
        Ok(description) => (description, false),
        Err(CatalogError::TableNotFound { message, .. }) => {
            let Some((_, stored)) = latest_description(store, table).await? else {
                return Err(CaptureError::Input(format!(
                    "table {table} not found ({message}), and the store holds no description of it"
                )));
            };
            (stored, true)
        }
        Err(e) => return Err(e.into()),
    };
    let arn = description
        .stream
        .latest_stream_arn
        .clone()
        .ok_or_else(|| CaptureError::Input(format!("table {table} has no stream to probe")))?;
    let label = super::stream_label(&arn, description.stream.latest_stream_label.as_deref())?;
    if deleted {
        if let Some(done) = load_deletion(store, table, &label).await? {
            report.deleted = Some(done);
            return Ok(report);
        }
    }
    let listing = match describe_stream(streams, &arn).await {
        Ok(listing) => listing,
        Err(ReadError::NotFound(e) | ReadError::Trimmed(e)) if deleted => {
            let (deletion, _) = super::deleted::record_unreadable(
                store,
                &description,
                &label,
                DeletionCause::TableNotFound,
                now_ms,
                &e,
            )
            .await?;
            report.deleted = Some(deletion);
            return Ok(report);
        }
        Err(e) => return Err(e.into_error()),
    };
    let checkpoints: Vec<Checkpoint> = list_checkpoints(store, table)
        .await?
        .into_iter()
        .filter(|c| c.stream_label == label)
        .collect();
    // A deleted table's shards are all probed, stale or not: the question is whether anything
    // is left to deliver.
    let stale_after_ms = if deleted {
        i64::MIN / 2
    } else {
        stale_after_ms
    };
    let plan = lineage::plan(&listing.shards, &checkpoints);
    let mut finished = 0;
    for shard in &plan.shards {
        let start = match &shard.status {
            ShardStatus::Readable(start) => start,
            ShardStatus::Finished => {
                finished += 1;
                continue;
            }
            ShardStatus::WaitingForParent(_) => continue,
        };
        let id = &shard.shard.shard_id;
        let held = checkpoints.iter().find(|c| &c.shard_id == id);
        if held.is_some_and(|c| c.read_through_ms >= now_ms - stale_after_ms) {
            continue;
        }
        report.stale.push(id.clone());
        let iterator = get_shard_iterator(streams, &arn, id, &IteratorStart::from(start))
            .await
            .map_err(|e| e.into_error())?;
        let page = match iterator {
            Some(it) => Some(
                get_records(streams, &it, 1)
                    .await
                    .map_err(|e| e.into_error())?,
            ),
            None => None,
        };
        if page.as_ref().is_some_and(|p| !p.records.is_empty()) {
            report.behind.push(id.clone());
            continue;
        }
        let ended =
            shard.shard.is_closed() && page.as_ref().is_none_or(|p| p.next_iterator.is_none());
        save_checkpoint(
            store,
            &Checkpoint {
                table: table.to_string(),
                stream_label: label.clone(),
                shard_id: id.clone(),
                parent_shard_id: shard.shard.parent_shard_id.clone(),
                last_sequence_number: None,
                last_stamp_ms: None,
                read_through_ms: now_ms,
                shard_ended: ended,
                updated_at_ms: now_ms,
                // An empty read of a shard never captured is its first read.
                first_captured_ms: Some(now_ms),
            },
        )
        .await?;
        report.advanced.push(id.clone());
        if ended {
            report.ended.push(id.clone());
        }
        // Nothing after the checkpoint of a shard that can receive nothing more: done.
        if ended || (deleted && listing.status.as_deref() == Some("DISABLED")) {
            finished += 1;
        }
    }
    if deleted && finished == plan.shards.len() {
        report.deleted = Some(
            super::deleted::record(
                store,
                &description,
                &label,
                DeletionCause::TableNotFound,
                now_ms,
                None,
            )
            .await?,
        );
    }
    Ok(report)
}
