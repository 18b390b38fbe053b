//! The Lambda handler on real-shaped DynamoDB stream events (tumbling-window form, fixtures in
//! `tests/fixtures/`): what it writes, what it answers Lambda, and what it refuses.
//!
//! Fixtures (table `shop`, shard `shardId-00000001795672800000-a1b2c3d4`):
//! - `tumbling_batch.json`: 6 records from 06:59:58 to 07:00:02 (two hour partitions), INSERT,
//!   MODIFY, REMOVE, every DynamoDB type, one fractional `ApproximateCreationDateTime`;
//! - `tumbling_ttl_delete.json`: a TTL deletion (`userIdentity`) and a user's deletion;
//! - `tumbling_unconvertible.json`: a record with a number `"twelve"` between two good ones;
//! - `tumbling_keys_only.json`: a KEYS_ONLY stream;
//! - `tumbling_window_end.json`: the end-of-window invocation, no records;
//! - `no_shard_id.json`: an event from a mapping without a tumbling window.

use rewind_capture::lambda::{handle_stream_event, invoke};
use rewind_capture::lambda_event::StreamEvent;
use rewind_capture::{CaptureError, CaptureOptions, Capturer};
use rewind_catalog::{claim_table, layout};
use rewind_catalog::{list_quarantined, load_checkpoint};
use rewind_format::{image_hash, read_change_file, ChangeRecord, EventName};
use rewind_store::{list_all, FaultKind, FaultyStore, LocalStore, ObjectStore, Op, Store};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

const BATCH: &str = include_str!("fixtures/tumbling_batch.json");
const TTL: &str = include_str!("fixtures/tumbling_ttl_delete.json");
const UNCONVERTIBLE: &str = include_str!("fixtures/tumbling_unconvertible.json");
const KEYS_ONLY: &str = include_str!("fixtures/tumbling_keys_only.json");
const WINDOW_END: &str = include_str!("fixtures/tumbling_window_end.json");
const NO_SHARD: &str = include_str!("fixtures/no_shard_id.json");

const TABLE: &str = "shop";
const LABEL: &str = "2026-11-26T06:00:00.000";
const SHARD: &str = "shardId-00000001795672800000-a1b2c3d4";
const TABLE_ARN: &str = "arn:aws:dynamodb:us-east-1:123456789012:table/shop";
/// 2026-11-26T07:00:30Z: half a minute after the batch's newest record.
const NOW: i64 = 1_795_676_430_000;

fn fixture(text: &str) -> Value {
    serde_json::from_str(text).expect("fixtures are JSON")
}

/// The raw sequence numbers of a fixture's records, in order.
fn sequence_numbers(event: &Value) -> Vec<String> {
    event["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["dynamodb"]["SequenceNumber"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

fn padded(seq: &str) -> String {
    format!("{seq:0>40}")
}

/// A fixture event whose `Records` start at `from` (what Lambda sends when it retries from a
/// reported item).
fn records_from(event: &Value, from: usize) -> Value {
    let mut retry = event.clone();
    let rest: Vec<Value> = event["Records"].as_array().unwrap()[from..].to_vec();
    retry["Records"] = Value::Array(rest);
    retry
}

fn local() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store: Store = Arc::new(LocalStore::new(dir.path()));
    (dir, store)
}

fn capturer(store: &Store) -> Capturer {
    Capturer::new(store.clone(), CaptureOptions::default())
}

/// Every change-file row a reader sees, in key order of their files.
async fn rows(store: &dyn ObjectStore) -> Vec<ChangeRecord> {
    let mut out = Vec::new();
    for meta in list_all(store, &layout::changes_prefix(TABLE))
        .await
        .unwrap()
    {
        let body = store.get(&meta.key).await.unwrap();
        out.extend(read_change_file(&meta.key, body).unwrap());
    }
    out
}

async fn change_keys(store: &dyn ObjectStore) -> Vec<String> {
    list_all(store, &layout::changes_prefix(TABLE))
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.key)
        .collect()
}

