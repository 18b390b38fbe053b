//! The stream poller against a scripted stand-in of the DynamoDB Streams endpoint
//! (`standin/mod.rs`): AWS behaviour moto does not have (shard splits, paginated listings,
//! expired iterators, trimmed records, throttling), through the real SDK clients.

mod standin;

use async_trait::async_trait;
use bytes::Bytes;
use rewind_capture::{
    redrive, run_poller, CaptureError, CaptureOptions, Capturer, PollProgress, PollSummary,
    PollerConfig, RedriveRequest,
};
use rewind_catalog::layout;
use rewind_catalog::{
    latest_description, list_checkpoints, list_gaps, load_checkpoint, save_checkpoint, Checkpoint,
};
use rewind_format::{read_change_file, ChangeRecord};
use rewind_store::{
    list_all, FaultKind, FaultyStore, ListPage, LocalStore, ObjectMeta, ObjectStore, Op, Store,
};
use rewind_workload::{Workload, WorkloadConfig};
use serde_json::Value;
use standin::{Fault, StandIn};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TABLE: &str = "orders";

/// Workload records for the stand-in: stamped in the past (so `--once` reads them all).
fn records(seed: u64, n: usize) -> Vec<Value> {
    let mut w = Workload::new(WorkloadConfig {
        table: TABLE.into(),
        seed,
        start_epoch_secs: chrono::Utc::now().timestamp() - 3 * 3600,
        ..WorkloadConfig::default()
    });
    w.by_ref().take(n).collect()
}

/// A store that logs every put (key and body) in order, to check the order of durable effects.
#[derive(Debug)]
struct Recording {
    inner: Store,
    puts: Mutex<Vec<(String, Bytes)>>,
}

#[async_trait]
impl ObjectStore for Recording {
    async fn put(&self, key: &str, body: Bytes) -> rewind_store::Result<ObjectMeta> {
        let meta = self.inner.put(key, body.clone()).await?;
        self.puts.lock().unwrap().push((key.to_string(), body));
        Ok(meta)
    }
    async fn put_if_absent(&self, key: &str, body: Bytes) -> rewind_store::Result<ObjectMeta> {
        self.inner.put_if_absent(key, body).await
    }
    async fn get(&self, key: &str) -> rewind_store::Result<Bytes> {
        self.inner.get(key).await
    }
    async fn list_page(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> rewind_store::Result<ListPage> {
        self.inner.list_page(prefix, start_after, limit).await
    }
    async fn head(&self, key: &str) -> rewind_store::Result<ObjectMeta> {
        self.inner.head(key).await
    }
    async fn delete(&self, key: &str) -> rewind_store::Result<()> {
        self.inner.delete(key).await
    }
    fn describe(&self, key: &str) -> String {
        self.inner.describe(key)
    }
}

struct Env {
    _dir: tempfile::TempDir,
    store: Store,
    recording: Arc<Recording>,
}

fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let local: Store = Arc::new(LocalStore::new(dir.path()));
    let recording = Arc::new(Recording {
        inner: local,
        puts: Mutex::new(Vec::new()),
    });
    Env {
        _dir: dir,
        store: recording.clone(),
        recording,
    }
}

/// Quick settings: small pages and batches so every path runs several times.
fn config(once: bool) -> PollerConfig {
    PollerConfig {
        once,
        max_batch_records: 4,
        max_batch_age: Duration::from_millis(30),
        idle_sleep: Duration::from_millis(10),
        get_records_limit: 3,
        shard_refresh_interval: Duration::from_millis(200),
        backoff_base: Duration::from_millis(5),
        backoff_max: Duration::from_millis(40),
        ..PollerConfig::new(TABLE)
    }
}

async fn poll(
    standin: &StandIn,
    store: &Store,
    config: &PollerConfig,
) -> Result<PollSummary, CaptureError> {
    let (ddb, streams) = standin.clients();
    let capturer = Capturer::new(store.clone(), CaptureOptions::default());
    let result = tokio::time::timeout(
        Duration::from_secs(60),
        run_poller(
            &capturer,
            &ddb,
            &streams,
            config,
            std::future::pending(),
            &|_: &PollProgress| {},
        ),
    )
    .await
    .expect("the poller finished within 60 s");
    result
}

/// Every captured row, by (shard, padded sequence number): how often it appears.
async fn captured(store: &dyn ObjectStore) -> HashMap<(String, String), usize> {
    let mut seen = HashMap::new();
    for meta in list_all(store, &layout::changes_prefix(TABLE))
        .await
        .unwrap()
    {
        let body = store.get(&meta.key).await.unwrap();
        for r in read_change_file(&meta.key, body).unwrap() {
            *seen
                .entry((r.shard_id.clone(), r.sequence_number.clone()))
                .or_insert(0) += 1;
        }
    }
    seen
}

/// Rows by identity (key, label, sequence): each must appear once.
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

