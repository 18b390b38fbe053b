//! The stream poller: capture outside Lambda (`rewind capture`, the demo, tests), reading a table's
//! stream through the DynamoDB Streams API and handing batches to the same [`Capturer`] the
//! Lambda uses.
//!
//! What it does, and why:
//! - **Start**: describes the table and writes the description when it changed (a restore needs
//!   the table as it was), refuses a stream view type that cannot rebuild items before reading a
//!   single record, and claims the store prefix for the table's ARN.
//! - **Lineage**: lists every shard (all DescribeStream pages) and reads parents before children
//!   ([`crate::lineage`]), each from its checkpoint (`AFTER_SEQUENCE_NUMBER`) or `TRIM_HORIZON`.
//! - **Batching**: records are buffered per shard and captured when the buffer holds
//!   [`PollerConfig::max_batch_records`] or is [`PollerConfig::max_batch_age`] old, so change
//!   files are not one-record objects.
//! - **Read-through**: an empty read advances the shard's checkpoint to the time of the call, so
//!   an idle shard does not hold the watermark back.
//! - **Failures**: an expired iterator is replaced from the last record read; trimmed data and
//!   vanished shards are recorded as gaps (never hidden) and reading goes on from the horizon;
//!   throttling and transient errors back off with full jitter; a store failure retries the part
//!   of the batch not made durable. Nothing read is ever skipped.
//! - **`--once`** ([`PollerConfig::once`]): every shard is read until it caught up with the moment
//!   the run began (an empty read, or a record stamped after it; a closed shard: its end), then
//!   everything is flushed. Without it, the poller follows the stream until the stop signal, then
//!   flushes.
//!
//! Written to AWS's behaviour, not moto's: shards close and split, a closed shard ends when
//! `NextShardIterator` is absent, iterators expire after 15 minutes, records are trimmed after
//! 24 hours.

mod backoff;
mod config;
mod deleted;
mod probe;
mod reader;
mod redrive;
mod streams_client;
mod summary;

pub use backoff::Backoff;
pub use config::PollerConfig;
pub use probe::{probe_stale_shards, ProbeReport, STALE_AFTER_MS};
pub use redrive::{redrive, RedriveRequest, RedriveSummary};
use summary::MAX_LAGS_KEPT;
pub use summary::{PollProgress, PollSummary};

use crate::capturer::Capturer;
use crate::error::{CaptureError, Result};
use crate::lineage::{self, GapCause, ShardInfo, StartPosition};
use futures::{FutureExt, StreamExt};
use reader::{FlushReport, FlushResult, ShardReader, StepReport};
use rewind_catalog::checkpoint::{list_checkpoints, Checkpoint};
use rewind_catalog::deletion::{load_deletion, DeletionCause};
use rewind_catalog::description::{
    describe_table, list_descriptions, save_description_if_changed, TableDescription,
};
use rewind_catalog::gap::Gap;
use rewind_catalog::CatalogError;
use std::collections::HashMap;
use std::future::Future;
use std::time::Instant;
use streams_client::{describe_stream, ReadError, StreamListing};

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// What every shard reader shares.
#[derive(Debug)]
pub(crate) struct Ctx<'a> {
    pub capturer: &'a Capturer,
    pub streams: &'a aws_sdk_dynamodbstreams::Client,
    pub config: &'a PollerConfig,
    pub stream_arn: &'a str,
    pub label: &'a str,
    pub run_start_ms: i64,
}

/// The label of a stream: the last part of its ARN (as Lambda records carry it), else what
/// DescribeStream said.
fn stream_label(stream_arn: &str, listed: Option<&str>) -> Result<String> {
    rewind_format::StreamArn::parse(stream_arn)
        .map(|a| a.label)
        .ok()
        .or_else(|| listed.map(str::to_string))
        .ok_or_else(|| CaptureError::Input(format!("{stream_arn} is not a stream ARN")))
}

