//! Redrive: re-read a range of a shard that the Lambda consumer reported to its on-failure
//! destination and then skipped, while the stream still holds it (24 h).
//!
//! For a stream source, Lambda's on-failure destination receives only the shard and the sequence
//! range, not the records, and the event source mapping moves on: without a redrive those records
//! are missing from the change log. The redrive reads them with `AT_SEQUENCE_NUMBER` and captures
//! them through the same [`Capturer`], so they land in the same kind of content-named objects
//! (readers de-duplicate by identity). Checkpoints only move forward (`save_checkpoint` merges),
//! so redriving an old range never moves a shard's checkpoint back. A range already trimmed from
//! the stream is recorded as a gap and reported as an error: it cannot be recovered.
//!
//! One more rule keeps the checkpoint honest: when the shard's checkpoint is *behind* the range
//! (or there is none), capturing the range alone would move the checkpoint (and its read-through
//! time, which feeds the watermark) past records nobody captured. So the redrive then reads from
//! just after the checkpoint (or the horizon) up to the end of the range.

use super::streams_client::{
    get_records, get_shard_iterator, sequence_of, IteratorStart, ReadError,
};
use super::{describe_stream_retrying, now_ms, stream_label, Backoff, PollProgress, PollerConfig};
use crate::batch::ShardBatch;
use crate::capturer::Capturer;
use crate::error::{CaptureError, Result};
use crate::input::StreamInput;
use crate::lineage::{api_sequence_number, compare_sequence_numbers};
use rewind_catalog::checkpoint::load_checkpoint;
use rewind_catalog::description::describe_table;
use rewind_catalog::gap::{record_gap, Gap};
use rewind_format::pad_sequence_number;

/// A range to redrive, as Lambda's on-failure record names it
/// (`DDBStreamBatchInfo.shardId`, `startSequenceNumber`, `endSequenceNumber`, `streamArn`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedriveRequest {
    /// The source table.
    pub table: String,
    /// The shard.
    pub shard_id: String,
    /// First sequence number of the range (inclusive).
    pub from_sequence: String,
    /// Last sequence number of the range (inclusive).
    pub to_sequence: String,
    /// The stream the range belongs to; `None`: the table's latest stream.
    pub stream_arn: Option<String>,
}

/// What a redrive did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RedriveSummary {
    /// The table.
    pub table: String,
    /// The stream read.
    pub stream_arn: String,
    /// The shard read.
    pub shard_id: String,
    /// Records of the range read from the stream.
    pub records_read: u64,
    /// Records written to change files.
    pub records_captured: u64,
    /// Records quarantined.
    pub quarantined: u64,
    /// Change files written.
    pub objects: Vec<String>,
    /// First and last sequence numbers captured (padded).
    pub first_sequence: Option<String>,
    /// See `first_sequence`.
    pub last_sequence: Option<String>,
    /// The shard's checkpoint was behind the range, so the redrive also read the records between
    /// it and the range (see the module documentation).
    pub extended_before_range: bool,
    /// Oldest stamp among the records captured (ms).
    pub oldest_stamp_ms: Option<i64>,
    /// The snapshot invalidation written for them (compacted snapshots made before this redrive
    /// may lack them), if any records were captured.
    pub invalidation: Option<String>,
    /// The read reached the end of the range (a record at or past `to`, or the end of the
    /// shard). `false`: the shard had no more records to give (the range's end was not seen).
    pub complete: bool,
}

fn padded(seq: &str, what: &str) -> Result<String> {
    pad_sequence_number(seq).map_err(|_| {
        CaptureError::Input(format!(
            "{what} {seq:?} is not a sequence number (decimal digits)"
        ))
    })
}