/// Asserts that a reader sees exactly the fixture's records, each once (without de-duplication).
async fn assert_each_record_once(store: &dyn ObjectStore, event: &Value) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for row in rows(store).await {
        *seen.entry(row.sequence_number).or_default() += 1;
    }
    let mut want: Vec<String> = sequence_numbers(event).iter().map(|s| padded(s)).collect();
    want.sort();
    let mut got: Vec<String> = seen.keys().cloned().collect();
    got.sort();
    assert_eq!(got, want, "every record of the batch, and no other");
    assert!(
        seen.values().all(|&n| n == 1),
        "a record is visible more than once: {seen:?}"
    );
}

fn clean_response() -> Value {
    json!({"state": {}, "batchItemFailures": []})
}

fn retry_from(seq: &str) -> Value {
    json!({"state": {}, "batchItemFailures": [{"itemIdentifier": seq}]})
}

#[tokio::test]
async fn a_normal_batch_is_captured_losslessly() {
    let (_dir, store) = local();
    let event = fixture(BATCH);
    let (response, stats) = handle_stream_event(&capturer(&store), &event.to_string(), NOW)
        .await
        .unwrap();
    assert_eq!(response, clean_response());
    assert_eq!(stats.table, TABLE);
    assert_eq!(
        (
            stats.records_captured,
            stats.quarantined,
            stats.failed_batches
        ),
        (6, 0, 0)
    );
    assert_eq!(stats.newest_stamp_ms, Some(1_795_676_402_000));

    // One object per hour the batch touches, named by its first and last sequence number.
    let seqs = sequence_numbers(&event);
    let keys = change_keys(store.as_ref()).await;
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(keys[0].contains("/hour=06/") && keys[0].contains(&padded(&seqs[0])));
    assert!(keys[0].ends_with(&format!("{}.parquet", padded(&seqs[2]))));
    assert!(keys[1].contains("/hour=07/") && keys[1].contains(&padded(&seqs[3])));
    let written: u64 = {
        let mut n = 0;
        for k in &keys {
            n += store.head(k).await.unwrap().size;
        }
        n
    };
    assert_eq!(stats.bytes_written, written);

    let rows = rows(store.as_ref()).await;
    assert_eq!(rows.len(), 6);
    let by_seq: HashMap<&str, &ChangeRecord> = rows
        .iter()
        .map(|r| (r.sequence_number.as_str(), r))
        .collect();
    let row = |i: usize| by_seq[padded(&seqs[i]).as_str()];
    for r in &rows {
        assert_eq!(
            (
                r.table_name.as_str(),
                r.stream_label.as_str(),
                r.shard_id.as_str()
            ),
            (TABLE, LABEL, SHARD)
        );
        assert_eq!(r.ingested_at_ms, NOW);
    }
    // The fractional stamp keeps its milliseconds (aws_lambda_events would misread it).
    assert_eq!(row(1).approximate_creation_time_ms, 1_795_676_399_123);
    assert_eq!(row(0).approximate_creation_time_ms, 1_795_676_398_000);
    // Lossless values: all 38 digits, exact bytes, sets, nesting, escaping.
    let u2 = row(2).new_image.as_deref().unwrap();
    for needle in [
        r#""ledger":{"N":"12345678901234567890123456789012345678"}"#,
        r#""avatar":{"B":"iVBORw0KGgo="}"#,
        r#""tiny":{"N":"-1.5E-130"}"#,
        r#""tags":{"SS":["a","b"]}"#,
        r#""deleted_at":{"NULL":true}"#,
        r#""history":{"L":[]}"#,
        r#""prefs":{"M":{}}"#,
        r#""name":{"S":"Bo \"Quote\" Liñan"}"#,
    ] {
        assert!(u2.contains(needle), "{needle} not in {u2}");
    }
    // A MODIFY links to the version before it by hash; a REMOVE keeps the deleted item.
    assert_eq!(row(3).event_name, EventName::Modify);
    assert_eq!(row(3).old_image, None);
    assert_eq!(
        row(3).old_image_hash,
        Some(image_hash(row(0).new_image.as_deref().unwrap()))
    );
    assert_eq!(row(4).event_name, EventName::Remove);
    assert_eq!(row(4).new_image, None);
    assert!(row(4).old_image.as_deref().unwrap().contains("SKU-12"));
    assert_eq!(row(4).user_identity, None);

    let checkpoint = load_checkpoint(store.as_ref(), TABLE, LABEL, SHARD)
        .await
        .unwrap()
        .expect("a checkpoint after a clean batch");
    assert_eq!(
        checkpoint.last_sequence_number.as_deref(),
        Some(padded(&seqs[5]).as_str())
    );
    assert_eq!(checkpoint.read_through_ms, 1_795_676_402_000);
}

