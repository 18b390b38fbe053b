//! Descriptions built from recorded SDK answers, compared and versioned.

use super::*;
use aws_sdk_dynamodb::types as ddb;
use chrono::{DateTime, Utc};

fn sdk_table(read_capacity: i64, item_count: i64) -> ddb::TableDescription {
    let ks = |name: &str, kt: ddb::KeyType| {
        ddb::KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kt)
            .build()
            .unwrap()
    };
    let ad = |name: &str, t: ddb::ScalarAttributeType| {
        ddb::AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(t)
            .build()
            .unwrap()
    };
    let pt = |r: i64, w: i64| {
        ddb::ProvisionedThroughputDescription::builder()
            .read_capacity_units(r)
            .write_capacity_units(w)
            .number_of_decreases_today(3)
            .build()
    };
    ddb::TableDescription::builder()
        .table_name("shop")
        .table_arn("arn:aws:dynamodb:us-east-1:123456789012:table/shop")
        .table_id("0d1f")
        .key_schema(ks("pk", ddb::KeyType::Hash))
        .key_schema(ks("sk", ddb::KeyType::Range))
        .attribute_definitions(ad("sk", ddb::ScalarAttributeType::S))
        .attribute_definitions(ad("pk", ddb::ScalarAttributeType::S))
        .attribute_definitions(ad("gsi1", ddb::ScalarAttributeType::N))
        .billing_mode_summary(
            ddb::BillingModeSummary::builder()
                .billing_mode(ddb::BillingMode::Provisioned)
                .build(),
        )
        .provisioned_throughput(pt(read_capacity, 5))
        .global_secondary_indexes(
            ddb::GlobalSecondaryIndexDescription::builder()
                .index_name("z-index")
                .key_schema(ks("gsi1", ddb::KeyType::Hash))
                .projection(
                    ddb::Projection::builder()
                        .projection_type(ddb::ProjectionType::Include)
                        .non_key_attributes("b")
                        .non_key_attributes("a")
                        .build(),
                )
                .provisioned_throughput(pt(2, 2))
                .item_count(item_count)
                .build(),
        )
        .global_secondary_indexes(
            ddb::GlobalSecondaryIndexDescription::builder()
                .index_name("a-index")
                .key_schema(ks("sk", ddb::KeyType::Hash))
                .projection(
                    ddb::Projection::builder()
                        .projection_type(ddb::ProjectionType::KeysOnly)
                        .build(),
                )
                .provisioned_throughput(pt(1, 1))
                .build(),
        )
        .stream_specification(
            ddb::StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(ddb::StreamViewType::NewAndOldImages)
                .build()
                .unwrap(),
        )
        .latest_stream_arn(
            "arn:aws:dynamodb:us-east-1:123456789012:table/shop/stream/2026-11-26T06:00:00.000",
        )
        .latest_stream_label("2026-11-26T06:00:00.000")
        .sse_description(
            ddb::SseDescription::builder()
                .status(ddb::SseStatus::Enabled)
                .sse_type(ddb::SseType::Kms)
                .kms_master_key_arn("arn:aws:kms:us-east-1:123456789012:key/k")
                .build(),
        )
        .table_class_summary(
            ddb::TableClassSummary::builder()
                .table_class(ddb::TableClass::StandardInfrequentAccess)
                .build(),
        )
        .deletion_protection_enabled(true)
        .table_status(ddb::TableStatus::Active)
        .item_count(item_count)
        .table_size_bytes(item_count * 100)
        .build()
}

fn ttl() -> ddb::TimeToLiveDescription {
    ddb::TimeToLiveDescription::builder()
        .time_to_live_status(ddb::TimeToLiveStatus::Enabled)
        .attribute_name("expires_at")
        .build()
}