/// Asserts that exactly the listed (shard, index range) records were captured, each once.
async fn assert_exactly(
    store: &dyn ObjectStore,
    standin: &StandIn,
    expect: &[(&str, std::ops::Range<usize>)],
) {
    let seen = captured(store).await;
    let mut want = HashMap::new();
    standin.with(|s| {
        for (shard, range) in expect {
            let sh = s.shard(shard);
            for i in range.clone() {
                want.insert((shard.to_string(), sh.padded(i)), 1usize);
            }
        }
    });
    let dupes: Vec<_> = seen.iter().filter(|(_, &n)| n > 1).collect();
    assert!(
        dupes.is_empty(),
        "records captured more than once: {dupes:?}"
    );
    let missing: Vec<_> = want.keys().filter(|k| !seen.contains_key(*k)).collect();
    assert!(missing.is_empty(), "records not captured: {missing:?}");
    let extra: Vec<_> = seen.keys().filter(|k| !want.contains_key(*k)).collect();
    assert!(
        extra.is_empty(),
        "records captured that should not be: {extra:?}"
    );
    // Identity (key, label, sequence) is unique too.
    let all = rows(store).await;
    let mut ids: Vec<_> = all.iter().map(|r| r.identity()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), all.len());
}

async fn checkpoint(store: &dyn ObjectStore, standin: &StandIn, shard: &str) -> Checkpoint {
    let label = standin.with(|s| s.label.clone());
    load_checkpoint(store, TABLE, &label, shard)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("checkpoint of {shard}"))
}

#[tokio::test]
async fn shard_split_reads_parent_to_its_end_before_children() {
    let standin = StandIn::start(TABLE).await;
    let recs = records(1, 16);
    standin.with(|s| {
        let p = s.add_shard("shardId-0001-parent", None, 100_000_000_000_000_000_000);
        p.push_records(recs[..7].iter().cloned());
        p.closed = true;
        // Children listed before the parent: lineage, not listing order, decides.
        s.add_shard(
            "shardId-0002-child-a",
            Some("shardId-0001-parent"),
            200_000_000_000_000_000_000,
        )
        .push_records(recs[7..12].iter().cloned());
        s.add_shard(
            "shardId-0003-child-b",
            Some("shardId-0001-parent"),
            300_000_000_000_000_000_000,
        )
        .push_records(recs[12..].iter().cloned());
        let parent = s.shards.remove(0);
        s.shards.push(parent);
    });
    let env = env();
    let summary = poll(&standin, &env.store, &config(true)).await.unwrap();

    assert_exactly(
        env.store.as_ref(),
        &standin,
        &[
            ("shardId-0001-parent", 0..7),
            ("shardId-0002-child-a", 0..5),
            ("shardId-0003-child-b", 0..4),
        ],
    )
    .await;
    assert_eq!(summary.records_captured, 16);
    assert_eq!(summary.shards_ended, 1);
    assert!(summary.gaps.is_empty());
    assert!(summary.objects >= 4, "batched by count: {summary:?}");

    // Order of durable effects: the parent's ended checkpoint (after its last record) comes
    // before the first child object.
    let puts = env.recording.puts.lock().unwrap().clone();
    let parent_end = puts
        .iter()
        .position(|(k, body)| {
            k.starts_with("checkpoints/") && k.ends_with("shardId-0001-parent.json") && {
                let c: Checkpoint = serde_json::from_slice(body).unwrap();
                c.shard_ended
            }
        })
        .expect("parent checkpoint ended");
    let last_parent_object = puts
        .iter()
        .rposition(|(k, _)| k.starts_with("changes/") && k.contains("shardId-0001-parent"))
        .unwrap();
    let first_child = puts
        .iter()
        .position(|(k, _)| k.starts_with("changes/") && k.contains("child"))
        .unwrap();
    assert!(
        last_parent_object < parent_end,
        "parent's records before its end checkpoint"
    );
    assert!(
        parent_end < first_child,
        "child records only after the parent ended: {:?}",
        puts.iter().map(|p| &p.0).collect::<Vec<_>>()
    );

    let parent = checkpoint(env.store.as_ref(), &standin, "shardId-0001-parent").await;
    assert!(parent.shard_ended);
    let a = checkpoint(env.store.as_ref(), &standin, "shardId-0002-child-a").await;
    assert!(!a.shard_ended);
    assert_eq!(a.parent_shard_id.as_deref(), Some("shardId-0001-parent"));
    assert_eq!(
        a.last_sequence_number,
        Some(standin.with(|s| s.shard("shardId-0002-child-a").padded(4)))
    );
    assert!(
        a.read_through_ms >= summary_start_guess(&summary),
        "an empty read advanced read-through"
    );

    // The description was written once; a second run with new records resumes after the
    // checkpoints and writes no new description.
    let (_, d) = latest_description(env.store.as_ref(), TABLE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.table_arn, standin.with(|s| s.table_arn()));
    assert_eq!(d.tags.get("env").map(String::as_str), Some("test"));
    assert_eq!(summary.description_written.len(), 1);
    let more = records(2, 3);
    standin.with(|s| {
        s.shard("shardId-0002-child-a").push_records(more.clone());
        s.item_count = 99; // volatile: not a new version
    });
    let second = poll(&standin, &env.store, &config(true)).await.unwrap();
    assert_eq!(second.records_captured, 3);
    assert!(second.description_written.is_empty());
    assert_exactly(
        env.store.as_ref(),
        &standin,
        &[
            ("shardId-0001-parent", 0..7),
            ("shardId-0002-child-a", 0..8),
            ("shardId-0003-child-b", 0..4),
        ],
    )
    .await;
    // The ended parent is not read again; the children resume after their checkpoints.
    let (parent_reads, child_a) = standin.with(|s| {
        let its = s.calls_of("GetShardIterator");
        let parent = its
            .iter()
            .filter(|c| c.shard.as_deref() == Some("shardId-0001-parent"))
            .count();
        let child: Vec<(String, Option<String>)> = its
            .iter()
            .filter(|c| c.shard.as_deref() == Some("shardId-0002-child-a"))
            .map(|c| {
                (
                    c.request["ShardIteratorType"].as_str().unwrap().to_string(),
                    c.request["SequenceNumber"].as_str().map(str::to_string),
                )
            })
            .collect();
        (parent, child)
    });
    assert_eq!(parent_reads, 1);
    let fifth = standin.with(|s| s.shard("shardId-0002-child-a").seq(4));
    assert_eq!(
        child_a,
        vec![
            ("TRIM_HORIZON".to_string(), None),
            ("AFTER_SEQUENCE_NUMBER".to_string(), Some(fifth))
        ]
    );
}