#[tokio::test]
async fn a_ttl_deletion_keeps_its_user_identity() {
    let (_dir, store) = local();
    let event = fixture(TTL);
    let (response, stats) = handle_stream_event(&capturer(&store), &event.to_string(), NOW)
        .await
        .unwrap();
    assert_eq!(response, clean_response());
    assert_eq!(stats.records_captured, 2);
    let seqs = sequence_numbers(&event);
    let rows = rows(store.as_ref()).await;
    let find = |seq: &str| {
        rows.iter()
            .find(|r| r.sequence_number == padded(seq))
            .unwrap()
    };
    let ttl = find(&seqs[0]);
    assert_eq!(ttl.event_name, EventName::Remove);
    assert_eq!(
        ttl.user_identity.as_deref(),
        Some(r#"{"principalId":"dynamodb.amazonaws.com","type":"Service"}"#)
    );
    assert!(ttl.old_image.as_deref().unwrap().contains("SESSION#9f3c"));
    let by_user = find(&seqs[1]);
    assert_eq!(by_user.event_name, EventName::Remove);
    assert_eq!(by_user.user_identity, None);
}

#[tokio::test]
async fn an_unconvertible_record_is_quarantined_and_the_rest_captured() {
    let (_dir, store) = local();
    let event = fixture(UNCONVERTIBLE);
    let seqs = sequence_numbers(&event);
    let (response, stats) = handle_stream_event(&capturer(&store), &event.to_string(), NOW)
        .await
        .unwrap();
    assert_eq!(response, clean_response(), "a bad record is not a retry");
    assert_eq!(
        (
            stats.records_captured,
            stats.quarantined,
            stats.failed_batches
        ),
        (2, 1, 0)
    );

    let quarantined = list_quarantined(store.as_ref(), TABLE).await.unwrap();
    assert_eq!(quarantined.len(), 1);
    let q = &quarantined[0];
    assert_eq!(q.sequence_number.as_deref(), Some(seqs[1].as_str()));
    assert_eq!(q.shard_id, SHARD);
    assert!(
        q.field.contains("NewImage") && q.reason.contains("twelve"),
        "{q:?}"
    );
    assert_eq!(q.record, event["Records"][1], "kept raw, as it arrived");

    let mut captured: Vec<String> = rows(store.as_ref())
        .await
        .into_iter()
        .map(|r| r.sequence_number)
        .collect();
    captured.sort();
    assert_eq!(captured, vec![padded(&seqs[0]), padded(&seqs[2])]);
    let checkpoint = load_checkpoint(store.as_ref(), TABLE, LABEL, SHARD)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        checkpoint.last_sequence_number.as_deref(),
        Some(padded(&seqs[2]).as_str())
    );
}

