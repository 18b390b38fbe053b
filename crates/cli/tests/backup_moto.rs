//! A table that held items before its stream was enabled, protected as a new user would
//! (issue: "Protecting a table that already holds items"): items, then the stream enabled by
//! UpdateTable within a second of the table's creation, then `rewind backup` while a writer
//! keeps writing, and only then capture and compaction. The change log must not be taken for
//! the table's whole life (items written before the stream are in no stream record); the
//! backup is the base; every restore after its validity equals the reference model, and a
//! point before it is refused (exit 2, naming the window) without creating a table.
//!
//! The second test is the older path: capture first, then the backup.

mod common;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, PutRequest, ScalarAttributeType,
    StreamSpecification, StreamViewType, WriteRequest,
};
use common::*;
use rand::SeedableRng;
use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Duration;

async fn create_table_without_stream(client: &aws_sdk_dynamodb::Client, table: &str) {
    let def = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    let key = |n: &str, t: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .unwrap()
    };
    client
        .create_table()
        .table_name(table)
        .attribute_definitions(def("pk"))
        .attribute_definitions(def("sk"))
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
}

async fn enable_stream(client: &aws_sdk_dynamodb::Client, table: &str) {
    client
        .update_table()
        .table_name(table)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

/// `n` new items in two BatchWriteItem calls (fast, so the stream can follow within a second).
async fn load_items<R: rand::Rng>(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    rng: &mut R,
    model: &mut BTreeMap<String, SdkItem>,
    next_id: &mut u32,
    n: usize,
) {
    let items: Vec<SdkItem> = (0..n)
        .map(|_| {
            *next_id += 1;
            random_item(rng, *next_id)
        })
        .collect();
    for chunk in items.chunks(25) {
        let requests = chunk
            .iter()
            .map(|item| {
                WriteRequest::builder()
                    .put_request(
                        PutRequest::builder()
                            .set_item(Some(item.clone()))
                            .build()
                            .unwrap(),
                    )
                    .build()
            })
            .collect();
        client
            .batch_write_item()
            .request_items(table, requests)
            .send()
            .await
            .unwrap();
    }
    for item in items {
        model.insert(key_json(&item), item);
    }
}

/// The first second a backup's report says it is valid from.
fn valid_from(backup: &serde_json::Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(backup["valid_from"].as_str().unwrap())
        .unwrap()
        .timestamp()
}

/// Keeps writing, a few changes at a time, until the clock reaches `second`.
async fn write_until<R: rand::Rng>(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    rng: &mut R,
    model: &mut BTreeMap<String, SdkItem>,
    next_id: &mut u32,
    second: i64,
) {
    while now_secs_f64() < second as f64 {
        phase(client, table, rng, model, next_id, 5).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

fn rfc3339_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn ls(store: &str, table: &str) -> serde_json::Value {
    let out = rewind(&["--output", "json", "ls", "--store", store, "--table", table]);
    assert!(out.status.success());
    serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()[0].clone()
}

fn capture_once(store: &str, table: &str) {
    let out = rewind(&["capture", "--table", table, "--store", store, "--once"]);
    assert!(out.status.success());
}

fn compact(store: &str, table: &str) -> serde_json::Value {
    let out = rewind(&[
        "--output", "json", "compact", "--table", table, "--store", store,
    ]);
    assert!(out.status.success());
    let both: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let report = both["compaction"].clone();
    assert_eq!(report["committed"], true, "{report}");
    report
}

async fn assert_no_table(client: &aws_sdk_dynamodb::Client, name: &str) {
    assert!(
        client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .is_err(),
        "{name} must not exist"
    );
}

/// Restores `at` into a new table and compares it with `want`; `verify` agrees.
async fn restore_equals(
    client: &aws_sdk_dynamodb::Client,
    store: &str,
    table: &str,
    at: i64,
    want: &Model,
    name: &str,
) {
    let to = format!("dynamodb://{name}");
    let out = rewind(&[
        "restore",
        "--table",
        table,
        "--store",
        store,
        "--at",
        &rfc3339(at),
        "--to",
        &to,
    ]);
    assert!(out.status.success(), "restore at {}", rfc3339(at));
    assert_same(
        &format!("restore at {}", rfc3339(at)),
        &scan_all(client, name).await,
        want,
    );
    let out = rewind(&[
        "verify",
        "--table",
        table,
        "--store",
        store,
        "--at",
        &rfc3339(at),
        "--against",
        &to,
    ]);
    assert_eq!(out.status.code(), Some(0), "verify at {}", rfc3339(at));
}

/// Refused with exit 2, naming the window, and no table created.
async fn assert_refused(
    client: &aws_sdk_dynamodb::Client,
    store: &str,
    table: &str,
    at: &str,
    name: &str,
    says: &[&str],
) {
    let out = rewind_status(&[
        "restore",
        "--table",
        table,
        "--store",
        store,
        "--at",
        at,
        "--to",
        &format!("dynamodb://{name}"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for s in says {
        assert!(stderr.contains(s), "{stderr} lacks {s:?}");
    }
    assert_no_table(client, name).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_from_before_the_stream_restore_from_a_backup_taken_before_capture() {
    let client = ddb("us-east-1").await;
    let table = format!("existing-e2e-{}", rand::random::<u32>());
    create_table_without_stream(&client, &table).await;
    let store_dir = tempfile::tempdir().unwrap();
    let store = format!("file://{}", store_dir.path().display());
    let mut rng = rand::rngs::StdRng::seed_from_u64(23);
    let mut model = BTreeMap::new();
    let mut next_id = 0;

    // Items before the stream (some stay untouched, some are changed or deleted later), then
    // the stream, within a second of the table's creation: its label alone cannot tell.
    load_items(&client, &table, &mut rng, &mut model, &mut next_id, 40).await;
    enable_stream(&client, &table).await;
    let described = client
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let created_ms = (described.creation_date_time().unwrap().as_secs_f64() * 1000.0) as i64;
    let label = described.latest_stream_label().unwrap().to_string();
    let label_ms = chrono::NaiveDateTime::parse_from_str(&label, "%Y-%m-%dT%H:%M:%S%.f")
        .unwrap()
        .and_utc()
        .timestamp_millis();
    assert!(
        (label_ms - created_ms).abs() < 1000,
        "the scenario needs the stream within 1 s of creation: table {}, stream {label}",
        rfc3339_ms(created_ms)
    );

    // The first backup right away, while a writer keeps writing; capture has not started.
    let child = Command::new(env!("CARGO_BIN_EXE_rewind"))
        .args([
            "--output",
            "json",
            "backup",
            "--table",
            &table,
            "--store",
            &store,
            "--segments",
            "3",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = child;
    while child.try_wait().unwrap().is_none() {
        phase(&client, &table, &mut rng, &mut model, &mut next_id, 3).await;
    }
    phase(&client, &table, &mut rng, &mut model, &mut next_id, 10).await;
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "backup: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let backup: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(backup["committed"], true);
    let valid_from = valid_from(&backup);

    // Until capture covers the backup's stream, it waits, and nothing is restorable.
    let listed = ls(&store, &table);
    assert_eq!(
        listed["snapshot_states"][0]["status"]["state"], "waiting_for_capture",
        "{listed}"
    );
    assert_refused(
        &client,
        &store,
        &table,
        "latest",
        &format!("{table}-early"),
        &["waiting for capture"],
    )
    .await;

    // Writes go on past the backup's first valid second.
    phase(&client, &table, &mut rng, &mut model, &mut next_id, 30).await;
    write_until(
        &client,
        &table,
        &mut rng,
        &mut model,
        &mut next_id,
        valid_from + 1,
    )
    .await;
    let first = close_phase().await;
    let at_first = as_model(&model);
    phase(&client, &table, &mut rng, &mut model, &mut next_id, 30).await;
    let second = close_phase().await;
    let at_second = as_model(&model);
    tokio::time::sleep(Duration::from_secs(3)).await;

    // Capture starts only now, from the stream's trim horizon.
    capture_once(&store, &table);
    let listed = ls(&store, &table);
    assert_eq!(
        listed["snapshot_states"][0]["status"]["state"], "usable",
        "{listed}"
    );

    // Compaction compares the backup with the log first: the log does not hold the items
    // written before the stream, so the whole-life claim is refuted, durably, and the snapshot
    // is cut from the backup.
    let compacted = compact(&store, &table);
    assert_eq!(compacted["base"].as_str(), backup["manifest"].as_str());
    let listed = ls(&store, &table);
    assert_eq!(listed["whole_life"]["state"], "no", "{listed}");
    let why = listed["not_whole_life"].as_str().unwrap();
    assert!(
        why.contains("has no INSERT in the change log") || why.contains("never inserted"),
        "{why}"
    );
    assert_eq!(
        listed["window"][0]["start"].as_i64(),
        Some(valid_from),
        "{listed}"
    );

    // More writes, captured, a second compaction from the first snapshot.
    phase(&client, &table, &mut rng, &mut model, &mut next_id, 30).await;
    let third = close_phase().await;
    let at_third = as_model(&model);
    tokio::time::sleep(Duration::from_secs(3)).await;
    capture_once(&store, &table);
    let again = compact(&store, &table);
    assert_eq!(again["base"], compacted["manifest"]);

    for (at, want, suffix) in [
        (first, &at_first, "a"),
        (second, &at_second, "b"),
        (third, &at_third, "c"),
    ] {
        restore_equals(
            &client,
            &store,
            &table,
            at,
            want,
            &format!("{table}-{suffix}"),
        )
        .await;
    }

    // Before the backup's validity the table's content is unknown: refused, naming the window,
    // and no table is left behind.
    for at in [valid_from - 1, label_ms / 1000 + 1] {
        assert_refused(
            &client,
            &store,
            &table,
            &rfc3339(at),
            &format!("{table}-before-{at}"),
            &["outside the restorable window", &rfc3339(valid_from)],
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_after_capture_started_makes_older_items_restorable() {
    let client = ddb("us-east-1").await;
    let table = format!("backup-e2e-{}", rand::random::<u32>());
    create_table_without_stream(&client, &table).await;
    let store_dir = tempfile::tempdir().unwrap();
    let store = format!("file://{}", store_dir.path().display());

    // Items from before the stream existed: only a scan can bring them back.
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let mut model = BTreeMap::new();
    let mut next_id = 0;
    phase(&client, &table, &mut rng, &mut model, &mut next_id, 60).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    enable_stream(&client, &table).await;

    capture_once(&store, &table);
    // Capture alone proves nothing about the items before the stream.
    let listed = ls(&store, &table);
    assert!(listed["window"].as_array().unwrap().is_empty(), "{listed}");
    assert!(
        listed["not_whole_life"]
            .as_str()
            .unwrap()
            .contains("not confirmed"),
        "{listed}"
    );

    // Changes while and after the backup runs are captured and applied over it.
    phase(&client, &table, &mut rng, &mut model, &mut next_id, 20).await;
    let out = rewind(&[
        "--output",
        "json",
        "backup",
        "--table",
        &table,
        "--store",
        &store,
        "--segments",
        "3",
    ]);
    assert!(out.status.success());
    let backup: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(backup["committed"], true);
    let valid_from = valid_from(&backup);

    phase(&client, &table, &mut rng, &mut model, &mut next_id, 40).await;
    write_until(
        &client,
        &table,
        &mut rng,
        &mut model,
        &mut next_id,
        valid_from + 1,
    )
    .await;
    let boundary = close_phase().await;
    let at_boundary = as_model(&model);
    phase(&client, &table, &mut rng, &mut model, &mut next_id, 30).await;
    let last = close_phase().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    capture_once(&store, &table);
    let at_last = as_model(&model);

    // Two compactions with writes in between: each cuts a snapshot at the watermark from the
    // newest base (the scan, then the first compacted snapshot) and the changes after it.
    let first = compact(&store, &table);
    assert_eq!(first["base"].as_str(), backup["manifest"].as_str());
    phase(&client, &table, &mut rng, &mut model, &mut next_id, 30).await;
    let between = close_phase().await;
    let at_between = as_model(&model);
    tokio::time::sleep(Duration::from_secs(3)).await;
    capture_once(&store, &table);
    let second = compact(&store, &table);
    assert_eq!(second["base"], first["manifest"]);
    phase(&client, &table, &mut rng, &mut model, &mut next_id, 20).await;
    let end = close_phase().await;
    let at_end = as_model(&model);
    tokio::time::sleep(Duration::from_secs(3)).await;
    capture_once(&store, &table);

    for (at, want, suffix) in [
        (boundary, &at_boundary, "b"),
        (last, &at_last, "l"),
        (between, &at_between, "c"),
        (end, &at_end, "d"),
    ] {
        restore_equals(
            &client,
            &store,
            &table,
            at,
            want,
            &format!("{table}-{suffix}"),
        )
        .await;
    }

    // Before the snapshot's validity nothing is known: refused, naming the window.
    assert_refused(
        &client,
        &store,
        &table,
        &rfc3339(valid_from - 1),
        &format!("{table}-never"),
        &["outside the restorable window", &rfc3339(valid_from)],
    )
    .await;
    let listed = ls(&store, &table);
    assert_eq!(listed["snapshots"], 3);
    let why = listed["not_whole_life"].as_str().unwrap();
    assert!(
        why.contains("has no INSERT in the change log") || why.contains("never inserted"),
        "{why}"
    );
    // Everything is within the default retention: a dry run would delete nothing.
    let out = rewind(&[
        "--output",
        "json",
        "compact",
        "--table",
        &table,
        "--store",
        &store,
        "--retention",
        "--dry-run",
    ]);
    assert!(out.status.success());
    let dry: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        dry["change_files"].as_array().map(Vec::len),
        Some(0),
        "{dry}"
    );
    assert_eq!(dry["snapshots"].as_array().map(Vec::len), Some(0), "{dry}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_refuses_a_table_without_a_usable_stream() {
    let client = ddb("us-east-1").await;
    let table = format!("nostream-e2e-{}", rand::random::<u32>());
    create_table_without_stream(&client, &table).await;
    let store_dir = tempfile::tempdir().unwrap();
    let store = format!("file://{}", store_dir.path().display());
    let out = rewind_status(&["backup", "--table", &table, "--store", &store]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("has no stream enabled") && stderr.contains("NEW_AND_OLD_IMAGES"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_dir(store_dir.path()).unwrap().count(),
        0,
        "nothing written"
    );
}
