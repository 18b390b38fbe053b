//! Point-in-time restore end to end against moto, as an operator runs it: a random typed
//! workload written in phases more than a second apart, captured with `rewind capture --once`,
//! restored with `rewind restore` at every phase boundary and at `latest` into new tables (one in
//! a second region) and into an ImportTable export, each compared exactly with a reference
//! model; `rewind verify` catches one changed, deleted or added item; the refusals (a point
//! before the window, an existing table) leave everything as it was.

mod common;

use aws_sdk_dynamodb::types::{AttributeValue, ScalarAttributeType};
use common::*;
use rand::SeedableRng;
use std::collections::BTreeMap;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restores_every_phase_boundary_exactly_and_verify_catches_changes() {
    let client = ddb("us-east-1").await;
    let suffix: u32 = rand::random();
    let table = format!("restore-e2e-{suffix}");
    rewind_e2e::create_table_with_stream(&client, &table, ScalarAttributeType::S).await;
    let store_dir = tempfile::tempdir().unwrap();
    let store = format!("file://{}", store_dir.path().display());
    let created = now_secs_f64().floor() as i64;

    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut model = BTreeMap::new();
    let mut next_id = 0;
    let mut boundaries: Vec<(i64, Model)> = Vec::new();
    let mut backup_valid_from = i64::MAX;
    for (i, ops) in [120, 80, 80].into_iter().enumerate() {
        phase(&client, &table, &mut rng, &mut model, &mut next_id, ops).await;
        boundaries.push((close_phase().await, as_model(&model)));
        if i == 0 {
            // Before capture has run: the backup waits for it, and then settles the claim.
            let out = rewind(&[
                "--output", "json", "backup", "--table", &table, "--store", &store,
            ]);
            assert!(out.status.success());
            let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            backup_valid_from =
                chrono::DateTime::parse_from_rfc3339(report["valid_from"].as_str().unwrap())
                    .unwrap()
                    .timestamp();
        }
    }
    // The watermark trails the poller's last empty read by the 2 s skew margin; it must pass
    // the backup's first valid second for the backup to settle the whole-life claim.
    tokio::time::sleep(Duration::from_secs(3)).await;
    while now_secs_f64() < (backup_valid_from + 3) as f64 {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let out = rewind(&["capture", "--table", &table, "--store", &store, "--once"]);
    assert!(out.status.success());

    // Dry run: the plan and exact counts, nothing written.
    let (last_at, last_model) = boundaries.last().unwrap().clone();
    let dry_run = |second: i64| -> serde_json::Value {
        let out = rewind(&[
            "--output",
            "json",
            "restore",
            "--table",
            &table,
            "--store",
            &store,
            "--at",
            &rfc3339(second),
            "--to",
            "dynamodb://never-created",
            "--dry-run",
        ]);
        assert!(out.status.success(), "dry run at {}", rfc3339(second));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let dry = dry_run(last_at);
    assert_eq!(dry["items"], last_model.len() as u64);
    // The stream's first second and the first boundary (before the backup is valid) come from
    // the change log alone.
    for (second, want) in [
        (created, None),
        (boundaries[0].0, Some(boundaries[0].1.len())),
    ] {
        let dry = dry_run(second);
        assert!(dry["base"].is_null(), "{dry}");
        if let Some(n) = want {
            assert_eq!(dry["items"], n as u64);
        }
    }
    let ls: serde_json::Value = serde_json::from_slice(
        &rewind(&[
            "--output", "json", "ls", "--store", &store, "--table", &table,
        ])
        .stdout,
    )
    .unwrap();
    assert_eq!(ls[0]["whole_life"]["state"], "confirmed", "{ls}");
    assert!(client
        .describe_table()
        .table_name("never-created")
        .send()
        .await
        .is_err());

    // Every boundary into a new table; the last one in a second region.
    let west = ddb("us-west-2").await;
    for (i, (at, want)) in boundaries.iter().enumerate() {
        let last = i + 1 == boundaries.len();
        let name = format!("{table}-r{i}");
        let to = if last {
            format!("dynamodb://{name}?region=us-west-2")
        } else {
            format!("dynamodb://{name}")
        };
        let out = rewind(&[
            "--output",
            "json",
            "restore",
            "--table",
            &table,
            "--store",
            &store,
            "--at",
            &rfc3339(*at),
            "--to",
            &to,
        ]);
        assert!(out.status.success(), "restore at boundary {i}");
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["items"], want.len() as u64);
        let restored = if last { &west } else { &client };
        assert_same(
            &format!("boundary {i} ({})", rfc3339(*at)),
            &scan_all(restored, &name).await,
            want,
        );
        let out = rewind(&[
            "verify",
            "--table",
            &table,
            "--store",
            &store,
            "--at",
            &rfc3339(*at),
            "--against",
            &to,
        ]);
        assert_eq!(out.status.code(), Some(0), "verify boundary {i}");
    }
    assert!(
        client
            .describe_table()
            .table_name(format!("{table}-r2"))
            .send()
            .await
            .is_err(),
        "the second-region restore must not land in the first region"
    );

    // `latest` resolves to the watermark, which is past the last phase.
    let latest = format!("{table}-latest");
    let out = rewind(&[
        "--output",
        "json",
        "restore",
        "--table",
        &table,
        "--store",
        &store,
        "--at",
        "latest",
        "--to",
        &format!("dynamodb://{latest}"),
    ]);
    assert!(out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let resolved = chrono::DateTime::parse_from_rfc3339(report["at"].as_str().unwrap()).unwrap();
    assert!(
        resolved.timestamp() >= last_at,
        "latest {resolved} is before the last phase"
    );
    assert_same("latest", &scan_all(&client, &latest).await, &last_model);

    // verify: exit 1 after one item is changed, deleted or added; 0 again once put back.
    let r0 = format!("{table}-r0");
    let verify_r0 = || {
        rewind(&[
            "verify",
            "--table",
            &table,
            "--store",
            &store,
            "--at",
            &rfc3339(boundaries[0].0),
            "--against",
            &format!("dynamodb://{r0}"),
        ])
        .status
        .code()
    };
    let victim_key = boundaries[0].1.keys().next().unwrap().clone();
    let victim: SdkItem = rewind_format::item_from_json(&boundaries[0].1[&victim_key])
        .unwrap()
        .into();
    let mut changed = victim.clone();
    changed.insert(
        "v".into(),
        AttributeValue::S("not a number any more".into()),
    );
    client
        .put_item()
        .table_name(&r0)
        .set_item(Some(changed))
        .send()
        .await
        .unwrap();
    assert_eq!(verify_r0(), Some(1), "a changed item");
    client
        .put_item()
        .table_name(&r0)
        .set_item(Some(victim.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(verify_r0(), Some(0));
    client
        .delete_item()
        .table_name(&r0)
        .key("pk", victim["pk"].clone())
        .key("sk", victim["sk"].clone())
        .send()
        .await
        .unwrap();
    assert_eq!(verify_r0(), Some(1), "a deleted item");
    client
        .put_item()
        .table_name(&r0)
        .set_item(Some(victim.clone()))
        .send()
        .await
        .unwrap();
    let mut extra = victim.clone();
    extra.insert("sk".into(), AttributeValue::S("not-in-the-backup".into()));
    client
        .put_item()
        .table_name(&r0)
        .set_item(Some(extra))
        .send()
        .await
        .unwrap();
    assert_eq!(verify_r0(), Some(1), "an added item");

    // --into-existing makes it equal again and says what it changed.
    let out = rewind(&[
        "--output",
        "json",
        "restore",
        "--table",
        &table,
        "--store",
        &store,
        "--at",
        &rfc3339(boundaries[0].0),
        "--to",
        &format!("dynamodb://{r0}"),
        "--into-existing",
    ]);
    assert!(out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["deleted"], 1);
    assert_eq!(report["items_written"], 0);
    assert_eq!(verify_r0(), Some(0));

    // Rolling chosen keys back in place: --key-filter with --into-existing puts back the listed
    // item and leaves every other key of the table as it is (a second changed item stays).
    let bystander_key = boundaries[0].1.keys().nth(1).unwrap().clone();
    let bystander: SdkItem = rewind_format::item_from_json(&boundaries[0].1[&bystander_key])
        .unwrap()
        .into();
    for (item, text) in [(&victim, "bad write"), (&bystander, "kept on purpose")] {
        let mut changed = item.clone();
        changed.insert("v".into(), AttributeValue::S(text.into()));
        client
            .put_item()
            .table_name(&r0)
            .set_item(Some(changed))
            .send()
            .await
            .unwrap();
    }
    let out = rewind(&[
        "--output",
        "json",
        "restore",
        "--table",
        &table,
        "--store",
        &store,
        "--at",
        &rfc3339(boundaries[0].0),
        "--to",
        &format!("dynamodb://{r0}"),
        "--into-existing",
        "--key-filter",
        &victim_key,
    ]);
    assert!(out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            &report["items_written"],
            &report["deleted"],
            &report["changed"]
        ),
        (
            &serde_json::json!(1),
            &serde_json::json!(0),
            &serde_json::json!(1)
        ),
        "{report}"
    );
    let now = scan_all(&client, &r0).await;
    assert_eq!(
        now.get(&victim_key),
        boundaries[0].1.get(&victim_key),
        "the listed key is rolled back"
    );
    assert!(
        now[&bystander_key].contains("kept on purpose"),
        "an unlisted key is left alone: {}",
        now[&bystander_key]
    );
    // Verified as restored: the listed key equals the state; the whole table does not yet.
    let verify_listed = rewind(&[
        "verify",
        "--table",
        &table,
        "--store",
        &store,
        "--at",
        &rfc3339(boundaries[0].0),
        "--against",
        &format!("dynamodb://{r0}"),
        "--key-filter",
        &victim_key,
    ]);
    assert_eq!(verify_listed.status.code(), Some(0));
    assert_eq!(verify_r0(), Some(1), "the bystander still differs");
    client
        .put_item()
        .table_name(&r0)
        .set_item(Some(bystander.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(verify_r0(), Some(0));

    // Refusals: before the window (names it), and an existing table without --into-existing.
    let out = rewind(&[
        "restore",
        "--table",
        &table,
        "--store",
        &store,
        "--at",
        &rfc3339(created - 3600),
        "--to",
        "dynamodb://never-created-2",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("outside the restorable window")
            && stderr.contains("nearest restorable point"),
        "{stderr}"
    );
    let r1 = format!("{table}-r1");
    let before = scan_all(&client, &r1).await;
    let out = rewind(&[
        "restore",
        "--table",
        &table,
        "--store",
        &store,
        "--at",
        &rfc3339(boundaries[0].0),
        "--to",
        &format!("dynamodb://{r1}"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    assert_same(
        "untouched after a refused restore",
        &scan_all(&client, &r1).await,
        &before,
    );

    // An export that moto's ImportTable loads into a table equal to the model.
    import_export_equals_model(&client, &table, &store, boundaries[1].0, &boundaries[1].1).await;
}

async fn import_export_equals_model(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    store: &str,
    at: i64,
    want: &Model,
) {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    let bucket = format!("{table}-exports");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let out = rewind(&[
        "restore",
        "--table",
        table,
        "--store",
        store,
        "--at",
        &rfc3339(at),
        "--to",
        &format!("s3://{bucket}/exports/one"),
    ]);
    assert!(out.status.success());
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, InputCompressionType, InputFormat, KeySchemaElement,
        KeyType, S3BucketSource, TableCreationParameters,
    };
    let imported = format!("{table}-imported");
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
    let started = client
        .import_table()
        .input_format(InputFormat::DynamodbJson)
        .input_compression_type(InputCompressionType::Gzip)
        .s3_bucket_source(
            S3BucketSource::builder()
                .s3_bucket(&bucket)
                .s3_key_prefix("exports/one/data/")
                .build()
                .unwrap(),
        )
        .table_creation_parameters(
            TableCreationParameters::builder()
                .table_name(&imported)
                .attribute_definitions(def("pk"))
                .attribute_definitions(def("sk"))
                .key_schema(key("pk", KeyType::Hash))
                .key_schema(key("sk", KeyType::Range))
                .billing_mode(BillingMode::PayPerRequest)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let arn = started
        .import_table_description()
        .unwrap()
        .import_arn()
        .unwrap()
        .to_string();
    for _ in 0..120 {
        let d = client
            .describe_import()
            .import_arn(&arn)
            .send()
            .await
            .unwrap();
        let status = d
            .import_table_description()
            .unwrap()
            .import_status()
            .unwrap()
            .clone();
        match status.as_str() {
            "COMPLETED" => break,
            "IN_PROGRESS" => tokio::time::sleep(Duration::from_millis(250)).await,
            other => panic!("import {other}: {d:?}"),
        }
    }
    assert_same(
        "ImportTable of the export",
        &scan_all(client, &imported).await,
        want,
    );
}