fn tags() -> Vec<ddb::Tag> {
    vec![
        ddb::Tag::builder()
            .key("team")
            .value("shop")
            .build()
            .unwrap(),
        ddb::Tag::builder()
            .key("env")
            .value("prod")
            .build()
            .unwrap(),
    ]
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[test]
fn builds_an_explicit_sorted_description() {
    let d = description_from_parts(
        &sdk_table(10, 7),
        Some(&ttl()),
        &tags(),
        at("2026-11-26T07:00:00Z"),
    )
    .unwrap();
    assert_eq!(
        d.table_arn,
        "arn:aws:dynamodb:us-east-1:123456789012:table/shop"
    );
    assert_eq!(
        d.key_schema
            .iter()
            .map(|k| (&*k.attribute_name, &*k.key_type))
            .collect::<Vec<_>>(),
        vec![("pk", "HASH"), ("sk", "RANGE")]
    );
    assert_eq!(
        d.attribute_definitions
            .iter()
            .map(|a| &*a.attribute_name)
            .collect::<Vec<_>>(),
        vec!["gsi1", "pk", "sk"]
    );
    assert_eq!(d.billing_mode, "PROVISIONED");
    assert_eq!(
        d.provisioned_throughput
            .as_ref()
            .unwrap()
            .read_capacity_units,
        10
    );
    assert_eq!(
        d.global_secondary_indexes
            .iter()
            .map(|g| &*g.index_name)
            .collect::<Vec<_>>(),
        vec!["a-index", "z-index"]
    );
    assert_eq!(
        d.global_secondary_indexes[1].projection.non_key_attributes,
        vec!["a", "b"]
    );
    assert_eq!(
        d.global_secondary_indexes[1].projection.projection_type,
        "INCLUDE"
    );
    assert_eq!(
        d.time_to_live.as_ref().unwrap().attribute_name.as_deref(),
        Some("expires_at")
    );
    assert_eq!(d.tags.keys().collect::<Vec<_>>(), vec!["env", "team"]);
    assert_eq!(d.stream.view_type.as_deref(), Some("NEW_AND_OLD_IMAGES"));
    assert!(d.stream.enabled && d.deletion_protection_enabled);
    assert_eq!(d.table_class.as_deref(), Some("STANDARD_INFREQUENT_ACCESS"));
    assert_eq!(d.sse.as_ref().unwrap().sse_type.as_deref(), Some("KMS"));
    assert_eq!(d.captured_at, "2026-11-26T07:00:00.000Z");
    // Stable JSON: a round trip gives the same bytes.
    let back: TableDescription = serde_json::from_slice(&d.to_json()).unwrap();
    assert_eq!(back, d);
    assert_eq!(back.to_json(), d.to_json());
}

#[test]
fn volatile_fields_do_not_make_a_change() {
    let a = description_from_parts(
        &sdk_table(10, 7),
        Some(&ttl()),
        &tags(),
        at("2026-11-26T07:00:00Z"),
    )
    .unwrap();
    let b = description_from_parts(
        &sdk_table(10, 9_000),
        Some(&ttl()),
        &tags(),
        at("2026-11-26T08:00:00Z"),
    )
    .unwrap();
    assert!(!a.differs_from(&b));
    let c = description_from_parts(
        &sdk_table(20, 7),
        Some(&ttl()),
        &tags(),
        at("2026-11-26T07:00:00Z"),
    )
    .unwrap();
    assert!(a.differs_from(&c), "a capacity change is a new version");
    let d = description_from_parts(&sdk_table(10, 7), None, &tags(), at("2026-11-26T07:00:00Z"))
        .unwrap();
    assert!(a.differs_from(&d), "a TTL change is a new version");
}

#[tokio::test]
async fn versions_are_written_only_on_change() {
    let dir = tempfile::tempdir().unwrap();
    let store = rewind_store::LocalStore::new(dir.path());
    assert_eq!(latest_description(&store, "shop").await.unwrap(), None);
    let v1 = description_from_parts(
        &sdk_table(10, 7),
        Some(&ttl()),
        &tags(),
        at("2026-11-26T07:00:00Z"),
    )
    .unwrap();
    let k1 = save_description_if_changed(&store, &v1, at("2026-11-26T07:00:00Z"))
        .await
        .unwrap();
    assert_eq!(
        k1.as_deref(),
        Some("tables/table=shop/description/at=20261126T070000Z.json")
    );
    let same = description_from_parts(
        &sdk_table(10, 8),
        Some(&ttl()),
        &tags(),
        at("2026-11-26T07:30:00Z"),
    )
    .unwrap();
    assert_eq!(
        save_description_if_changed(&store, &same, at("2026-11-26T07:30:00Z"))
            .await
            .unwrap(),
        None
    );
    let v2 = description_from_parts(
        &sdk_table(30, 7),
        Some(&ttl()),
        &tags(),
        at("2026-11-26T08:00:00Z"),
    )
    .unwrap();
    let k2 = save_description_if_changed(&store, &v2, at("2026-11-26T08:00:00Z"))
        .await
        .unwrap();
    assert_eq!(
        k2.as_deref(),
        Some("tables/table=shop/description/at=20261126T080000Z.json")
    );
    let (when, latest) = latest_description(&store, "shop").await.unwrap().unwrap();
    assert_eq!(when, at("2026-11-26T08:00:00Z"));
    assert_eq!(latest, v2);
}