/// A lower bound of the run's start: the read-through of an idle shard must be at least this.
fn summary_start_guess(summary: &PollSummary) -> i64 {
    chrono::Utc::now().timestamp_millis() - (summary.seconds * 1000.0) as i64 - 60_000
}

#[tokio::test]
async fn expired_iterator_mid_shard_resumes_after_the_last_record_read() {
    let standin = StandIn::start(TABLE).await;
    let recs = records(3, 12);
    standin.with(|s| {
        s.add_shard("shardId-0001", None, 500_000_000_000_000_000_000)
            .push_records(recs);
        // The third GetRecords (after 6 records were read) finds its iterator expired.
        s.faults.push(Fault::new(
            "GetRecords",
            Some("shardId-0001"),
            3,
            1,
            "ExpiredIteratorException",
        ));
    });
    let env = env();
    let summary = poll(&standin, &env.store, &config(true)).await.unwrap();
    assert_exactly(env.store.as_ref(), &standin, &[("shardId-0001", 0..12)]).await;
    assert_eq!(summary.expired_iterators, 1);
    let (iterators, sixth) = standin.with(|s| {
        let sixth = s.shard("shardId-0001").seq(5);
        let its: Vec<(String, Option<String>)> = s
            .calls_of("GetShardIterator")
            .iter()
            .map(|c| {
                (
                    c.request["ShardIteratorType"].as_str().unwrap().to_string(),
                    c.request["SequenceNumber"].as_str().map(str::to_string),
                )
            })
            .collect();
        (its, sixth)
    });
    assert_eq!(
        iterators,
        vec![
            ("TRIM_HORIZON".to_string(), None),
            ("AFTER_SEQUENCE_NUMBER".to_string(), Some(sixth))
        ]
    );
}

