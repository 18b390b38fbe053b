//! The DynamoDB target's unit tests: the adaptive limit, batch bodies, and the batch writer
//! against senders that throttle, leave items unprocessed or refuse, all without AWS.

use super::adaptive_limit::LimitState;
use super::batch_writer::{request_key, BatchSender, RetryPolicy, SendFailure};
use super::raw_body::batch_body;
use super::*;
use bytes::Bytes;
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
        guarded: false,
    });
    target
}

fn live(i: usize) -> LiveItem {
    let keys = format!(r#"{{"pk":{{"S":"k{i:04}"}}}}"#);
    let image = format!(r#"{{"pk":{{"S":"k{i:04}"}},"v":{{"N":"{i}"}}}}"#);
    let parsed = rewind_format::item_from_json(&keys).unwrap();
    LiveItem::new(
        rewind_format::encode_key(&parsed).unwrap(),
        &keys,
        &image,
        0,
        "",
        "",
    )
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
        items.iter().map(|i| i.image().len() as u64).sum::<u64>()
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
    let bad = live(8).with_image(r#"{"pk":{"S":"k0008"},"v":{"N":"eight"}}"#);
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
