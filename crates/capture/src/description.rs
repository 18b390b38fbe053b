//! The table description: everything a restore needs to re-create the table as it was (key schema,
//! indexes, billing and capacity, TTL, encryption, tags, stream setting, table class, deletion
//! protection), captured when capture starts and whenever it changes, versioned by time under
//! `tables/table=<t>/description/at=<time>.json`, so a restore to T uses the version in force at T.
//!
//! The JSON is rewind's own, with explicit fields, not the SDK's debug form or AWS's response
//! shape: it must stay readable by later versions of rewind whatever the SDK does, and compare
//! equal when nothing that matters changed. Lists are sorted where AWS's order carries no meaning
//! (indexes, attribute definitions, tags, non-key attributes); key schemas keep their order (HASH
//! first). Volatile fields (item count, table size, table status, capture time) are kept for
//! information but ignored when deciding whether a new version must be written.

use crate::error::{CaptureError, Result};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types as ddb;
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use rewind_store::{layout, ObjectStore, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the description JSON; bump when a reader of the previous one would misread it.
pub const DESCRIPTION_VERSION: u32 = 1;

/// A table's description as rewind stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableDescription {
    /// [`DESCRIPTION_VERSION`] at the time of writing.
    pub format_version: u32,
    /// The table name.
    pub table_name: String,
    /// The table ARN: which source table this prefix belongs to.
    pub table_arn: String,
    /// DynamoDB's internal id of the table (changes when a table is re-created under one name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_id: Option<String>,
    /// When the table was created (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_date_time: Option<String>,
    /// The primary key, HASH first.
    pub key_schema: Vec<KeySchemaElement>,
    /// Types of the key attributes of the table and its indexes, sorted by name.
    pub attribute_definitions: Vec<AttributeDefinition>,
    /// `PROVISIONED` or `PAY_PER_REQUEST`.
    pub billing_mode: String,
    /// Capacity of a provisioned table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioned_throughput: Option<ProvisionedThroughput>,
    /// Request-unit caps of an on-demand table, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_demand_throughput: Option<OnDemandThroughput>,
    /// Global secondary indexes, sorted by name.
    #[serde(default)]
    pub global_secondary_indexes: Vec<GlobalSecondaryIndex>,
    /// Local secondary indexes, sorted by name.
    #[serde(default)]
    pub local_secondary_indexes: Vec<LocalSecondaryIndex>,
    /// `STANDARD` or `STANDARD_INFREQUENT_ACCESS` (absent: STANDARD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_class: Option<String>,
    /// Time to live, from DescribeTimeToLive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_live: Option<TimeToLive>,
    /// Server-side encryption, when the table reports it (absent: AWS-owned key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sse: Option<Sse>,
    /// Tags, from ListTagsOfResource.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// The stream setting and the latest stream.
    pub stream: StreamSetting,
    /// Whether the table refuses DeleteTable.
    #[serde(default)]
    pub deletion_protection_enabled: bool,
    /// Regions of a global table's replicas, sorted (empty for a single-region table).
    #[serde(default)]
    pub replica_regions: Vec<String>,
    /// Global table version (`2019.11.21`), for a global table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_table_version: Option<String>,
    /// Volatile: the table's status when described.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_status: Option<String>,
    /// Volatile: approximate item count (updated by AWS about every six hours).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_count: Option<i64>,
    /// Volatile: approximate size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_size_bytes: Option<i64>,
    /// Volatile: when rewind described the table (RFC 3339).
    pub captured_at: String,
}

/// One element of a key schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySchemaElement {
    /// Attribute name.
    pub attribute_name: String,
    /// `HASH` or `RANGE`.
    pub key_type: String,
}

/// A key attribute's type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeDefinition {
    /// Attribute name.
    pub attribute_name: String,
    /// `S`, `N` or `B`.
    pub attribute_type: String,
}

/// Provisioned capacity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisionedThroughput {
    /// Read capacity units.
    pub read_capacity_units: i64,
    /// Write capacity units.
    pub write_capacity_units: i64,
}

/// On-demand request-unit caps (-1 or absent: no cap).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnDemandThroughput {
    /// Maximum read request units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_read_request_units: Option<i64>,
    /// Maximum write request units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_write_request_units: Option<i64>,
}

