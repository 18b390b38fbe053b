//! The primary region is lost: restore, verify and ls must work from the replica bucket in the
//! secondary region without a single request to the source region.
//!
//! The backups are made in us-east-1 (table, stream, bucket), then copied to a bucket in
//! us-west-2 the way cross-region replication delivers them: out of order, every catalog object
//! (manifests, checkpoints, descriptions) before any data file. Every command then runs through
//! the test proxy (`tests/support/aws_proxy.py`), which refuses and logs any request signed for
//! us-east-1 (the credential scope of its Authorization header); the test fails on any such line.
//! Halfway through the copy the replica must claim nothing its files do not bear out.

mod common;

use aws_sdk_dynamodb::types::ScalarAttributeType;
use aws_sdk_s3::types::{
    BucketLocationConstraint, ChecksumAlgorithm, ChecksumMode, CreateBucketConfiguration,
};
use common::*;
use rand::SeedableRng;
use std::collections::BTreeMap;
use std::process::{Command, Output};
use std::time::Duration;

async fn s3(region: &str) -> aws_sdk_s3::Client {
    rewind_e2e::moto_endpoint();
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_string()))
        .load()
        .await;
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    )
}

/// `rewind` in the secondary region, every request through the proxy.
fn rewind_dr(proxy: &str, args: &[&str]) -> Output {
    rewind_env(
        &[
            ("AWS_ENDPOINT_URL", proxy),
            ("AWS_REGION", "us-west-2"),
            ("AWS_DEFAULT_REGION", "us-west-2"),
        ],
        args,
    )
}

