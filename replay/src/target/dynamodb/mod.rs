//! The DynamoDB target: restores into a table in any region.
//!
//! `prepare` creates the table from the stored description (keys, indexes, billing, class, SSE)
//! and waits until it is ACTIVE; settings that would act on the load (TTL) or that a failed
//! restore should not carry (deletion protection), and tags and the stream, are applied by
//! `finish`. Items go in with BatchWriteItem, 25 requests a call, many calls in flight under an
//! adaptive limit (additive increase, multiplicative decrease on throttling); unprocessed
//! items and retryable failures are retried with exponential backoff and full jitter.
//!
//! The state's items are canonical DynamoDB JSON, which is what the API itself speaks, so a
//! call's body is written from them as they are (`{"RequestItems":{T:[{"PutRequest":{"Item":
//! IMAGE}},...]}}`) and put in place of the SDK's serialisation of an empty input before the
//! request is signed (`raw_body`): the SDK still signs, sends and parses the answer, but the
//! items are never parsed into its types and serialised again, which was about two thirds of
//! the writer's CPU (docs/BENCHMARKS.md, restore writer capacity). The calls run in spawned
//! tasks, on every worker thread, not only on the task that drives the restore.
//!
//! `Reconcile` makes an existing table equal to the state: `prepare` scans it once, keeping a
//! fingerprint per key grouped by bucket, and each `write_bucket` puts only what differs and
//! deletes what the state does not have.
//!
//! The files, one concept each: `table_status` (DescribeTable, waiting for ACTIVE),
//! `create_table` (the stored description as a CreateTable call), `batch_writer` (the
//! BatchWriteItem loop: batches, retries, backoff), `adaptive_limit` (how many calls may be in
//! flight), `raw_body` (the call's body written from the items' JSON, and the interceptor that
//! puts it in place), `reconcile` (an existing table's fingerprints, and the writes that make it
//! equal to the state) and `after_load` (the settings `finish` applies).

mod adaptive_limit;
mod after_load;
mod batch_writer;
mod create_table;
mod guarded;
mod raw_body;
mod reconcile;
mod table_status;
#[cfg(test)]
mod tests;

use self::adaptive_limit::AdaptiveLimit;
use self::batch_writer::{BatchSender, RetryPolicy, SdkSender};
use self::guarded::{Guarded, GuardedOutcome};
use self::reconcile::Existing;
use super::{
    BucketWritten, FinishContext, PrepareContext, RestoreTarget, TargetUrl, WriteMode, WriteStats,
};
use crate::error::{ReplayError, Result};
use crate::state::LiveItem;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types as ddb;
use aws_sdk_dynamodb::types::AttributeValue as SdkValue;
use aws_sdk_dynamodb::Client;
use rewind_format::{AttributeValue, Item};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::mpsc;

/// An item (or key) as the SDK holds it.
type SdkItem = HashMap<String, SdkValue>;

/// Requests per BatchWriteItem call (the API's maximum).
const BATCH: usize = 25;
/// Calls in flight when a target starts writing.
const INITIAL_CONCURRENCY: usize = 8;
/// Default upper bound of calls in flight.
const DEFAULT_MAX_CONCURRENCY: usize = 32;
/// Scan segments when reading an existing table for `Reconcile`.
const RECONCILE_SEGMENTS: i32 = 8;
/// Scan segments when reading the table back for `verify`.
const VERIFY_SEGMENTS: i32 = 4;
/// How long a created or updated table may take to become ACTIVE.
const ACTIVE_DEADLINE: Duration = Duration::from_secs(600);

/// A restore into a DynamoDB table.
pub struct DynamoDbTarget {
    client: Client,
    table: String,
    label: String,
    limit: AdaptiveLimit,
    max_concurrency: usize,
    retry: RetryPolicy,
    sender: Arc<dyn BatchSender>,
    /// Set by `prepare`.
    session: Mutex<Option<Session>>,
    /// `Reconcile`: what the table held before the restore, per bucket.
    existing: Mutex<HashMap<u32, HashMap<Vec<u8>, Existing>>>,
    /// `prepare` created the table in this run (`abandon` deletes it).
    created: std::sync::atomic::AtomicBool,
}