/// Which attributes an index holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Projection {
    /// `ALL`, `KEYS_ONLY` or `INCLUDE`.
    pub projection_type: String,
    /// For `INCLUDE`: the extra attributes, sorted.
    #[serde(default)]
    pub non_key_attributes: Vec<String>,
}

/// A global secondary index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GlobalSecondaryIndex {
    /// Index name.
    pub index_name: String,
    /// Its key, HASH first.
    pub key_schema: Vec<KeySchemaElement>,
    /// Its projection.
    pub projection: Projection,
    /// Its capacity (provisioned tables).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioned_throughput: Option<ProvisionedThroughput>,
    /// Its request-unit caps (on-demand tables), when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_demand_throughput: Option<OnDemandThroughput>,
}

/// A local secondary index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalSecondaryIndex {
    /// Index name.
    pub index_name: String,
    /// Its key, HASH first.
    pub key_schema: Vec<KeySchemaElement>,
    /// Its projection.
    pub projection: Projection,
}

/// Time to live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeToLive {
    /// `ENABLED`, `ENABLING`, `DISABLED` or `DISABLING`.
    pub status: String,
    /// The TTL attribute, when one is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute_name: Option<String>,
}

/// Server-side encryption.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sse {
    /// `ENABLED`, `ENABLING`, `DISABLED`, `DISABLING`, `UPDATING`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// `KMS` or `AES256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sse_type: Option<String>,
    /// The KMS key, for `KMS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_master_key_arn: Option<String>,
}

/// The table's stream setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct StreamSetting {
    /// Whether a stream is enabled.
    pub enabled: bool,
    /// `NEW_AND_OLD_IMAGES`, `NEW_IMAGE`, `OLD_IMAGE` or `KEYS_ONLY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view_type: Option<String>,
    /// The latest stream's ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_stream_arn: Option<String>,
    /// The latest stream's label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_stream_label: Option<String>,
}

impl TableDescription {
    /// The description without its volatile fields: what decides whether a new version is due.
    pub fn stable(&self) -> TableDescription {
        TableDescription {
            table_status: None,
            item_count: None,
            table_size_bytes: None,
            captured_at: String::new(),
            ..self.clone()
        }
    }

    /// Whether the two differ in anything but volatile fields.
    pub fn differs_from(&self, other: &TableDescription) -> bool {
        self.stable() != other.stable()
    }

    /// The stable JSON written to the store (pretty, field order fixed by the struct).
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).expect("table descriptions serialise")
    }
}

/// An error of the DynamoDB control-plane API as a [`CaptureError::Aws`].
fn aws_error<E>(operation: &'static str, err: SdkError<E>) -> CaptureError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    crate::error::capture_error(operation, &err)
}

fn key_schema(elements: &[ddb::KeySchemaElement]) -> Vec<KeySchemaElement> {
    elements
        .iter()
        .map(|k| KeySchemaElement {
            attribute_name: k.attribute_name().to_string(),
            key_type: k.key_type().as_str().to_string(),
        })
        .collect()
}

fn projection(p: Option<&ddb::Projection>) -> Projection {
    let mut non_key_attributes: Vec<String> = p
        .map(|p| p.non_key_attributes().to_vec())
        .unwrap_or_default();
    non_key_attributes.sort();
    Projection {
        projection_type: p
            .and_then(|p| p.projection_type())
            .map_or("ALL", |t| t.as_str())
            .to_string(),
        non_key_attributes,
    }
}

fn throughput(t: Option<&ddb::ProvisionedThroughputDescription>) -> Option<ProvisionedThroughput> {
    let t = t?;
    Some(ProvisionedThroughput {
        read_capacity_units: t.read_capacity_units()?,
        write_capacity_units: t.write_capacity_units()?,
    })
}

fn on_demand(t: Option<&ddb::OnDemandThroughput>) -> Option<OnDemandThroughput> {
    let t = t?;
    let out = OnDemandThroughput {
        max_read_request_units: t.max_read_request_units().filter(|&u| u > 0),
        max_write_request_units: t.max_write_request_units().filter(|&u| u > 0),
    };
    (out.max_read_request_units.is_some() || out.max_write_request_units.is_some()).then_some(out)
}

