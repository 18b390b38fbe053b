//! `rewind capture --once` against moto, as an operator runs it: every record the stream holds
//! lands in the change log exactly once, a rerun picks up only what is new, and a run with nothing
//! new writes no object.

use aws_sdk_dynamodb::types::{AttributeValue, ScalarAttributeType};
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use rewind_catalog::layout;
use rewind_format::read_change_file;
use rewind_store::{list_all, LocalStore, ObjectStore};
use std::collections::HashMap;
use std::process::Command;

async fn clients() -> (aws_sdk_dynamodb::Client, aws_sdk_dynamodbstreams::Client) {
    rewind_e2e::moto_endpoint();
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    (
        aws_sdk_dynamodb::Client::new(&config),
        aws_sdk_dynamodbstreams::Client::new(&config),
    )
}

fn item(i: u32, version: u32) -> HashMap<String, AttributeValue> {
    let s = |v: &str| AttributeValue::S(v.to_string());
    let n = |v: &str| AttributeValue::N(v.to_string());
    HashMap::from([
        ("pk".to_string(), s(&format!("USER#{i}"))),
        ("sk".to_string(), n(&i.to_string())),
        ("name".to_string(), s(&format!("Customer {i} v{version}"))),
        (
            "ledger".to_string(),
            n("12345678901234567890123456789012345678"),
        ),
        (
            "blob".to_string(),
            AttributeValue::B(vec![0, 1, 2, 255].into()),
        ),
        (
            "tags".to_string(),
            AttributeValue::Ss(vec!["a".into(), "b".into()]),
        ),
        (
            "nested".to_string(),
            AttributeValue::M(HashMap::from([(
                "l".to_string(),
                AttributeValue::L(vec![
                    n("1"),
                    AttributeValue::Bool(true),
                    AttributeValue::Null(true),
                ]),
            )])),
        ),
    ])
}

async fn write(
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
    range: std::ops::Range<u32>,
    version: u32,
) {
    for i in range {
        ddb.put_item()
            .table_name(table)
            .set_item(Some(item(i, version)))
            .send()
            .await
            .unwrap();
        if i % 7 == 0 {
            ddb.delete_item()
                .table_name(table)
                .key("pk", AttributeValue::S(format!("USER#{i}")))
                .key("sk", AttributeValue::N(i.to_string()))
                .send()
                .await
                .unwrap();
        }
    }
}

/// Every sequence number the stream holds, read independently of rewind.
async fn stream_sequence_numbers(
    streams: &aws_sdk_dynamodbstreams::Client,
    stream_arn: &str,
) -> Vec<String> {
    let description = streams
        .describe_stream()
        .stream_arn(stream_arn)
        .send()
        .await
        .unwrap();
    let mut out = Vec::new();
    for shard in description.stream_description().unwrap().shards() {
        let mut iterator = streams
            .get_shard_iterator()
            .stream_arn(stream_arn)
            .shard_id(shard.shard_id().unwrap())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap()
            .shard_iterator
            .unwrap();
        loop {
            let page = streams
                .get_records()
                .shard_iterator(&iterator)
                .send()
                .await
                .unwrap();
            if page.records().is_empty() {
                break;
            }
            for r in page.records() {
                let seq = r.dynamodb().unwrap().sequence_number().unwrap();
                out.push(rewind_format::pad_sequence_number(seq).unwrap());
            }
            match page.next_shard_iterator {
                Some(next) => iterator = next,
                None => break,
            }
        }
    }
    out.sort();
    out
}

fn rewind(args: &[&str]) -> (i32, serde_json::Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rewind"))
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code().unwrap_or(-1), json, stderr)
}

async fn captured(store: &LocalStore, table: &str) -> HashMap<(Vec<u8>, String, String), usize> {
    let mut seen = HashMap::new();
    for meta in list_all(store, &layout::changes_prefix(table))
        .await
        .unwrap()
    {
        for r in read_change_file(&meta.key, store.get(&meta.key).await.unwrap()).unwrap() {
            *seen
                .entry((r.key, r.stream_label, r.sequence_number))
                .or_insert(0) += 1;
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread")]
async fn capture_once_catches_up_exactly_once_and_reruns_write_nothing_new() {
    let (ddb, streams) = clients().await;
    let table = format!("cli-capture-{}", std::process::id());
    let created = rewind_e2e::create_table_with_stream(&ddb, &table, ScalarAttributeType::N).await;
    let stream_arn = created.latest_stream_arn().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let store_url = dir.path().to_str().unwrap().to_string();
    let store = LocalStore::new(dir.path());
    let args = [
        "--output", "json", "capture", "--table", &table, "--store", &store_url, "--once",
    ];

    write(&ddb, &table, 0..60, 1).await;
    let (code, first, stderr) = rewind(&args);
    assert_eq!(code, 0, "{stderr}");
    let expected = stream_sequence_numbers(&streams, &stream_arn).await;
    assert_eq!(first["records_captured"], expected.len(), "{first}");

    write(&ddb, &table, 40..90, 2).await;
    let (code, second, stderr) = rewind(&args);
    assert_eq!(code, 0, "{stderr}");
    let expected = stream_sequence_numbers(&streams, &stream_arn).await;
    assert!(second["records_captured"].as_u64().unwrap() > 0);

    let seen = captured(&store, &table).await;
    let mut seqs: Vec<&String> = seen.keys().map(|k| &k.2).collect();
    seqs.sort();
    assert_eq!(
        seqs,
        expected.iter().collect::<Vec<_>>(),
        "every stream record, nothing else"
    );
    assert!(seen.values().all(|&n| n == 1), "exactly once");

    let objects_before = list_all(&store, &layout::changes_prefix(&table))
        .await
        .unwrap();
    let (code, third, stderr) = rewind(&args);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(third["objects"], 0, "{third}");
    let objects_after = list_all(&store, &layout::changes_prefix(&table))
        .await
        .unwrap();
    assert_eq!(
        objects_before, objects_after,
        "a run with nothing new writes no change object"
    );
}

#[test]
fn bad_input_exits_2_with_a_message() {
    let (code, _, stderr) = rewind(&[
        "capture",
        "--table",
        "shop",
        "--store",
        "ftp://nowhere",
        "--once",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("ftp://nowhere"), "{stderr}");
    let (code, _, stderr) = rewind(&["capture", "--store", "x"]);
    assert_eq!(code, 2, "clap usage error: {stderr}");
}
