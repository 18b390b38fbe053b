//! The capture Lambda keeps the table description in the store (a restore creates the table from
//! it): written when the table is first seen, not rewritten while it is unchanged, and a new
//! version once it changes and the refresh interval has passed. Against moto's DynamoDB.

use aws_sdk_dynamodb::types::{ScalarAttributeType, Tag};
use rewind_capture::{handle_stream_event, CaptureOptions, Capturer};
use rewind_catalog::latest_description;
use rewind_catalog::layout;
use rewind_store::{list_all, LocalStore, Store};
use rewind_workload::{tumbling_window_event, Workload, WorkloadConfig};
use std::sync::Arc;
use std::time::Duration;

#[tokio::test]
async fn the_lambda_saves_the_description_once_and_again_when_it_changes() {
    rewind_e2e::moto_endpoint();
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let table = format!("lambda-desc-{}", std::process::id());
    let description =
        rewind_e2e::create_table_with_stream(&ddb, &table, ScalarAttributeType::S).await;
    let stream_arn = description.latest_stream_arn().unwrap().to_string();
    let table_arn = description.table_arn().unwrap().to_string();

    let dir = tempfile::tempdir().unwrap();
    let store: Store = Arc::new(LocalStore::new(dir.path()));
    let capturer = Capturer::new(store.clone(), CaptureOptions::default())
        .with_describer(ddb.clone(), Duration::from_secs(300));
    let mut workload = Workload::new(WorkloadConfig {
        table: table.clone(),
        account: table_arn.split(':').nth(4).unwrap().to_string(),
        stream_label: stream_arn.rsplit("/stream/").next().unwrap().to_string(),
        ..WorkloadConfig::default()
    });
    let shard = "shardId-00000001764000000000-0001";
    let mut invoke = |now_ms: i64| {
        let records: Vec<_> = workload.by_ref().take(20).collect();
        let event =
            tumbling_window_event(&records, shard, &stream_arn, (0, 60), serde_json::json!({}));
        let capturer = &capturer;
        async move {
            let (response, _) = handle_stream_event(capturer, &event.to_string(), now_ms)
                .await
                .unwrap();
            assert_eq!(response["batchItemFailures"], serde_json::json!([]));
        }
    };
    let versions = || async {
        list_all(store.as_ref(), &layout::descriptions_prefix(&table))
            .await
            .unwrap()
            .len()
    };

    let t0 = 1_795_700_000_000;
    invoke(t0).await;
    assert_eq!(versions().await, 1, "written when the table is first seen");
    let (_, stored) = latest_description(store.as_ref(), &table)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.table_arn, table_arn);

    // Unchanged table, interval passed: looked at again, no new version.
    invoke(t0 + 301_000).await;
    assert_eq!(versions().await, 1);

    // Tagged: a new version, but only once the interval has passed.
    ddb.tag_resource()
        .resource_arn(&table_arn)
        .tags(Tag::builder().key("team").value("orders").build().unwrap())
        .send()
        .await
        .unwrap();
    invoke(t0 + 302_000).await;
    assert_eq!(
        versions().await,
        1,
        "within the interval nothing is re-read"
    );
    invoke(t0 + 700_000).await;
    assert_eq!(versions().await, 2, "the change is saved as a new version");
    let (_, stored) = latest_description(store.as_ref(), &table)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.tags.get("team").map(String::as_str), Some("orders"));
}
