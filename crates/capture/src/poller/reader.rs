//! One shard's reader: iterator, buffer, backoff, pending gap. One [`ShardReader::step`] makes at
//! most one Streams call and at most one flush, so the poller can interleave many shards and check
//! its stop signal between steps.
//!
//! Invariants that make capture lossless and duplicate-free:
//! - a record is buffered only if its sequence number is past the last one read from this shard
//!   (a re-read after an expired iterator or a retry can never duplicate);
//! - a new iterator always starts after the last record read (buffered or captured), never after
//!   the last one captured, so buffered records are not read twice;
//! - a gap is made durable before any record after it is buffered, and before the checkpoint of
//!   an ended shard;
//! - a failed flush keeps the records not made durable (from `first_failed` on) and retries them,
//!   after a backoff, before reading anything new.

use super::streams_client::{
    get_records, get_shard_iterator, sequence_of, stamp_of, IteratorStart, ReadError,
};
use super::{now_ms, Backoff, Ctx};
use crate::batch::{BatchOutcome, ShardBatch};
use crate::error::CaptureError;
use crate::input::StreamInput;
use crate::lineage::{ShardInfo, StartPosition};
use rewind_catalog::checkpoint::Checkpoint;
use rewind_catalog::gap::{record_gap, Gap};
use rewind_format::pad_sequence_number;
use std::time::{Duration, Instant};

/// What one flush made durable.
#[derive(Debug)]
pub(crate) struct FlushReport {
    pub shard_id: String,
    pub outcome: BatchOutcome,
    pub shard_ended: bool,
    pub at_ms: i64,
}

/// What one step did, for the poller's totals and progress.
#[derive(Debug, Default)]
pub(crate) struct StepReport {
    pub records_read: usize,
    pub duplicates_dropped: usize,
    pub flushes: Vec<FlushReport>,
    pub gaps: Vec<String>,
    pub retries: u32,
    pub expired_iterators: u32,
    pub ended: bool,
    pub fatal: Option<CaptureError>,
}

/// How a flush went.
#[derive(Debug)]
pub(crate) enum FlushResult {
    /// Nothing pending, or everything durable.
    Done,
    /// Part of it failed with a retryable error: retry after the reader's `not_before`.
    RetryLater(CaptureError),
    /// A failure retrying cannot fix.
    Fatal(CaptureError),
}

#[derive(Debug)]
pub(crate) struct ShardReader {
    pub shard: ShardInfo,
    /// Where a new iterator starts: after the last record read, or the horizon.
    position: StartPosition,
    iterator: Option<String>,
    /// Last sequence number read (padded) and its stamp; initially the checkpoint's.
    last_seq: Option<String>,
    last_stamp: Option<i64>,
    buffer: Vec<StreamInput>,
    /// When the oldest buffered record was read.
    buffer_since: Option<Instant>,
    read_through_ms: Option<i64>,
    /// When a read-through not yet flushed was first recorded (an idle shard's only news).
    read_through_since: Option<Instant>,
    /// The last read was empty and the reader is about to sleep with records buffered that
    /// would be `max_batch_age` old before it wakes: flush them now, not after the sleep.
    flush_before_sleep: bool,
    /// The shard has nothing more to read (closed and read to its end, or gone).
    at_end: bool,
    /// `at_end` and flushed: the checkpoint says ended.
    pub finished: bool,
    /// Reached the moment the run began (`--once`).
    pub caught_up: bool,
    flush_pending: bool,
    pub not_before: Instant,
    read_backoff: Backoff,
    flush_backoff: Backoff,
    pending_gap: Option<Gap>,
}

impl ShardReader {
    pub(crate) fn new(
        shard: ShardInfo,
        start: StartPosition,
        checkpoint: Option<&Checkpoint>,
        base: Duration,
        max: Duration,
    ) -> Self {
        ShardReader {
            shard,
            position: start,
            iterator: None,
            last_seq: checkpoint.and_then(|c| c.last_sequence_number.clone()),
            last_stamp: checkpoint.and_then(|c| c.last_stamp_ms),
            buffer: Vec::new(),
            buffer_since: None,
            read_through_ms: None,
            read_through_since: None,
            flush_before_sleep: false,
            at_end: false,
            finished: false,
            caught_up: false,
            flush_pending: false,
            not_before: Instant::now(),
            read_backoff: Backoff::new(base, max),
            flush_backoff: Backoff::new(base, max),
            pending_gap: None,
        }
    }

