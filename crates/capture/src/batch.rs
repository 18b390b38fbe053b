//! One batch of one shard -> change files (one per hour the batch touches) -> checkpoint.
//!
//! The order of durable effects is what makes capture lossless:
//! 1. records are converted; a record that cannot be is quarantined raw (never dropped);
//! 2. records are written in stream order as runs that share an hour partition, one object per
//!    run, named by (stream label, shard, first and last sequence number) so an identical retry
//!    writes the same names;
//! 3. only when every object is durable is the shard checkpoint advanced.
//!
//! A store failure at step 2 stops the batch at the first record of the failed run: everything
//! before it is durable, everything from it on is reported for retry. A failure at step 3 reports
//! the whole batch, whose retry rewrites the same objects.

use crate::error::CaptureError;
use crate::input::StreamInput;
use chrono::DateTime;
use rayon::prelude::*;
use rewind_catalog::checkpoint::{save_checkpoint, Checkpoint};
use rewind_catalog::layout::{ChangeFile, HourPartition};
use rewind_catalog::quarantine::{quarantine, QuarantinedRecord};
use rewind_format::{write_change_file, ChangeRecord, ConvertOptions, RecordSource, WriteOptions};
use rewind_store::ObjectStore;

/// How capture converts and writes.
#[derive(Debug, Clone, Default)]
pub struct CaptureOptions {
    /// Conversion choices (keep MODIFY old images or not).
    pub convert: ConvertOptions,
    /// Parquet settings for capture-time files.
    pub write: WriteOptions,
}

/// Records of one shard, in stream order, and what the reader knows about the shard.
#[derive(Debug, Clone)]
pub struct ShardBatch {
    /// Source table name.
    pub table: String,
    /// The stream's label.
    pub stream_label: String,
    /// The shard.
    pub shard_id: String,
    /// The shard's parent, when known.
    pub parent_shard_id: Option<String>,
    /// The records, in the order the shard holds them.
    pub records: Vec<StreamInput>,
    /// Everything on the shard stamped up to this time (ms) has been read; `None`: up to the
    /// newest record of the batch (Lambda, which is not invoked for an idle shard).
    pub read_through_ms: Option<i64>,
    /// The reader reached the end of a closed shard.
    pub shard_ended: bool,
}

/// What happened to a batch.
#[derive(Debug, Default)]
pub struct BatchOutcome {
    /// Records in the batch.
    pub records: usize,
    /// Records written to change files.
    pub captured: usize,
    /// Records written to quarantine.
    pub quarantined: usize,
    /// Keys of the change files written.
    pub objects: Vec<String>,
    /// Bytes of change files written.
    pub bytes_written: u64,
    /// Newest creation time among the captured records (ms): the capture lag is now minus this.
    pub newest_stamp_ms: Option<i64>,
    /// Oldest creation time among them (ms): a redrive invalidates snapshots from here on.
    pub oldest_stamp_ms: Option<i64>,
    /// The checkpoint as stored after the batch, when it was saved.
    pub checkpoint: Option<Checkpoint>,
    /// Set when part of the batch was not made durable.
    pub failure: Option<BatchFailure>,
}

/// The part of a batch that must be retried.
#[derive(Debug)]
pub struct BatchFailure {
    /// Index (in the batch) of the first record not made durable; retry from it.
    pub first_failed: usize,
    /// Its sequence number as sent (Lambda's `itemIdentifier`).
    pub sequence_number: Option<String>,
    /// Why.
    pub error: CaptureError,
}

enum Segment {
    Run {
        start: usize,
        hour: HourPartition,
        records: Vec<ChangeRecord>,
    },
    Quarantine {
        index: usize,
        entry: Box<QuarantinedRecord>,
    },
}

fn hour_of(ms: i64) -> HourPartition {
    HourPartition::of(DateTime::from_timestamp_millis(ms).unwrap_or_default())
}

