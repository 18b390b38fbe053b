//! A table that held items before its stream was enabled is restorable once a full backup
//! exists: `rewind backup` (a parallel Scan) is the base, the captured changes go on top of it,
//! `rewind compact` cuts snapshots from the newest base, and restores after the backup's
//! validity (from the scan, from each compacted snapshot) equal the reference model; a point
//! before it is refused naming the window; a backup without capture is refused.

mod common;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    StreamSpecification, StreamViewType,
};
use common::*;
use rand::SeedableRng;
use std::collections::BTreeMap;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_makes_a_table_without_whole_life_capture_restorable() {
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
    // In AWS a table is CREATING for seconds before it takes writes or an UpdateTable; moto makes
    // it ACTIVE at once. Leave the gap a real table would have between creation and the stream.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    client
        .update_table()
        .table_name(&table)
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

    // Without capture there is nothing to apply over a scan: refused, nothing written.
    let out = rewind_status(&["backup", "--table", &table, "--store", &store]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("capture is not running"));

    let out = rewind(&["capture", "--table", &table, "--store", &store, "--once"]);
    assert!(out.status.success());
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
    let valid_from = chrono::DateTime::parse_from_rfc3339(backup["valid_from"].as_str().unwrap())
        .unwrap()
        .timestamp();

    phase(&client, &table, &mut rng, &mut model, &mut next_id, 40).await;
    // Keep writing until the snapshot is valid, then cut a boundary.
    while now_secs_f64() < (valid_from + 1) as f64 {
        phase(&client, &table, &mut rng, &mut model, &mut next_id, 5).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let boundary = close_phase().await;
    let at_boundary = as_model(&model);
    phase(&client, &table, &mut rng, &mut model, &mut next_id, 30).await;
    let last = close_phase().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let out = rewind(&["capture", "--table", &table, "--store", &store, "--once"]);
    assert!(out.status.success());

    let at_last = as_model(&model);

    // Two compactions with writes in between: each cuts a snapshot at the watermark from the
    // newest base (the scan, then the first compacted snapshot) and the changes after it.
    let compact = || {
        let out = rewind(&[
            "--output", "json", "compact", "--table", &table, "--store", &store,
        ]);
        assert!(out.status.success());
        let both: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let report = both["compaction"].clone();
        assert_eq!(report["committed"], true, "{report}");
        report
    };
    let first = compact();
    assert_eq!(first["base"].as_str(), backup["manifest"].as_str());
    phase(&client, &table, &mut rng, &mut model, &mut next_id, 30).await;
    let between = close_phase().await;
    let at_between = as_model(&model);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        rewind(&["capture", "--table", &table, "--store", &store, "--once"])
            .status
            .success()
    );
    let second = compact();
    assert_eq!(second["base"], first["manifest"]);
    phase(&client, &table, &mut rng, &mut model, &mut next_id, 20).await;
    let end = close_phase().await;
    let at_end = as_model(&model);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        rewind(&["capture", "--table", &table, "--store", &store, "--once"])
            .status
            .success()
    );

    for (at, want, name) in [
        (boundary, &at_boundary, format!("{table}-b")),
        (last, &at_last, format!("{table}-l")),
        (between, &at_between, format!("{table}-c")),
        (end, &at_end, format!("{table}-d")),
    ] {
        let out = rewind(&[
            "restore",
            "--table",
            &table,
            "--store",
            &store,
            "--at",
            &rfc3339(at),
            "--to",
            &format!("dynamodb://{name}"),
        ]);
        assert!(out.status.success());
        assert_same(
            &format!("restore at {}", rfc3339(at)),
            &scan_all(&client, &name).await,
            want,
        );
    }

    // Before the snapshot's validity nothing is known: refused, naming the window.
    let out = rewind_status(&[
        "restore",
        "--table",
        &table,
        "--store",
        &store,
        "--at",
        &rfc3339(valid_from - 1),
        "--to",
        "dynamodb://never-created-3",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("outside the restorable window") && stderr.contains(&rfc3339(valid_from)),
        "{stderr}"
    );
    let ls: serde_json::Value = serde_json::from_slice(
        &rewind(&[
            "--output", "json", "ls", "--store", &store, "--table", &table,
        ])
        .stdout,
    )
    .unwrap();
    assert_eq!(ls[0]["snapshots"], 3);
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
    assert!(ls[0]["not_whole_life"]
        .as_str()
        .unwrap()
        .contains("not enabled when the table was created"));
}