    /// Starts with a gap to record (the shard's first available record is past the checkpoint).
    pub(crate) fn with_gap(mut self, gap: Gap) -> Self {
        self.pending_gap = Some(gap);
        self
    }

    /// Whether the poller should step this reader: not finished, and (with `--once`) not yet
    /// caught up with the run's start.
    pub(crate) fn wants_step(&self, once: bool) -> bool {
        !(self.finished || (once && self.caught_up))
    }

    /// Whether anything read is not durable yet.
    pub(crate) fn has_unflushed(&self) -> bool {
        !self.finished
            && (!self.buffer.is_empty()
                || self.read_through_ms.is_some()
                || self.at_end
                || self.pending_gap.is_some())
    }

    /// The flush policy (docs/OPERATIONS.md, "The poller's flush policy"): records are flushed
    /// once the oldest is `max_batch_age` old, once there are `max_batch_records` of them, or
    /// before a sleep they would outlive that age in; a read-through alone (an idle shard) once
    /// it is `idle_checkpoint_interval` old.
    fn flush_due(&self, ctx: &Ctx<'_>) -> bool {
        let older_than =
            |since: Option<Instant>, age: Duration| since.is_some_and(|t| t.elapsed() >= age);
        !self.finished
            && (self.flush_pending
                || self.at_end
                || self.flush_before_sleep
                || self.buffer.len() >= ctx.config.max_batch_records.max(1)
                || older_than(self.buffer_since, ctx.config.max_batch_age)
                || older_than(self.read_through_since, ctx.config.idle_checkpoint_interval))
    }

    fn gap(&self, ctx: &Ctx<'_>, reason: String) -> Gap {
        Gap {
            table: ctx.config.table.clone(),
            stream_label: ctx.label.to_string(),
            shard_id: self.shard.shard_id.clone(),
            after_sequence_number: self.last_seq.clone(),
            after_stamp_ms: self.last_stamp,
            read_through_ms: self.read_through_ms,
            resumed_at_sequence_number: None,
            detected_at_ms: now_ms(),
            reason,
        }
    }

    /// Makes the pending gap durable. On failure the reader is backed off (retryable errors) and
    /// the error returned.
    async fn record_pending_gap(
        &mut self,
        ctx: &Ctx<'_>,
        resumed_at: Option<String>,
        report: &mut StepReport,
    ) -> Result<(), CaptureError> {
        let Some(gap) = self.pending_gap.as_mut() else {
            return Ok(());
        };
        if gap.resumed_at_sequence_number.is_none() {
            gap.resumed_at_sequence_number = resumed_at;
        }
        match record_gap(ctx.capturer.store().as_ref(), gap).await {
            Ok(key) => {
                tracing::warn!(
                    table = %gap.table, shard = %gap.shard_id,
                    after = gap.after_sequence_number.as_deref().unwrap_or("(start of shard)"),
                    resumed_at = gap.resumed_at_sequence_number.as_deref().unwrap_or("(unknown)"),
                    reason = %gap.reason, key = %key,
                    "capture gap recorded: records of this shard were lost from the stream before capture read them"
                );
                report.gaps.push(key);
                self.pending_gap = None;
                Ok(())
            }
            Err(e) => {
                if e.is_retryable() {
                    tracing::warn!(shard = %self.shard.shard_id, error = %e, "recording a gap failed; retrying");
                    report.retries += 1;
                    self.not_before = Instant::now() + self.flush_backoff.next_delay();
                }
                Err(e.into())
            }
        }
    }

