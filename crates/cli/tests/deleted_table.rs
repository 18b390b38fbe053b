//! An accidental DeleteTable, as an operator meets it: the table is captured, takes more writes,
//! and is deleted. Capture must end cleanly (exit 0), the store must say the table is deleted
//! (no lag that grows forever), and `restore --at latest` must give the last state.
//!
//! Two services act this out differently:
//! - On AWS the deleted table's stream stays readable for 24 h (status DISABLED, shards closed):
//!   capture drains it, so even the writes after the last capture are restored. moto drops the
//!   stream with the table (moto/dynamodbstreams/models.py `_get_table_from_arn` looks the table
//!   up by name; `delete_table` in moto/dynamodb/models/__init__.py pops it), so AWS's behaviour
//!   is acted by the test proxy (`tests/support/aws_proxy.py`), which freezes the stream just
//!   before the deletion and answers for it as AWS does.
//! - Against moto as it is, the stream is gone: capture records a gap for what it could not read,
//!   still ends cleanly, and `latest` is the last state captured.
//!
//! The first test goes on to re-create the table under the same name: a new lineage, which
//! neither hides nor mixes with the old one.

mod common;

use aws_sdk_dynamodb::types::ScalarAttributeType;
use common::*;
use rand::SeedableRng;
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Output;
use std::time::{Duration, Instant};

fn ls(store: &str, table: &str) -> Value {
    ls_table(&[], store, table)
}

fn restore_latest(store: &str, table: &str, target: &str) -> Value {
    json_of(&rewind(&[
        "--output",
        "json",
        "restore",
        "--table",
        table,
        "--store",
        store,
        "--at",
        "latest",
        "--to",
        &format!("dynamodb://{target}"),
    ]))
}

