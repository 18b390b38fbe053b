//! The stream poller against moto server (started by scripts/test.sh): a real table with a
//! NEW_AND_OLD_IMAGES stream, a random typed workload written with PutItem, UpdateItem and
//! DeleteItem, and the poller run with `--once` several times. Everything the Streams API returns
//! must be in the change log exactly once; a run with nothing new writes nothing new; the table
//! description is written once and only again when the table changes.

use aws_sdk_dynamodb::types::{AttributeValue, ScalarAttributeType};
use rand::Rng;
use rewind_capture::{
    run_poller, CaptureOptions, Capturer, PollProgress, PollSummary, PollerConfig,
};
use rewind_catalog::layout;
use rewind_catalog::{latest_description, list_checkpoints, list_gaps};
use rewind_format::{
    from_streams_record, item_from_json, read_change_file, ConvertOptions, RecordSource,
};
use rewind_store::{list_all, LocalStore, ObjectStore, Store};
use rewind_workload::{Workload, WorkloadConfig};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

struct Aws {
    ddb: aws_sdk_dynamodb::Client,
    streams: aws_sdk_dynamodbstreams::Client,
}

async fn aws() -> Aws {
    rewind_e2e::moto_endpoint();
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    Aws {
        ddb: aws_sdk_dynamodb::Client::new(&sdk),
        streams: aws_sdk_dynamodbstreams::Client::new(&sdk),
    }
}

fn attr_map(item: &serde_json::Map<String, Value>) -> HashMap<String, AttributeValue> {
    let text = serde_json::to_string(item).unwrap();
    item_from_json(&text)
        .unwrap_or_else(|e| panic!("workload item {text}: {e}"))
        .into()
}