    /// Captures what is buffered (and the read-through time, and the end of the shard). With
    /// `final_flush`, a pending gap is recorded even though no record after it was read.
    pub(crate) async fn flush(
        &mut self,
        ctx: &Ctx<'_>,
        report: &mut StepReport,
        final_flush: bool,
    ) -> FlushResult {
        if self.at_end || final_flush {
            if let Err(e) = self.record_pending_gap(ctx, None, report).await {
                self.flush_pending = true;
                return if e.is_retryable() {
                    FlushResult::RetryLater(e)
                } else {
                    FlushResult::Fatal(e)
                };
            }
        }
        self.flush_before_sleep = false;
        if self.buffer.is_empty() && self.read_through_ms.is_none() && !self.at_end {
            self.flush_pending = false;
            self.buffer_since = None;
            self.read_through_since = None;
            return FlushResult::Done;
        }
        let batch = ShardBatch {
            table: ctx.config.table.clone(),
            stream_label: ctx.label.to_string(),
            shard_id: self.shard.shard_id.clone(),
            parent_shard_id: self.shard.parent_shard_id.clone(),
            records: std::mem::take(&mut self.buffer),
            read_through_ms: self.read_through_ms,
            shard_ended: self.at_end,
        };
        let at_ms = now_ms();
        let mut outcome = ctx.capturer.capture(&batch, at_ms).await;
        match outcome.failure.take() {
            None => {
                report.flushes.push(FlushReport {
                    shard_id: self.shard.shard_id.clone(),
                    outcome,
                    shard_ended: self.at_end,
                    at_ms,
                });
                self.buffer_since = None;
                self.read_through_ms = None;
                self.read_through_since = None;
                self.flush_pending = false;
                self.flush_backoff.reset();
                if self.at_end {
                    self.finished = true;
                    report.ended = true;
                }
                FlushResult::Done
            }
            Some(failure) => {
                let ShardBatch { mut records, .. } = batch;
                let first = failure.first_failed.min(records.len());
                self.buffer = records.split_off(first);
                if first > 0 {
                    // The records before `first` are durable (no checkpoint yet): count them once.
                    report.flushes.push(FlushReport {
                        shard_id: self.shard.shard_id.clone(),
                        outcome,
                        shard_ended: false,
                        at_ms,
                    });
                }
                if failure.error.is_retryable() {
                    let delay = self.flush_backoff.next_delay();
                    tracing::warn!(
                        shard = %self.shard.shard_id, error = %failure.error,
                        retry_from = failure.sequence_number.as_deref().unwrap_or("(checkpoint)"),
                        attempt = self.flush_backoff.attempts(), delay_ms = delay.as_millis() as u64,
                        "capturing a batch failed; retrying the part not made durable"
                    );
                    report.retries += 1;
                    self.flush_pending = true;
                    self.not_before = Instant::now() + delay;
                    FlushResult::RetryLater(failure.error)
                } else {
                    FlushResult::Fatal(failure.error)
                }
            }
        }
    }