/// Captures one batch; `now_ms` is the ingestion time written into every row.
pub async fn capture_batch(
    store: &dyn ObjectStore,
    batch: &ShardBatch,
    options: &CaptureOptions,
    now_ms: i64,
) -> BatchOutcome {
    let source = RecordSource {
        table_name: batch.table.clone(),
        stream_label: batch.stream_label.clone(),
        shard_id: batch.shard_id.clone(),
        ingested_at_ms: now_ms,
    };
    let mut outcome = BatchOutcome {
        records: batch.records.len(),
        ..BatchOutcome::default()
    };
    let mut segments: Vec<Segment> = Vec::new();
    let mut last: Option<(String, i64)> = None;
    // Conversion (parsing, validating and writing every image canonically) is the CPU-heavy
    // part of capture and independent per record: it runs on every core, in record order.
    let converted: Vec<_> = batch
        .records
        .par_iter()
        .map(|input| input.convert(&source, &options.convert))
        .collect();
    for (index, (input, converted)) in batch.records.iter().zip(converted).enumerate() {
        match converted {
            Ok(record) => {
                let hour = hour_of(record.approximate_creation_time_ms);
                outcome.newest_stamp_ms = outcome
                    .newest_stamp_ms
                    .max(Some(record.approximate_creation_time_ms));
                outcome.oldest_stamp_ms = Some(
                    outcome
                        .oldest_stamp_ms
                        .map_or(record.approximate_creation_time_ms, |o| {
                            o.min(record.approximate_creation_time_ms)
                        }),
                );
                last = Some((
                    record.sequence_number.clone(),
                    record.approximate_creation_time_ms,
                ));
                match segments.last_mut() {
                    Some(Segment::Run {
                        hour: h, records, ..
                    }) if *h == hour => records.push(record),
                    _ => segments.push(Segment::Run {
                        start: index,
                        hour,
                        records: vec![record],
                    }),
                }
            }
            Err(error) => {
                tracing::warn!(table = %batch.table, shard = %batch.shard_id, %error, "quarantining a stream record");
                if let Some(seq) = input
                    .sequence_number()
                    .and_then(|s| rewind_format::pad_sequence_number(s).ok())
                {
                    last = Some((seq, last.as_ref().map_or(0, |l| l.1)));
                }
                segments.push(Segment::Quarantine {
                    index,
                    entry: Box::new(QuarantinedRecord::new(
                        &batch.table,
                        &batch.stream_label,
                        &batch.shard_id,
                        input.sequence_number(),
                        &error,
                        now_ms,
                        input.raw_json(),
                    )),
                });
            }
        }
    }

    for segment in segments {
        let (first, result) = match segment {
            Segment::Run {
                start,
                hour,
                records,
            } => (
                start,
                write_run(store, batch, hour, records, options, &mut outcome).await,
            ),
            Segment::Quarantine { index, entry } => {
                let result = quarantine(store, &entry)
                    .await
                    .map(|_| {
                        outcome.quarantined += 1;
                    })
                    .map_err(CaptureError::from);
                (index, result)
            }
        };
        if let Err(error) = result {
            outcome.failure = Some(BatchFailure {
                first_failed: first,
                sequence_number: batch.records[first].sequence_number().map(str::to_string),
                error,
            });
            return outcome;
        }
    }

    let read_through_ms = batch
        .read_through_ms
        .or(outcome.newest_stamp_ms)
        .unwrap_or(0);
    if batch.records.is_empty() && batch.read_through_ms.is_none() && !batch.shard_ended {
        return outcome;
    }
    let checkpoint = Checkpoint {
        table: batch.table.clone(),
        stream_label: batch.stream_label.clone(),
        shard_id: batch.shard_id.clone(),
        parent_shard_id: batch.parent_shard_id.clone(),
        last_sequence_number: last.as_ref().map(|l| l.0.clone()),
        last_stamp_ms: last.as_ref().map(|l| l.1),
        read_through_ms,
        shard_ended: batch.shard_ended,
        updated_at_ms: now_ms,
        first_captured_ms: Some(now_ms),
    };
    match save_checkpoint(store, &checkpoint).await {
        Ok(stored) => {
            rewind_store::crash_point::crash_point("capture.checkpoint");
            outcome.checkpoint = Some(stored)
        }
        Err(error) if !batch.records.is_empty() => {
            outcome.failure = Some(BatchFailure {
                first_failed: 0,
                sequence_number: batch.records[0].sequence_number().map(str::to_string),
                error: error.into(),
            })
        }
        Err(error) => {
            outcome.failure = Some(BatchFailure {
                first_failed: 0,
                sequence_number: None,
                error: error.into(),
            })
        }
    }
    outcome
}

async fn write_run(
    store: &dyn ObjectStore,
    batch: &ShardBatch,
    hour: HourPartition,
    records: Vec<ChangeRecord>,
    options: &CaptureOptions,
    outcome: &mut BatchOutcome,
) -> Result<(), CaptureError> {
    let first = records
        .iter()
        .map(|r| &r.sequence_number)
        .min()
        .expect("runs are non-empty");
    let last = records
        .iter()
        .map(|r| &r.sequence_number)
        .max()
        .expect("runs are non-empty");
    let key = ChangeFile::batch(
        &batch.table,
        hour,
        &batch.stream_label,
        &batch.shard_id,
        first,
        last,
    )
    .map_err(|e| CaptureError::Input(e.to_string()))?
    .key();
    let rows = records.len();
    let written =
        write_change_file(&store.describe(&key), records, &options.write).map_err(|e| {
            CaptureError::Encode {
                object: store.describe(&key),
                detail: e.to_string(),
            }
        })?;
    let size = written.bytes.len() as u64;
    store.put(&key, written.bytes).await?;
    rewind_store::crash_point::crash_point("capture.change-object");
    outcome.captured += rows;
    outcome.bytes_written += size;
    outcome.objects.push(key);
    Ok(())
}
