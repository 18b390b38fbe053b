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
//! request is signed ([`RawBody`]): the SDK still signs, sends and parses the answer, but the
//! items are never parsed into its types and serialised again, which was about two thirds of
//! the writer's CPU (docs/BENCHMARKS.md, restore writer capacity). The calls run in spawned
//! tasks, on every worker thread, not only on the task that drives the restore.
//!
//! `Reconcile` makes an existing table equal to the state: `prepare` scans it once, keeping a
//! fingerprint per key grouped by bucket, and each `write_bucket` puts only what differs and
//! deletes what the state does not have.

use super::{
    BucketWritten, FinishContext, PrepareContext, RestoreTarget, TargetUrl, WriteMode, WriteStats,
};
use crate::bucket::bucket_of;
use crate::error::{ReplayError, Result};
use crate::state::LiveItem;
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::{BoxError, DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types as ddb;
use aws_sdk_dynamodb::types::AttributeValue as SdkValue;
use aws_sdk_dynamodb::Client;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use rewind_catalog::TableDescription;
use rewind_format::{AttributeValue, Item};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Notify};

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
/// Error codes that mean "slow down".
const THROTTLING_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "Throttling",
    "TooManyRequestsException",
];

/// Exponential backoff with full jitter, and when to give up.
#[derive(Debug, Clone, Copy)]
struct RetryPolicy {
    /// The first retry waits up to this long.
    base: Duration,
    /// No wait is longer.
    cap: Duration,
    /// Attempts of one batch in a row that write nothing before the restore fails.
    max_stalled: u32,
}

impl RetryPolicy {
    const DEFAULT: RetryPolicy = RetryPolicy {
        base: Duration::from_millis(25),
        cap: Duration::from_secs(5),
        max_stalled: 20,
    };

    /// A random wait in `[0, min(cap, base * 2^attempt)]`.
    fn delay(&self, attempt: u32) -> Duration {
        use rand::Rng;
        let ceiling = self
            .base
            .saturating_mul(1u32 << attempt.min(20))
            .min(self.cap);
        let ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::thread_rng().gen_range(0..=ms))
    }
}

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
}

