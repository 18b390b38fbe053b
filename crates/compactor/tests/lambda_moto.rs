//! The scheduled compactor's handler, in-process: it compacts the event's table and publishes
//! its metrics with a real aws-sdk-cloudwatch client to moto, where GetMetricStatistics returns
//! them by table; a scheduled scrub publishes its findings the same way; an event without a
//! table is refused.

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Statistic};
use rewind_e2e::changelog::*;

async fn datapoint(
    client: &aws_sdk_cloudwatch::Client,
    metric: &str,
    table: &str,
    now_ms: i64,
) -> Option<f64> {
    let out = client
        .get_metric_statistics()
        .namespace("Rewind")
        .metric_name(metric)
        .dimensions(Dimension::builder().name("Table").value(table).build())
        .start_time(DateTime::from_millis(now_ms - 3_600_000))
        .end_time(DateTime::from_millis(now_ms + 3_600_000))
        .period(7200)
        .statistics(Statistic::Maximum)
        .send()
        .await
        .unwrap();
    out.datapoints()
        .iter()
        .filter_map(|p| p.maximum())
        .reduce(f64::max)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_handler_compacts_and_publishes_metrics() {
    rewind_e2e::moto_endpoint();
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&sdk);
    let ops: Vec<Op> = (0..400u32)
        .map(|i| Op {
            key: (i % 97) as u8,
            event: (i % 5) as u8,
            gap_ms: 20_000,
            new_stream: false,
        })
        .collect();
    let records = history(&ops);
    let (dir, store) = local_store();
    write_files(store.as_ref(), &records, 20).await;
    seed_capture_state(
        store.as_ref(),
        records.last().unwrap().approximate_creation_time_ms + 10_000,
    )
    .await;

    let now_ms = chrono::Utc::now().timestamp_millis();
    let report = rewind_compactor::lambda::handle(
        &store,
        rewind_compactor::lambda::Clients {
            cloudwatch: Some(&cloudwatch),
        },
        serde_json::json!({"table": TABLE}),
        now_ms,
    )
    .await
    .unwrap();
    assert!(report.committed, "{report:?}");
    let merged = report.merge.as_ref().unwrap().files_merged;
    assert!(merged > 0);
    assert_eq!(
        datapoint(&cloudwatch, "FilesCompacted", TABLE, now_ms).await,
        Some(merged as f64)
    );
    let snapshot_at = chrono::DateTime::parse_from_rfc3339(report.snapshot_at.as_deref().unwrap())
        .unwrap()
        .timestamp();
    assert_eq!(
        datapoint(&cloudwatch, "SnapshotAgeSeconds", TABLE, now_ms).await,
        Some((now_ms / 1000 - snapshot_at) as f64)
    );
    assert!(datapoint(&cloudwatch, "CompactionSeconds", TABLE, now_ms)
        .await
        .is_some());

    // A scheduled scrub: clean, then with a flipped byte, its findings published.
    let clients = rewind_compactor::lambda::Clients {
        cloudwatch: Some(&cloudwatch),
    };
    let check = serde_json::json!({"table": TABLE, "check": true});
    let clean = rewind_compactor::lambda::invoke(&store, clients, check.clone(), now_ms)
        .await
        .unwrap();
    assert_eq!(clean["findings"], serde_json::json!([]), "{clean}");
    let objects = clean["objects"].as_u64().unwrap();
    assert!(objects > 0);
    assert_eq!(
        datapoint(&cloudwatch, "ScrubObjects", TABLE, now_ms).await,
        Some(objects as f64)
    );
    let victim = rewind_store::list_all(
        store.as_ref(),
        &rewind_catalog::layout::changes_prefix(TABLE),
    )
    .await
    .unwrap()[0]
        .key
        .clone();
    let path = dir.path().join(&victim);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    let damaged = rewind_compactor::lambda::invoke(&store, clients, check, now_ms + 1000)
        .await
        .unwrap();
    assert_eq!(damaged["findings"][0]["kind"], "checksum", "{damaged}");
    assert_eq!(damaged["findings"][0]["location"], victim.as_str());
    assert_eq!(
        datapoint(&cloudwatch, "ScrubFindings", TABLE, now_ms).await,
        Some(1.0)
    );

    let err = rewind_compactor::lambda::handle(
        &store,
        Default::default(),
        serde_json::json!({"source": "aws.events"}),
        now_ms,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("no \"table\""), "{err}");
}
