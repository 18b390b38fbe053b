//! The DynamoDB restore target against moto server: table creation from a stored description,
//! a lossless load of every attribute type, settings applied after the load, refusing an
//! existing table, reconciling one, and another region. (The throttling paths, which moto
//! never produces, are unit-tested in `target/dynamodb/tests.rs` through the batch-writer seam.)

use aws_sdk_dynamodb::types as ddb;
use rewind_catalog::TableDescription;
use rewind_format::bucket_of;
use rewind_format::{AttributeValue, Item};
use rewind_replay::state::LiveItem;
use rewind_replay::target::dynamodb::DynamoDbTarget;
use rewind_replay::target::{
    BucketWritten, FinishContext, PrepareContext, RestoreTarget, WriteMode, WriteStats,
};
use rewind_replay::ReplayError;
use std::collections::{BTreeSet, HashMap};

const BUCKETS: u32 = 8;

fn unique(prefix: &str) -> String {
    format!("{prefix}-{:08x}", rand::random::<u32>())
}

async fn client(region: &str) -> aws_sdk_dynamodb::Client {
    rewind_e2e::moto_endpoint();
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_string()))
        .load()
        .await;
    aws_sdk_dynamodb::Client::new(&config)
}

async fn connect(table: &str, region: Option<&str>) -> DynamoDbTarget {
    rewind_e2e::moto_endpoint();
    DynamoDbTarget::connect(table, region).await
}

/// A provisioned table keyed pk (S) + sk (N), with a GSI, an LSI, a table class, TTL, tags,
/// a stream and deletion protection.
fn rich_description(table: &str) -> TableDescription {
    serde_json::from_value(serde_json::json!({
        "format_version": 1,
        "table_name": table,
        "table_arn": format!("arn:aws:dynamodb:us-east-1:123456789012:table/{table}"),
        "key_schema": [
            {"attribute_name": "pk", "key_type": "HASH"},
            {"attribute_name": "sk", "key_type": "RANGE"}
        ],
        "attribute_definitions": [
            {"attribute_name": "gsi1", "attribute_type": "S"},
            {"attribute_name": "lsi1", "attribute_type": "N"},
            {"attribute_name": "pk", "attribute_type": "S"},
            {"attribute_name": "sk", "attribute_type": "N"}
        ],
        "billing_mode": "PROVISIONED",
        "provisioned_throughput": {"read_capacity_units": 5, "write_capacity_units": 7},
        "global_secondary_indexes": [{
            "index_name": "by-gsi1",
            "key_schema": [{"attribute_name": "gsi1", "key_type": "HASH"}],
            "projection": {"projection_type": "INCLUDE", "non_key_attributes": ["s"]},
            "provisioned_throughput": {"read_capacity_units": 2, "write_capacity_units": 3}
        }],
        "local_secondary_indexes": [{
            "index_name": "by-lsi1",
            "key_schema": [
                {"attribute_name": "pk", "key_type": "HASH"},
                {"attribute_name": "lsi1", "key_type": "RANGE"}
            ],
            "projection": {"projection_type": "KEYS_ONLY"}
        }],
        "table_class": "STANDARD_INFREQUENT_ACCESS",
        "time_to_live": {"status": "ENABLED", "attribute_name": "expires_at"},
        "tags": {"env": "test", "team": "shop"},
        "stream": {"enabled": true, "view_type": "NEW_IMAGE"},
        "deletion_protection_enabled": true,
        "captured_at": "2026-01-01T00:00:00.000Z"
    }))
    .unwrap()
}