/// Copies `keys` from the source bucket to the replica, keeping each object's CRC32C as
/// replication does.
async fn replicate(
    from: &aws_sdk_s3::Client,
    to: &aws_sdk_s3::Client,
    src: &str,
    dst: &str,
    keys: &[String],
) {
    for key in keys {
        let object = from
            .get_object()
            .bucket(src)
            .key(key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .unwrap_or_else(|e| panic!("get {key}: {e:?}"));
        let crc = object
            .checksum_crc32_c()
            .map(str::to_string)
            .unwrap_or_else(|| panic!("{key} has no stored CRC32C"));
        let body = object.body.collect().await.unwrap().into_bytes();
        to.put_object()
            .bucket(dst)
            .key(key)
            .checksum_algorithm(ChecksumAlgorithm::Crc32C)
            .checksum_crc32_c(crc)
            .body(body.into())
            .send()
            .await
            .unwrap_or_else(|e| panic!("put {key}: {e:?}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_verify_and_ls_work_from_the_replica_with_the_source_region_gone() {
    let client = ddb("us-east-1").await;
    let suffix: u32 = rand::random();
    let table = format!("dr-e2e-{suffix}");
    rewind_e2e::create_table_with_stream(&client, &table, ScalarAttributeType::S).await;
    let east = s3("us-east-1").await;
    let src = format!("dr-src-{suffix}");
    east.create_bucket().bucket(&src).send().await.unwrap();
    let store = format!("s3://{src}/backups");

    // Backups in the primary region: a full backup, the change log, a compacted snapshot.
    let mut rng = rand::rngs::StdRng::seed_from_u64(23);
    let mut model = BTreeMap::new();
    let mut next_id = 0;
    phase(&client, &table, &mut rng, &mut model, &mut next_id, 60).await;
    close_phase().await;
    let report = json_of(&rewind(&[
        "--output", "json", "backup", "--table", &table, "--store", &store,
    ]));
    let valid_from = chrono::DateTime::parse_from_rfc3339(report["valid_from"].as_str().unwrap())
        .unwrap()
        .timestamp();
    phase(&client, &table, &mut rng, &mut model, &mut next_id, 40).await;
    let first = close_phase().await;
    let first_model = as_model(&model);
    while now_secs_f64() < (valid_from.max(first) + 3) as f64 {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        rewind(&["capture", "--table", &table, "--store", &store, "--once"])
            .status
            .success()
    );
    // The watermark must pass the backup for compaction to cut a snapshot after it: an empty
    // read 3 s later moves it.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        rewind(&["capture", "--table", &table, "--store", &store, "--once"])
            .status
            .success()
    );
    let compacted = rewind(&["compact", "--table", &table, "--store", &store]);
    assert!(compacted.status.success());
    assert!(
        !String::from_utf8_lossy(&compacted.stdout).contains("nothing to do"),
        "a compacted snapshot is part of what is replicated"
    );
    phase(&client, &table, &mut rng, &mut model, &mut next_id, 40).await;
    let second = close_phase().await;
    let second_model = as_model(&model);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        rewind(&["capture", "--table", &table, "--store", &store, "--once"])
            .status
            .success()
    );

    // The replica in us-west-2, catalog first.
    let west = s3("us-west-2").await;
    let replica = format!("dr-replica-{suffix}");
    west.create_bucket()
        .bucket(&replica)
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::UsWest2)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mut keys = Vec::new();
    let mut token = None;
    loop {
        let page = east
            .list_objects_v2()
            .bucket(&src)
            .set_continuation_token(token.take())
            .send()
            .await
            .unwrap();
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_string)),
        );
        match page.next_continuation_token() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    let (mut data, catalog): (Vec<String>, Vec<String>) =
        keys.into_iter().partition(|k| k.ends_with(".parquet"));
    assert!(catalog.iter().any(|k| k.ends_with("manifest.json")));
    data.reverse();
    replicate(&east, &west, &src, &replica, &catalog).await;

    let proxy = rewind_e2e::aws_proxy::AwsProxy::start(Some("us-east-1"));
    let url = proxy.url();
    let replica_store = format!("s3://{replica}/backups");

    // Halfway: manifests and checkpoints without their files claim nothing.
    let listed = json_of(&rewind_dr(
        &url,
        &[
            "--output",
            "json",
            "ls",
            "--store",
            &replica_store,
            "--table",
            &table,
        ],
    ))[0]
        .clone();
    assert!(
        !listed["incomplete"].as_array().unwrap().is_empty(),
        "checkpoints whose files have not arrived are reported: {listed}"
    );
    let early = rewind_dr(
        &url,
        &[
            "restore",
            "--table",
            &table,
            "--store",
            &replica_store,
            "--at",
            "latest",
            "--to",
            &format!("dynamodb://{table}-early"),
        ],
    );
    assert!(
        !early.status.success(),
        "nothing the replica's files do not hold may be restored"
    );

    replicate(&east, &west, &src, &replica, &data).await;
    // The runbook (docs/OPERATIONS.md, "A lost region"), timed from the decision.
    let decided = std::time::Instant::now();
    let listed = json_of(&rewind_dr(
        &url,
        &[
            "--output",
            "json",
            "ls",
            "--store",
            &replica_store,
            "--table",
            &table,
        ],
    ))[0]
        .clone();
    assert!(
        listed["incomplete"].as_array().unwrap().is_empty(),
        "{listed}"
    );
    assert!(listed["snapshots"].as_u64().unwrap() >= 2, "{listed}");

    // Restores and verify in us-west-2 (the target names no region: the chain's us-west-2).
    let west_ddb = ddb("us-west-2").await;
    let underway = decided.elapsed();
    let mut verified_after = None;
    for (at, want, name) in [
        (second, &second_model, format!("{table}-dr")),
        (first, &first_model, format!("{table}-dr-first")),
    ] {
        let report = json_of(&rewind_dr(
            &url,
            &[
                "--output",
                "json",
                "restore",
                "--table",
                &table,
                "--store",
                &replica_store,
                "--at",
                &rfc3339(at),
                "--to",
                &format!("dynamodb://{name}"),
            ],
        ));
        assert_eq!(report["at"].as_str().unwrap(), rfc3339(at));
        assert_same(
            &format!("restore from the replica at {}", rfc3339(at)),
            &scan_all(&west_ddb, &name).await,
            want,
        );
    }
    let verify = rewind_dr(
        &url,
        &[
            "verify",
            "--table",
            &table,
            "--store",
            &replica_store,
            "--at",
            &rfc3339(second),
            "--against",
            &format!("dynamodb://{table}-dr"),
        ],
    );
    assert!(verify.status.success(), "verify in the secondary region");
    verified_after.get_or_insert(decided.elapsed());
    eprintln!(
        "RUNBOOK lost region: restore under way {:.1} s after the decision, two restores and a verify done after {:.1} s",
        underway.as_secs_f64(),
        verified_after.unwrap().as_secs_f64()
    );
    let refused = proxy.refused();
    assert!(
        refused.is_empty(),
        "requests were signed for the lost region: {refused:#?}"
    );

    // The control: the same proxy setup does catch a command signed for the lost region.
    let control = rewind_e2e::aws_proxy::AwsProxy::start(Some("us-east-1"));
    let out = Command::new(env!("CARGO_BIN_EXE_rewind"))
        .env("AWS_ENDPOINT_URL", control.url())
        .env("AWS_REGION", "us-east-1")
        .args(["ls", "--store", &store, "--table", &table])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        !control.refused().is_empty(),
        "the proxy logs what it refuses"
    );
}