/// A throttled write of the second hour's object: Lambda is told to retry from that object's
/// first record, the first hour is durable and readable already, and Lambda's retry (which
/// starts at the reported record) completes the batch without a gap or a duplicate.
#[tokio::test]
async fn a_transient_store_failure_mid_batch_reports_the_first_record_not_durable() {
    let (_dir, inner) = local();
    // Put #1: the 06:00 object; put #2: the 07:00 object.
    let faulty =
        Arc::new(FaultyStore::new(inner.clone()).fail_nth(Op::Put, 2, FaultKind::Throttled));
    let store: Store = faulty.clone();
    let capturer = capturer(&store);
    let event = fixture(BATCH);
    let seqs = sequence_numbers(&event);

    let (response, stats) = handle_stream_event(&capturer, &event.to_string(), NOW)
        .await
        .unwrap();
    assert_eq!(response, retry_from(&seqs[3]));
    assert_eq!((stats.records_captured, stats.failed_batches), (3, 1));
    assert_eq!(faulty.injected(), 1);
    let mut durable: Vec<String> = rows(inner.as_ref())
        .await
        .into_iter()
        .map(|r| r.sequence_number)
        .collect();
    durable.sort(); // files are sorted by key, not by sequence
    assert_eq!(
        durable,
        seqs[..3].iter().map(|s| padded(s)).collect::<Vec<_>>(),
        "records before the failure are durable and readable"
    );
    assert_eq!(
        load_checkpoint(inner.as_ref(), TABLE, LABEL, SHARD)
            .await
            .unwrap(),
        None,
        "no checkpoint claims records that are not durable"
    );

    // Lambda retries from the reported record.
    let retry = records_from(&event, 3);
    let (response, stats) = handle_stream_event(&capturer, &retry.to_string(), NOW + 1_000)
        .await
        .unwrap();
    assert_eq!(response, clean_response());
    assert_eq!((stats.records_captured, stats.failed_batches), (3, 0));
    assert_each_record_once(inner.as_ref(), &event).await;
    let checkpoint = load_checkpoint(inner.as_ref(), TABLE, LABEL, SHARD)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        checkpoint.last_sequence_number.as_deref(),
        Some(padded(&seqs[5]).as_str())
    );
}

/// Each write of the batch failing once (first object, second object, checkpoint): the first
/// invocation asks for a retry, the second identical invocation succeeds, and a reader sees each
/// record exactly once.
#[tokio::test]
async fn any_failed_write_then_an_identical_retry_leaves_no_gap_and_no_duplicate() {
    let event = fixture(BATCH);
    let seqs = sequence_numbers(&event);
    for (nth, what, retry_at) in [
        (1, "first object", 0),
        (2, "second object", 3),
        (3, "checkpoint", 0),
    ] {
        let (_dir, inner) = local();
        let faulty =
            Arc::new(FaultyStore::new(inner.clone()).fail_nth(Op::Put, nth, FaultKind::Transient));
        let store: Store = faulty.clone();
        let capturer = capturer(&store);
        let (response, _) = handle_stream_event(&capturer, &event.to_string(), NOW)
            .await
            .unwrap();
        assert_eq!(response, retry_from(&seqs[retry_at]), "{what}");
        let (response, stats) = handle_stream_event(&capturer, &event.to_string(), NOW + 60_000)
            .await
            .unwrap();
        assert_eq!(response, clean_response(), "{what}");
        assert_eq!(stats.records_captured, 6, "{what}");
        assert_eq!(faulty.injected(), 1, "{what}");
        assert_each_record_once(inner.as_ref(), &event).await;
        assert_eq!(change_keys(inner.as_ref()).await.len(), 2, "{what}");
        assert!(
            load_checkpoint(inner.as_ref(), TABLE, LABEL, SHARD)
                .await
                .unwrap()
                .is_some(),
            "{what}"
        );
    }
}

/// A throttled claim of the table (the first write to a fresh prefix) retries the whole batch.
#[tokio::test]
async fn a_throttled_table_claim_retries_the_whole_batch() {
    let (_dir, inner) = local();
    let store: Store = Arc::new(FaultyStore::new(inner.clone()).fail_nth(
        Op::PutIfAbsent,
        1,
        FaultKind::Throttled,
    ));
    let capturer = capturer(&store);
    let event = fixture(BATCH);
    let (response, stats) = handle_stream_event(&capturer, &event.to_string(), NOW)
        .await
        .unwrap();
    assert_eq!(response, retry_from(&sequence_numbers(&event)[0]));
    assert_eq!((stats.records_captured, stats.failed_batches), (0, 1));
    assert!(list_all(inner.as_ref(), "").await.unwrap().is_empty());
    let (response, _) = handle_stream_event(&capturer, &event.to_string(), NOW)
        .await
        .unwrap();
    assert_eq!(response, clean_response());
    assert_each_record_once(inner.as_ref(), &event).await;
}

