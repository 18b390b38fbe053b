//! `rewind capture` stops like a daemon: SIGTERM (what systemd, ECS and Kubernetes send) flushes
//! every record read before the signal, writes the checkpoints, prints the summary and exits 0.
//! The records are read but not yet flushed when the signal comes (the flush age is 5 s), so
//! only the clean stop can have written them.

use aws_sdk_dynamodb::types::{AttributeValue, ScalarAttributeType};
use rewind_catalog::layout;
use rewind_format::read_change_file;
use rewind_store::{list_all, LocalStore, ObjectStore};
use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_flushes_what_was_read_and_exits_0() {
    rewind_e2e::moto_endpoint();
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let ddb = aws_sdk_dynamodb::Client::new(&config);
    let table = format!("cli-sigterm-{}", std::process::id());
    rewind_e2e::create_table_with_stream(&ddb, &table, ScalarAttributeType::S).await;
    let dir = tempfile::tempdir().unwrap();
    let store_url = dir.path().to_str().unwrap().to_string();
    let log = dir.path().join("capture.log");

    let child = Command::new(env!("CARGO_BIN_EXE_rewind"))
        .args([
            "--output",
            "json",
            "capture",
            "--table",
            &table,
            "--store",
            &store_url,
            // Records stay buffered until the stop (the default flushes them within a second).
            "--max-batch-age",
            "60s",
        ])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("capture poller starting")
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "capture did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for i in 0..100 {
        ddb.put_item()
            .table_name(&table)
            .item("pk", AttributeValue::S(format!("k{i}")))
            .item("sk", AttributeValue::S("x".into()))
            .send()
            .await
            .unwrap();
    }
    // The poller reads within its 1 s idle sleep; their 60 s batch age has not passed.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let store = LocalStore::new(dir.path());
    let before = list_all(&store, &layout::changes_prefix(&table))
        .await
        .map(|l| l.len())
        .unwrap_or(0);
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let stderr = std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // A stop longer than its limit (10 s) would have exited 3: exit 0 also says it was bounded.
    assert!(stderr.contains("stopping: flushing"), "{stderr}");
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the summary");
    assert_eq!(summary["stopped"], true, "{summary}");
    assert_eq!(summary["records_captured"], 100, "{summary}");

    let mut keys = HashSet::new();
    for meta in list_all(&store, &layout::changes_prefix(&table))
        .await
        .unwrap()
    {
        for r in read_change_file(&meta.key, store.get(&meta.key).await.unwrap()).unwrap() {
            keys.insert(r.key);
        }
    }
    assert_eq!(
        keys.len(),
        100,
        "every record read before the signal is in the store"
    );
    assert!(
        before
            < list_all(&store, &layout::changes_prefix(&table))
                .await
                .unwrap()
                .len(),
        "written by the stop, not before it"
    );
}