/// What `prepare` decided, for `write_bucket`.
#[derive(Debug, Clone)]
struct Session {
    mode: WriteMode,
    key_names: Vec<String>,
    /// A rollback of chosen keys in place: every write is conditional ([`guarded`]).
    guarded: bool,
}

impl fmt::Debug for DynamoDbTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynamoDbTarget")
            .field("table", &self.table)
            .field("label", &self.label)
            .field("max_concurrency", &self.max_concurrency)
            .finish_non_exhaustive()
    }
}

impl DynamoDbTarget {
    /// A target writing `table` through `client`; `label` (the target URL) names it in errors
    /// and is its [`RestoreTarget::id`].
    pub fn new(client: Client, table: &str, label: String) -> Self {
        DynamoDbTarget {
            sender: Arc::new(SdkSender {
                client: client.clone(),
            }),
            client,
            table: table.to_string(),
            label,
            limit: AdaptiveLimit::new(DEFAULT_MAX_CONCURRENCY),
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
            retry: RetryPolicy::DEFAULT,
            session: Mutex::new(None),
            existing: Mutex::new(HashMap::new()),
            created: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// A target for `table` with AWS settings from the standard chain (the endpoint too, so
    /// `AWS_ENDPOINT_URL` applies), in `region` when given.
    pub async fn connect(table: &str, region: Option<&str>) -> Self {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(region) = region {
            loader = loader.region(aws_config::Region::new(region.to_string()));
        }
        let client = Client::new(&loader.load().await);
        let label = TargetUrl::DynamoDb {
            table: table.to_string(),
            region: region.map(str::to_string),
        }
        .to_string();
        DynamoDbTarget::new(client, table, label)
    }

    /// At most `max` BatchWriteItem calls in flight (default 32; at least 1).
    pub fn with_max_concurrency(mut self, max: usize) -> Self {
        self.max_concurrency = max.max(1);
        self.limit = AdaptiveLimit::new(self.max_concurrency);
        self
    }

    /// The number of calls currently allowed in flight (for progress displays).
    pub fn current_concurrency(&self) -> usize {
        self.limit.current()
    }

    fn aws_error<E>(&self, operation: &'static str, err: &SdkError<E>) -> ReplayError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let class = rewind_aws::classify(err);
        ReplayError::Aws {
            operation,
            target: self.label.clone(),
            message: class.message,
            retryable: class.retryable,
        }
    }

    fn invalid(&self, what: &'static str, reason: impl Into<String>) -> ReplayError {
        ReplayError::Invalid {
            what,
            location: self.label.clone(),
            reason: reason.into(),
        }
    }

    /// Calls `call` again (with backoff) while it fails retryably, at most 10 times.
    async fn retrying<T, E, F, Fut>(&self, operation: &'static str, mut call: F) -> Result<T>
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = std::result::Result<T, SdkError<E>>>,
    {
        let mut attempt = 0;
        loop {
            match call().await {
                Ok(v) => return Ok(v),
                Err(e) if attempt >= 10 || !rewind_aws::classify(&e).retryable => {
                    return Err(self.aws_error(operation, &e));
                }
                Err(_) => {
                    tokio::time::sleep(self.retry.delay(attempt)).await;
                    attempt += 1;
                }
            }
        }
    }

    fn session(&self) -> Result<Session> {
        lock(&self.session).clone().ok_or_else(|| {
            self.invalid(
                "restore target",
                "write_bucket called before prepare (a bug)",
            )
        })
    }

    // ---- reading ------------------------------------------------------------------------

    /// Scans `total` segments in parallel (consistent reads), sending each page to `tx`. Stops
    /// early, without error, when the receiver is gone.
    async fn scan_all(&self, total: i32, tx: mpsc::Sender<Vec<SdkItem>>) -> Result<()> {
        let segments = (0..total).map(|segment| {
            let tx = tx.clone();
            async move {
                let mut start: Option<SdkItem> = None;
                loop {
                    let page = self
                        .retrying("Scan", || {
                            self.client
                                .scan()
                                .table_name(&self.table)
                                .segment(segment)
                                .total_segments(total)
                                .consistent_read(true)
                                .set_exclusive_start_key(start.clone())
                                .send()
                        })
                        .await?;
                    start = page.last_evaluated_key.filter(|k| !k.is_empty());
                    let items = page.items.unwrap_or_default();
                    if !items.is_empty() && tx.send(items).await.is_err() {
                        return Ok(());
                    }
                    if start.is_none() {
                        return Ok(());
                    }
                }
            }
        });
        futures::future::try_join_all(segments).await.map(drop)
    }
}

#[async_trait::async_trait]
impl RestoreTarget for DynamoDbTarget {
    fn id(&self) -> String {
        self.label.clone()
    }

    fn drop_hint(&self) -> String {
        let region = self
            .client
            .config()
            .region()
            .map(|r| format!(" --region {r}"))
            .unwrap_or_default();
        format!(
            "`aws dynamodb delete-table --table-name {}{region}`",
            self.table
        )
    }

    async fn precheck(&self, ctx: &PrepareContext) -> Result<()> {
        if ctx.mode == WriteMode::Fresh && self.describe().await?.is_some() {
            return Err(ReplayError::TargetExists {
                target: self.label.clone(),
            });
        }
        Ok(())
    }

    async fn abandon(&self) -> Result<Option<String>> {
        if !self
            .created
            .swap(false, std::sync::atomic::Ordering::AcqRel)
        {
            return Ok(None);
        }
        self.client
            .delete_table()
            .table_name(&self.table)
            .send()
            .await
            .map_err(|e| {
                let class = rewind_aws::classify(&e);
                ReplayError::Aws {
                    operation: "DeleteTable",
                    target: self.label.clone(),
                    message: format!(
                        "{} (the table was created by this failed restore; delete it by hand)",
                        class.message
                    ),
                    retryable: class.retryable,
                }
            })?;
        Ok(Some(format!(
            "deleted table {} (created by this restore)",
            self.label
        )))
    }

    async fn prepare(&self, ctx: &PrepareContext) -> Result<()> {
        if ctx.key_names.is_empty() {
            return Err(self.invalid("restore", "no key attribute names"));
        }
        let existing = self.describe().await?;
        let existed = existing.is_some();
        match (&existing, ctx.mode) {
            (Some(_), WriteMode::Fresh) => {
                return Err(ReplayError::TargetExists {
                    target: self.label.clone(),
                })
            }
            (None, _) => {
                self.create_table(ctx.description.as_ref()).await?;
                self.created
                    .store(true, std::sync::atomic::Ordering::Release);
            }
            (Some(table), _) => {
                let mut names: Vec<&str> = table
                    .key_schema()
                    .iter()
                    .map(|k| k.attribute_name())
                    .collect();
                let mut wanted: Vec<&str> = ctx.key_names.iter().map(String::as_str).collect();
                names.sort_unstable();
                wanted.sort_unstable();
                if names != wanted {
                    return Err(self.invalid(
                        "existing table",
                        format!("its key is {names:?}, the restored table's is {wanted:?}"),
                    ));
                }
            }
        }
        self.wait_active().await?;
        // Rolling chosen keys back in place: the table is live, so each write is conditional
        // on what was read (kept whole for that).
        let guarded = existed && ctx.mode == WriteMode::Reconcile && ctx.scope.is_some();
        let before = if existed && ctx.mode == WriteMode::Reconcile {
            self.fingerprint_table(&ctx.key_names, ctx.buckets, ctx.scope.as_deref(), guarded)
                .await?
        } else {
            HashMap::new()
        };
        if guarded {
            rewind_store::crash_point::pause_point("restore.read").await;
        }
        *lock(&self.existing) = before;
        *lock(&self.session) = Some(Session {
            mode: ctx.mode,
            key_names: ctx.key_names.clone(),
            guarded,
        });
        Ok(())
    }

    async fn write_bucket(
        &self,
        bucket: u32,
        items: &[LiveItem],
        stats: &WriteStats,
    ) -> Result<BucketWritten> {
        let session = self.session()?;
        let mut out = BucketWritten::default();
        // Reconcile: what the table held in this bucket, put back if the write fails, so the
        // bucket can be written again.
        let mut before = None;
        let writes: Result<Vec<Guarded>> = match session.mode {
            WriteMode::Fresh | WriteMode::Resume => Ok(items
                .iter()
                .map(|i| Guarded {
                    write: Self::put(i),
                    read: None,
                })
                .collect()),
            WriteMode::Reconcile => {
                let held = lock(&self.existing).remove(&bucket).unwrap_or_default();
                let writes = Self::diff(&held, items, &mut out);
                before = Some(held);
                writes
            }
        };
        let written = match writes {
            Ok(writes) if session.guarded => self
                .write_guarded(writes, &session.key_names, stats)
                .await
                .map(|outcomes| count_guarded(&mut out, outcomes)),
            Ok(writes) => {
                let writes: Vec<batch_writer::Pending> =
                    writes.into_iter().map(|g| g.write).collect();
                let puts = writes.iter().filter(|p| p.image.is_some());
                out.items_written = puts.clone().count() as u64;
                out.bytes_written = puts.map(|p| p.bytes).sum();
                self.write_all(writes, &session.key_names, stats).await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = written {
            if let Some(held) = before {
                lock(&self.existing).insert(bucket, held);
            }
            return Err(e);
        }
        Ok(out)
    }

    async fn finish(&self, ctx: &FinishContext) -> Result<()> {
        self.apply_settings_after_load(ctx).await
    }

    async fn scan(&self, sink: mpsc::Sender<Vec<Item>>) -> Result<()> {
        let (tx, mut rx) = mpsc::channel::<Vec<SdkItem>>(8);
        let forward = async move {
            while let Some(page) = rx.recv().await {
                let items: Vec<Item> = page.into_iter().map(Item::from).collect();
                if sink.send(items).await.is_err() {
                    break;
                }
            }
            Ok(())
        };
        tokio::try_join!(self.scan_all(VERIFY_SEGMENTS, tx), forward).map(drop)
    }

    async fn active_ttl_attribute(&self) -> Result<Option<String>> {
        let out = self
            .client
            .describe_time_to_live()
            .table_name(&self.table)
            .send()
            .await
            .map_err(|e| self.aws_error("DescribeTimeToLive", &e))?;
        Ok(out.time_to_live_description.and_then(|t| {
            let on = matches!(
                t.time_to_live_status(),
                Some(ddb::TimeToLiveStatus::Enabled | ddb::TimeToLiveStatus::Enabling)
            );
            t.attribute_name.filter(|_| on)
        }))
    }
}

// ---- helpers --------------------------------------------------------------------------------

/// A guarded bucket's counts, from what each write became: only what was written counts as
/// changed, put or deleted; the rest are conflicts.
fn count_guarded(out: &mut BucketWritten, outcomes: Vec<(Guarded, GuardedOutcome)>) {
    out.changed = 0;
    out.deleted = 0;
    for (guarded, outcome) in outcomes {
        let write = guarded.write;
        match outcome {
            GuardedOutcome::Written => {
                match (&write.image, &guarded.read) {
                    (Some(_), read) => {
                        out.items_written += 1;
                        out.bytes_written += write.bytes;
                        if read.is_some() {
                            out.changed += 1;
                        }
                    }
                    (None, _) => out.deleted += 1,
                }
                out.rolled_back.push(write.keys_json);
            }
            GuardedOutcome::Conflict(why) => out.conflicts.push(why),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// An SDK builder's result (fails only when a required field is missing: a bug here).
fn built<T>(r: std::result::Result<T, aws_sdk_dynamodb::error::BuildError>) -> Result<T> {
    r.map_err(|e| ReplayError::Invalid {
        what: "DynamoDB request",
        location: "(request builder)".into(),
        reason: e.to_string(),
    })
}

/// Canonical key bytes of SDK key attributes.
fn canonical_key(keys: &SdkItem) -> std::result::Result<Vec<u8>, String> {
    let keys: HashMap<String, AttributeValue> = keys
        .iter()
        .map(|(k, v)| (k.clone(), AttributeValue::from(v.clone())))
        .collect();
    rewind_format::encode_key(&keys).map_err(|e| e.to_string())
}