/// A failed quarantine write stops the batch at the unconvertible record: the record before it
/// is durable, and the retry from the reported record quarantines it and captures the rest.
#[tokio::test]
async fn a_failed_quarantine_write_reports_the_unconvertible_record() {
    let (_dir, inner) = local();
    // Put #1: the run before the bad record; put #2: the quarantine entry.
    let store: Store =
        Arc::new(FaultyStore::new(inner.clone()).fail_nth(Op::Put, 2, FaultKind::Transient));
    let capturer = capturer(&store);
    let event = fixture(UNCONVERTIBLE);
    let seqs = sequence_numbers(&event);
    let (response, _) = handle_stream_event(&capturer, &event.to_string(), NOW)
        .await
        .unwrap();
    assert_eq!(response, retry_from(&seqs[1]));
    assert!(list_quarantined(inner.as_ref(), TABLE)
        .await
        .unwrap()
        .is_empty());
    let (response, stats) =
        handle_stream_event(&capturer, &records_from(&event, 1).to_string(), NOW)
            .await
            .unwrap();
    assert_eq!(response, clean_response());
    assert_eq!((stats.records_captured, stats.quarantined), (1, 1));
    assert_eq!(
        list_quarantined(inner.as_ref(), TABLE).await.unwrap().len(),
        1
    );
    let mut captured: Vec<String> = rows(inner.as_ref())
        .await
        .into_iter()
        .map(|r| r.sequence_number)
        .collect();
    captured.sort();
    assert_eq!(captured, vec![padded(&seqs[0]), padded(&seqs[2])]);
}

#[tokio::test]
async fn the_same_batch_delivered_twice_rewrites_the_same_objects() {
    let (_dir, store) = local();
    let capturer = capturer(&store);
    let event = fixture(BATCH);
    let (first, _) = handle_stream_event(&capturer, &event.to_string(), NOW)
        .await
        .unwrap();
    let keys = change_keys(store.as_ref()).await;
    // Redelivered a minute later (another ingestion time inside the rows, same names).
    let (second, stats) = handle_stream_event(&capturer, &event.to_string(), NOW + 60_000)
        .await
        .unwrap();
    assert_eq!(first, clean_response());
    assert_eq!(second, clean_response());
    assert_eq!(stats.records_captured, 6);
    assert_eq!(change_keys(store.as_ref()).await, keys, "same object keys");
    assert_each_record_once(store.as_ref(), &event).await;
}

#[tokio::test]
async fn a_permanent_store_failure_fails_the_invocation() {
    let (_dir, inner) = local();
    let store: Store =
        Arc::new(FaultyStore::new(inner.clone()).fail_nth(Op::Put, 2, FaultKind::Permanent));
    let error = handle_stream_event(&capturer(&store), &fixture(BATCH).to_string(), NOW)
        .await
        .unwrap_err();
    assert!(!error.is_retryable());
    assert!(error.to_string().contains("AccessDenied"), "{error}");
    // What was written before stays (a retry of the whole batch rewrites it identically).
    assert_eq!(rows(inner.as_ref()).await.len(), 3);
}

#[tokio::test]
async fn an_event_without_a_shard_id_is_refused_naming_the_missing_setting() {
    let (_dir, store) = local();
    let error = handle_stream_event(&capturer(&store), &fixture(NO_SHARD).to_string(), NOW)
        .await
        .unwrap_err();
    assert!(matches!(error, CaptureError::Input(_)), "{error:?}");
    let message = error.to_string();
    for needle in ["shardId", "TumblingWindowInSeconds", "table shop"] {
        assert!(message.contains(needle), "{needle} not in: {message}");
    }
    assert!(list_all(store.as_ref(), "").await.unwrap().is_empty());
    // Through the whole invocation too (metrics off): the Lambda fails.
    let text = fixture(NO_SHARD).to_string();
    let event = StreamEvent::parse(&text).unwrap();
    assert!(invoke(&capturer(&store), None, event, NOW).await.is_err());
}

