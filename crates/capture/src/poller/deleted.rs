//! A deleted table: read its last stream to the end, then record the deletion.
//!
//! DynamoDB keeps a deleted table's stream readable for 24 hours (its status turns `DISABLED`
//! and its shards close), and the event source mapping goes on delivering it. So the last writes
//! before an accidental DeleteTable are still there to capture: the poller reads the stream it
//! already knows (the ARN is in the stored description; DescribeTable has nothing to say any
//! more) from the checkpoints to its end, with `--once` rules, and then writes the deletion
//! record ([`rewind_catalog::deletion`]) that ends the lineage. When the stream cannot be read
//! any more (past 24 hours, or a service that drops it with the table), what was not read is a
//! recorded gap, never a silent loss, and the record says the stream was not drained.

use super::{
    describe_stream_retrying, follow_stream, gap_from_checkpoint, now_ms, stream_label,
    PollProgress, PollSummary, PollerConfig, ReadError,
};
use crate::capturer::Capturer;
use crate::error::{CaptureError, Result};
use rewind_catalog::checkpoint::list_checkpoints;
use rewind_catalog::deletion::{
    load_deletion, record_deletion, DeletionCause, TableDeletion, DELETION_VERSION,
};
use rewind_catalog::description::TableDescription;
use rewind_catalog::gap::record_gap;
use rewind_store::ObjectStore;
use std::future::Future;
use std::time::Duration;

/// How long after the deletion was found the drain's last empty read must come: a record
/// written just before DeleteTable may take a moment to show in the stream (the same margin
/// as the watermark's clock-skew allowance).
const SETTLE: Duration = Duration::from_secs(2);

/// Whether `live` is another table than `stored` under the same name: DynamoDB's table id
/// differs, or (where the id is not reported) the creation time does.
pub(crate) fn is_other_table(stored: &TableDescription, live: &TableDescription) -> bool {
    match (&stored.table_id, &live.table_id) {
        (Some(a), Some(b)) => a != b,
        _ => match (&stored.creation_date_time, &live.creation_date_time) {
            (Some(a), Some(b)) => a != b,
            _ => false,
        },
    }
}

/// Drains the last stream of the deleted table `described` and records the deletion. Returns
/// the record in force (an earlier run's, if one already drained this stream). A stop before
/// the drain finished is an error: no record is written, and the next run drains again from
/// the checkpoints.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn drain<F>(
    capturer: &Capturer,
    dynamodb: &aws_sdk_dynamodb::Client,
    streams: &aws_sdk_dynamodbstreams::Client,
    config: &PollerConfig,
    described: &TableDescription,
    cause: DeletionCause,
    detected_at_ms: i64,
    stop: F,
    progress: &(dyn Fn(&PollProgress) + Send + Sync),
    summary: &mut PollSummary,
) -> Result<TableDeletion>
where
    F: Future<Output = ()>,
{
    let table = config.table.as_str();
    let store = capturer.store().clone();
    let stream_arn = described.stream.latest_stream_arn.clone().ok_or_else(|| {
        CaptureError::Input(format!(
            "table {table} was deleted, and its stored description names no stream: nothing to drain"
        ))
    })?;
    let label = stream_label(&stream_arn, described.stream.latest_stream_label.as_deref())?;
    if let Some(done) = load_deletion(store.as_ref(), table, &label).await? {
        tracing::info!(table, stream = %stream_arn, "the deletion was already recorded: nothing left to read");
        summary.stream_arn = stream_arn;
        summary.stream_label = label;
        return Ok(done);
    }
    capturer.claim(table, &described.table_arn).await?;
    let settle_until = detected_at_ms + SETTLE.as_millis() as i64;
    if let Ok(wait) = u64::try_from(settle_until - now_ms()) {
        tokio::time::sleep(Duration::from_millis(wait)).await;
    }
    let drain_config = PollerConfig {
        once: true,
        ..config.clone()
    };
    match describe_stream_retrying(streams, &stream_arn, &drain_config).await {
        Ok(listing) => {
            follow_stream(
                capturer,
                dynamodb,
                streams,
                &drain_config,
                &stream_arn,
                listing,
                None,
                stop,
                progress,
                summary,
            )
            .await?;
            if summary.stopped {
                return Err(CaptureError::Input(format!(
                    "stopped while draining the stream of the deleted table {table}: run capture again to finish (it resumes from the checkpoints)"
                )));
            }
            record(
                store.as_ref(),
                described,
                &label,
                cause,
                detected_at_ms,
                None,
            )
            .await
        }
        Err(ReadError::NotFound(e) | ReadError::Trimmed(e)) => {
            summary.stream_arn.clone_from(&stream_arn);
            summary.stream_label.clone_from(&label);
            let (deletion, gaps) =
                record_unreadable(store.as_ref(), described, &label, cause, detected_at_ms, &e)
                    .await?;
            summary.gaps.extend(gaps);
            Ok(deletion)
        }
        Err(e) => Err(e.into_error()),
    }
}