/// Re-reads `request`'s range and captures it. See the module documentation.
///
/// `config` supplies batch size, GetRecords limit, idle sleep and backoff; `progress` is called
/// after each captured batch.
pub async fn redrive(
    capturer: &Capturer,
    dynamodb: &aws_sdk_dynamodb::Client,
    streams: &aws_sdk_dynamodbstreams::Client,
    request: &RedriveRequest,
    config: &PollerConfig,
    progress: &(dyn Fn(&PollProgress) + Send + Sync),
) -> Result<RedriveSummary> {
    let from = padded(&request.from_sequence, "--from")?;
    let to = padded(&request.to_sequence, "--to")?;
    if from > to {
        return Err(CaptureError::Input(format!(
            "--from {} is after --to {}",
            request.from_sequence, request.to_sequence
        )));
    }
    let table = request.table.as_str();
    let description = describe_table(dynamodb, table).await?;
    let stream_arn = match &request.stream_arn {
        Some(arn) => arn.clone(),
        None => description
            .stream
            .latest_stream_arn
            .clone()
            .ok_or_else(|| {
                CaptureError::Input(format!(
                    "table {table} has no stream; name the stream to redrive from"
                ))
            })?,
    };
    if let Ok(parsed) = rewind_format::StreamArn::parse(&stream_arn) {
        if parsed.table != table {
            return Err(CaptureError::Input(format!(
                "stream {stream_arn} belongs to table {}, not {table}",
                parsed.table
            )));
        }
    }
    let listing = describe_stream_retrying(streams, &stream_arn, config)
        .await
        .map_err(super::ReadError::into_error)?;
    capturer.check_view_type(table, listing.view_type.as_deref().unwrap_or_default())?;
    capturer.claim(table, &description.table_arn).await?;
    let label = stream_label(&stream_arn, listing.label.as_deref())?;
    let parent = listing
        .shards
        .iter()
        .find(|s| s.shard_id == request.shard_id)
        .and_then(|s| s.parent_shard_id.clone());
    let mut summary = RedriveSummary {
        table: table.to_string(),
        stream_arn: stream_arn.clone(),
        shard_id: request.shard_id.clone(),
        ..RedriveSummary::default()
    };
    let batch_of = |records: Vec<StreamInput>| ShardBatch {
        table: table.to_string(),
        stream_label: label.clone(),
        shard_id: request.shard_id.clone(),
        parent_shard_id: parent.clone(),
        records,
        read_through_ms: None,
        shard_ended: false,
    };
    tracing::info!(table, shard = %request.shard_id, from = %request.from_sequence, to = %request.to_sequence, "redrive starting");

    let stored = load_checkpoint(capturer.store().as_ref(), table, &label, &request.shard_id)
        .await?
        .and_then(|c| c.last_sequence_number);
    // Records at or before `last_read` and before `lower` are not part of the redrive.
    let (mut start, lower, mut last_read) = match stored {
        Some(last) if last >= from => (
            IteratorStart::At(api_sequence_number(&from)),
            Some(from.clone()),
            None,
        ),
        Some(last) => {
            tracing::warn!(shard = %request.shard_id, checkpoint = %last, "the checkpoint is behind the range: reading from it");
            summary.extended_before_range = true;
            (
                IteratorStart::After(api_sequence_number(&last)),
                None,
                Some(last),
            )
        }
        None => {
            tracing::warn!(shard = %request.shard_id, "the shard has no checkpoint: reading from the oldest record held");
            summary.extended_before_range = true;
            (IteratorStart::TrimHorizon, None, None)
        }
    };
    let max_attempts = config.max_retries.unwrap_or(20);
    let mut backoff = Backoff::new(config.backoff_base, config.backoff_max);
    let mut iterator: Option<String> = None;
    let mut buffer: Vec<StreamInput> = Vec::new();
    let mut empty_reads = 0;
    let mut done = false;
    while !done {
        let it = match iterator.take() {
            Some(it) => it,
            None => match get_shard_iterator(streams, &stream_arn, &request.shard_id, &start).await
            {
                Ok(Some(it)) => it,
                Ok(None) => break,
                Err(e) => {
                    handle(
                        e,
                        &mut backoff,
                        max_attempts,
                        capturer,
                        request,
                        &label,
                        &last_read,
                    )
                    .await?;
                    continue;
                }
            },
        };
        let page = match get_records(streams, &it, config.get_records_limit).await {
            Ok(page) => page,
            Err(ReadError::Expired(_)) => {
                continue;
            }
            Err(e) => {
                iterator = Some(it);
                handle(
                    e,
                    &mut backoff,
                    max_attempts,
                    capturer,
                    request,
                    &label,
                    &last_read,
                )
                .await?;
                continue;
            }
        };
        backoff.reset();
        if page.records.is_empty() {
            empty_reads += 1;
            if empty_reads >= 3 {
                tracing::warn!(shard = %request.shard_id, last = ?last_read, "no more records in the shard before the end of the range");
                break;
            }
            tokio::time::sleep(config.idle_sleep).await;
        } else {
            empty_reads = 0;
        }
        for record in page.records {
            let Some(seq) = sequence_of(&record).and_then(|s| pad_sequence_number(s).ok()) else {
                buffer.push(StreamInput::Api(Box::new(record)));
                continue;
            };
            if lower.as_ref().is_some_and(|l| &seq < l)
                || last_read.as_ref().is_some_and(|l| &seq <= l)
            {
                continue;
            }
            if seq > to {
                done = true;
                summary.complete = true;
                break;
            }
            if seq == to {
                done = true;
                summary.complete = true;
            }
            start = IteratorStart::After(api_sequence_number(&seq));
            last_read = Some(seq);
            summary.records_read += 1;
            buffer.push(StreamInput::Api(Box::new(record)));
        }
        if buffer.len() >= config.max_batch_records.max(1) {
            capture(
                capturer,
                batch_of(std::mem::take(&mut buffer)),
                config,
                &mut summary,
                progress,
            )
            .await?;
        }
        match page.next_iterator {
            Some(next) if !done => iterator = Some(next),
            Some(_) => {}
            None => {
                summary.complete = true;
                done = true;
            }
        }
    }
    if !buffer.is_empty() {
        capture(capturer, batch_of(buffer), config, &mut summary, progress).await?;
    }
    if let (Some(oldest), Some(first)) = (summary.oldest_stamp_ms, summary.first_sequence.clone()) {
        summary.invalidation =
            Some(invalidate_snapshots(capturer, &summary, oldest, &first).await?);
    }
    tracing::info!(
        table, shard = %request.shard_id, records = summary.records_captured,
        quarantined = summary.quarantined, complete = summary.complete, "redrive finished"
    );
    Ok(summary)
}

