//! Notifications of `rewind serve` through SNS in moto, read back from SQS queues subscribed to
//! the topic: a backup job that succeeds and one that fails (its store's bucket deleted under
//! it), each a message with readable text and the `table`, `kind`, `status` attributes a
//! subscription filter matches; and capture lag over the threshold announced once.

mod serving;

use serde_json::{json, Value};
use serving::{http, start_server_with, unique, until_done};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// A queue subscribed to `topic` (with an optional filter policy); its URL.
async fn subscribed_queue(
    sns: &aws_sdk_sns::Client,
    sqs: &aws_sdk_sqs::Client,
    topic: &str,
    filter: Option<Value>,
) -> String {
    let name = unique("rewind-notes");
    let url = sqs
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    let mut subscribe = sns
        .subscribe()
        .topic_arn(topic)
        .protocol("sqs")
        .endpoint(arn);
    if let Some(filter) = filter {
        subscribe = subscribe.attributes("FilterPolicy", filter.to_string());
    }
    subscribe.send().await.unwrap();
    url
}

/// One message as SNS delivered it to SQS: subject, text and attributes.
#[derive(Debug)]
struct Delivered {
    subject: String,
    text: String,
    attributes: BTreeMap<String, String>,
}

/// Receives from `queue` until `want` messages came or `wait` passed.
async fn receive(
    sqs: &aws_sdk_sqs::Client,
    queue: &str,
    want: usize,
    wait: Duration,
) -> Vec<Delivered> {
    let deadline = Instant::now() + wait;
    let mut out = Vec::new();
    while out.len() < want && Instant::now() < deadline {
        let got = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        for message in got.messages.unwrap_or_default() {
            let envelope: Value = serde_json::from_str(message.body().unwrap()).unwrap();
            let attributes = envelope["MessageAttributes"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v["Value"].as_str().unwrap().to_string()))
                        .collect()
                })
                .unwrap_or_default();
            out.push(Delivered {
                subject: envelope["Subject"].as_str().unwrap_or("").to_string(),
                text: envelope["Message"].as_str().unwrap().to_string(),
                attributes,
            });
            sqs.delete_message()
                .queue_url(queue)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    out
}

async fn clients() -> (
    aws_sdk_sns::Client,
    aws_sdk_sqs::Client,
    aws_sdk_s3::Client,
    aws_sdk_dynamodb::Client,
) {
    rewind_e2e::moto_endpoint();
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    (
        aws_sdk_sns::Client::new(&sdk),
        aws_sdk_sqs::Client::new(&sdk),
        s3,
        aws_sdk_dynamodb::Client::new(&sdk),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_that_succeed_and_fail_are_published_with_filterable_attributes() {
    let (sns, sqs, s3, dynamodb) = clients().await;
    let topic = sns
        .create_topic()
        .name(unique("rewind-jobs"))
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let everything = subscribed_queue(&sns, &sqs, &topic, None).await;
    let failures_only = subscribed_queue(
        &sns,
        &sqs,
        &topic,
        Some(json!({"status": ["failed"], "kind": ["backup"]})),
    )
    .await;

    let table = unique("orders");
    rewind_e2e::table_with_items(&dynamodb, &table, 5).await;
    let bucket = unique("rewind-notify-store");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let store = format!("s3://{bucket}/backups");
    let (_server, addr) =
        start_server_with(&store, &unique("rewind-jobs"), &["--sns-topic", &topic]);

    let post = json!({"table": table}).to_string();
    let (status, created) = http(&addr, "POST", "/backups", Some(&post)).await;
    assert_eq!(status, 202, "{created}");
    let ok_id = created["job_id"].as_str().unwrap().to_string();
    let done = until_done(&addr, &format!("/backups/{ok_id}")).await;
    assert_eq!(done["status"], "succeeded", "{done}");

    // The store's bucket goes away: the next backup is accepted (DynamoDB has the table) and
    // fails when it writes.
    let objects = s3
        .list_objects_v2()
        .bucket(&bucket)
        .send()
        .await
        .unwrap()
        .contents
        .unwrap_or_default();
    for object in objects {
        s3.delete_object()
            .bucket(&bucket)
            .key(object.key().unwrap())
            .send()
            .await
            .unwrap();
    }
    s3.delete_bucket().bucket(&bucket).send().await.unwrap();
    let (status, created) = http(&addr, "POST", "/backups", Some(&post)).await;
    assert_eq!(status, 202, "{created}");
    let failed_id = created["job_id"].as_str().unwrap().to_string();
    let done = until_done(&addr, &format!("/backups/{failed_id}")).await;
    assert_eq!(done["status"], "failed", "{done}");
    let error = done["error"].as_str().unwrap().to_string();

    let mut got = receive(&sqs, &everything, 2, Duration::from_secs(20)).await;
    assert_eq!(got.len(), 2, "{got:?}");
    got.sort_by_key(|d| d.attributes["status"].clone());
    let (failed, succeeded) = (&got[0], &got[1]);
    assert_eq!(succeeded.attributes["status"], "succeeded");
    assert_eq!(succeeded.attributes["kind"], "backup");
    assert_eq!(succeeded.attributes["table"], table);
    assert_eq!(succeeded.attributes["job_id"], ok_id);
    assert_eq!(
        succeeded.subject,
        format!("rewind: backup of {table} succeeded")
    );
    assert!(succeeded.text.contains("5 items"), "{}", succeeded.text);
    assert!(succeeded.text.contains(&format!("GET /backups/{ok_id}")));
    assert_eq!(failed.attributes["status"], "failed");
    assert_eq!(failed.attributes["job_id"], failed_id);
    assert_eq!(failed.subject, format!("rewind: backup of {table} failed"));
    assert!(
        failed.text.contains(&error),
        "the message carries the job's error {error:?}: {}",
        failed.text
    );

    // The filtered subscription got the failure only.
    let filtered = receive(&sqs, &failures_only, 2, Duration::from_secs(5)).await;
    assert_eq!(filtered.len(), 1, "{filtered:?}");
    assert_eq!(filtered[0].attributes["job_id"], failed_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capture_lag_over_the_threshold_is_announced_once() {
    let (sns, sqs, _, _) = clients().await;
    let topic = sns
        .create_topic()
        .name(unique("rewind-lag"))
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap();
    let queue = subscribed_queue(&sns, &sqs, &topic, None).await;
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("demo");
    let work = work.to_str().unwrap();
    let demo = std::process::Command::new(env!("CARGO_BIN_EXE_rewind"))
        .args(["demo", "--workdir", work, "--capture-only"])
        .output()
        .unwrap();
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    // The demo's capture ended; a second later its lag is over a 1 s threshold.
    std::thread::sleep(Duration::from_secs(2));
    let (_server, _addr) = start_server_with(
        &format!("{work}/store"),
        &unique("rewind-jobs"),
        &[
            "--sns-topic",
            &topic,
            "--lag-alert-after",
            "1",
            "--lag-check-every",
            "1",
        ],
    );
    let first = receive(&sqs, &queue, 1, Duration::from_secs(20)).await;
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0].attributes["kind"], "capture_lag");
    assert_eq!(first[0].attributes["status"], "lagging");
    assert_eq!(first[0].attributes["table"], "shop");
    assert!(
        first[0].subject.starts_with("rewind: capture of shop is "),
        "{first:?}"
    );
    assert!(first[0].text.contains("The last second fully captured is "));
    // Several checks later, still behind: no second message.
    let more = receive(&sqs, &queue, 1, Duration::from_secs(4)).await;
    assert!(
        more.is_empty(),
        "announced once, not at every check: {more:?}"
    );
}