    /// One step: retry or make a due flush, else one Streams call (GetShardIterator when needed,
    /// then GetRecords), then flush if that made one due.
    pub(crate) async fn step(&mut self, ctx: &Ctx<'_>) -> StepReport {
        let mut report = StepReport::default();
        if self.flush_due(ctx) {
            match self.flush(ctx, &mut report, false).await {
                FlushResult::Done => {}
                FlushResult::RetryLater(_) => return report,
                FlushResult::Fatal(e) => {
                    report.fatal = Some(e);
                    return report;
                }
            }
        }
        if self.finished || self.at_end {
            return report;
        }
        if let Some(limit) = ctx.config.max_retries {
            if self.read_backoff.attempts() > limit {
                report.fatal = Some(CaptureError::Input(format!(
                    "shard {}: giving up after {limit} retries",
                    self.shard.shard_id
                )));
                return report;
            }
        }
        let iterator = match self.iterator.clone() {
            Some(it) => it,
            None => {
                let start = IteratorStart::from(&self.position);
                match get_shard_iterator(ctx.streams, ctx.stream_arn, &self.shard.shard_id, &start)
                    .await
                {
                    Ok(Some(it)) => it,
                    Ok(None) => {
                        self.at_end = true;
                        self.read_through_ms = Some(now_ms());
                        self.finish_step(ctx, &mut report).await;
                        return report;
                    }
                    Err(e) => {
                        self.on_read_error(ctx, e, &mut report);
                        return report;
                    }
                }
            }
        };
        let call_ms = now_ms();
        let page = match get_records(ctx.streams, &iterator, ctx.config.get_records_limit).await {
            Ok(page) => page,
            Err(e) => {
                self.iterator = Some(iterator);
                self.on_read_error(ctx, e, &mut report);
                return report;
            }
        };
        self.read_backoff.reset();
        // Only a page with no records at all is an empty read (caught up, read-through); a page
        // of records already read (a re-read) is not.
        let empty_read = page.records.is_empty();
        let mut fresh = Vec::with_capacity(page.records.len());
        for record in page.records {
            let padded = sequence_of(&record).and_then(|s| pad_sequence_number(s).ok());
            match (&padded, &self.last_seq) {
                (Some(seq), Some(last)) if seq <= last => report.duplicates_dropped += 1,
                _ => fresh.push(record),
            }
        }
        if self.pending_gap.is_some() {
            let resumed = fresh
                .first()
                .and_then(sequence_of)
                .and_then(|s| pad_sequence_number(s).ok());
            if let Err(e) = self.record_pending_gap(ctx, resumed, &mut report).await {
                // Read this page again (from the same position) once the gap is durable.
                self.iterator = None;
                if !e.is_retryable() {
                    report.fatal = Some(e);
                }
                return report;
            }
        }
        let now = Instant::now();
        report.records_read += fresh.len();
        if empty_read {
            if page.next_iterator.is_some() {
                // An open shard read up to now: nothing stamped before the call is missing, so
                // its read-through moves on and an idle shard stops holding the watermark back.
                // A closed shard is only done at its end (no next iterator), so an empty page of
                // a closed shard claims nothing.
                if !self.shard.is_closed() {
                    self.read_through_ms = self.read_through_ms.max(Some(call_ms));
                    self.read_through_since.get_or_insert(now);
                    self.caught_up = true;
                }
                // Caught up: nothing more arrives before the next read, so records that would
                // pass their age during the sleep are flushed before it (with the read-through).
                self.flush_before_sleep = self.buffer_since.is_some_and(|t| {
                    t.elapsed() + ctx.config.idle_sleep >= ctx.config.max_batch_age
                });
                self.not_before = now + ctx.config.idle_sleep;
            }
        } else if fresh.is_empty() {
            self.not_before = now;
        } else {
            for record in &fresh {
                let Some(raw) = sequence_of(record) else {
                    continue;
                };
                if let Ok(padded) = pad_sequence_number(raw) {
                    self.last_seq = Some(padded);
                    self.last_stamp = stamp_of(record).or(self.last_stamp);
                    self.position = StartPosition::AfterSequenceNumber(raw.to_string());
                }
                if stamp_of(record).is_some_and(|s| s > ctx.run_start_ms) {
                    self.caught_up = true;
                }
            }
            self.buffer
                .extend(fresh.into_iter().map(|r| StreamInput::Api(Box::new(r))));
            self.buffer_since.get_or_insert(now);
            self.not_before = now;
        }
        self.iterator = page.next_iterator;
        if self.iterator.is_none() {
            self.at_end = true;
            self.read_through_ms = self.read_through_ms.max(Some(call_ms));
        }
        self.finish_step(ctx, &mut report).await;
        report
    }

    async fn finish_step(&mut self, ctx: &Ctx<'_>, report: &mut StepReport) {
        if self.flush_due(ctx) {
            if let FlushResult::Fatal(e) = self.flush(ctx, report, false).await {
                report.fatal = Some(e);
            }
        }
    }

    fn on_read_error(&mut self, ctx: &Ctx<'_>, error: ReadError, report: &mut StepReport) {
        let now = Instant::now();
        match error {
            ReadError::Expired(e) => {
                tracing::debug!(shard = %self.shard.shard_id, error = %e, "iterator expired; getting a new one after the last record read");
                report.expired_iterators += 1;
                self.iterator = None;
                self.not_before = now;
            }
            ReadError::Trimmed(e) => {
                tracing::warn!(shard = %self.shard.shard_id, error = %e, "records trimmed from the stream before capture read them");
                self.iterator = None;
                if self.pending_gap.is_none() {
                    self.pending_gap = Some(self.gap(ctx, format!("trimmed: {e}")));
                }
                self.position = StartPosition::TrimHorizon;
                self.not_before = now;
            }
            ReadError::NotFound(e) => {
                tracing::warn!(shard = %self.shard.shard_id, error = %e, "shard no longer exists");
                self.iterator = None;
                if self.pending_gap.is_none() {
                    self.pending_gap = Some(self.gap(ctx, format!("shard gone: {e}")));
                }
                self.at_end = true;
                self.not_before = now;
            }
            ReadError::Retry(e) => {
                let delay = self.read_backoff.next_delay();
                tracing::warn!(
                    shard = %self.shard.shard_id, error = %e, attempt = self.read_backoff.attempts(),
                    delay_ms = delay.as_millis() as u64, "stream read throttled or failed; backing off"
                );
                report.retries += 1;
                self.not_before = now + delay;
            }
            ReadError::Fatal(e) => report.fatal = Some(e),
        }
    }
}