#[tokio::test]
async fn a_keys_only_stream_is_refused_naming_the_view_type() {
    let (_dir, store) = local();
    let error = handle_stream_event(&capturer(&store), &fixture(KEYS_ONLY).to_string(), NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            CaptureError::Catalog(rewind_catalog::CatalogError::ViewType { .. })
        ),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("KEYS_ONLY") && message.contains("NEW_AND_OLD_IMAGES"),
        "{message}"
    );
    assert!(change_keys(store.as_ref()).await.is_empty());
    assert!(list_quarantined(store.as_ref(), TABLE)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_prefix_owned_by_another_table_is_refused() {
    let (_dir, store) = local();
    claim_table(
        store.as_ref(),
        TABLE,
        "arn:aws:dynamodb:eu-west-1:210987654321:table/shop",
    )
    .await
    .unwrap();
    let error = handle_stream_event(&capturer(&store), &fixture(BATCH).to_string(), NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            CaptureError::Catalog(rewind_catalog::CatalogError::ForeignTable { .. })
        ),
        "{error:?}"
    );
    assert!(change_keys(store.as_ref()).await.is_empty());
}

#[tokio::test]
async fn the_table_is_claimed_with_its_arn() {
    let (_dir, store) = local();
    handle_stream_event(&capturer(&store), &fixture(BATCH).to_string(), NOW)
        .await
        .unwrap();
    let owner = rewind_catalog::read_owner(store.as_ref(), TABLE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(owner.table_arn, TABLE_ARN);
}

#[tokio::test]
async fn an_end_of_window_event_without_records_returns_its_state() {
    let (_dir, store) = local();
    let (response, stats) =
        handle_stream_event(&capturer(&store), &fixture(WINDOW_END).to_string(), NOW)
            .await
            .unwrap();
    assert_eq!(
        response,
        json!({"state": {"captured": "6"}, "batchItemFailures": []})
    );
    assert_eq!(stats.table, TABLE);
    assert_eq!((stats.records_captured, stats.newest_stamp_ms), (0, None));
    assert!(list_all(store.as_ref(), "").await.unwrap().is_empty());
}

#[tokio::test]
async fn state_is_passed_through_and_a_null_state_becomes_empty() {
    let (_dir, store) = local();
    let mut event = fixture(BATCH);
    event["state"] = json!({"k": "v"});
    let (response, _) = handle_stream_event(&capturer(&store), &event.to_string(), NOW)
        .await
        .unwrap();
    assert_eq!(response["state"], json!({"k": "v"}));
    event["state"] = Value::Null;
    let (response, _) = handle_stream_event(&capturer(&store), &event.to_string(), NOW)
        .await
        .unwrap();
    assert_eq!(response, clean_response());
}

#[tokio::test]
async fn events_that_are_not_stream_events_are_refused() {
    let (_dir, store) = local();
    for (event, needle) in [
        (json!([1, 2]), "not a JSON object"),
        (json!({"shardId": SHARD}), "no Records"),
        (
            json!({"Records": [], "shardId": SHARD, "eventSourceARN": "arn:aws:s3:::bucket"}),
            "not a DynamoDB stream ARN",
        ),
    ] {
        let error = handle_stream_event(&capturer(&store), &event.to_string(), NOW)
            .await
            .unwrap_err();
        assert!(error.to_string().contains(needle), "{needle}: {error}");
    }
}

/// CloudWatch being unreachable does not fail an invocation whose records are durable.
#[tokio::test]
async fn a_metrics_failure_does_not_fail_the_invocation() {
    use aws_sdk_cloudwatch::config::{retry::RetryConfig, BehaviorVersion, Credentials, Region};
    let config = aws_sdk_cloudwatch::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        // Nothing listens on the discard port: the call fails at once.
        .endpoint_url("http://127.0.0.1:9")
        .retry_config(RetryConfig::disabled())
        .build();
    let cloudwatch = aws_sdk_cloudwatch::Client::from_conf(config);
    let (_dir, store) = local();
    let event = fixture(BATCH);
    let text = event.to_string();
    let parsed = StreamEvent::parse(&text).unwrap();
    let response = invoke(&capturer(&store), Some(&cloudwatch), parsed, NOW)
        .await
        .unwrap();
    assert_eq!(response, clean_response());
    assert_each_record_once(store.as_ref(), &event).await;

    // The error itself says it may be retried (a dispatch failure).
    let stats = rewind_capture::InvocationStats {
        table: TABLE.into(),
        ..Default::default()
    };
    let error = rewind_capture::metrics::publish(&cloudwatch, &stats, NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            CaptureError::Aws {
                operation: "PutMetricData",
                retryable: true,
                ..
            }
        ),
        "{error:?}"
    );
}