/// DescribeStream with backoff on throttling, for the start of a run.
async fn describe_stream_retrying(
    streams: &aws_sdk_dynamodbstreams::Client,
    stream_arn: &str,
    config: &PollerConfig,
) -> std::result::Result<StreamListing, ReadError> {
    let mut backoff = Backoff::new(config.backoff_base, config.backoff_max);
    loop {
        match describe_stream(streams, stream_arn).await {
            Ok(listing) => return Ok(listing),
            Err(ReadError::Retry(e)) if backoff.attempts() < 8 => {
                let delay = backoff.next_delay();
                tracing::warn!(error = %e, delay_ms = delay.as_millis() as u64, "DescribeStream failed; retrying");
                tokio::time::sleep(delay).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Reads the table's latest stream into the store until stopped (or, with
/// [`PollerConfig::once`], until caught up with the moment the run began).
///
/// `stop` ends a following run (e.g. Ctrl-C); everything read is flushed and checkpointed before
/// returning. `progress` is called after every flush that wrote something or ended a shard.
///
/// A deleted table ends capture cleanly ([`deleted`]): its last stream, known from the stored
/// description, is read to its end and the deletion recorded, whether the table was gone when the
/// run began or went while it followed the stream; a table re-created under the name has its
/// predecessor's stream drained first. [`PollSummary::deleted`] says so.
///
/// Errors: the table has no stream, the view type is refused, the prefix belongs to another
/// table, or a failure retrying cannot fix (records read but not captured are simply read again
/// by the next run: checkpoints never pass them).
pub async fn run_poller<F>(
    capturer: &Capturer,
    dynamodb: &aws_sdk_dynamodb::Client,
    streams: &aws_sdk_dynamodbstreams::Client,
    config: &PollerConfig,
    stop: F,
    progress: &(dyn Fn(&PollProgress) + Send + Sync),
) -> Result<PollSummary>
where
    F: Future<Output = ()>,
{
    let started = Instant::now();
    let table = config.table.as_str();
    let mut stop = std::pin::pin!(stop);
    let store = capturer.store().clone();
    let stored = list_descriptions(store.as_ref(), table).await?;
    let description = match describe_table(dynamodb, table).await {
        Ok(description) => description,
        Err(CatalogError::TableNotFound { message, .. }) => {
            let Some(stored) = stored.last().map(|d| &d.description) else {
                return Err(CaptureError::Input(format!(
                    "table {table} not found ({message}), and the store holds no description of it: nothing to capture"
                )));
            };
            let detected_at_ms = now_ms();
            tracing::warn!(table, "the table is gone: reading what its stream still holds, then recording the deletion");
            let mut summary = PollSummary {
                table: table.to_string(),
                ..PollSummary::default()
            };
            let drained = deleted::drain(
                capturer,
                dynamodb,
                streams,
                config,
                stored,
                DeletionCause::TableNotFound,
                detected_at_ms,
                stop.as_mut(),
                progress,
                &mut summary,
            )
            .await;
            summary.seconds = started.elapsed().as_secs_f64();
            summary.deleted = Some(drained?);
            return Ok(summary);
        }
        Err(e) => return Err(e.into()),
    };
    let mut summary = PollSummary {
        table: table.to_string(),
        ..PollSummary::default()
    };
    // The name now belongs to another table: the ones the store followed before were deleted,
    // and their streams may still hold their last changes. Drain each (once) before following
    // the new table.
    let captured: std::collections::HashSet<String> = list_checkpoints(store.as_ref(), table)
        .await?
        .into_iter()
        .map(|c| c.stream_label)
        .collect();
    let mut predecessors: Vec<&TableDescription> = Vec::new();
    for d in stored.iter().map(|d| &d.description) {
        let Some(arn) = d.stream.latest_stream_arn.as_deref() else {
            continue;
        };
        let Ok(label) = stream_label(arn, d.stream.latest_stream_label.as_deref()) else {
            continue;
        };
        if captured.contains(&label)
            && deleted::is_other_table(d, &description)
            && load_deletion(store.as_ref(), table, &label)
                .await?
                .is_none()
        {
            predecessors.retain(|p| p.stream.latest_stream_arn.as_deref() != Some(arn));
            predecessors.push(d);
        }
    }
    for old in predecessors {
        tracing::warn!(table, old = ?old.table_id, created = ?old.creation_date_time,
            new = ?description.table_id, "the table was re-created under its name: draining the old table's stream first");
        let deletion = deleted::drain(
            capturer,
            dynamodb,
            streams,
            config,
            old,
            DeletionCause::TableRecreated,
            // The old table was gone before the new one was created.
            recreated_at_ms(&description)
                .unwrap_or_else(now_ms)
                .min(now_ms()),
            stop.as_mut(),
            progress,
            &mut summary,
        )
        .await?;
        summary.previous_lineages_deleted.push(deletion);
    }
    let stream_arn = description
        .stream
        .latest_stream_arn
        .clone()
        .ok_or_else(|| {
            CaptureError::Input(format!(
                "table {table} has no stream: enable one with view type NEW_AND_OLD_IMAGES \
             (aws dynamodb update-table --table-name {table} --stream-specification \
             StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES)"
            ))
        })?;
    if !description.stream.enabled {
        tracing::warn!(table, stream = %stream_arn, "the table's stream is disabled: reading what remains of its last stream");
    }
    let listing = describe_stream_retrying(streams, &stream_arn, config)
        .await
        .map_err(ReadError::into_error)?;
    let view_type = listing
        .view_type
        .clone()
        .or_else(|| description.stream.view_type.clone())
        .unwrap_or_default();
    capturer.check_view_type(table, &view_type)?;
    capturer.claim(table, &description.table_arn).await?;
    if let Some(key) =
        save_description_if_changed(store.as_ref(), &description, chrono::Utc::now()).await?
    {
        summary.description_written.push(key);
    }
    let ended = follow_stream(
        capturer,
        dynamodb,
        streams,
        config,
        &stream_arn,
        listing,
        Some(&description),
        stop.as_mut(),
        progress,
        &mut summary,
    )
    .await;
    summary.seconds = started.elapsed().as_secs_f64();
    let ended = ended?;
    if let Some((cause, detected_at_ms)) = ended {
        // The table went while the poller followed it: drain what its stream still holds.
        let drained = deleted::drain(
            capturer,
            dynamodb,
            streams,
            config,
            &description,
            cause,
            detected_at_ms,
            stop.as_mut(),
            progress,
            &mut summary,
        )
        .await;
        summary.seconds = started.elapsed().as_secs_f64();
        summary.deleted = Some(drained?);
    }
    tracing::info!(
        table,
        records = summary.records_captured,
        objects = summary.objects,
        quarantined = summary.quarantined,
        gaps = summary.gaps.len(),
        shards = summary.shards_read,
        seconds = summary.seconds,
        deleted = summary.deleted.is_some(),
        "capture poller finished"
    );
    Ok(summary)
}

/// Reads one stream (`listing` is its first DescribeStream) with the shared [`Poll`] loop.
/// `live` is the table's description when the table exists (a following run describes it again
/// to version changes and to notice a deletion); `None` for a drain. Returns why the table's
/// lineage ended, when the run noticed it did.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn follow_stream<F>(
    capturer: &Capturer,
    dynamodb: &aws_sdk_dynamodb::Client,
    streams: &aws_sdk_dynamodbstreams::Client,
    config: &PollerConfig,
    stream_arn: &str,
    listing: StreamListing,
    live: Option<&TableDescription>,
    stop: F,
    progress: &(dyn Fn(&PollProgress) + Send + Sync),
    summary: &mut PollSummary,
) -> Result<Option<(DeletionCause, i64)>>
where
    F: Future<Output = ()>,
{
    let table = config.table.as_str();
    let store = capturer.store().clone();
    let label = stream_label(stream_arn, listing.label.as_deref())?;
    summary.stream_arn = stream_arn.to_string();
    summary.stream_label.clone_from(&label);
    let checkpoints: HashMap<String, Checkpoint> = list_checkpoints(store.as_ref(), table)
        .await?
        .into_iter()
        .filter(|c| c.stream_label == label)
        .map(|c| (c.shard_id.clone(), c))
        .collect();
    tracing::info!(
        table, stream = %stream_arn, shards = listing.shards.len(), checkpoints = checkpoints.len(),
        once = config.once, "capture poller starting"
    );
    let ctx = Ctx {
        capturer,
        streams,
        config,
        stream_arn,
        label: &label,
        run_start_ms: now_ms(),
    };
    let mut poll = Poll {
        ctx: &ctx,
        dynamodb,
        progress,
        readers: Vec::new(),
        checkpoints,
        listing,
        summary: std::mem::take(summary),
        last_refresh: Instant::now(),
        last_describe: Instant::now(),
        refresh_now: false,
        live,
        lineage_ended: None,
    };
    let result = poll.run(stop).await;
    *summary = poll.summary;
    result?;
    Ok(poll.lineage_ended)
}

struct Poll<'a> {
    ctx: &'a Ctx<'a>,
    dynamodb: &'a aws_sdk_dynamodb::Client,
    progress: &'a (dyn Fn(&PollProgress) + Send + Sync),
    readers: Vec<ShardReader>,
    checkpoints: HashMap<String, Checkpoint>,
    listing: StreamListing,
    summary: PollSummary,
    last_refresh: Instant,
    last_describe: Instant,
    refresh_now: bool,
    /// The live table's description (a following run); `None` while draining a deleted table.
    live: Option<&'a TableDescription>,
    /// Set when a following run found the table deleted or re-created: why, and when (ms) it
    /// was gone by.
    lineage_ended: Option<(DeletionCause, i64)>,
}

impl Poll<'_> {
    async fn run<F: Future<Output = ()>>(&mut self, stop: F) -> Result<()> {
        let config = self.ctx.config;
        let mut stop = std::pin::pin!(stop);
        loop {
            if (&mut stop).now_or_never().is_some() {
                self.summary.stopped = true;
                break;
            }
            self.start_readers();
            if config.once && self.readers.iter().all(|r| !r.wants_step(true)) {
                break;
            }
            let now = Instant::now();
            let due: Vec<&mut ShardReader> = self
                .readers
                .iter_mut()
                .filter(|r| r.wants_step(config.once) && r.not_before <= now)
                .collect();
            if due.is_empty() {
                let next_reader = self
                    .readers
                    .iter()
                    .filter(|r| r.wants_step(config.once))
                    .map(|r| r.not_before)
                    .min();
                let wake = next_reader
                    .unwrap_or(now + config.idle_sleep)
                    .min(self.last_refresh + config.shard_refresh_interval);
                tokio::select! {
                    () = &mut stop => {
                        self.summary.stopped = true;
                        break;
                    }
                    () = tokio::time::sleep_until(wake.into()) => {}
                }
            } else {
                let ctx = self.ctx;
                // Built in a loop, not a `map` closure held across the await: that keeps the
                // future `Send` (a closure over `&mut` readers trips a higher-ranked lifetime
                // limitation), so callers can `tokio::spawn` the poller.
                let mut steps = Vec::with_capacity(due.len());
                for reader in due {
                    steps.push(reader.step(ctx));
                }
                let reports: Vec<StepReport> = futures::stream::iter(steps)
                    .buffer_unordered(config.max_concurrent_shards.max(1))
                    .collect()
                    .await;
                for report in reports {
                    self.absorb(report)?;
                }
            }
            self.refresh_if_due().await?;
            if self.lineage_ended.is_some() {
                break;
            }
        }
        self.final_flush().await
    }

    /// Creates readers for shards that became readable (and for vanished checkpointed shards,
    /// whose reader finds out whether they are really gone and records the gap).
    fn start_readers(&mut self) {
        let checkpoints: Vec<Checkpoint> = self.checkpoints.values().cloned().collect();
        let plan = lineage::plan(&self.listing.shards, &checkpoints);
        let config = self.ctx.config;
        let has_reader =
            |readers: &[ShardReader], id: &str| readers.iter().any(|r| r.shard.shard_id == id);
        let lost_gap: HashMap<&str, &lineage::LostRange> =
            plan.lost.iter().map(|l| (l.shard_id.as_str(), l)).collect();
        for (shard, start) in plan.readable() {
            if has_reader(&self.readers, &shard.shard_id) {
                continue;
            }
            let checkpoint = self.checkpoints.get(&shard.shard_id);
            let mut reader = ShardReader::new(
                shard.clone(),
                start.clone(),
                checkpoint,
                config.backoff_base,
                config.backoff_max,
            );
            if let (Some(lost), Some(checkpoint)) =
                (lost_gap.get(shard.shard_id.as_str()), checkpoint)
            {
                if let GapCause::StartsAfterCheckpoint { first_available } = &lost.cause {
                    reader = reader.with_gap(gap_from_checkpoint(
                        checkpoint,
                        format!("shard starts at {first_available}, after the checkpoint"),
                    ));
                }
            }
            tracing::debug!(shard = %shard.shard_id, ?start, "reading shard");
            self.readers.push(reader);
            self.summary.shards_read += 1;
        }
        for lost in &plan.lost {
            if lost.cause != GapCause::ShardVanished || has_reader(&self.readers, &lost.shard_id) {
                continue;
            }
            // Not listed any more: try it (a listing can lag); the reader records the gap if the
            // shard is really gone.
            let c = &lost.checkpoint;
            let start = c
                .last_sequence_number
                .as_deref()
                .map_or(StartPosition::TrimHorizon, |s| {
                    StartPosition::AfterSequenceNumber(lineage::api_sequence_number(s))
                });
            let shard = ShardInfo {
                shard_id: lost.shard_id.clone(),
                parent_shard_id: c.parent_shard_id.clone(),
                starting_sequence_number: None,
                ending_sequence_number: None,
            };
            tracing::warn!(shard = %lost.shard_id, "checkpointed shard no longer listed; checking whether it is gone");
            self.readers.push(ShardReader::new(
                shard,
                start,
                Some(c),
                config.backoff_base,
                config.backoff_max,
            ));
            self.summary.shards_read += 1;
        }
        self.summary.shards_listed = self.listing.shards.len();
    }

    fn absorb(&mut self, report: StepReport) -> Result<()> {
        self.summary.records_read += report.records_read as u64;
        self.summary.retries += u64::from(report.retries);
        self.summary.expired_iterators += u64::from(report.expired_iterators);
        if report.duplicates_dropped > 0 {
            tracing::debug!(
                dropped = report.duplicates_dropped,
                "records already read were dropped"
            );
        }
        self.summary.gaps.extend(report.gaps);
        for flush in report.flushes {
            self.absorb_flush(flush);
        }
        if report.ended {
            self.summary.shards_ended += 1;
            self.refresh_now = true;
        }
        match report.fatal {
            Some(e) => {
                tracing::error!(table = %self.ctx.config.table, error = %e, "capture poller stopping");
                Err(e)
            }
            None => Ok(()),
        }
    }

    fn absorb_flush(&mut self, flush: FlushReport) {
        let FlushReport {
            shard_id,
            outcome,
            shard_ended,
            at_ms,
        } = flush;
        if let Some(checkpoint) = &outcome.checkpoint {
            self.checkpoints
                .insert(shard_id.clone(), checkpoint.clone());
        }
        let s = &mut self.summary;
        s.records_captured += outcome.captured as u64;
        s.quarantined += outcome.quarantined as u64;
        s.objects += outcome.objects.len() as u64;
        s.bytes_written += outcome.bytes_written;
        let lag_ms = outcome.newest_stamp_ms.map(|t| at_ms - t);
        let wrote = outcome.captured + outcome.quarantined > 0;
        if !wrote && !shard_ended {
            tracing::debug!(shard = %shard_id, read_through = ?outcome.checkpoint.as_ref().map(|c| c.read_through_ms), "read-through checkpoint");
            return;
        }
        s.flushes += 1;
        if let Some(lag) = lag_ms.filter(|_| outcome.captured > 0) {
            if s.flush_lags_ms.len() >= MAX_LAGS_KEPT {
                s.flush_lags_ms.remove(0);
            }
            s.flush_lags_ms.push(lag);
        }
        let progress = PollProgress {
            table: s.table.clone(),
            shard_id: shard_id.clone(),
            records: outcome.captured,
            quarantined: outcome.quarantined,
            objects: outcome.objects.len(),
            bytes: outcome.bytes_written,
            newest_stamp_ms: outcome.newest_stamp_ms,
            lag_ms,
            read_through_ms: outcome.checkpoint.as_ref().map(|c| c.read_through_ms),
            shard_ended,
            total_records: s.records_captured,
            total_objects: s.objects,
        };
        tracing::info!(
            table = %progress.table, shard = %shard_id, records = progress.records,
            quarantined = progress.quarantined, objects = progress.objects, bytes = progress.bytes,
            lag_ms = ?progress.lag_ms, shard_ended, total_records = progress.total_records,
            "captured"
        );
        (self.progress)(&progress);
    }

    /// Lists the shards again when one ended or the interval passed; describes the table again
    /// when following and its interval passed. Transient failures keep the old listing.
    async fn refresh_if_due(&mut self) -> Result<()> {
        let config = self.ctx.config;
        let mut stream_gone = false;
        if self.refresh_now || self.last_refresh.elapsed() >= config.shard_refresh_interval {
            match describe_stream(self.ctx.streams, self.ctx.stream_arn).await {
                Ok(listing) => {
                    self.listing = listing;
                    self.refresh_now = false;
                    self.last_refresh = Instant::now();
                }
                Err(ReadError::Retry(e)) => {
                    tracing::warn!(error = %e, "listing shards failed; keeping the previous listing");
                    self.last_refresh = Instant::now();
                }
                // The stream is gone while the table is followed: the table may be too. Look
                // at it now; if it is there, the error stands.
                Err(ReadError::NotFound(e)) if self.live.is_some() && !config.once => {
                    tracing::warn!(error = %e, "the stream is gone; checking the table");
                    self.last_refresh = Instant::now();
                    stream_gone = true;
                }
                Err(e) => return Err(e.into_error()),
            }
            self.readers.retain(|r| !r.finished);
        }
        // A disabled stream (DynamoDB disables the stream of a deleted table) is a reason to
        // look at the table now rather than at the next interval.
        let disabled = self.listing.status.as_deref() == Some("DISABLED");
        let Some(live) = self.live else {
            return Ok(());
        };
        let due = stream_gone
            || (disabled && self.last_describe.elapsed() >= config.idle_sleep)
            || self.last_describe.elapsed() >= config.describe_interval;
        if config.once || !due {
            return Ok(());
        }
        self.last_describe = Instant::now();
        match describe_table(self.dynamodb, &config.table).await {
            Ok(description) => {
                if deleted::is_other_table(live, &description) {
                    tracing::warn!(table = %config.table, old = ?live.table_id, new = ?description.table_id,
                        "the table was deleted and re-created under its name: draining the old stream");
                    let at = recreated_at_ms(&description)
                        .unwrap_or_else(now_ms)
                        .min(now_ms());
                    self.lineage_ended = Some((DeletionCause::TableRecreated, at));
                    return Ok(());
                }
                if description.stream.latest_stream_arn.as_deref() != Some(self.ctx.stream_arn) {
                    tracing::error!(
                        table = %config.table, reading = %self.ctx.stream_arn,
                        latest = ?description.stream.latest_stream_arn,
                        "the table has a new stream: this poller goes on reading the old one to its end; \
                         restart capture to follow the new stream"
                    );
                }
                let store = self.ctx.capturer.store();
                if let Some(key) =
                    save_description_if_changed(store.as_ref(), &description, chrono::Utc::now())
                        .await?
                {
                    self.summary.description_written.push(key);
                }
            }
            Err(CatalogError::TableNotFound { .. }) => {
                tracing::warn!(table = %config.table, "the table was deleted: draining its stream");
                self.lineage_ended = Some((DeletionCause::TableNotFound, now_ms()));
            }
            Err(e) if stream_gone => {
                return Err(CaptureError::Input(format!(
                    "the stream {} is gone and the table could not be described: {e}",
                    self.ctx.stream_arn
                )))
            }
            Err(e) if e.is_retryable() => {
                tracing::warn!(error = %e, "describing the table failed; trying again later");
            }
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }

    /// Flushes every reader holding something not yet durable, retrying transient failures a
    /// bounded number of times.
    async fn final_flush(&mut self) -> Result<()> {
        let ctx = self.ctx;
        for i in 0..self.readers.len() {
            let mut attempts = 0;
            while self.readers[i].has_unflushed() {
                let mut report = StepReport::default();
                let result = self.readers[i].flush(ctx, &mut report, true).await;
                self.absorb(report)?;
                match result {
                    FlushResult::Done => break,
                    FlushResult::Fatal(e) => return Err(e),
                    FlushResult::RetryLater(e) => {
                        attempts += 1;
                        if attempts >= ctx.config.final_flush_attempts.max(1) {
                            tracing::error!(shard = %self.readers[i].shard.shard_id, error = %e,
                                "giving up the final flush: the next run reads these records again");
                            return Err(e);
                        }
                        tokio::time::sleep_until(self.readers[i].not_before.into()).await;
                    }
                }
            }
        }
        Ok(())
    }
}

/// When the live table was created (ms), from its description.
fn recreated_at_ms(description: &TableDescription) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(description.creation_date_time.as_deref()?)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// A gap starting after a stored checkpoint.
fn gap_from_checkpoint(checkpoint: &Checkpoint, reason: String) -> Gap {
    Gap {
        table: checkpoint.table.clone(),
        stream_label: checkpoint.stream_label.clone(),
        shard_id: checkpoint.shard_id.clone(),
        after_sequence_number: checkpoint.last_sequence_number.clone(),
        after_stamp_ms: checkpoint.last_stamp_ms,
        read_through_ms: Some(checkpoint.read_through_ms),
        resumed_at_sequence_number: None,
        detected_at_ms: now_ms(),
        reason,
    }
}