/// An on-demand table keyed pk (S), nothing else.
fn plain_description(table: &str) -> TableDescription {
    serde_json::from_value(serde_json::json!({
        "format_version": 1,
        "table_name": table,
        "table_arn": format!("arn:aws:dynamodb:us-east-1:123456789012:table/{table}"),
        "key_schema": [{"attribute_name": "pk", "key_type": "HASH"}],
        "attribute_definitions": [{"attribute_name": "pk", "attribute_type": "S"}],
        "billing_mode": "PAY_PER_REQUEST",
        "stream": {"enabled": false},
        "captured_at": "2026-01-01T00:00:00.000Z"
    }))
    .unwrap()
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn n(v: &str) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// Item `i` with every attribute type, keyed pk + sk.
fn every_type(i: usize) -> HashMap<String, AttributeValue> {
    let m = |pairs: Vec<(&str, AttributeValue)>| {
        AttributeValue::M(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    };
    let mut item: HashMap<String, AttributeValue> = [
        ("pk", s(&format!("user#{}", i % 50))),
        ("sk", n(&i.to_string())),
        ("gsi1", s(&format!("g{}", i % 7))),
        ("lsi1", n(&format!("{}.5", i * 3))),
        ("expires_at", n(&(4_000_000_000u64 + i as u64).to_string())),
        ("s", s(&format!("héllo \"wörld\" ✓ {i}"))),
        ("n38", n(&format!("9{i:037}"))),
        ("tiny", n(&format!("-0.{i:037}1"))),
        (
            "b",
            AttributeValue::B(vec![0, 255, (i % 256) as u8, 10, 13]),
        ),
        ("t", AttributeValue::Bool(i.is_multiple_of(2))),
        ("z", AttributeValue::Null(true)),
        (
            "ss",
            AttributeValue::Ss(vec!["x".into(), format!("y{i}"), "".into()]),
        ),
        (
            "ns",
            AttributeValue::Ns(vec!["1".into(), "-2.5".into(), format!("1{i:037}")]),
        ),
        (
            "bs",
            AttributeValue::Bs(vec![vec![1, 2], vec![i as u8], vec![]]),
        ),
        (
            "l",
            AttributeValue::L(vec![
                s("a"),
                n("3.14"),
                AttributeValue::Null(true),
                m(vec![("k", AttributeValue::Bool(false))]),
                AttributeValue::L(vec![]),
            ]),
        ),
        (
            "m",
            m(vec![
                ("name", s(&format!("item {i}"))),
                ("empty", m(vec![])),
                (
                    "deep",
                    m(vec![(
                        "deeper",
                        AttributeValue::L(vec![n("0"), AttributeValue::Ss(vec!["q".into()])]),
                    )]),
                ),
            ]),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if i.is_multiple_of(5) {
        // Sparse index attributes: not every item is in every index.
        item.remove("gsi1");
        item.remove("lsi1");
    }
    item
}

fn live(item: &HashMap<String, AttributeValue>, key_names: &[&str]) -> LiveItem {
    let keys: HashMap<String, AttributeValue> = key_names
        .iter()
        .map(|k| (k.to_string(), item[*k].clone()))
        .collect();
    LiveItem::new(
        rewind_format::encode_key(&keys).unwrap(),
        &rewind_format::item_to_json(&keys),
        &rewind_format::item_to_json(item),
        0,
        "",
        "",
    )
}

fn prepare_ctx(
    description: Option<TableDescription>,
    key_names: &[&str],
    mode: WriteMode,
) -> PrepareContext {
    PrepareContext {
        scope: None,
        description,
        key_names: key_names.iter().map(|k| k.to_string()).collect(),
        mode,
        buckets: BUCKETS,
    }
}

fn finish_ctx(description: Option<TableDescription>, items: u64) -> FinishContext {
    FinishContext {
        description,
        no_ttl: false,
        source_table: "src".into(),
        at: 1_767_225_600,
        buckets: BUCKETS,
        items,
    }
}

/// Writes `items` bucket by bucket (every bucket, empty ones too), as a restore does; returns
/// the summed counts.
async fn write_state(target: &DynamoDbTarget, items: &[LiveItem]) -> BucketWritten {
    let mut by_bucket: HashMap<u32, Vec<LiveItem>> = HashMap::new();
    for item in items {
        by_bucket
            .entry(bucket_of(&item.key, BUCKETS))
            .or_default()
            .push(item.clone());
    }
    let stats = WriteStats::default();
    let mut total = BucketWritten::default();
    for bucket in 0..BUCKETS {
        let mut items = by_bucket.remove(&bucket).unwrap_or_default();
        items.sort_by(|a, b| a.key.cmp(&b.key));
        let w = target.write_bucket(bucket, &items, &stats).await.unwrap();
        total.items_written += w.items_written;
        total.bytes_written += w.bytes_written;
        total.deleted += w.deleted;
        total.unchanged += w.unchanged;
        total.changed += w.changed;
    }
    assert_eq!(WriteStats::get(&stats.items), total.items_written);
    assert_eq!(WriteStats::get(&stats.bytes), total.bytes_written);
    total
}

/// Every item of the target, as canonical JSON with numbers in canonical form (moto keeps
/// numbers as written; DynamoDB compares them by value).
async fn scan_by_value(target: &DynamoDbTarget) -> BTreeSet<String> {
    scan(target).await.iter().map(|i| by_value(i)).collect()
}

async fn scan(target: &DynamoDbTarget) -> Vec<Item> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(4);
    let collect = async {
        let mut all = Vec::new();
        while let Some(page) = rx.recv().await {
            all.extend(page);
        }
        all
    };
    let (scanned, all) = tokio::join!(target.scan(tx), collect);
    scanned.unwrap();
    all
}

fn by_value(item: &HashMap<String, AttributeValue>) -> String {
    fn canon(v: &AttributeValue) -> AttributeValue {
        let num = |t: &String| rewind_format::number::canonical(t).unwrap();
        match v {
            AttributeValue::N(t) => AttributeValue::N(num(t)),
            AttributeValue::Ns(ns) => AttributeValue::Ns(ns.iter().map(num).collect()),
            AttributeValue::M(m) => {
                AttributeValue::M(m.iter().map(|(k, v)| (k.clone(), canon(v))).collect())
            }
            AttributeValue::L(l) => AttributeValue::L(l.iter().map(canon).collect()),
            other => other.clone(),
        }
    }
    rewind_format::item_to_json(&item.iter().map(|(k, v)| (k.clone(), canon(v))).collect())
}

#[tokio::test]
async fn fresh_restore_creates_the_table_and_loads_every_type_losslessly() {
    let table = unique("fresh");
    let description = rich_description(&table);
    let target = connect(&table, None).await;
    assert_eq!(target.id(), format!("dynamodb://{table}"));
    let keys = ["pk", "sk"];
    target
        .prepare(&prepare_ctx(
            Some(description.clone()),
            &keys,
            WriteMode::Fresh,
        ))
        .await
        .unwrap();
    let items: Vec<LiveItem> = (0..500).map(|i| live(&every_type(i), &keys)).collect();
    let written = write_state(&target, &items).await;
    assert_eq!(written.items_written, 500);
    assert_eq!(
        written.bytes_written,
        items.iter().map(|i| i.image().len() as u64).sum::<u64>()
    );
    assert_eq!(
        target.active_ttl_attribute().await.unwrap(),
        None,
        "TTL only after the load"
    );
    target
        .finish(&finish_ctx(Some(description), 500))
        .await
        .unwrap();

    // Exactly the input, byte for byte in canonical JSON.
    let scanned: BTreeSet<String> = scan(&target)
        .await
        .iter()
        .map(|i| rewind_format::item_to_json(i))
        .collect();
    let expected: BTreeSet<String> = items.iter().map(|i| i.image().to_string()).collect();
    assert_eq!(scanned.len(), 500);
    assert!(scanned == expected, "scan differs from the input");

    // The table as described.
    let c = client("us-east-1").await;
    let t = c
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let throughput = t.provisioned_throughput().unwrap();
    assert_eq!(
        (
            throughput.read_capacity_units(),
            throughput.write_capacity_units()
        ),
        (Some(5), Some(7))
    );
    let gsi = &t.global_secondary_indexes()[0];
    assert_eq!(gsi.index_name(), Some("by-gsi1"));
    assert_eq!(
        gsi.projection().unwrap().projection_type(),
        Some(&ddb::ProjectionType::Include)
    );
    assert_eq!(gsi.projection().unwrap().non_key_attributes(), ["s"]);
    assert_eq!(
        gsi.provisioned_throughput().unwrap().write_capacity_units(),
        Some(3)
    );
    assert_eq!(t.local_secondary_indexes()[0].index_name(), Some("by-lsi1"));
    // TableClass is sent, but moto 5.2 ignores it (no TableClassSummary comes back).
    let stream = t.stream_specification().unwrap();
    assert!(stream.stream_enabled());
    assert_eq!(
        stream.stream_view_type(),
        Some(&ddb::StreamViewType::NewImage)
    );
    assert_eq!(t.deletion_protection_enabled(), Some(true));
    // The GSI holds the items that have its key.
    let in_gsi = c
        .query()
        .table_name(&table)
        .index_name("by-gsi1")
        .key_condition_expression("gsi1 = :g")
        .expression_attribute_values(":g", ddb::AttributeValue::S("g1".into()))
        .send()
        .await
        .unwrap()
        .count();
    let want = (0..500usize)
        .filter(|i| !i.is_multiple_of(5) && i % 7 == 1)
        .count();
    assert_eq!(in_gsi as usize, want);

    // TTL and tags after finish.
    assert_eq!(
        target.active_ttl_attribute().await.unwrap().as_deref(),
        Some("expires_at")
    );
    let tags: HashMap<String, String> = c
        .list_tags_of_resource()
        .resource_arn(t.table_arn().unwrap())
        .send()
        .await
        .unwrap()
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    assert_eq!(tags.get("team").map(String::as_str), Some("shop"));
    assert_eq!(tags.get("env").map(String::as_str), Some("test"));

    // finish again (a resumed restore) changes nothing and does not fail.
    target
        .finish(&finish_ctx(Some(rich_description(&table)), 500))
        .await
        .unwrap();

    // A second Fresh restore into it is refused and leaves it as it is.
    let again = connect(&table, None).await;
    let err = again
        .prepare(&prepare_ctx(
            Some(rich_description(&table)),
            &keys,
            WriteMode::Fresh,
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ReplayError::TargetExists { target } if target == &format!("dynamodb://{table}")),
        "{err}"
    );
    let after: BTreeSet<String> = scan(&again)
        .await
        .iter()
        .map(|i| rewind_format::item_to_json(i))
        .collect();
    assert!(after == expected, "the existing table was changed");
}

#[tokio::test]
async fn no_stored_description_is_refused_before_anything_is_created() {
    let table = unique("nodesc");
    let target = connect(&table, None).await;
    let err = target
        .prepare(&prepare_ctx(None, &["pk"], WriteMode::Fresh))
        .await
        .unwrap_err();
    assert!(matches!(err, ReplayError::Invalid { .. }), "{err}");
    assert!(err.to_string().contains("table description"), "{err}");
    let c = client("us-east-1").await;
    assert!(c.describe_table().table_name(&table).send().await.is_err());
}

#[tokio::test]
async fn reconcile_makes_an_existing_table_equal_to_the_state_and_counts_exactly() {
    let table = unique("reconcile");
    let keys = ["pk"];
    let item = |pk: &str, v: &str| -> HashMap<String, AttributeValue> {
        [("pk", s(pk)), ("v", s(v)), ("n", n("7"))]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect()
    };
    // The table as found: 100 equal, 50 to change, 30 extra, one equal by value only.
    let setup = connect(&table, None).await;
    setup
        .prepare(&prepare_ctx(
            Some(plain_description(&table)),
            &keys,
            WriteMode::Fresh,
        ))
        .await
        .unwrap();
    let mut before: Vec<LiveItem> = Vec::new();
    before.extend((0..100).map(|i| live(&item(&format!("equal{i}"), "same"), &keys)));
    before.extend((0..50).map(|i| live(&item(&format!("changed{i}"), "old"), &keys)));
    before.extend((0..30).map(|i| live(&item(&format!("extra{i}"), "gone"), &keys)));
    write_state(&setup, &before).await;
    let c = client("us-east-1").await;
    c.put_item()
        .table_name(&table)
        .item("pk", ddb::AttributeValue::S("number".into()))
        .item("n", ddb::AttributeValue::N("1E+2".into()))
        .item(
            "ns",
            ddb::AttributeValue::Ns(vec!["1.50".into(), "2".into()]),
        )
        .send()
        .await
        .unwrap();

    // The state: the equal ones, the changed ones changed, 20 new, and "number" by value.
    let mut state: Vec<LiveItem> = Vec::new();
    state.extend((0..100).map(|i| live(&item(&format!("equal{i}"), "same"), &keys)));
    state.extend((0..50u32).map(|i| {
        let mut it = item(&format!("changed{i}"), "old");
        if i.is_multiple_of(2) {
            it.insert("v".into(), s("new"));
        } else {
            it.insert("n".into(), n("7.5")); // a number that differs by value
        }
        live(&it, &keys)
    }));
    state.extend((0..20).map(|i| live(&item(&format!("new{i}"), "fresh"), &keys)));
    let number: HashMap<String, AttributeValue> = [
        ("pk", s("number")),
        ("n", n("100")),
        ("ns", AttributeValue::Ns(vec!["2.0".into(), "1.5".into()])),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    state.push(live(&number, &keys));

    let target = connect(&table, None).await;
    target
        .prepare(&prepare_ctx(
            Some(plain_description(&table)),
            &keys,
            WriteMode::Reconcile,
        ))
        .await
        .unwrap();
    let counts = write_state(&target, &state).await;
    assert_eq!(
        (
            counts.unchanged,
            counts.changed,
            counts.deleted,
            counts.items_written
        ),
        (101, 50, 30, 70),
        "{counts:?}"
    );
    target
        .finish(&finish_ctx(
            Some(plain_description(&table)),
            state.len() as u64,
        ))
        .await
        .unwrap();
    let expected: BTreeSet<String> = state
        .iter()
        .map(|i| by_value(&rewind_format::item_from_json(i.image()).unwrap()))
        .collect();
    assert!(
        scan_by_value(&target).await == expected,
        "table differs from the state"
    );

    // Reconciling again finds nothing to do.
    let again = connect(&table, None).await;
    again
        .prepare(&prepare_ctx(None, &keys, WriteMode::Reconcile))
        .await
        .unwrap();
    let counts = write_state(&again, &state).await;
    assert_eq!(
        (
            counts.unchanged,
            counts.changed,
            counts.deleted,
            counts.items_written
        ),
        (state.len() as u64, 0, 0, 0)
    );

    // A key that does not match the existing table's is refused.
    let err = connect(&table, None)
        .await
        .prepare(&prepare_ctx(None, &["id"], WriteMode::Reconcile))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("key"), "{err}");
}

#[tokio::test]
async fn resume_creates_a_missing_table_and_rewrites_buckets_idempotently() {
    let table = unique("resume");
    let keys = ["pk"];
    let items: Vec<LiveItem> = (0..60)
        .map(|i| {
            let it: HashMap<String, AttributeValue> = [
                ("pk".to_string(), s(&format!("k{i}"))),
                ("v".to_string(), n(&i.to_string())),
            ]
            .into_iter()
            .collect();
            live(&it, &keys)
        })
        .collect();
    for _ in 0..2 {
        let target = connect(&table, None).await;
        target
            .prepare(&prepare_ctx(
                Some(plain_description(&table)),
                &keys,
                WriteMode::Resume,
            ))
            .await
            .unwrap();
        assert_eq!(write_state(&target, &items).await.items_written, 60);
        let scanned: BTreeSet<String> = scan(&target)
            .await
            .iter()
            .map(|i| rewind_format::item_to_json(i))
            .collect();
        assert_eq!(
            scanned,
            items.iter().map(|i| i.image().to_string()).collect()
        );
    }
}

#[tokio::test]
async fn a_table_in_another_region() {
    let table = unique("west");
    let keys = ["pk", "sk"];
    let target = connect(&table, Some("us-west-2")).await;
    assert_eq!(target.id(), format!("dynamodb://{table}?region=us-west-2"));
    let mut description = rich_description(&table);
    description.deletion_protection_enabled = false;
    target
        .prepare(&prepare_ctx(
            Some(description.clone()),
            &keys,
            WriteMode::Fresh,
        ))
        .await
        .unwrap();
    let items: Vec<LiveItem> = (0..50).map(|i| live(&every_type(i), &keys)).collect();
    write_state(&target, &items).await;
    target
        .finish(&finish_ctx(Some(description), 50))
        .await
        .unwrap();
    let scanned: BTreeSet<String> = scan(&target)
        .await
        .iter()
        .map(|i| rewind_format::item_to_json(i))
        .collect();
    assert_eq!(
        scanned,
        items.iter().map(|i| i.image().to_string()).collect()
    );

    let west = client("us-west-2").await;
    let t = west
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    assert!(t.table_arn().unwrap().contains(":us-west-2:"), "{t:?}");
    let east = client("us-east-1").await;
    assert!(
        east.describe_table()
            .table_name(&table)
            .send()
            .await
            .is_err(),
        "nothing created in the default region"
    );
}