fn rfc3339(t: &aws_sdk_dynamodb::primitives::DateTime) -> Option<String> {
    DateTime::from_timestamp_millis(t.to_millis().ok()?)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// Builds the description from DescribeTable's answer plus TTL and tags (pure: tested without
/// AWS). `captured_at` is when the table was described.
pub fn description_from_parts(
    table: &ddb::TableDescription,
    ttl: Option<&ddb::TimeToLiveDescription>,
    tags: &[ddb::Tag],
    captured_at: DateTime<Utc>,
) -> Result<TableDescription> {
    let name = table
        .table_name()
        .ok_or_else(|| CaptureError::Input("DescribeTable returned no TableName".into()))?;
    let table_arn = table
        .table_arn()
        .ok_or_else(|| CaptureError::Input(format!("DescribeTable {name}: no TableArn")))?;
    let billing_mode = table
        .billing_mode_summary()
        .and_then(|b| b.billing_mode())
        .map_or("PROVISIONED", |m| m.as_str())
        .to_string();
    let mut attribute_definitions: Vec<AttributeDefinition> = table
        .attribute_definitions()
        .iter()
        .map(|a| AttributeDefinition {
            attribute_name: a.attribute_name().to_string(),
            attribute_type: a.attribute_type().as_str().to_string(),
        })
        .collect();
    attribute_definitions.sort_by(|a, b| a.attribute_name.cmp(&b.attribute_name));
    let mut global_secondary_indexes: Vec<GlobalSecondaryIndex> = table
        .global_secondary_indexes()
        .iter()
        .map(|g| GlobalSecondaryIndex {
            index_name: g.index_name().unwrap_or_default().to_string(),
            key_schema: key_schema(g.key_schema()),
            projection: projection(g.projection()),
            provisioned_throughput: if billing_mode == "PAY_PER_REQUEST" {
                None
            } else {
                throughput(g.provisioned_throughput())
            },
            on_demand_throughput: on_demand(g.on_demand_throughput()),
        })
        .collect();
    global_secondary_indexes.sort_by(|a, b| a.index_name.cmp(&b.index_name));
    let mut local_secondary_indexes: Vec<LocalSecondaryIndex> = table
        .local_secondary_indexes()
        .iter()
        .map(|l| LocalSecondaryIndex {
            index_name: l.index_name().unwrap_or_default().to_string(),
            key_schema: key_schema(l.key_schema()),
            projection: projection(l.projection()),
        })
        .collect();
    local_secondary_indexes.sort_by(|a, b| a.index_name.cmp(&b.index_name));
    let spec = table.stream_specification();
    let stream = StreamSetting {
        enabled: spec.is_some_and(|s| s.stream_enabled()),
        view_type: spec
            .and_then(|s| s.stream_view_type())
            .map(|v| v.as_str().to_string()),
        latest_stream_arn: table.latest_stream_arn().map(str::to_string),
        latest_stream_label: table.latest_stream_label().map(str::to_string),
    };
    let mut replica_regions: Vec<String> = table
        .replicas()
        .iter()
        .filter_map(|r| r.region_name().map(str::to_string))
        .collect();
    replica_regions.sort();
    Ok(TableDescription {
        format_version: DESCRIPTION_VERSION,
        table_name: name.to_string(),
        table_arn: table_arn.to_string(),
        table_id: table.table_id().map(str::to_string),
        creation_date_time: table.creation_date_time().and_then(rfc3339),
        key_schema: key_schema(table.key_schema()),
        attribute_definitions,
        provisioned_throughput: if billing_mode == "PAY_PER_REQUEST" {
            None
        } else {
            throughput(table.provisioned_throughput())
        },
        billing_mode,
        on_demand_throughput: on_demand(table.on_demand_throughput()),
        global_secondary_indexes,
        local_secondary_indexes,
        table_class: table
            .table_class_summary()
            .and_then(|c| c.table_class())
            .map(|c| c.as_str().to_string()),
        time_to_live: ttl.and_then(|t| {
            Some(TimeToLive {
                status: t.time_to_live_status()?.as_str().to_string(),
                attribute_name: t.attribute_name().map(str::to_string),
            })
        }),
        sse: table.sse_description().map(|s| Sse {
            status: s.status().map(|v| v.as_str().to_string()),
            sse_type: s.sse_type().map(|v| v.as_str().to_string()),
            kms_master_key_arn: s.kms_master_key_arn().map(str::to_string),
        }),
        tags: tags
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect(),
        stream,
        deletion_protection_enabled: table.deletion_protection_enabled().unwrap_or(false),
        replica_regions,
        global_table_version: table.global_table_version().map(str::to_string),
        table_status: table.table_status().map(|s| s.as_str().to_string()),
        item_count: table.item_count(),
        table_size_bytes: table.table_size_bytes(),
        captured_at: captured_at.to_rfc3339_opts(SecondsFormat::Millis, true),
    })
}

/// Describes `table` (DescribeTable, DescribeTimeToLive, ListTagsOfResource, all pages).
///
/// Every part is required: a restore that silently lacked the TTL attribute or the tags would
/// create a different table, so a missing permission is an error, not a partial description.
pub async fn describe_table(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Result<TableDescription> {
    let captured_at = Utc::now();
    let described = client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .map_err(|e| aws_error("DescribeTable", e))?;
    let description = described.table().ok_or_else(|| CaptureError::Aws {
        operation: "DescribeTable",
        message: format!("no table description returned for {table}"),
        retryable: true,
    })?;
    let ttl = client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .map_err(|e| aws_error("DescribeTimeToLive", e))?;
    let arn = description
        .table_arn()
        .ok_or_else(|| CaptureError::Input(format!("DescribeTable {table}: no TableArn")))?;
    let mut tags = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let page = client
            .list_tags_of_resource()
            .resource_arn(arn)
            .set_next_token(next.take())
            .send()
            .await
            .map_err(|e| aws_error("ListTagsOfResource", e))?;
        tags.extend(page.tags().iter().cloned());
        match page.next_token() {
            Some(token) if !token.is_empty() => next = Some(token.to_string()),
            _ => break,
        }
    }
    description_from_parts(
        description,
        ttl.time_to_live_description(),
        &tags,
        captured_at,
    )
}

fn bad_json(store: &dyn ObjectStore, key: &str, e: serde_json::Error) -> CaptureError {
    StoreError::other(
        "read table description",
        store.describe(key),
        format!("not a table description: {e}"),
        false,
    )
    .into()
}

/// The newest stored description of `table` and the time it is in force from.
pub async fn latest_description(
    store: &dyn ObjectStore,
    table: &str,
) -> Result<Option<(DateTime<Utc>, TableDescription)>> {
    let mut versions: Vec<(DateTime<Utc>, String)> =
        rewind_store::list_all(store, &layout::descriptions_prefix(table))
            .await?
            .into_iter()
            .filter_map(|m| {
                let (t, at) = layout::parse_description_key(&m.key).ok()?;
                (t == table).then_some((at, m.key))
            })
            .collect();
    versions.sort();
    let Some((at, key)) = versions.pop() else {
        return Ok(None);
    };
    let body = store.get(&key).await?;
    let description = serde_json::from_slice(&body).map_err(|e| bad_json(store, &key, e))?;
    Ok(Some((at, description)))
}

/// Writes `description` as the version in force from `now`, unless the newest stored version is
/// the same apart from volatile fields. Returns the key written, `None` when nothing changed.
pub async fn save_description_if_changed(
    store: &dyn ObjectStore,
    description: &TableDescription,
    now: DateTime<Utc>,
) -> Result<Option<String>> {
    if let Some((at, stored)) = latest_description(store, &description.table_name).await? {
        if !description.differs_from(&stored) {
            tracing::debug!(table = %description.table_name, since = %at, "table description unchanged");
            return Ok(None);
        }
    }
    let key = layout::description_key(&description.table_name, now);
    store.put(&key, Bytes::from(description.to_json())).await?;
    tracing::info!(table = %description.table_name, key = %key, "table description written");
    Ok(Some(key))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let d =
            description_from_parts(&sdk_table(10, 7), None, &tags(), at("2026-11-26T07:00:00Z"))
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
}