/// Records that compacted snapshots made before now, at or after `oldest_ms`, lack the
/// redriven records (a redrive is the one way records stamped below the watermark arrive late).
async fn invalidate_snapshots(
    capturer: &Capturer,
    summary: &RedriveSummary,
    oldest_ms: i64,
    first_sequence: &str,
) -> Result<String> {
    let marker = rewind_catalog::SnapshotInvalidation {
        from_stamp_ms: oldest_ms,
        written_at_ms: now_ms(),
        reason: format!(
            "redrive of shard {} from sequence {} ({} records)",
            summary.shard_id, first_sequence, summary.records_captured
        ),
    };
    let unique = format!(
        "{}-{}",
        summary.shard_id,
        &first_sequence[first_sequence.len().saturating_sub(12)..]
    );
    Ok(rewind_catalog::record_snapshot_invalidation(
        capturer.store().as_ref(),
        &summary.table,
        &marker,
        &unique,
    )
    .await?)
}

/// Handles a failed read: backs off (retryable), records a gap and fails (trimmed, gone), or fails.
async fn handle(
    error: ReadError,
    backoff: &mut Backoff,
    max_attempts: u32,
    capturer: &Capturer,
    request: &RedriveRequest,
    label: &str,
    last_read: &Option<String>,
) -> Result<()> {
    match error {
        ReadError::Retry(e) | ReadError::Expired(e) if backoff.attempts() < max_attempts => {
            let delay = backoff.next_delay();
            tracing::warn!(error = %e, delay_ms = delay.as_millis() as u64, "redrive read failed; retrying");
            tokio::time::sleep(delay).await;
            Ok(())
        }
        ReadError::Trimmed(e) | ReadError::NotFound(e) => {
            let gap = Gap {
                table: request.table.clone(),
                stream_label: label.to_string(),
                shard_id: request.shard_id.clone(),
                after_sequence_number: last_read.clone(),
                after_stamp_ms: None,
                read_through_ms: None,
                resumed_at_sequence_number: None,
                detected_at_ms: now_ms(),
                reason: format!(
                    "redrive of {}..={}: no longer in the stream ({e})",
                    request.from_sequence, request.to_sequence
                ),
            };
            let gap_key = record_gap(capturer.store().as_ref(), &gap).await?;
            Err(CaptureError::RangeTrimmed {
                table: request.table.clone(),
                shard_id: request.shard_id.clone(),
                from: request.from_sequence.clone(),
                to: request.to_sequence.clone(),
                gap_key,
            })
        }
        other => Err(other.into_error()),
    }
}