/// An item found in the table by `Reconcile`: its fingerprint and its key.
type Existing = ([u8; 16], SdkItem);

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
        let failure = SendFailure::from_sdk(err);
        ReplayError::Aws {
            operation,
            target: self.label.clone(),
            message: failure.message,
            retryable: failure.retryable,
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
                Err(e) if attempt >= 10 || !SendFailure::from_sdk(&e).retryable => {
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

    // ---- control plane ------------------------------------------------------------------

    /// DescribeTable; `None` when the table does not exist.
    async fn describe(&self) -> Result<Option<ddb::TableDescription>> {
        match self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
        {
            Ok(out) => Ok(out.table),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(self.aws_error("DescribeTable", &e)),
        }
    }

    /// Polls DescribeTable until the table and its indexes are ACTIVE.
    async fn wait_active(&self) -> Result<ddb::TableDescription> {
        let deadline = Instant::now() + ACTIVE_DEADLINE;
        let mut pause = Duration::from_millis(100);
        loop {
            let table = self.describe().await?;
            let status = table
                .as_ref()
                .and_then(|t| t.table_status())
                .map_or("(not found yet)", |s| s.as_str())
                .to_string();
            if let Some(t) = table.filter(|t| {
                t.table_status() == Some(&ddb::TableStatus::Active)
                    && t.global_secondary_indexes().iter().all(|g| {
                        g.index_status()
                            .is_none_or(|s| *s == ddb::IndexStatus::Active)
                    })
            }) {
                return Ok(t);
            }
            if Instant::now() >= deadline {
                return Err(ReplayError::Aws {
                    operation: "DescribeTable",
                    target: self.label.clone(),
                    message: format!(
                        "table {} (or one of its indexes) is not ACTIVE after {} s (table status {status})",
                        self.table,
                        ACTIVE_DEADLINE.as_secs()
                    ),
                    retryable: true,
                });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(5));
        }
    }

    async fn create_table(&self, description: Option<&TableDescription>) -> Result<()> {
        let d = description.ok_or_else(|| {
            self.invalid(
                "table description",
                "a DynamoDB restore needs the stored table description to create the table \
                 (run capture or backup with DescribeTable permission so it is stored)",
            )
        })?;
        let provisioned = d.billing_mode != "PAY_PER_REQUEST";
        let mut req = self
            .client
            .create_table()
            .table_name(&self.table)
            .set_key_schema(Some(self.key_schema(&d.key_schema)?));
        for a in &d.attribute_definitions {
            req = req.attribute_definitions(built(
                ddb::AttributeDefinition::builder()
                    .attribute_name(&a.attribute_name)
                    .attribute_type(ddb::ScalarAttributeType::from(a.attribute_type.as_str()))
                    .build(),
            )?);
        }
        if provisioned {
            let t = d.provisioned_throughput.as_ref().ok_or_else(|| {
                self.invalid(
                    "table description",
                    "billing mode PROVISIONED without provisioned throughput",
                )
            })?;
            req = req
                .billing_mode(ddb::BillingMode::Provisioned)
                .provisioned_throughput(throughput(t)?);
        } else {
            req = req
                .billing_mode(ddb::BillingMode::PayPerRequest)
                .set_on_demand_throughput(d.on_demand_throughput.as_ref().map(on_demand));
        }
        for g in &d.global_secondary_indexes {
            let mut index = ddb::GlobalSecondaryIndex::builder()
                .index_name(&g.index_name)
                .set_key_schema(Some(self.key_schema(&g.key_schema)?))
                .projection(projection(&g.projection));
            if provisioned {
                let t = g
                    .provisioned_throughput
                    .as_ref()
                    .or(d.provisioned_throughput.as_ref());
                index = index.set_provisioned_throughput(t.map(throughput).transpose()?);
            } else {
                index =
                    index.set_on_demand_throughput(g.on_demand_throughput.as_ref().map(on_demand));
            }
            req = req.global_secondary_indexes(built(index.build())?);
        }
        for l in &d.local_secondary_indexes {
            req = req.local_secondary_indexes(built(
                ddb::LocalSecondaryIndex::builder()
                    .index_name(&l.index_name)
                    .set_key_schema(Some(self.key_schema(&l.key_schema)?))
                    .projection(projection(&l.projection))
                    .build(),
            )?);
        }
        if let Some(class) = &d.table_class {
            req = req.table_class(ddb::TableClass::from(class.as_str()));
        }
        req = req.set_sse_specification(self.sse_specification(d));
        req.send()
            .await
            .map_err(|e| self.aws_error("CreateTable", &e))?;
        tracing::info!(target = %self.label, "table created");
        Ok(())
    }

    fn key_schema(
        &self,
        elements: &[rewind_catalog::description::KeySchemaElement],
    ) -> Result<Vec<ddb::KeySchemaElement>> {
        elements
            .iter()
            .map(|k| {
                built(
                    ddb::KeySchemaElement::builder()
                        .attribute_name(&k.attribute_name)
                        .key_type(ddb::KeyType::from(k.key_type.as_str()))
                        .build(),
                )
            })
            .collect()
    }

    /// SSE for a source encrypted with a KMS key. A key of another region cannot be used here:
    /// then the AWS-managed key (`aws/dynamodb`) is, with a warning.
    fn sse_specification(&self, d: &TableDescription) -> Option<ddb::SseSpecification> {
        let sse = d.sse.as_ref()?;
        let on = matches!(
            sse.status.as_deref(),
            Some("ENABLED" | "ENABLING" | "UPDATING")
        );
        if !on || sse.sse_type.as_deref() != Some("KMS") {
            return None;
        }
        let here = self
            .client
            .config()
            .region()
            .map(|r| r.as_ref().to_string());
        let key = sse.kms_master_key_arn.as_deref().filter(|arn| {
            let key_region = arn.split(':').nth(3);
            let same = key_region.is_some() && key_region == here.as_deref();
            if !same {
                tracing::warn!(target = %self.label, key = arn, "the source's KMS key is in another region; the restored table uses the AWS-managed key");
            }
            same
        });
        Some(
            ddb::SseSpecification::builder()
                .enabled(true)
                .sse_type(ddb::SseType::Kms)
                .set_kms_master_key_id(key.map(str::to_string))
                .build(),
        )
    }

    async fn enable_ttl(&self, attribute: &str) -> Result<()> {
        if self.active_ttl_attribute().await?.as_deref() == Some(attribute) {
            return Ok(());
        }
        let spec = built(
            ddb::TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(attribute)
                .build(),
        )?;
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(spec)
            .send()
            .await
            .map_err(|e| self.aws_error("UpdateTimeToLive (finish: enable TTL)", &e))?;
        Ok(())
    }

    async fn tag(&self, tags: &std::collections::BTreeMap<String, String>) -> Result<()> {
        let table = self.wait_active().await?;
        let arn = table
            .table_arn()
            .ok_or_else(|| self.invalid("DescribeTable answer", "no TableArn"))?;
        let tags = tags
            .iter()
            .map(|(k, v)| built(ddb::Tag::builder().key(k).value(v).build()))
            .collect::<Result<Vec<_>>>()?;
        self.client
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| self.aws_error("TagResource (finish: tags)", &e))?;
        Ok(())
    }

    async fn enable_stream(&self, view_type: Option<&str>) -> Result<()> {
        let view_type = ddb::StreamViewType::from(view_type.unwrap_or("NEW_AND_OLD_IMAGES"));
        let table = self.wait_active().await?;
        if let Some(spec) = table.stream_specification().filter(|s| s.stream_enabled()) {
            if spec.stream_view_type() != Some(&view_type) {
                tracing::warn!(target = %self.label, wanted = %view_type, "the table already has a stream of another view type; left as it is");
            }
            return Ok(());
        }
        let spec = built(
            ddb::StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(view_type)
                .build(),
        )?;
        self.client
            .update_table()
            .table_name(&self.table)
            .stream_specification(spec)
            .send()
            .await
            .map_err(|e| self.aws_error("UpdateTable (finish: enable stream)", &e))?;
        self.wait_active().await.map(drop)
    }

    async fn protect(&self) -> Result<()> {
        let table = self.wait_active().await?;
        if table.deletion_protection_enabled() == Some(true) {
            return Ok(());
        }
        self.client
            .update_table()
            .table_name(&self.table)
            .deletion_protection_enabled(true)
            .send()
            .await
            .map_err(|e| self.aws_error("UpdateTable (finish: deletion protection)", &e))?;
        self.wait_active().await.map(drop)
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

    /// Reads the whole table into per-bucket fingerprints (for `Reconcile`).
    async fn fingerprint_table(
        &self,
        key_names: &[String],
        buckets: u32,
    ) -> Result<HashMap<u32, HashMap<Vec<u8>, Existing>>> {
        let (tx, mut rx) = mpsc::channel::<Vec<SdkItem>>(16);
        let collect = async move {
            let mut out: HashMap<u32, HashMap<Vec<u8>, Existing>> = HashMap::new();
            while let Some(page) = rx.recv().await {
                for sdk in page {
                    let keys: SdkItem = key_names
                        .iter()
                        .map(|n| Some((n.clone(), sdk.get(n)?.clone())))
                        .collect::<Option<_>>()
                        .ok_or_else(|| {
                            self.invalid(
                                "scanned item",
                                format!("an item lacks a key attribute of {key_names:?}"),
                            )
                        })?;
                    let key = canonical_key(&keys).map_err(|e| self.invalid("scanned item", e))?;
                    let item = Item::from(sdk);
                    let fp = fingerprint(&item).map_err(|e| self.invalid("scanned item", e))?;
                    out.entry(bucket_of(&key, buckets))
                        .or_default()
                        .insert(key, (fp, keys));
                }
            }
            Ok(out)
        };
        let ((), out) = tokio::try_join!(self.scan_all(RECONCILE_SEGMENTS, tx), collect)?;
        Ok(out)
    }

    // ---- writing ------------------------------------------------------------------------

    /// Writes every request, in batches, many batches at once.
    async fn write_all(
        &self,
        writes: Vec<Pending>,
        key_names: &[String],
        stats: &WriteStats,
    ) -> Result<()> {
        let mut chunks = Vec::with_capacity(writes.len().div_ceil(BATCH));
        let mut writes = writes.into_iter().peekable();
        while writes.peek().is_some() {
            chunks.push(writes.by_ref().take(BATCH).collect::<Vec<_>>());
        }
        futures::stream::iter(chunks)
            .map(|chunk| self.write_batch(chunk, key_names, stats))
            .buffer_unordered(self.max_concurrency)
            .try_collect::<()>()
            .await
    }

    /// Writes one batch: sends what is still pending until nothing is, backing off while
    /// throttled, giving up after `max_stalled` attempts in a row that wrote nothing.
    async fn write_batch(
        &self,
        mut pending: Vec<Pending>,
        key_names: &[String],
        stats: &WriteStats,
    ) -> Result<()> {
        let first_key = pending
            .first()
            .map(|p| p.keys_json.clone())
            .unwrap_or_default();
        let fail = |message: String, retryable: bool| ReplayError::Aws {
            operation: "BatchWriteItem",
            target: self.label.clone(),
            message: format!(
                "{message} (table {}, batch starting at key {first_key})",
                self.table
            ),
            retryable,
        };
        let (mut attempt, mut stalled) = (0u32, 0u32);
        while !pending.is_empty() {
            let body = batch_body(&self.table, &pending);
            let permit = self.limit.acquire().await;
            let last = match self.sender.send_batch(&self.table, body).await {
                Ok(unprocessed) => {
                    let left = unprocessed
                        .iter()
                        .map(|r| request_key(r, key_names))
                        .collect::<Option<HashSet<Vec<u8>>>>()
                        .filter(|left| left.iter().all(|k| pending.iter().any(|p| &p.key == k)))
                        .ok_or_else(|| {
                            fail(
                                "UnprocessedItems named a key that was not sent".into(),
                                false,
                            )
                        })?;
                    let before = pending.len();
                    let (done, rest): (Vec<Pending>, Vec<Pending>) =
                        pending.into_iter().partition(|p| !left.contains(&p.key));
                    let puts = done.iter().filter(|p| p.image.is_some());
                    WriteStats::add(&stats.items, puts.clone().count() as u64);
                    WriteStats::add(&stats.bytes, puts.map(|p| p.bytes).sum());
                    pending = rest;
                    if pending.is_empty() {
                        permit.clean();
                        break;
                    }
                    permit.throttled();
                    WriteStats::add(&stats.throttles, 1);
                    stalled = if pending.len() < before {
                        0
                    } else {
                        stalled + 1
                    };
                    format!("{} unprocessed item(s)", pending.len())
                }
                Err(f) if f.retryable => {
                    if f.throttled {
                        permit.throttled();
                        WriteStats::add(&stats.throttles, 1);
                    } else {
                        drop(permit); // not held while backing off
                    }
                    stalled += 1;
                    f.message
                }
                Err(f) => {
                    // The service refuses the whole call for one invalid item: name it, if it
                    // is one that does not parse (the images are sent unparsed).
                    let culprit = pending.iter().find_map(|p| {
                        let error = rewind_format::item_from_json(p.image.as_deref()?).err()?;
                        Some(format!("item {}: {error}", p.keys_json))
                    });
                    let message = match culprit {
                        Some(culprit) => format!("{}; {culprit}", f.message),
                        None => f.message,
                    };
                    return Err(fail(message, false));
                }
            };
            if stalled >= self.retry.max_stalled {
                return Err(fail(
                    format!(
                        "{} of the batch's requests still unwritten after {stalled} attempts in a row without progress (last: {last})",
                        pending.len()
                    ),
                    true,
                ));
            }
            WriteStats::add(&stats.retries, 1);
            tokio::time::sleep(self.retry.delay(attempt)).await;
            attempt += 1;
        }
        Ok(())
    }

    /// A put of `item`.
    fn put(item: &LiveItem) -> Pending {
        Pending {
            key: item.key.clone(),
            keys_json: item.keys.clone(),
            image: Some(item.image.clone()),
            bytes: item.image.len() as u64,
        }
    }

    /// A delete of the item with these key attributes.
    fn delete(key: &[u8], keys: &SdkItem) -> Pending {
        Pending {
            key: key.to_vec(),
            keys_json: rewind_format::item_to_json(&Item::from(keys.clone())),
            image: None,
            bytes: 0,
        }
    }

    /// The writes that make `before` (this bucket's part of the table) equal to `items`.
    fn diff(
        before: &HashMap<Vec<u8>, Existing>,
        items: &[LiveItem],
        out: &mut BucketWritten,
    ) -> Result<Vec<Pending>> {
        let mut writes = Vec::new();
        let mut seen = HashSet::with_capacity(items.len());
        for item in items {
            seen.insert(item.key.as_slice());
            if let Some((fp, _)) = before.get(&item.key) {
                let parsed = parse(item)?;
                let now = fingerprint(&parsed).map_err(|e| ReplayError::Invalid {
                    what: "restored item",
                    location: item.keys.clone(),
                    reason: e,
                })?;
                if *fp == now {
                    out.unchanged += 1;
                    continue;
                }
                out.changed += 1;
            }
            writes.push(Self::put(item));
        }
        for (key, (_, keys)) in before {
            if !seen.contains(key.as_slice()) {
                writes.push(Self::delete(key, keys));
                out.deleted += 1;
            }
        }
        Ok(writes)
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
                let e = aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string();
                ReplayError::Aws {
                    operation: "DeleteTable",
                    target: self.label.clone(),
                    message: format!(
                        "{e} (the table was created by this failed restore; delete it by hand)"
                    ),
                    retryable: false,
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
        let before = if existed && ctx.mode == WriteMode::Reconcile {
            self.fingerprint_table(&ctx.key_names, ctx.buckets).await?
        } else {
            HashMap::new()
        };
        *lock(&self.existing) = before;
        *lock(&self.session) = Some(Session {
            mode: ctx.mode,
            key_names: ctx.key_names.clone(),
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
        let writes = match session.mode {
            WriteMode::Fresh | WriteMode::Resume => Ok(items.iter().map(Self::put).collect()),
            WriteMode::Reconcile => {
                let held = lock(&self.existing).remove(&bucket).unwrap_or_default();
                let writes = Self::diff(&held, items, &mut out);
                before = Some(held);
                writes
            }
        };
        let written = match writes {
            Ok(writes) => {
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
        let Some(d) = &ctx.description else {
            return Ok(());
        };
        if let Some(ttl) = d.time_to_live.as_ref().filter(|_| !ctx.no_ttl) {
            if matches!(ttl.status.as_str(), "ENABLED" | "ENABLING") {
                if let Some(attribute) = &ttl.attribute_name {
                    self.enable_ttl(attribute).await?;
                }
            }
        }
        if !d.tags.is_empty() {
            self.tag(&d.tags).await?;
        }
        if d.stream.enabled {
            self.enable_stream(d.stream.view_type.as_deref()).await?;
        }
        if d.deletion_protection_enabled {
            self.protect().await?;
        }
        Ok(())
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

// ---- the batch writer seam ------------------------------------------------------------------

/// One request of a batch, with what is needed to account for it.
#[derive(Debug, Clone)]
struct Pending {
    /// Canonical key bytes: how unprocessed requests are matched.
    key: Vec<u8>,
    /// Key attributes, canonical DynamoDB JSON: a delete's `Key`, and the item in messages.
    keys_json: String,
    /// A put's item, canonical DynamoDB JSON; `None`: a delete.
    image: Option<String>,
    /// Item bytes (DynamoDB JSON) of a put; 0 for a delete.
    bytes: u64,
}

/// The body of a BatchWriteItem call writing `pending` into `table`, written from the items'
/// DynamoDB JSON as they are: `{"RequestItems":{TABLE:[{"PutRequest":{"Item":IMAGE}},
/// {"DeleteRequest":{"Key":KEYS}},...]}}`.
fn batch_body(table: &str, pending: &[Pending]) -> Bytes {
    let table = serde_json::Value::from(table).to_string();
    let requests: usize = pending
        .iter()
        .map(|p| p.image.as_ref().map_or(p.keys_json.len(), String::len) + 24)
        .sum();
    let mut body = Vec::with_capacity(24 + table.len() + requests);
    body.extend_from_slice(b"{\"RequestItems\":{");
    body.extend_from_slice(table.as_bytes());
    body.extend_from_slice(b":[");
    for (i, p) in pending.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        match &p.image {
            Some(image) => {
                body.extend_from_slice(b"{\"PutRequest\":{\"Item\":");
                body.extend_from_slice(image.as_bytes());
            }
            None => {
                body.extend_from_slice(b"{\"DeleteRequest\":{\"Key\":");
                body.extend_from_slice(p.keys_json.as_bytes());
            }
        }
        body.extend_from_slice(b"}}");
    }
    body.extend_from_slice(b"]}}");
    Bytes::from(body)
}

/// Puts a body written by [`batch_body`] in place of the SDK's serialisation of the call's
/// (empty) input, before the request is signed, so that the signature covers it.
#[derive(Debug)]
struct RawBody(Bytes);

impl Intercept for RawBody {
    fn name(&self) -> &'static str {
        "RawBatchWriteBody"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> std::result::Result<(), BoxError> {
        let request = context.request_mut();
        request
            .headers_mut()
            .insert("content-length", self.0.len().to_string());
        *request.body_mut() = self.0.clone().into();
        Ok(())
    }
}

/// Why a BatchWriteItem call failed.
#[derive(Debug, Clone)]
struct SendFailure {
    message: String,
    /// The service asked us to slow down.
    throttled: bool,
    /// The same call may succeed later.
    retryable: bool,
}

impl SendFailure {
    fn from_sdk<E>(err: &SdkError<E>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let throttled = err.code().is_some_and(|c| THROTTLING_CODES.contains(&c));
        let retryable = match err {
            SdkError::TimeoutError(_) | SdkError::ResponseError(_) => true,
            SdkError::DispatchFailure(f) => f.is_io() || f.is_timeout() || f.is_other(),
            SdkError::ServiceError(service) => throttled || service.raw().status().as_u16() >= 500,
            _ => false,
        };
        let message = match err.code() {
            Some(code) => format!("{code}: {}", err.message().unwrap_or("(no message)")),
            None => DisplayErrorContext(err).to_string(),
        };
        SendFailure {
            message,
            throttled,
            retryable,
        }
    }
}

/// Sends one BatchWriteItem call with this body (see [`batch_body`]); returns the unprocessed
/// requests. A seam, so tests can throttle without AWS.
#[async_trait::async_trait]
trait BatchSender: Send + Sync + fmt::Debug {
    async fn send_batch(
        &self,
        table: &str,
        body: Bytes,
    ) -> std::result::Result<Vec<ddb::WriteRequest>, SendFailure>;
}

#[derive(Debug)]
struct SdkSender {
    client: Client,
}

#[async_trait::async_trait]
impl BatchSender for SdkSender {
    async fn send_batch(
        &self,
        table: &str,
        body: Bytes,
    ) -> std::result::Result<Vec<ddb::WriteRequest>, SendFailure> {
        let call = self
            .client
            .batch_write_item()
            // The input names the table (the endpoint rules read it); the body is ours.
            .request_items(table, Vec::new())
            .customize()
            // The SDK's own retries are off: throttling must reach the adaptive limit.
            .config_override(
                aws_sdk_dynamodb::Config::builder().retry_config(RetryConfig::disabled()),
            )
            .interceptor(RawBody(body))
            .send();
        // Spawned: signing, sending and reading the answer run on any worker thread, not on
        // the one driving the restore.
        let out = tokio::spawn(call)
            .await
            .map_err(|e| match e.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(e) => SendFailure {
                    message: format!("BatchWriteItem call cancelled: {e}"),
                    throttled: false,
                    retryable: true,
                },
            })?
            .map_err(|e| SendFailure::from_sdk(&e))?;
        Ok(out
            .unprocessed_items
            .and_then(|mut m| m.remove(table))
            .unwrap_or_default())
    }
}

// ---- adaptive concurrency -------------------------------------------------------------------

/// How many calls may be in flight: starts at [`INITIAL_CONCURRENCY`], grows by one after as
/// many clean responses as the current limit (about once per round of calls), halves on
/// throttling (at least 1). Only a call sent since the last decrease can decrease it again,
/// so one burst of throttled calls halves it once, not once per call.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LimitState {
    limit: usize,
    max: usize,
    in_flight: usize,
    clean_streak: usize,
    /// Incremented by each decrease.
    generation: u64,
}

impl LimitState {
    fn new(max: usize) -> Self {
        LimitState {
            limit: INITIAL_CONCURRENCY.min(max).max(1),
            max: max.max(1),
            in_flight: 0,
            clean_streak: 0,
            generation: 0,
        }
    }

    /// Takes a slot if one is free; returns the generation the call is sent in.
    fn try_acquire(&mut self) -> Option<u64> {
        (self.in_flight < self.limit).then(|| {
            self.in_flight += 1;
            self.generation
        })
    }

    fn release(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    fn on_clean(&mut self) {
        self.clean_streak += 1;
        if self.clean_streak >= self.limit {
            self.clean_streak = 0;
            self.limit = (self.limit + 1).min(self.max);
        }
    }

    fn on_throttle(&mut self, sent_in: u64) {
        if sent_in == self.generation {
            self.limit = (self.limit / 2).max(1);
            self.generation += 1;
            self.clean_streak = 0;
        }
    }
}

/// [`LimitState`] shared by the writer tasks, with waiting for a free slot.
#[derive(Debug)]
struct AdaptiveLimit {
    state: Mutex<LimitState>,
    freed: Notify,
}

impl AdaptiveLimit {
    fn new(max: usize) -> Self {
        AdaptiveLimit {
            state: Mutex::new(LimitState::new(max)),
            freed: Notify::new(),
        }
    }

    fn current(&self) -> usize {
        lock(&self.state).limit
    }

    async fn acquire(&self) -> Permit<'_> {
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if let Some(generation) = lock(&self.state).try_acquire() {
                return Permit {
                    limit: self,
                    generation,
                };
            }
            freed.await;
        }
    }
}

/// A slot of the limit, released when dropped; report how the call went first.
#[derive(Debug)]
struct Permit<'a> {
    limit: &'a AdaptiveLimit,
    generation: u64,
}

impl Permit<'_> {
    fn clean(self) {
        lock(&self.limit.state).on_clean();
    }

    fn throttled(self) {
        lock(&self.limit.state).on_throttle(self.generation);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        lock(&self.limit.state).release();
        self.limit.freed.notify_waiters();
    }
}

// ---- helpers --------------------------------------------------------------------------------

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

fn throughput(
    t: &rewind_catalog::description::ProvisionedThroughput,
) -> Result<ddb::ProvisionedThroughput> {
    built(
        ddb::ProvisionedThroughput::builder()
            .read_capacity_units(t.read_capacity_units)
            .write_capacity_units(t.write_capacity_units)
            .build(),
    )
}

fn on_demand(t: &rewind_catalog::description::OnDemandThroughput) -> ddb::OnDemandThroughput {
    ddb::OnDemandThroughput::builder()
        .set_max_read_request_units(t.max_read_request_units)
        .set_max_write_request_units(t.max_write_request_units)
        .build()
}

fn projection(p: &rewind_catalog::description::Projection) -> ddb::Projection {
    let include = p.projection_type == "INCLUDE";
    ddb::Projection::builder()
        .projection_type(ddb::ProjectionType::from(p.projection_type.as_str()))
        .set_non_key_attributes(include.then(|| p.non_key_attributes.clone()))
        .build()
}

/// A restored item's image as an item.
fn parse(item: &LiveItem) -> Result<Item> {
    rewind_format::item_from_json(&item.image).map_err(|e| ReplayError::Invalid {
        what: "restored item",
        location: item.keys.clone(),
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

/// The canonical key of a put's item or a delete's key.
fn request_key(request: &ddb::WriteRequest, key_names: &[String]) -> Option<Vec<u8>> {
    let attrs = match (request.put_request(), request.delete_request()) {
        (Some(put), _) => put.item(),
        (None, Some(delete)) => delete.key(),
        (None, None) => return None,
    };
    let keys: SdkItem = key_names
        .iter()
        .map(|n| Some((n.clone(), attrs.get(n)?.clone())))
        .collect::<Option<_>>()?;
    canonical_key(&keys).ok()
}

/// 16 bytes of SHA-256 of the item's canonical JSON with numbers in canonical form, so an item
/// stored as `1E+2` equals one stored as `100`.
fn fingerprint(item: &HashMap<String, AttributeValue>) -> std::result::Result<[u8; 16], String> {
    fn canon(v: &AttributeValue) -> std::result::Result<AttributeValue, String> {
        let number = |n: &String| rewind_format::number::canonical(n).map_err(|e| e.to_string());
        Ok(match v {
            AttributeValue::N(n) => AttributeValue::N(number(n)?),
            AttributeValue::Ns(ns) => AttributeValue::Ns(
                ns.iter()
                    .map(number)
                    .collect::<std::result::Result<_, _>>()?,
            ),
            AttributeValue::M(m) => AttributeValue::M(
                m.iter()
                    .map(|(k, v)| Ok((k.clone(), canon(v)?)))
                    .collect::<std::result::Result<_, String>>()?,
            ),
            AttributeValue::L(l) => {
                AttributeValue::L(l.iter().map(canon).collect::<std::result::Result<_, _>>()?)
            }
            other => other.clone(),
        })
    }
    let canonical: HashMap<String, AttributeValue> = item
        .iter()
        .map(|(k, v)| Ok((k.clone(), canon(v)?)))
        .collect::<std::result::Result<_, String>>()?;
    let digest = Sha256::digest(rewind_format::item_to_json(&canonical).as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn limit_grows_by_one_per_round_up_to_max() {
        let mut s = LimitState::new(10);
        assert_eq!(s.limit, INITIAL_CONCURRENCY);
        for _ in 0..INITIAL_CONCURRENCY - 1 {
            s.on_clean();
        }
        assert_eq!(s.limit, INITIAL_CONCURRENCY, "not before a whole round");
        s.on_clean();
        assert_eq!(s.limit, INITIAL_CONCURRENCY + 1);
        for _ in 0..1000 {
            s.on_clean();
        }
        assert_eq!(s.limit, 10, "capped at max");
        assert_eq!(LimitState::new(3).limit, 3, "never starts above max");
        assert_eq!(LimitState::new(0).limit, 1);
    }

    #[test]
    fn limit_halves_once_per_burst_and_never_below_one() {
        let mut s = LimitState::new(32);
        // Eight calls in flight, all throttled: one halving, not eight.
        let sent: Vec<u64> = (0..8).map(|_| s.try_acquire().unwrap()).collect();
        assert_eq!(s.try_acquire(), None, "the limit bounds calls in flight");
        for generation in sent {
            s.release();
            s.on_throttle(generation);
        }
        assert_eq!(s.limit, 4);
        // Calls sent after the decrease can decrease again.
        for _ in 0..10 {
            let g = s.try_acquire().unwrap();
            s.release();
            s.on_throttle(g);
        }
        assert_eq!(s.limit, 1);
        assert_eq!(s.try_acquire(), Some(s.generation));
        assert_eq!(s.try_acquire(), None);
    }

    #[test]
    fn fingerprints_compare_numbers_by_value() {
        let item = |json: &str| rewind_format::item_from_json(json).unwrap();
        let a = item(
            r#"{"pk":{"S":"a"},"n":{"N":"1E+2"},"l":{"L":[{"N":"0.50"}]},"s":{"NS":["1","2E0"]}}"#,
        );
        let b = item(
            r#"{"s":{"NS":["2","1.0"]},"l":{"L":[{"N":".5"}]},"n":{"N":"100"},"pk":{"S":"a"}}"#,
        );
        let c = item(
            r#"{"pk":{"S":"a"},"n":{"N":"101"},"l":{"L":[{"N":"0.5"}]},"s":{"NS":["1","2"]}}"#,
        );
        assert_eq!(fingerprint(&a).unwrap(), fingerprint(&b).unwrap());
        assert_ne!(fingerprint(&a).unwrap(), fingerprint(&c).unwrap());
    }

    /// Throttles every third call, leaves half the batch unprocessed on every other third,
    /// and counts what it writes per key.
    #[derive(Debug, Default)]
    struct Flaky {
        calls: AtomicUsize,
        written: Mutex<HashMap<Vec<u8>, usize>>,
    }

    /// The requests a body carries, in the SDK's types (as the service reads them).
    fn sent(table: &str, body: &[u8]) -> Vec<ddb::WriteRequest> {
        let body: serde_json::Value = serde_json::from_slice(body).expect("a JSON body");
        let item = |v: &serde_json::Value| -> SdkItem {
            rewind_format::item_from_json(&v.to_string())
                .expect("DynamoDB JSON")
                .into()
        };
        body["RequestItems"][table]
            .as_array()
            .expect("requests for the table")
            .iter()
            .map(|r| match (r.get("PutRequest"), r.get("DeleteRequest")) {
                (Some(put), None) => ddb::WriteRequest::builder()
                    .put_request(
                        ddb::PutRequest::builder()
                            .set_item(Some(item(&put["Item"])))
                            .build()
                            .unwrap(),
                    )
                    .build(),
                (None, Some(delete)) => ddb::WriteRequest::builder()
                    .delete_request(
                        ddb::DeleteRequest::builder()
                            .set_key(Some(item(&delete["Key"])))
                            .build()
                            .unwrap(),
                    )
                    .build(),
                _ => panic!("not a write request: {r}"),
            })
            .collect()
    }

    #[test]
    fn batch_bodies_are_the_api_s_json_with_the_images_as_they_are() {
        let mut put = DynamoDbTarget::put(&live(1));
        put.image = Some(r#"{"n":{"N":"1E+2"},"pk":{"S":"k0001"}}"#.into());
        let keys: SdkItem = HashMap::from([("pk".to_string(), SdkValue::S("k\"2".into()))]);
        let delete = DynamoDbTarget::delete(b"k2", &keys);
        let body = batch_body("my.table-1", &[put, delete]);
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            r#"{"RequestItems":{"my.table-1":[{"PutRequest":{"Item":{"n":{"N":"1E+2"},"pk":{"S":"k0001"}}}},{"DeleteRequest":{"Key":{"pk":{"S":"k\"2"}}}}]}}"#
        );
        let requests = sent("my.table-1", &body);
        assert_eq!(
            requests[0].put_request().unwrap().item()["n"],
            SdkValue::N("1E+2".into()),
            "numbers as written"
        );
        assert_eq!(requests[1].delete_request().unwrap().key(), &keys);
    }

    #[async_trait::async_trait]
    impl BatchSender for Flaky {
        async fn send_batch(
            &self,
            table: &str,
            body: Bytes,
        ) -> std::result::Result<Vec<ddb::WriteRequest>, SendFailure> {
            let mut requests = sent(table, &body);
            assert!(requests.len() <= BATCH);
            tokio::time::sleep(Duration::from_millis(1)).await;
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            let unprocessed = match n % 3 {
                0 => {
                    return Err(SendFailure {
                        message: "ProvisionedThroughputExceededException: slow down".into(),
                        throttled: true,
                        retryable: true,
                    })
                }
                1 => requests.split_off(requests.len() / 2),
                _ => Vec::new(),
            };
            let mut written = lock(&self.written);
            for r in &requests {
                *written
                    .entry(request_key(r, &["pk".to_string()]).unwrap())
                    .or_default() += 1;
            }
            Ok(unprocessed)
        }
    }

    fn offline_target(sender: Arc<dyn BatchSender>) -> DynamoDbTarget {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
            .build();
        let mut target =
            DynamoDbTarget::new(Client::from_conf(config), "t", "dynamodb://t".to_string());
        target.sender = sender;
        target.retry = RetryPolicy {
            base: Duration::from_millis(1),
            cap: Duration::from_millis(4),
            max_stalled: 20,
        };
        *lock(&target.session) = Some(Session {
            mode: WriteMode::Fresh,
            key_names: vec!["pk".into()],
        });
        target
    }

    fn live(i: usize) -> LiveItem {
        let keys = format!(r#"{{"pk":{{"S":"k{i:04}"}}}}"#);
        let image = format!(r#"{{"pk":{{"S":"k{i:04}"}},"v":{{"N":"{i}"}}}}"#);
        let parsed = rewind_format::item_from_json(&keys).unwrap();
        LiveItem {
            key: rewind_format::encode_key(&parsed).unwrap(),
            keys,
            image,
            stamp_ms: 0,
            stream_label: String::new(),
            sequence_number: String::new(),
        }
    }

    #[tokio::test]
    async fn throttled_and_unprocessed_items_are_written_exactly_once() {
        let flaky = Arc::new(Flaky::default());
        let target = offline_target(flaky.clone());
        let items: Vec<LiveItem> = (0..600).map(live).collect();
        let stats = WriteStats::default();
        let out = target.write_bucket(0, &items, &stats).await.unwrap();
        assert_eq!(out.items_written, 600);
        let written = lock(&flaky.written);
        assert_eq!(written.len(), 600);
        assert!(written.values().all(|&n| n == 1), "every item exactly once");
        assert!(items.iter().all(|i| written.contains_key(&i.key)));
        assert_eq!(WriteStats::get(&stats.items), 600);
        assert_eq!(
            WriteStats::get(&stats.bytes),
            items.iter().map(|i| i.image.len() as u64).sum::<u64>()
        );
        assert!(WriteStats::get(&stats.throttles) > 0);
        assert!(WriteStats::get(&stats.retries) > 0);
        assert!(
            target.current_concurrency() < INITIAL_CONCURRENCY,
            "concurrency dropped: {}",
            target.current_concurrency()
        );
    }

    #[derive(Debug)]
    struct Refuses {
        retryable: bool,
        calls: AtomicUsize,
    }

    #[async_trait::async_trait]
    impl BatchSender for Refuses {
        async fn send_batch(
            &self,
            table: &str,
            body: Bytes,
        ) -> std::result::Result<Vec<ddb::WriteRequest>, SendFailure> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.retryable {
                Ok(sent(table, &body)) // nothing processed, ever
            } else {
                Err(SendFailure {
                    message: "ValidationException: item too large".into(),
                    throttled: false,
                    retryable: false,
                })
            }
        }
    }

    #[tokio::test]
    async fn a_validation_error_fails_at_once_naming_table_and_key() {
        let refuses = Arc::new(Refuses {
            retryable: false,
            calls: AtomicUsize::new(0),
        });
        let target = offline_target(refuses.clone()).with_max_concurrency(1);
        let err = target
            .write_bucket(0, &[live(7)], &WriteStats::default())
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("ValidationException"), "{text}");
        assert!(text.contains("table t") && text.contains("k0007"), "{text}");
        assert!(matches!(
            err,
            ReplayError::Aws {
                retryable: false,
                ..
            }
        ));
        assert_eq!(refuses.calls.load(Ordering::SeqCst), 1, "no retry");
    }

    #[tokio::test]
    async fn an_item_that_does_not_parse_is_named_when_the_call_is_refused() {
        let refuses = Arc::new(Refuses {
            retryable: false,
            calls: AtomicUsize::new(0),
        });
        let target = offline_target(refuses.clone());
        let mut bad = live(8);
        bad.image = r#"{"pk":{"S":"k0008"},"v":{"N":"eight"}}"#.into();
        let err = target
            .write_bucket(0, &[live(7), bad], &WriteStats::default())
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("ValidationException"), "{text}");
        assert!(text.contains(r#"item {"pk":{"S":"k0008"}}"#), "{text}");
    }

    #[tokio::test]
    async fn a_batch_without_progress_gives_up_retryably() {
        let refuses = Arc::new(Refuses {
            retryable: true,
            calls: AtomicUsize::new(0),
        });
        let target = offline_target(refuses.clone());
        let err = target
            .write_bucket(0, &[live(1), live(2)], &WriteStats::default())
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                ReplayError::Aws {
                    retryable: true,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("without progress"), "{err}");
        assert_eq!(refuses.calls.load(Ordering::SeqCst), 20);
        assert_eq!(target.current_concurrency(), 1);
    }

    #[test]
    fn backoff_is_bounded_by_the_cap() {
        let p = RetryPolicy::DEFAULT;
        for attempt in [0, 1, 5, 30, 1000] {
            let d = p.delay(attempt);
            assert!(d <= p.cap, "{d:?}");
            assert!(d <= p.base * 2u32.pow(attempt.min(20)), "{d:?}");
        }
    }
}
