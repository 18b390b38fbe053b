//! What the poller tells its caller: a progress line per flush and a summary at the end.

/// One flush, for a progress line: what was written and how far behind the stream capture is.
#[derive(Debug, Clone)]
pub struct PollProgress {
    /// The table.
    pub table: String,
    /// The shard flushed.
    pub shard_id: String,
    /// Records written to change files by this flush.
    pub records: usize,
    /// Records quarantined by this flush.
    pub quarantined: usize,
    /// Change files written by this flush.
    pub objects: usize,
    /// Bytes written by this flush.
    pub bytes: u64,
    /// Newest creation time among the records written (ms).
    pub newest_stamp_ms: Option<i64>,
    /// Capture lag: flush time minus the newest record's creation time (ms), the live RPO.
    pub lag_ms: Option<i64>,
    /// The shard's read-through time after the flush (ms).
    pub read_through_ms: Option<i64>,
    /// The flush ended the shard (closed, read to its end).
    pub shard_ended: bool,
    /// Records written so far in this run.
    pub total_records: u64,
    /// Change files written so far in this run.
    pub total_objects: u64,
}

/// What a poller run did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PollSummary {
    /// The table.
    pub table: String,
    /// The stream read.
    pub stream_arn: String,
    /// Its label.
    pub stream_label: String,
    /// Records read from the stream.
    pub records_read: u64,
    /// Records written to change files.
    pub records_captured: u64,
    /// Records quarantined.
    pub quarantined: u64,
    /// Change files written.
    pub objects: u64,
    /// Bytes of change files written.
    pub bytes_written: u64,
    /// Flushes that wrote records, quarantined records or ended a shard.
    pub flushes: u64,
    /// Keys of the gaps recorded.
    pub gaps: Vec<String>,
    /// Shards listed by the stream (last listing).
    pub shards_listed: usize,
    /// Shards read in this run.
    pub shards_read: usize,
    /// Shards read to their end in this run.
    pub shards_ended: usize,
    /// Throttled or failed calls retried.
    pub retries: u64,
    /// Iterators replaced after expiring.
    pub expired_iterators: u64,
    /// Key of the table description written, when it changed (at start or while following).
    pub description_written: Vec<String>,
    /// Capture lag of each flush that wrote records, in order (ms).
    pub flush_lags_ms: Vec<i64>,
    /// The run was ended by the stop signal.
    pub stopped: bool,
    /// The table was gone (or went while followed): its stream was drained and the deletion
    /// recorded, which ends this table's capture.
    pub deleted: Option<rewind_catalog::deletion::TableDeletion>,
    /// The table had been re-created under its name: each previous table's stream was drained
    /// and its deletion recorded before the new table was followed.
    pub previous_lineages_deleted: Vec<rewind_catalog::deletion::TableDeletion>,
    /// Wall-clock duration of the run (s).
    pub seconds: f64,
}

impl PollSummary {
    /// Largest capture lag seen (ms).
    pub fn max_lag_ms(&self) -> Option<i64> {
        self.flush_lags_ms.iter().copied().max()
    }
}

/// Most lags kept in [`PollSummary::flush_lags_ms`] (a long follow run keeps the latest).
pub(super) const MAX_LAGS_KEPT: usize = 10_000;