/// Captures one batch, retrying the part not made durable after transient failures.
async fn capture(
    capturer: &Capturer,
    mut batch: ShardBatch,
    config: &PollerConfig,
    summary: &mut RedriveSummary,
    progress: &(dyn Fn(&PollProgress) + Send + Sync),
) -> Result<()> {
    let mut backoff = Backoff::new(config.backoff_base, config.backoff_max);
    let max_attempts = config.max_retries.unwrap_or(20);
    loop {
        let at_ms = now_ms();
        let mut outcome = capturer.capture(&batch, at_ms).await;
        let failure = outcome.failure.take();
        let durable_prefix = failure
            .as_ref()
            .map_or(batch.records.len(), |f| f.first_failed);
        if durable_prefix > 0 {
            if let Some(oldest) = outcome.oldest_stamp_ms {
                summary.oldest_stamp_ms =
                    Some(summary.oldest_stamp_ms.map_or(oldest, |o| o.min(oldest)));
            }
            summary.records_captured += outcome.captured as u64;
            summary.quarantined += outcome.quarantined as u64;
            summary.objects.extend(outcome.objects.iter().cloned());
            for seq in batch.records[..durable_prefix.min(batch.records.len())]
                .iter()
                .filter_map(|r| r.sequence_number())
                .filter_map(|s| pad_sequence_number(s).ok())
            {
                if summary
                    .first_sequence
                    .as_ref()
                    .is_none_or(|f| compare_sequence_numbers(&seq, f).is_lt())
                {
                    summary.first_sequence = Some(seq.clone());
                }
                if summary
                    .last_sequence
                    .as_ref()
                    .is_none_or(|l| compare_sequence_numbers(&seq, l).is_gt())
                {
                    summary.last_sequence = Some(seq);
                }
            }
            progress(&PollProgress {
                table: batch.table.clone(),
                shard_id: batch.shard_id.clone(),
                records: outcome.captured,
                quarantined: outcome.quarantined,
                objects: outcome.objects.len(),
                bytes: outcome.bytes_written,
                newest_stamp_ms: outcome.newest_stamp_ms,
                lag_ms: outcome.newest_stamp_ms.map(|t| at_ms - t),
                read_through_ms: outcome.checkpoint.as_ref().map(|c| c.read_through_ms),
                shard_ended: false,
                total_records: summary.records_captured,
                total_objects: summary.objects.len() as u64,
            });
        }
        let Some(failure) = failure else {
            return Ok(());
        };
        if !failure.error.is_retryable() || backoff.attempts() >= max_attempts {
            return Err(failure.error);
        }
        let first = failure.first_failed.min(batch.records.len());
        batch.records = batch.records.split_off(first);
        let delay = backoff.next_delay();
        tracing::warn!(error = %failure.error, delay_ms = delay.as_millis() as u64, "redrive batch failed; retrying the rest");
        tokio::time::sleep(delay).await;
    }
}
