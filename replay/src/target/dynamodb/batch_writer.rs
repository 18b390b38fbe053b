//! The batch writer: the state's items as BatchWriteItem calls of up to 25 requests, many in
//! flight under the adaptive limit, unprocessed items and retryable failures sent again with
//! exponential backoff and full jitter until a batch stalls too long. The calls go through the
//! [`BatchSender`] seam, so tests can throttle without AWS; errors are read by
//! [`rewind_aws::classify`].

use super::raw_body::{batch_body, RawBody};
use super::{canonical_key, DynamoDbTarget, SdkItem, BATCH};
use crate::error::{ReplayError, Result};
use crate::state::LiveItem;
use crate::target::WriteStats;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::types as ddb;
use aws_sdk_dynamodb::Client;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use rewind_aws::AwsErrorClass;
use rewind_format::Item;
use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

/// Exponential backoff with full jitter, and when to give up.
#[derive(Debug, Clone, Copy)]
pub(super) struct RetryPolicy {
    /// The first retry waits up to this long.
    pub(super) base: Duration,
    /// No wait is longer.
    pub(super) cap: Duration,
    /// Attempts of one batch in a row that write nothing before the restore fails.
    pub(super) max_stalled: u32,
}

impl RetryPolicy {
    pub(super) const DEFAULT: RetryPolicy = RetryPolicy {
        base: Duration::from_millis(25),
        cap: Duration::from_secs(5),
        max_stalled: 20,
    };

    /// A random wait in `[0, min(cap, base * 2^attempt)]`.
    pub(super) fn delay(&self, attempt: u32) -> Duration {
        use rand::Rng;
        let ceiling = self
            .base
            .saturating_mul(1u32 << attempt.min(20))
            .min(self.cap);
        let ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::thread_rng().gen_range(0..=ms))
    }
}

/// One request of a batch, with what is needed to account for it.
#[derive(Debug, Clone)]
pub(super) struct Pending {
    /// Canonical key bytes: how unprocessed requests are matched.
    pub(super) key: Vec<u8>,
    /// Key attributes, canonical DynamoDB JSON: a delete's `Key`, and the item in messages.
    pub(super) keys_json: String,
    /// A put's item, canonical DynamoDB JSON; `None`: a delete.
    pub(super) image: Option<String>,
    /// Item bytes (DynamoDB JSON) of a put; 0 for a delete.
    pub(super) bytes: u64,
}

impl DynamoDbTarget {
    /// Writes every request, in batches, many batches at once.
    pub(super) async fn write_all(
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
    pub(super) fn put(item: &LiveItem) -> Pending {
        Pending {
            key: item.key.clone(),
            keys_json: item.keys().to_string(),
            image: Some(item.image().to_string()),
            bytes: item.image().len() as u64,
        }
    }

    /// A delete of the item with these key attributes.
    pub(super) fn delete(key: &[u8], keys: &SdkItem) -> Pending {
        Pending {
            key: key.to_vec(),
            keys_json: rewind_format::item_to_json(&Item::from(keys.clone())),
            image: None,
            bytes: 0,
        }
    }
}

/// Why a BatchWriteItem call failed.
#[derive(Debug, Clone)]
pub(super) struct SendFailure {
    pub(super) message: String,
    /// The service asked us to slow down.
    pub(super) throttled: bool,
    /// The same call may succeed later.
    pub(super) retryable: bool,
}

/// An SDK error as [`rewind_aws::classify`] reads it: the one rule of every AWS call rewind
/// makes for what is throttling and what may be retried.
impl From<AwsErrorClass> for SendFailure {
    fn from(class: AwsErrorClass) -> Self {
        SendFailure {
            message: class.message,
            throttled: class.throttled,
            retryable: class.retryable,
        }
    }
}

/// Sends one BatchWriteItem call with this body (see [`batch_body`]); returns the unprocessed
/// requests. A seam, so tests can throttle without AWS.
#[async_trait::async_trait]
pub(super) trait BatchSender: Send + Sync + fmt::Debug {
    async fn send_batch(
        &self,
        table: &str,
        body: Bytes,
    ) -> std::result::Result<Vec<ddb::WriteRequest>, SendFailure>;
}

#[derive(Debug)]
pub(super) struct SdkSender {
    pub(super) client: Client,
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
            .map_err(|e| SendFailure::from(rewind_aws::classify(&e)))?;
        Ok(out
            .unprocessed_items
            .and_then(|mut m| m.remove(table))
            .unwrap_or_default())
    }
}

/// The canonical key of a put's item or a delete's key.
pub(super) fn request_key(request: &ddb::WriteRequest, key_names: &[String]) -> Option<Vec<u8>> {
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