/// Applies workload records to the table: INSERT as PutItem, MODIFY as UpdateItem (every other
/// one, SET and REMOVE of each attribute) or PutItem, REMOVE as DeleteItem.
async fn write(aws: &Aws, table: &str, records: &[Value]) {
    for (i, r) in records.iter().enumerate() {
        let d = &r["dynamodb"];
        let keys = attr_map(d["Keys"].as_object().unwrap());
        match r["eventName"].as_str().unwrap() {
            "REMOVE" => {
                aws.ddb
                    .delete_item()
                    .table_name(table)
                    .set_key(Some(keys))
                    .send()
                    .await
                    .unwrap();
            }
            "MODIFY" if i % 2 == 0 => {
                let new = attr_map(d["NewImage"].as_object().unwrap());
                let old = d["OldImage"].as_object().map(attr_map).unwrap_or_default();
                let mut names = HashMap::new();
                let mut values = HashMap::new();
                let mut sets = Vec::new();
                let mut removes = Vec::new();
                for (n, (name, value)) in new
                    .iter()
                    .filter(|(n, _)| !keys.contains_key(*n))
                    .enumerate()
                {
                    names.insert(format!("#s{n}"), name.clone());
                    values.insert(format!(":v{n}"), value.clone());
                    sets.push(format!("#s{n} = :v{n}"));
                }
                for (n, name) in old.keys().filter(|k| !new.contains_key(*k)).enumerate() {
                    names.insert(format!("#r{n}"), name.clone());
                    removes.push(format!("#r{n}"));
                }
                let mut expression = String::new();
                if !sets.is_empty() {
                    expression.push_str(&format!("SET {}", sets.join(", ")));
                }
                if !removes.is_empty() {
                    expression.push_str(&format!(" REMOVE {}", removes.join(", ")));
                }
                if expression.is_empty() {
                    continue;
                }
                aws.ddb
                    .update_item()
                    .table_name(table)
                    .set_key(Some(keys))
                    .update_expression(expression.trim())
                    .set_expression_attribute_names(Some(names))
                    .set_expression_attribute_values((!values.is_empty()).then_some(values))
                    .send()
                    .await
                    .unwrap();
            }
            _ => {
                let new = attr_map(d["NewImage"].as_object().unwrap());
                aws.ddb
                    .put_item()
                    .table_name(table)
                    .set_item(Some(new))
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
}

async fn create_table(aws: &Aws, table: &str) {
    rewind_e2e::create_table_with_stream(&aws.ddb, table, ScalarAttributeType::S).await;
}

async fn poll(aws: &Aws, store: &Store, table: &str) -> PollSummary {
    let capturer = Capturer::new(store.clone(), CaptureOptions::default());
    let config = PollerConfig {
        once: true,
        max_batch_records: 40,
        max_batch_age: Duration::from_millis(200),
        idle_sleep: Duration::from_millis(50),
        ..PollerConfig::new(table)
    };
    tokio::time::timeout(
        Duration::from_secs(120),
        run_poller(
            &capturer,
            &aws.ddb,
            &aws.streams,
            &config,
            std::future::pending(),
            &|_: &PollProgress| {},
        ),
    )
    .await
    .expect("the poller caught up within 120 s")
    .expect("the poller ran")
}

/// Every record the Streams API holds, read independently from TRIM_HORIZON, as
/// (key, label, padded sequence number).
async fn stream_identities(aws: &Aws, table: &str) -> Vec<(Vec<u8>, String, String)> {
    let described = aws
        .ddb
        .describe_table()
        .table_name(table)
        .send()
        .await
        .unwrap();
    let arn = described
        .table()
        .unwrap()
        .latest_stream_arn()
        .unwrap()
        .to_string();
    let label = arn.rsplit("/stream/").next().unwrap().to_string();
    let stream = aws
        .streams
        .describe_stream()
        .stream_arn(&arn)
        .send()
        .await
        .unwrap();
    let mut out = Vec::new();
    for shard in stream.stream_description().unwrap().shards() {
        let shard_id = shard.shard_id().unwrap();
        let mut it = aws
            .streams
            .get_shard_iterator()
            .stream_arn(&arn)
            .shard_id(shard_id)
            .shard_iterator_type(aws_sdk_dynamodbstreams::types::ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap()
            .shard_iterator()
            .map(str::to_string);
        let source = RecordSource {
            table_name: table.into(),
            stream_label: label.clone(),
            shard_id: shard_id.into(),
            ingested_at_ms: 0,
        };
        while let Some(iterator) = it {
            let page = aws
                .streams
                .get_records()
                .shard_iterator(iterator)
                .send()
                .await
                .unwrap();
            if page.records().is_empty() {
                break;
            }
            for r in page.records() {
                let c = from_streams_record(r, &source, &ConvertOptions::default()).unwrap();
                out.push((c.key, c.stream_label, c.sequence_number));
            }
            it = page.next_shard_iterator().map(str::to_string);
        }
    }
    out
}

/// Captured rows by identity, with how often each appears.
async fn captured(
    store: &dyn ObjectStore,
    table: &str,
) -> BTreeMap<(Vec<u8>, String, String), usize> {
    let mut seen = BTreeMap::new();
    for meta in list_all(store, &layout::changes_prefix(table))
        .await
        .unwrap()
    {
        let body = store.get(&meta.key).await.unwrap();
        for r in read_change_file(&meta.key, body).unwrap() {
            *seen
                .entry((r.key, r.stream_label, r.sequence_number))
                .or_insert(0) += 1;
        }
    }
    seen
}

async fn assert_stream_captured_once(aws: &Aws, store: &dyn ObjectStore, table: &str) -> usize {
    let expected = stream_identities(aws, table).await;
    let seen = captured(store, table).await;
    let dupes: Vec<_> = seen.iter().filter(|(_, &n)| n != 1).collect();
    assert!(
        dupes.is_empty(),
        "captured more than once: {} identities",
        dupes.len()
    );
    let missing = expected.iter().filter(|id| !seen.contains_key(*id)).count();
    assert_eq!(missing, 0, "stream records missing from the change log");
    assert_eq!(
        seen.len(),
        expected.len(),
        "the change log holds exactly the stream's records"
    );
    expected.len()
}

async fn change_objects(store: &dyn ObjectStore, table: &str) -> Vec<String> {
    list_all(store, &layout::changes_prefix(table))
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.key)
        .collect()
}

#[tokio::test]
async fn poller_captures_every_stream_record_exactly_once() {
    let aws = aws().await;
    let suffix: String = (0..10)
        .map(|_| format!("{:x}", rand::thread_rng().gen_range(0..16)))
        .collect();
    let table = format!("rewind-poller-{suffix}");
    create_table(&aws, &table).await;
    let mut workload = Workload::new(WorkloadConfig {
        table: table.clone(),
        seed: {
            let seed = rand::thread_rng().gen();
            eprintln!("workload seed {seed}");
            seed
        },
        initial_users: 15,
        start_epoch_secs: chrono::Utc::now().timestamp() - 3600,
        ..WorkloadConfig::default()
    });
    let first: Vec<Value> = workload.by_ref().take(160).collect();
    write(&aws, &table, &first).await;

    let dir = tempfile::tempdir().unwrap();
    let store: Store = Arc::new(LocalStore::new(dir.path()));
    let run1 = poll(&aws, &store, &table).await;
    let n1 = assert_stream_captured_once(&aws, store.as_ref(), &table).await;
    assert!(n1 >= 160, "every write produced a stream record ({n1})");
    assert_eq!(run1.records_captured as usize, n1);
    assert!(run1.gaps.is_empty() && run1.quarantined == 0, "{run1:?}");
    assert_eq!(
        run1.description_written.len(),
        1,
        "description written at start"
    );
    let (_, description) = latest_description(store.as_ref(), &table)
        .await
        .unwrap()
        .expect("a description");
    let arn = aws
        .ddb
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .unwrap()
        .table()
        .unwrap()
        .table_arn()
        .unwrap()
        .to_string();
    assert_eq!(description.table_arn, arn);
    assert_eq!(description.billing_mode, "PAY_PER_REQUEST");
    assert_eq!(
        description.stream.view_type.as_deref(),
        Some("NEW_AND_OLD_IMAGES")
    );
    assert_eq!(
        description
            .key_schema
            .iter()
            .map(|k| (k.attribute_name.as_str(), k.key_type.as_str()))
            .collect::<Vec<_>>(),
        vec![("pk", "HASH"), ("sk", "RANGE")]
    );

    // More writes: the second run resumes after the checkpoint; the table did not change, so
    // no new description version.
    let second: Vec<Value> = workload.by_ref().take(70).collect();
    write(&aws, &table, &second).await;
    let run2 = poll(&aws, &store, &table).await;
    let n2 = assert_stream_captured_once(&aws, store.as_ref(), &table).await;
    assert_eq!(
        run2.records_captured as usize,
        n2 - n1,
        "only the new records were read"
    );
    assert!(
        run2.description_written.is_empty(),
        "unchanged table: no new description version"
    );
    let versions = list_all(store.as_ref(), &layout::descriptions_prefix(&table))
        .await
        .unwrap();
    assert_eq!(versions.len(), 1);

    // Nothing new: no new change object (only the read-through checkpoint moves).
    let before = change_objects(store.as_ref(), &table).await;
    let checkpoint_before = list_checkpoints(store.as_ref(), &table).await.unwrap();
    let run3 = poll(&aws, &store, &table).await;
    assert_eq!(run3.records_captured, 0);
    assert_eq!(
        change_objects(store.as_ref(), &table).await,
        before,
        "no new change object"
    );
    let checkpoint_after = list_checkpoints(store.as_ref(), &table).await.unwrap();
    assert_eq!(checkpoint_after.len(), 1, "moto has one shard");
    assert_eq!(
        checkpoint_after[0].last_sequence_number,
        checkpoint_before[0].last_sequence_number
    );
    assert!(
        checkpoint_after[0].read_through_ms > checkpoint_before[0].read_through_ms,
        "read-through advanced"
    );
    assert!(list_gaps(store.as_ref(), &table).await.unwrap().is_empty());
}

/// An idle shard's read-through is advanced by a probe that finds nothing after its checkpoint;
/// a shard with records capture has not taken yet is reported behind and left alone.
#[tokio::test]
async fn a_probe_advances_idle_shards_and_waits_for_unread_ones() {
    let aws = aws().await;
    let table = format!("probe-{}", rand::thread_rng().gen::<u32>());
    create_table(&aws, &table).await;
    let put = |i: u32| {
        aws.ddb
            .put_item()
            .table_name(&table)
            .item("pk", AttributeValue::S(format!("user#{i}")))
            .item("sk", AttributeValue::S("profile".into()))
            .send()
    };
    for i in 0..5 {
        put(i).await.unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let store: Store = Arc::new(LocalStore::new(dir.path()));
    poll(&aws, &store, &table).await;
    let before = rewind_catalog::list_checkpoints(store.as_ref(), &table)
        .await
        .unwrap();
    assert_eq!(before.len(), 1);

    // New records, not captured yet: the probe must not claim them.
    put(99).await.unwrap();
    let later = before[0].read_through_ms + 60_000;
    let report = rewind_capture::poller::probe_stale_shards(
        store.as_ref(),
        &aws.ddb,
        &aws.streams,
        &table,
        0,
        later,
    )
    .await
    .unwrap();
    assert_eq!(
        report.behind,
        vec![before[0].shard_id.clone()],
        "{report:?}"
    );
    let unchanged = rewind_catalog::list_checkpoints(store.as_ref(), &table)
        .await
        .unwrap();
    assert_eq!(unchanged[0].read_through_ms, before[0].read_through_ms);

    // Captured, then idle: the probe moves read-through to its own time.
    poll(&aws, &store, &table).await;
    let report = rewind_capture::poller::probe_stale_shards(
        store.as_ref(),
        &aws.ddb,
        &aws.streams,
        &table,
        0,
        later,
    )
    .await
    .unwrap();
    assert_eq!(
        report.advanced,
        vec![before[0].shard_id.clone()],
        "{report:?}"
    );
    let after = rewind_catalog::list_checkpoints(store.as_ref(), &table)
        .await
        .unwrap();
    assert_eq!(after[0].read_through_ms, later);
    assert!(
        after[0].last_sequence_number.is_some(),
        "the captured position is kept"
    );
    // A fresh checkpoint is not stale: nothing to probe.
    let report = rewind_capture::poller::probe_stale_shards(
        store.as_ref(),
        &aws.ddb,
        &aws.streams,
        &table,
        60_000,
        later,
    )
    .await
    .unwrap();
    assert!(report.stale.is_empty(), "{report:?}");
}