/// A record whose `eventSourceARN` names another table (or another stream of this one) in a
/// batch of `shop` is not written under `shop`: it is quarantined as it arrived, naming both
/// tables, and the rest of the batch is captured.
#[tokio::test]
async fn a_record_of_another_table_in_the_batch_is_quarantined() {
    let (_dir, store) = local();
    let mut event = fixture(BATCH);
    let seqs = sequence_numbers(&event);
    event["Records"][2]["eventSourceARN"] = json!(
        "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-11-26T06:00:00.000"
    );
    let (response, stats) = handle_stream_event(&capturer(&store), &event.to_string(), NOW)
        .await
        .unwrap();
    assert_eq!(
        response,
        clean_response(),
        "a foreign record is not a retry"
    );
    assert_eq!((stats.records_captured, stats.quarantined), (5, 1));
    let quarantined = list_quarantined(store.as_ref(), TABLE).await.unwrap();
    assert_eq!(quarantined.len(), 1);
    let q = &quarantined[0];
    assert_eq!(q.sequence_number.as_deref(), Some(seqs[2].as_str()));
    assert!(
        q.field == "eventSourceARN" && q.reason.contains("orders") && q.reason.contains("shop"),
        "{q:?}"
    );
    assert_eq!(q.record, event["Records"][2], "kept raw, as it arrived");
    let captured: Vec<String> = rows(store.as_ref())
        .await
        .into_iter()
        .map(|r| r.sequence_number)
        .collect();
    assert!(!captured.contains(&padded(&seqs[2])), "{captured:?}");
    assert_eq!(captured.len(), 5);
}

/// NEW_IMAGE streams are captured (a REMOVE then carries only its keys); OLD_IMAGE streams,
/// like KEYS_ONLY, cannot rebuild items and are refused before anything is written.
#[tokio::test]
async fn a_new_image_stream_is_captured_and_an_old_image_stream_refused() {
    let with_view = |view: &str, drop: &str| {
        let mut event = fixture(BATCH);
        for record in event["Records"].as_array_mut().unwrap() {
            let change = record["dynamodb"].as_object_mut().unwrap();
            change.insert("StreamViewType".into(), json!(view));
            change.remove(drop);
        }
        event
    };
    let (_dir, store) = local();
    let (response, stats) = handle_stream_event(
        &capturer(&store),
        &with_view("NEW_IMAGE", "OldImage").to_string(),
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(response, clean_response());
    assert_eq!((stats.records_captured, stats.quarantined), (6, 0));
    let rows = rows(store.as_ref()).await;
    let remove = rows
        .iter()
        .find(|r| r.event_name == EventName::Remove)
        .unwrap();
    assert_eq!((&remove.old_image, remove.old_image_hash), (&None, None));
    assert!(remove.keys.contains("USER#u1"), "{remove:?}");

    let (_dir, store) = local();
    let error = handle_stream_event(
        &capturer(&store),
        &with_view("OLD_IMAGE", "NewImage").to_string(),
        NOW,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            error,
            CaptureError::Catalog(rewind_catalog::CatalogError::ViewType { .. })
        ),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("OLD_IMAGE") && message.contains("NEW_AND_OLD_IMAGES"),
        "{message}"
    );
    assert!(change_keys(store.as_ref()).await.is_empty());
}
