//! How the poller is told to run (`rewind capture`'s flags, the demo's and the tests' settings).

use std::time::Duration;

/// How the poller runs.
#[derive(Debug, Clone)]
pub struct PollerConfig {
    /// The source table.
    pub table: String,
    /// Read until caught up with the moment the run began, flush, return (`rewind capture --once`).
    pub once: bool,
    /// Capture a shard's buffer once it holds this many records (default 1000).
    pub max_batch_records: usize,
    /// ... or once its oldest buffered record was read this long ago (default 1 s), or before a
    /// sleep after an empty read that the record would outlive this age in: bounds the RPO
    /// (docs/OPERATIONS.md, "What RPO to expect"). Compaction folds the small objects away.
    pub max_batch_age: Duration,
    /// A shard with nothing new (only its read-through moved) checkpoints this often (default
    /// 5 s): an idle table's watermark trails by up to this much, but nothing written is at risk,
    /// and an idle shard costs 17k checkpoint PUTs a day instead of 86k.
    pub idle_checkpoint_interval: Duration,
    /// Wait after an empty read of a shard before reading it again (default 1 s; AWS allows
    /// about 5 GetRecords calls per second per shard, shared by all readers).
    pub idle_sleep: Duration,
    /// `Limit` of each GetRecords call (default 1000, the maximum).
    pub get_records_limit: i32,
    /// List the stream's shards again this often (default 30 s), and whenever a shard ends,
    /// to find new and child shards.
    pub shard_refresh_interval: Duration,
    /// Describe the table again this often when following (default 5 min), to version the
    /// description when it changes.
    pub describe_interval: Duration,
    /// First backoff ceiling after a throttled or failed call (default 100 ms).
    pub backoff_base: Duration,
    /// Largest backoff ceiling (default 20 s).
    pub backoff_max: Duration,
    /// Consecutive retries of one shard's reads before giving up; `None` (default): never give
    /// up (the stream holds records for 24 h; throttling passes).
    pub max_retries: Option<u32>,
    /// Attempts of the final flush when stopping before the poller returns the error (default 8).
    pub final_flush_attempts: u32,
    /// Shards read at the same time (default 8).
    pub max_concurrent_shards: usize,
}

impl PollerConfig {
    /// The defaults for `table`.
    pub fn new(table: impl Into<String>) -> Self {
        PollerConfig {
            table: table.into(),
            once: false,
            max_batch_records: 1000,
            max_batch_age: Duration::from_secs(1),
            idle_checkpoint_interval: Duration::from_secs(5),
            idle_sleep: Duration::from_secs(1),
            get_records_limit: 1000,
            shard_refresh_interval: Duration::from_secs(30),
            describe_interval: Duration::from_secs(300),
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_secs(20),
            max_retries: None,
            final_flush_attempts: 8,
            max_concurrent_shards: 8,
        }
    }
}