fn restore_at(store: &str, table: &str, second: i64, target: &str) -> Output {
    rewind(&[
        "--output",
        "json",
        "restore",
        "--table",
        table,
        "--store",
        store,
        "--at",
        &rfc3339(second),
        "--to",
        &format!("dynamodb://{target}"),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_tables_stream_is_drained_and_a_recreated_table_is_a_new_lineage() {
    let client = ddb("us-east-1").await;
    let proxy = rewind_e2e::aws_proxy::AwsProxy::start(None);
    let streams_url = proxy.url();
    let env = [("AWS_ENDPOINT_URL_DYNAMODB_STREAMS", streams_url.as_str())];
    let suffix: u32 = rand::random();
    let table = format!("deleted-e2e-{suffix}");
    let created =
        rewind_e2e::create_table_with_stream(&client, &table, ScalarAttributeType::S).await;
    let stream_arn = created.latest_stream_arn().expect("a stream").to_string();
    let store_dir = tempfile::tempdir().unwrap();
    let store = format!("file://{}", store_dir.path().display());

    let mut rng = rand::rngs::StdRng::seed_from_u64(17);
    let mut model = BTreeMap::new();
    let mut next_id = 0;
    phase(&client, &table, &mut rng, &mut model, &mut next_id, 60).await;
    let first_end = close_phase().await;
    let first_model = as_model(&model);
    backup_then_capture(&table, &store, &env).await;

    // Writes capture has not read, then the deletion.
    phase(&client, &table, &mut rng, &mut model, &mut next_id, 40).await;
    close_phase().await;
    let last_model = as_model(&model);
    let frozen = proxy.freeze_stream(&stream_arn, "us-east-1").await;
    assert!(frozen >= 100, "the stream holds every write ({frozen})");
    client
        .delete_table()
        .table_name(&table)
        .send()
        .await
        .unwrap();

    // The runbook (docs/OPERATIONS.md, "A deleted table"), timed from the decision.
    let decided = Instant::now();
    let out = rewind_env(
        &env,
        &[
            "--output", "json", "capture", "--table", &table, "--store", &store, "--once",
        ],
    );
    let summary = json_of(&out);
    let deleted = &summary["deleted"];
    assert_eq!(deleted["drained"], true, "{summary}");
    assert_eq!(deleted["cause"], "table_not_found");
    assert!(
        summary["records_captured"].as_u64().unwrap() >= 40,
        "the writes after the last capture were drained: {summary}"
    );

    // `ls`: the deletion and the last restorable point, no lag.
    let listed = ls(&store, &table);
    assert!(listed["lag_seconds"].is_null(), "{listed}");
    let last = listed["deleted"]["last_restorable"].as_str().unwrap();
    assert_eq!(listed["watermark"].as_str().unwrap(), last);
    let text = rewind(&["ls", "--store", &store, "--table", &table]);
    let text = String::from_utf8_lossy(&text.stdout).to_string();
    assert!(text.contains("deleted: found gone at"), "{text}");
    assert!(!text.contains("lag "), "{text}");

    // Again: nothing to read, the record stands, still exit 0.
    let again = json_of(&rewind_env(
        &env,
        &[
            "--output", "json", "capture", "--table", &table, "--store", &store, "--once",
        ],
    ));
    assert_eq!(again["records_captured"], 0);
    assert_eq!(again["deleted"], summary["deleted"]);

    // Latest is the last write, exactly.
    let target = format!("{table}-latest");
    let underway = decided.elapsed();
    let report = restore_latest(&store, &table, &target);
    let verify = rewind(&[
        "verify",
        "--table",
        &table,
        "--store",
        &store,
        "--at",
        last,
        "--against",
        &format!("dynamodb://{target}"),
    ]);
    assert!(verify.status.success());
    eprintln!(
        "RUNBOOK deleted table: restore under way {:.1} s after the decision, verified after {:.1} s ({} items)",
        underway.as_secs_f64(),
        decided.elapsed().as_secs_f64(),
        report["items"]
    );
    assert_eq!(report["at"].as_str().unwrap(), last, "{report}");
    assert_same(
        "restore --at latest",
        &scan_all(&client, &target).await,
        &last_model,
    );
    assert!(
        report["lineage"].as_str().unwrap().starts_with("lineage 1"),
        "{report}"
    );

    // The name is used again: another table (moto tells it by its creation time).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    rewind_e2e::create_table_with_stream(&client, &table, ScalarAttributeType::S).await;
    let mut new_model = BTreeMap::new();
    phase(&client, &table, &mut rng, &mut new_model, &mut next_id, 30).await;
    close_phase().await;
    backup_then_capture(&table, &store, &[]).await;
    let listed = ls(&store, &table);
    let lineages: Vec<String> = serde_json::from_value(listed["lineages"].clone()).unwrap();
    assert_eq!(lineages.len(), 2, "{listed}");
    assert!(lineages[0].contains("deleted"), "{lineages:?}");
    assert!(lineages[1].contains("live"), "{lineages:?}");
    assert!(
        listed["deleted"].is_null(),
        "the newest lineage is live: {listed}"
    );
    assert!(listed["lag_seconds"].is_i64(), "{listed}");

    // Each lineage restores to its own state: never one table's items in the other's.
    let target = format!("{table}-new");
    let report = restore_latest(&store, &table, &target);
    assert!(report["lineage"].as_str().unwrap().starts_with("lineage 2"));
    assert_same(
        "the re-created table at latest",
        &scan_all(&client, &target).await,
        &as_model(&new_model),
    );
    let target = format!("{table}-old");
    let out = restore_at(&store, &table, first_end, &target);
    assert!(out.status.success());
    assert_same(
        "the deleted table at the end of its first phase",
        &scan_all(&client, &target).await,
        &first_model,
    );
    // Between the deletion and the new table there was no table: refused, naming both sides.
    let gone = chrono::DateTime::parse_from_rfc3339(last)
        .unwrap()
        .timestamp()
        + 1;
    let out = restore_at(&store, &table, gone, &format!("{table}-none"));
    assert!(!out.status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_gone_with_its_table_ends_capture_cleanly_with_a_gap() {
    let client = ddb("us-east-1").await;
    let suffix: u32 = rand::random();
    let table = format!("dropped-e2e-{suffix}");
    rewind_e2e::create_table_with_stream(&client, &table, ScalarAttributeType::S).await;
    let store_dir = tempfile::tempdir().unwrap();
    let store = format!("file://{}", store_dir.path().display());

    let mut rng = rand::rngs::StdRng::seed_from_u64(18);
    let mut model = BTreeMap::new();
    let mut next_id = 0;
    phase(&client, &table, &mut rng, &mut model, &mut next_id, 50).await;
    close_phase().await;
    let captured_model = as_model(&model);
    backup_then_capture(&table, &store, &[]).await;
    // The last capture's empty read must be a whole second behind us, then more writes that
    // moto will drop with the table.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    phase(&client, &table, &mut rng, &mut model, &mut next_id, 20).await;
    client
        .delete_table()
        .table_name(&table)
        .send()
        .await
        .unwrap();

    let summary = json_of(&rewind(&[
        "--output", "json", "capture", "--table", &table, "--store", &store, "--once",
    ]));
    let deleted = &summary["deleted"];
    assert_eq!(deleted["drained"], false, "{summary}");
    assert!(
        deleted["unreadable_reason"]
            .as_str()
            .unwrap()
            .contains("ResourceNotFoundException"),
        "{summary}"
    );
    assert_eq!(
        summary["gaps"].as_array().unwrap().len(),
        deleted["unreadable_shards"].as_array().unwrap().len(),
        "a gap for every shard that could not be read to its end"
    );
    assert!(!summary["gaps"].as_array().unwrap().is_empty());

    let listed = ls(&store, &table);
    assert!(listed["lag_seconds"].is_null(), "{listed}");
    assert_eq!(listed["deleted"]["drained"], false);
    let target = format!("{table}-latest");
    let report = restore_latest(&store, &table, &target);
    assert_same(
        "restore --at latest after a lost stream: the last state captured",
        &scan_all(&client, &target).await,
        &captured_model,
    );
    assert!(report["at"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_recreated_while_capture_was_down_has_its_old_stream_drained_first() {
    let client = ddb("us-east-1").await;
    let proxy = rewind_e2e::aws_proxy::AwsProxy::start(None);
    let streams_url = proxy.url();
    let env = [("AWS_ENDPOINT_URL_DYNAMODB_STREAMS", streams_url.as_str())];
    let suffix: u32 = rand::random();
    let table = format!("recreated-e2e-{suffix}");
    let created =
        rewind_e2e::create_table_with_stream(&client, &table, ScalarAttributeType::S).await;
    let old_stream = created.latest_stream_arn().unwrap().to_string();
    let store_dir = tempfile::tempdir().unwrap();
    let store = format!("file://{}", store_dir.path().display());
    let mut rng = rand::rngs::StdRng::seed_from_u64(19);
    let mut model = BTreeMap::new();
    let mut next_id = 0;
    phase(&client, &table, &mut rng, &mut model, &mut next_id, 40).await;
    close_phase().await;
    backup_then_capture(&table, &store, &env).await;
    phase(&client, &table, &mut rng, &mut model, &mut next_id, 30).await;
    close_phase().await;
    let old_last = as_model(&model);

    // Deleted and created again while capture was not running.
    proxy.freeze_stream(&old_stream, "us-east-1").await;
    client
        .delete_table()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    rewind_e2e::create_table_with_stream(&client, &table, ScalarAttributeType::S).await;
    let mut new_model = BTreeMap::new();
    phase(&client, &table, &mut rng, &mut new_model, &mut next_id, 20).await;
    close_phase().await;

    let summary = json_of(&rewind_env(
        &env,
        &[
            "--output", "json", "capture", "--table", &table, "--store", &store, "--once",
        ],
    ));
    let previous = &summary["previous_lineages_deleted"];
    assert_eq!(previous.as_array().unwrap().len(), 1, "{summary}");
    assert_eq!(previous[0]["cause"], "table_recreated");
    assert_eq!(previous[0]["drained"], true);
    assert!(
        summary["deleted"].is_null(),
        "the new table is live: {summary}"
    );
    let last_old = previous[0]["stream_label"].as_str().unwrap().to_string();
    assert_ne!(summary["stream_label"].as_str().unwrap(), last_old);

    // The old lineage's last point is its last write; the new one restores from its own backup.
    let listed = ls(&store, &table);
    let lineages: Vec<String> = serde_json::from_value(listed["lineages"].clone()).unwrap();
    assert_eq!(lineages.len(), 2, "{listed}");
    let window: Vec<Value> = serde_json::from_value(listed["window"].clone()).unwrap();
    let old_end = window[0]["end"].as_i64().unwrap();
    let target = format!("{table}-old");
    assert!(restore_at(&store, &table, old_end, &target)
        .status
        .success());
    assert_same(
        "the old table's last state",
        &scan_all(&client, &target).await,
        &old_last,
    );
    backup_then_capture(&table, &store, &env).await;
    let target = format!("{table}-new");
    restore_latest(&store, &table, &target);
    assert_same(
        "the new table at latest",
        &scan_all(&client, &target).await,
        &as_model(&new_model),
    );
}