#[tokio::test]
async fn trimmed_records_are_recorded_as_a_gap_and_capture_goes_on() {
    let standin = StandIn::start(TABLE).await;
    let recs = records(4, 15);
    standin.with(|s| {
        s.add_shard("shardId-0001", None, 700_000_000_000_000_000_000)
            .push_records(recs[..5].iter().cloned());
    });
    let env = env();
    poll(&standin, &env.store, &config(true)).await.unwrap();
    // Capture stops for more than 24 h: records 5..9 are trimmed before it comes back.
    standin.with(|s| {
        let sh = s.shard("shardId-0001");
        sh.push_records(recs[5..].iter().cloned());
        sh.trimmed_before = 10;
    });
    let summary = poll(&standin, &env.store, &config(true)).await.unwrap();
    assert_eq!(summary.gaps.len(), 1, "{summary:?}");
    assert_exactly(
        env.store.as_ref(),
        &standin,
        &[("shardId-0001", 0..5), ("shardId-0001", 10..15)],
    )
    .await;
    let gaps = list_gaps(env.store.as_ref(), TABLE).await.unwrap();
    assert_eq!(gaps.len(), 1);
    let (after, resumed) = standin.with(|s| {
        (
            s.shard("shardId-0001").padded(4),
            s.shard("shardId-0001").padded(10),
        )
    });
    assert_eq!(gaps[0].shard_id, "shardId-0001");
    assert_eq!(
        gaps[0].after_sequence_number.as_deref(),
        Some(after.as_str())
    );
    assert_eq!(
        gaps[0].resumed_at_sequence_number.as_deref(),
        Some(resumed.as_str())
    );
    assert!(gaps[0].after_stamp_ms.is_some());
    assert!(
        gaps[0].reason.contains("TrimmedDataAccessException"),
        "{}",
        gaps[0].reason
    );

    // Caught up again: a third run records no new gap.
    let third = poll(&standin, &env.store, &config(true)).await.unwrap();
    assert!(third.gaps.is_empty());
    assert_eq!(list_gaps(env.store.as_ref(), TABLE).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_listed_shard_starting_after_its_checkpoint_is_a_gap() {
    let standin = StandIn::start(TABLE).await;
    let recs = records(5, 8);
    standin.with(|s| {
        let sh = s.add_shard("shardId-0001", None, 800_000_000_000_000_000_000);
        sh.push_records(recs.iter().cloned());
        sh.trimmed_before = 4;
        sh.list_first_available = true;
    });
    let env = env();
    let label = standin.with(|s| s.label.clone());
    let before = standin.with(|s| s.shard("shardId-0001").padded(1));
    save_checkpoint(
        env.store.as_ref(),
        &Checkpoint {
            table: TABLE.into(),
            stream_label: label,
            shard_id: "shardId-0001".into(),
            parent_shard_id: None,
            last_sequence_number: Some(before.clone()),
            last_stamp_ms: Some(1),
            read_through_ms: 1,
            shard_ended: false,
            updated_at_ms: 1,
            first_captured_ms: None,
        },
    )
    .await
    .unwrap();
    let summary = poll(&standin, &env.store, &config(true)).await.unwrap();
    assert_eq!(summary.gaps.len(), 1);
    let gaps = list_gaps(env.store.as_ref(), TABLE).await.unwrap();
    assert_eq!(
        gaps[0].after_sequence_number.as_deref(),
        Some(before.as_str())
    );
    assert_exactly(env.store.as_ref(), &standin, &[("shardId-0001", 4..8)]).await;
}

#[tokio::test]
async fn a_vanished_checkpointed_shard_is_a_gap_once() {
    let standin = StandIn::start(TABLE).await;
    let recs = records(6, 6);
    standin.with(|s| {
        s.add_shard("shardId-0001-old", None, 900_000_000_000_000_000_000)
            .push_records(recs[..3].iter().cloned());
        s.add_shard(
            "shardId-0002-new",
            Some("shardId-0001-old"),
            910_000_000_000_000_000_000,
        )
        .push_records(recs[3..].iter().cloned());
    });
    let env = env();
    // Capture read part of the old shard, then stopped; the shard closed, and was trimmed away.
    let (label, seq) = standin.with(|s| (s.label.clone(), s.shard("shardId-0001-old").padded(0)));
    save_checkpoint(
        env.store.as_ref(),
        &Checkpoint {
            table: TABLE.into(),
            stream_label: label.clone(),
            shard_id: "shardId-0001-old".into(),
            parent_shard_id: None,
            last_sequence_number: Some(seq.clone()),
            last_stamp_ms: Some(5),
            read_through_ms: 5,
            shard_ended: false,
            updated_at_ms: 5,
            first_captured_ms: None,
        },
    )
    .await
    .unwrap();
    standin.with(|s| s.shard("shardId-0001-old").listed = false);
    let summary = poll(&standin, &env.store, &config(true)).await.unwrap();
    assert_eq!(summary.gaps.len(), 1, "{summary:?}");
    let gaps = list_gaps(env.store.as_ref(), TABLE).await.unwrap();
    assert_eq!(gaps[0].shard_id, "shardId-0001-old");
    assert_eq!(gaps[0].after_sequence_number.as_deref(), Some(seq.as_str()));
    assert!(
        checkpoint(env.store.as_ref(), &standin, "shardId-0001-old")
            .await
            .shard_ended
    );
    assert_exactly(env.store.as_ref(), &standin, &[("shardId-0002-new", 0..3)]).await;
    let again = poll(&standin, &env.store, &config(true)).await.unwrap();
    assert!(again.gaps.is_empty());
    assert_eq!(list_gaps(env.store.as_ref(), TABLE).await.unwrap().len(), 1);
}

#[tokio::test]
async fn throttling_backs_off_and_loses_nothing() {
    let standin = StandIn::start(TABLE).await;
    let recs = records(7, 14);
    standin.with(|s| {
        s.add_shard("shardId-0001", None, 400_000_000_000_000_000_000)
            .push_records(recs);
        s.faults.push(Fault::new(
            "DescribeStream",
            None,
            1,
            2,
            "LimitExceededException",
        ));
        s.faults.push(Fault::new(
            "GetShardIterator",
            Some("shardId-0001"),
            1,
            1,
            "InternalServerError",
        ));
        s.faults.push(Fault::new(
            "GetRecords",
            Some("shardId-0001"),
            2,
            3,
            "LimitExceededException",
        ));
        s.faults.push(Fault::new(
            "GetRecords",
            Some("shardId-0001"),
            7,
            1,
            "ProvisionedThroughputExceededException",
        ));
    });
    let env = env();
    let summary = poll(&standin, &env.store, &config(true)).await.unwrap();
    assert_exactly(env.store.as_ref(), &standin, &[("shardId-0001", 0..14)]).await;
    let fired: Vec<usize> = standin.with(|s| s.faults.iter().map(|f| f.fired).collect());
    assert_eq!(fired, vec![2, 1, 3, 1], "every injected fault was met");
    assert!(summary.retries >= 5, "{summary:?}");
}

#[tokio::test]
async fn describe_stream_pages_are_followed() {
    let standin = StandIn::start(TABLE).await;
    let recs = records(8, 12);
    standin.with(|s| {
        s.page_size = 1;
        for (i, chunk) in recs.chunks(3).enumerate() {
            s.add_shard(
                &format!("shardId-000{i}"),
                None,
                (i as u128 + 1) * 10_000_000_000_000_000_000_000,
            )
            .push_records(chunk.iter().cloned());
        }
    });
    let env = env();
    let summary = poll(&standin, &env.store, &config(true)).await.unwrap();
    assert_exactly(
        env.store.as_ref(),
        &standin,
        &[
            ("shardId-0000", 0..3),
            ("shardId-0001", 0..3),
            ("shardId-0002", 0..3),
            ("shardId-0003", 0..3),
        ],
    )
    .await;
    assert_eq!(summary.shards_listed, 4);
    let continued = standin.with(|s| {
        s.calls_of("DescribeStream")
            .iter()
            .filter(|c| c.request.get("ExclusiveStartShardId").is_some())
            .count()
    });
    assert!(continued >= 3, "LastEvaluatedShardId followed: {continued}");
}

#[tokio::test]
async fn store_failures_retry_the_part_not_made_durable() {
    let standin = StandIn::start(TABLE).await;
    // One record a second, the third one in the next hour: the first batch is written as two
    // objects (one per hour partition), so a failure of the second leaves the first durable.
    let now = chrono::Utc::now().timestamp();
    let mut w = Workload::new(WorkloadConfig {
        table: TABLE.into(),
        seed: 9,
        records_per_second: 1,
        start_epoch_secs: now - now % 3600 - 3600 - 2,
        ..WorkloadConfig::default()
    });
    let recs: Vec<Value> = w.by_ref().take(13).collect();
    standin.with(|s| {
        s.add_shard("shardId-0001", None, 600_000_000_000_000_000_000)
            .push_records(recs);
    });
    let dir = tempfile::tempdir().unwrap();
    // Put 1: the description; 2: the first hour's object; 3: the second hour's (fails: retried
    // from the first record of that object); 4: that object again; 5: the checkpoint (fails:
    // the rest of the batch is retried, rewriting the same object).
    let faulty = Arc::new(
        FaultyStore::new(Arc::new(LocalStore::new(dir.path())))
            .fail_nth(Op::Put, 3, FaultKind::Throttled)
            .fail_nth(Op::Put, 5, FaultKind::Transient),
    );
    let recording = Arc::new(Recording {
        inner: faulty.clone(),
        puts: Mutex::new(Vec::new()),
    });
    let store: Store = recording.clone();
    let summary = poll(&standin, &store, &config(true)).await.unwrap();
    assert_eq!(faulty.injected(), 2, "faults were injected");
    assert!(summary.retries >= 2, "{summary:?}");
    assert_exactly(
        faulty.inner().as_ref(),
        &standin,
        &[("shardId-0001", 0..13)],
    )
    .await;
    let (first, third) = standin.with(|s| {
        (
            s.shard("shardId-0001").padded(0),
            s.shard("shardId-0001").padded(2),
        )
    });
    let puts = recording.puts.lock().unwrap().clone();
    let writes_of = |seq: &str| {
        puts.iter()
            .filter(|(k, _)| k.starts_with("changes/") && k.contains(&format!("_{seq}_")))
            .count()
    };
    assert_eq!(
        writes_of(&first),
        1,
        "the durable part is not written again"
    );
    assert_eq!(
        writes_of(&third),
        2,
        "the failed part is retried (once after the put, once after the checkpoint)"
    );
    let cp = checkpoint(faulty.inner().as_ref(), &standin, "shardId-0001").await;
    assert_eq!(
        cp.last_sequence_number,
        Some(standin.with(|s| s.shard("shardId-0001").padded(12)))
    );

    // A failure retrying cannot fix stops the poller with the error.
    let dir = tempfile::tempdir().unwrap();
    let broken: Store = Arc::new(
        FaultyStore::new(Arc::new(LocalStore::new(dir.path()))).fail_fraction(
            Op::Put,
            1.0,
            1,
            FaultKind::Permanent,
        ),
    );
    let err = poll(&standin, &broken, &config(true)).await.unwrap_err();
    assert!(!err.is_retryable(), "{err}");
    assert!(err.to_string().contains("AccessDenied"), "{err}");
}

#[tokio::test]
async fn keys_only_stream_is_refused_before_reading() {
    let standin = StandIn::start(TABLE).await;
    let recs = records(10, 3);
    standin.with(|s| {
        s.view_type = "KEYS_ONLY".into();
        s.add_shard("shardId-0001", None, 100).push_records(recs);
    });
    let env = env();
    let err = poll(&standin, &env.store, &config(true)).await.unwrap_err();
    assert!(
        matches!(
            err,
            CaptureError::Catalog(rewind_catalog::CatalogError::ViewType { .. })
        ),
        "{err}"
    );
    let reads =
        standin.with(|s| s.calls_of("GetShardIterator").len() + s.calls_of("GetRecords").len());
    assert_eq!(reads, 0, "no record was read");
    assert!(
        list_all(env.store.as_ref(), "").await.unwrap().is_empty(),
        "nothing written"
    );
}

#[tokio::test]
async fn following_flushes_on_stop_and_reports_progress() {
    let standin = StandIn::start(TABLE).await;
    let recs = records(11, 10);
    standin.with(|s| {
        s.add_shard("shardId-0001", None, 300_000_000_000_000_000_000)
            .push_records(recs[..4].iter().cloned());
    });
    let env = env();
    let (ddb, streams) = standin.clients();
    let capturer = Capturer::new(env.store.clone(), CaptureOptions::default());
    let seen = Arc::new(Mutex::new(Vec::<PollProgress>::new()));
    let sink = seen.clone();
    let progress = move |p: &PollProgress| sink.lock().unwrap().push(p.clone());
    let stop = Arc::new(tokio::sync::Notify::new());
    let stopper = stop.clone();
    let cfg = PollerConfig {
        max_batch_records: 1000,
        max_batch_age: Duration::from_millis(50),
        ..config(false)
    };
    let run = tokio::spawn(async move {
        run_poller(
            &capturer,
            &ddb,
            &streams,
            &cfg,
            stopper.notified(),
            &progress,
        )
        .await
    });
    // New records arrive while the poller follows the stream.
    tokio::time::sleep(Duration::from_millis(300)).await;
    standin.with(|s| {
        s.shard("shardId-0001")
            .push_records(recs[4..].iter().cloned())
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    let before_stop = chrono::Utc::now().timestamp_millis();
    stop.notify_one();
    let summary = tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(summary.stopped);
    assert_exactly(env.store.as_ref(), &standin, &[("shardId-0001", 0..10)]).await;
    let progress = seen.lock().unwrap().clone();
    assert_eq!(progress.iter().map(|p| p.records).sum::<usize>(), 10);
    assert!(progress.len() >= 2, "a line per flush: {progress:?}");
    assert!(progress.iter().all(|p| p.lag_ms.is_some_and(|l| l > 0)));
    assert_eq!(progress.last().unwrap().total_records, 10);
    assert_eq!(summary.flush_lags_ms.len(), progress.len());
    // Idle shard: read-through advanced by empty reads to (nearly) the stop.
    let cp = checkpoint(env.store.as_ref(), &standin, "shardId-0001").await;
    assert!(
        cp.read_through_ms > before_stop - 1_000,
        "read-through {} vs stop {before_stop}",
        cp.read_through_ms
    );
    assert!(!cp.shard_ended);
}

/// Follows a one-shard stream holding `n` records with `cfg`; returns what was captured after
/// `wait`, then stops the poller and returns what was captured in the end.
async fn captured_while_following(cfg: PollerConfig, n: usize, wait: Duration) -> (usize, usize) {
    let standin = StandIn::start(TABLE).await;
    let recs = records(12, n);
    standin.with(|s| {
        s.add_shard("shardId-0001", None, 300_000_000_000_000_000_000)
            .push_records(recs.iter().cloned());
    });
    let env = env();
    let (ddb, streams) = standin.clients();
    let capturer = Capturer::new(env.store.clone(), CaptureOptions::default());
    let stop = Arc::new(tokio::sync::Notify::new());
    let stopper = stop.clone();
    let run = tokio::spawn(async move {
        run_poller(
            &capturer,
            &ddb,
            &streams,
            &cfg,
            stopper.notified(),
            &|_: &PollProgress| {},
        )
        .await
    });
    tokio::time::sleep(wait).await;
    let before = captured(env.store.as_ref()).await.len();
    stop.notify_one();
    tokio::time::timeout(Duration::from_secs(20), run)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    (before, captured(env.store.as_ref()).await.len())
}

#[tokio::test]
async fn records_are_flushed_before_a_sleep_they_would_outlive_their_age_in() {
    // Caught up after two pages; the sleep after the empty read (30 s) would carry the records
    // past their age (20 s): they are flushed before it, not 20 s later.
    let cfg = PollerConfig {
        max_batch_records: 1000,
        max_batch_age: Duration::from_secs(20),
        idle_sleep: Duration::from_secs(30),
        ..config(false)
    };
    let (before_stop, after) = captured_while_following(cfg, 5, Duration::from_secs(5)).await;
    assert_eq!((before_stop, after), (5, 5));
}

#[tokio::test]
async fn a_short_sleep_does_not_flush_young_records() {
    // The same records with a 10 ms sleep: the age (20 s) is far off, so empty reads do not
    // flush them (no object per empty read); the stop does.
    let cfg = PollerConfig {
        max_batch_records: 1000,
        max_batch_age: Duration::from_secs(20),
        idle_sleep: Duration::from_millis(10),
        ..config(false)
    };
    let (before_stop, after) = captured_while_following(cfg, 5, Duration::from_secs(1)).await;
    assert_eq!((before_stop, after), (0, 5));
}

#[tokio::test]
async fn redrive_captures_a_reported_range_without_moving_checkpoints_back() {
    let standin = StandIn::start(TABLE).await;
    let recs = records(12, 10);
    standin.with(|s| {
        s.add_shard("shardId-0001", None, 250_000_000_000_000_000_000)
            .push_records(recs);
    });
    let env = env();
    let (ddb, streams) = standin.clients();
    let capturer = Capturer::new(env.store.clone(), CaptureOptions::default());
    let (label, seqs) = standin.with(|s| {
        let label = s.label.clone();
        let sh = s.shard("shardId-0001");
        (
            label,
            (0..10)
                .map(|i| (sh.seq(i), sh.padded(i)))
                .collect::<Vec<_>>(),
        )
    });
    // The Lambda consumer got past the range (checkpoint at record 9) and reported 3..=6.
    let lambda_checkpoint = Checkpoint {
        table: TABLE.into(),
        stream_label: label.clone(),
        shard_id: "shardId-0001".into(),
        parent_shard_id: None,
        last_sequence_number: Some(seqs[9].1.clone()),
        last_stamp_ms: Some(chrono::Utc::now().timestamp_millis()),
        read_through_ms: chrono::Utc::now().timestamp_millis(),
        shard_ended: false,
        updated_at_ms: 0,
        first_captured_ms: None,
    };
    save_checkpoint(env.store.as_ref(), &lambda_checkpoint)
        .await
        .unwrap();
    let request = RedriveRequest {
        table: TABLE.into(),
        shard_id: "shardId-0001".into(),
        from_sequence: seqs[3].0.clone(),
        to_sequence: seqs[6].0.clone(),
        stream_arn: None,
    };
    let summary = redrive(
        &capturer,
        &ddb,
        &streams,
        &request,
        &config(true),
        &|_: &PollProgress| {},
    )
    .await
    .unwrap();
    assert!(summary.complete);
    assert_eq!(summary.records_captured, 4);
    assert_eq!(summary.first_sequence.as_deref(), Some(seqs[3].1.as_str()));
    assert_eq!(summary.last_sequence.as_deref(), Some(seqs[6].1.as_str()));
    assert_exactly(env.store.as_ref(), &standin, &[("shardId-0001", 3..7)]).await;
    let after = checkpoint(env.store.as_ref(), &standin, "shardId-0001").await;
    assert_eq!(
        after.last_sequence_number, lambda_checkpoint.last_sequence_number,
        "never moved back"
    );
    assert_eq!(after.read_through_ms, lambda_checkpoint.read_through_ms);
    let at = standin.with(|s| s.calls_of("GetShardIterator")[0].request.clone());
    assert_eq!(at["ShardIteratorType"], "AT_SEQUENCE_NUMBER");
    assert_eq!(at["SequenceNumber"], seqs[3].0.as_str());
}

#[tokio::test]
async fn redrive_behind_the_checkpoint_also_reads_the_records_before_the_range() {
    let standin = StandIn::start(TABLE).await;
    let recs = records(13, 10);
    standin.with(|s| {
        s.add_shard("shardId-0001", None, 260_000_000_000_000_000_000)
            .push_records(recs);
    });
    let env = env();
    let (ddb, streams) = standin.clients();
    let capturer = Capturer::new(env.store.clone(), CaptureOptions::default());
    let seqs: Vec<String> =
        standin.with(|s| (0..10).map(|i| s.shard("shardId-0001").seq(i)).collect());
    // No checkpoint: moving one to record 6 would hide records 0..=2, so they are read too.
    let request = RedriveRequest {
        table: TABLE.into(),
        shard_id: "shardId-0001".into(),
        from_sequence: seqs[3].clone(),
        to_sequence: seqs[6].clone(),
        stream_arn: None,
    };
    let summary = redrive(
        &capturer,
        &ddb,
        &streams,
        &request,
        &config(true),
        &|_: &PollProgress| {},
    )
    .await
    .unwrap();
    assert_eq!(summary.records_captured, 7);
    assert_exactly(env.store.as_ref(), &standin, &[("shardId-0001", 0..7)]).await;
    // The poller then goes on from the checkpoint: nothing lost, nothing twice.
    poll(&standin, &env.store, &config(true)).await.unwrap();
    assert_exactly(env.store.as_ref(), &standin, &[("shardId-0001", 0..10)]).await;
}

#[tokio::test]
async fn redrive_of_a_trimmed_range_records_a_gap_and_fails() {
    let standin = StandIn::start(TABLE).await;
    let recs = records(14, 10);
    standin.with(|s| {
        let sh = s.add_shard("shardId-0001", None, 270_000_000_000_000_000_000);
        sh.push_records(recs);
        sh.trimmed_before = 8;
    });
    let env = env();
    let (ddb, streams) = standin.clients();
    let capturer = Capturer::new(env.store.clone(), CaptureOptions::default());
    let (label, seqs): (String, Vec<(String, String)>) = standin.with(|s| {
        let label = s.label.clone();
        let sh = s.shard("shardId-0001");
        (label, (0..10).map(|i| (sh.seq(i), sh.padded(i))).collect())
    });
    save_checkpoint(
        env.store.as_ref(),
        &Checkpoint {
            table: TABLE.into(),
            stream_label: label,
            shard_id: "shardId-0001".into(),
            parent_shard_id: None,
            last_sequence_number: Some(seqs[9].1.clone()),
            last_stamp_ms: Some(1),
            read_through_ms: 1,
            shard_ended: false,
            updated_at_ms: 1,
            first_captured_ms: None,
        },
    )
    .await
    .unwrap();
    let request = RedriveRequest {
        table: TABLE.into(),
        shard_id: "shardId-0001".into(),
        from_sequence: seqs[2].0.clone(),
        to_sequence: seqs[4].0.clone(),
        stream_arn: None,
    };
    let err = redrive(
        &capturer,
        &ddb,
        &streams,
        &request,
        &config(true),
        &|_: &PollProgress| {},
    )
    .await
    .unwrap_err();
    let CaptureError::RangeTrimmed { gap_key, .. } = &err else {
        panic!("expected RangeTrimmed, got {err}");
    };
    assert!(env.store.get(gap_key).await.is_ok());
    let gaps = list_gaps(env.store.as_ref(), TABLE).await.unwrap();
    assert_eq!(gaps.len(), 1);
    assert!(gaps[0].reason.contains(&seqs[2].0), "{}", gaps[0].reason);
    assert!(captured(env.store.as_ref()).await.is_empty());
    assert_eq!(
        list_checkpoints(env.store.as_ref(), TABLE)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn following_a_table_that_is_deleted_drains_its_stream_records_the_deletion_and_returns() {
    let standin = StandIn::start(TABLE).await;
    let recs = records(21, 10);
    standin.with(|s| {
        s.add_shard("shardId-0001", None, 300_000_000_000_000_000_000)
            .push_records(recs[..4].iter().cloned());
    });
    let env = env();
    let (ddb, streams) = standin.clients();
    let capturer = Capturer::new(env.store.clone(), CaptureOptions::default());
    let cfg = PollerConfig {
        max_batch_records: 1000,
        max_batch_age: Duration::from_secs(60),
        describe_interval: Duration::from_secs(3600),
        ..config(false)
    };
    let run = tokio::spawn(async move {
        run_poller(
            &capturer,
            &ddb,
            &streams,
            &cfg,
            std::future::pending::<()>(),
            &|_| {},
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The last writes, then DeleteTable: DynamoDB disables the stream and closes its shards,
    // the records stay readable. Nothing was flushed yet (the batch age is a minute).
    standin.with(|s| {
        let shard = s.shard("shardId-0001");
        shard.push_records(recs[4..].iter().cloned());
        shard.closed = true;
        s.table_deleted = true;
    });
    let summary = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("the poller stops by itself once the stream is drained")
        .unwrap()
        .unwrap();
    assert!(!summary.stopped);
    let deleted = summary.deleted.expect("the deletion is in the summary");
    assert!(deleted.drained);
    assert_eq!(deleted.cause, rewind_catalog::DeletionCause::TableNotFound);
    assert_exactly(env.store.as_ref(), &standin, &[("shardId-0001", 0..10)]).await;
    let cp = checkpoint(env.store.as_ref(), &standin, "shardId-0001").await;
    assert!(cp.shard_ended, "the closed shard was read to its end");
    assert_eq!(deleted.last_change_ms, cp.last_stamp_ms);
    let stored = rewind_catalog::load_deletion(env.store.as_ref(), TABLE, &deleted.stream_label)
        .await
        .unwrap()
        .expect("the deletion record");
    assert_eq!(stored, deleted);

    // A later run finds the record and reads nothing.
    let again = poll(&standin, &env.store, &config(true)).await.unwrap();
    assert_eq!(again.deleted.as_ref(), Some(&deleted));
    assert_eq!(again.records_read, 0);
}

#[tokio::test]
async fn under_lambda_the_probe_records_the_deletion_once_the_stream_was_delivered_to_its_end() {
    let standin = StandIn::start(TABLE).await;
    let recs = records(22, 9);
    standin.with(|s| {
        s.add_shard("shardId-0001", None, 300_000_000_000_000_000_000)
            .push_records(recs[..5].iter().cloned());
    });
    let env = env();
    // What the Lambda delivered so far (the poller stands in for it here).
    poll(&standin, &env.store, &config(true)).await.unwrap();
    let (ddb, streams) = standin.clients();
    let probe = |now: i64| {
        let (store, ddb, streams) = (env.store.clone(), ddb.clone(), streams.clone());
        async move {
            rewind_capture::poller::probe_stale_shards(
                store.as_ref(),
                &ddb,
                &streams,
                TABLE,
                60_000,
                now,
            )
            .await
            .unwrap()
        }
    };
    // Deleted with records the mapping has not delivered yet: capture is behind, no record.
    standin.with(|s| {
        let shard = s.shard("shardId-0001");
        shard.push_records(recs[5..].iter().cloned());
        shard.closed = true;
        s.table_deleted = true;
    });
    let now = chrono::Utc::now().timestamp_millis();
    let report = probe(now).await;
    assert_eq!(report.behind, vec!["shardId-0001".to_string()]);
    assert!(report.deleted.is_none(), "{report:?}");
    // The mapping delivers the rest, to the closed shard's end (the poller stands in for it
    // again, shown the table as present so that it does not record the deletion itself).
    standin.with(|s| s.table_deleted = false);
    poll(&standin, &env.store, &config(true)).await.unwrap();
    standin.with(|s| s.table_deleted = true);
    let report = probe(now + 1_000).await;
    let deleted = report
        .deleted
        .expect("every shard delivered to its end: recorded");
    assert!(deleted.drained);
    assert_exactly(env.store.as_ref(), &standin, &[("shardId-0001", 0..9)]).await;
    // The next probe finds the record and reads nothing.
    let calls = standin.with(|s| s.calls_of("GetRecords").len());
    let again = probe(now + 2_000).await;
    assert_eq!(again.deleted, Some(deleted));
    assert_eq!(standin.with(|s| s.calls_of("GetRecords").len()), calls);
}