/// The deleted table's stream can no longer be read: a gap after every shard not read to its
/// end, then the deletion record saying the stream was not drained. Returns the record in force
/// and the keys of the gaps.
pub(crate) async fn record_unreadable(
    store: &dyn ObjectStore,
    described: &TableDescription,
    label: &str,
    cause: DeletionCause,
    detected_at_ms: i64,
    error: &CaptureError,
) -> Result<(TableDeletion, Vec<String>)> {
    let table = described.table_name.as_str();
    tracing::error!(table, stream = %label, %error,
        "the deleted table's stream can no longer be read: recording a gap after every unfinished shard");
    let reason = format!("the table was deleted and its stream can no longer be read: {error}");
    let mut shards = Vec::new();
    let mut gaps = Vec::new();
    for checkpoint in list_checkpoints(store, table)
        .await?
        .into_iter()
        .filter(|c| c.stream_label == label && !c.shard_ended)
    {
        gaps.push(record_gap(store, &gap_from_checkpoint(&checkpoint, reason.clone())).await?);
        shards.push(checkpoint.shard_id);
    }
    let unreadable = Some((shards, error.to_string()));
    let deletion = record(store, described, label, cause, detected_at_ms, unreadable).await?;
    Ok((deletion, gaps))
}

/// Writes the deletion record of stream `label` of the deleted table `described` (put-if-absent:
/// an earlier record stands). `unreadable`: the shards that could not be read to their end and
/// why; `None` when the stream was drained.
pub(crate) async fn record(
    store: &dyn ObjectStore,
    described: &TableDescription,
    label: &str,
    cause: DeletionCause,
    detected_at_ms: i64,
    unreadable: Option<(Vec<String>, String)>,
) -> Result<TableDeletion> {
    let table = described.table_name.as_str();
    let last_change_ms = list_checkpoints(store, table)
        .await?
        .into_iter()
        .filter(|c| c.stream_label == label)
        .filter_map(|c| c.last_stamp_ms)
        .max();
    let (unreadable_shards, unreadable_reason) = match unreadable {
        Some((shards, reason)) => (shards, Some(reason)),
        None => (Vec::new(), None),
    };
    let deletion = TableDeletion {
        format_version: DELETION_VERSION,
        table: table.to_string(),
        table_arn: described.table_arn.clone(),
        table_id: described.table_id.clone(),
        created_at: described.creation_date_time.clone(),
        stream_arn: described
            .stream
            .latest_stream_arn
            .clone()
            .unwrap_or_default(),
        stream_label: label.to_string(),
        cause,
        detected_at_ms,
        last_change_ms,
        drained: unreadable_reason.is_none(),
        unreadable_shards,
        unreadable_reason,
    };
    let recorded = record_deletion(store, &deletion).await?;
    tracing::warn!(
        table, stream = %recorded.stream_label, drained = recorded.drained,
        last_restorable_second = recorded.last_restorable_second(),
        "deletion recorded: this lineage of the table is closed"
    );
    Ok(recorded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn described(id: Option<&str>, created: Option<&str>) -> TableDescription {
        let mut d: TableDescription =
            serde_json::from_value(rewind_test_description()).expect("a description");
        d.table_id = id.map(str::to_string);
        d.creation_date_time = created.map(str::to_string);
        d
    }

    fn rewind_test_description() -> serde_json::Value {
        serde_json::json!({
            "format_version": 1,
            "table_name": "orders",
            "table_arn": "arn:aws:dynamodb:us-east-1:123456789012:table/orders",
            "key_schema": [{"attribute_name": "pk", "key_type": "HASH"}],
            "attribute_definitions": [{"attribute_name": "pk", "attribute_type": "S"}],
            "billing_mode": "PAY_PER_REQUEST",
            "stream": {"enabled": true},
            "captured_at": "2026-12-05T00:00:00Z"
        })
    }

    #[test]
    fn another_table_is_told_by_its_id_else_by_its_creation_time() {
        let t1 = Some("2026-12-05T10:00:00.000Z");
        let t2 = Some("2026-12-05T11:00:00.000Z");
        assert!(is_other_table(
            &described(Some("a"), t1),
            &described(Some("b"), t1)
        ));
        assert!(
            !is_other_table(&described(Some("a"), t1), &described(Some("a"), t2)),
            "the id decides when both have one"
        );
        assert!(is_other_table(&described(None, t1), &described(None, t2)));
        assert!(!is_other_table(&described(None, t1), &described(None, t1)));
        assert!(
            !is_other_table(&described(None, None), &described(Some("b"), t2)),
            "nothing to compare: the same table"
        );
    }
}
