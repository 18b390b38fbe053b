//! The description built from DynamoDB's own answers (DescribeTable, DescribeTimeToLive,
//! ListTagsOfResource): the one place that reads the SDK's table model.

use super::*;
use crate::error::{CatalogError, Result};
use aws_sdk_dynamodb::types as ddb;
use chrono::{DateTime, SecondsFormat, Utc};

/// DescribeTable answered without something every answer has.
fn incomplete(table: &str, reason: &str) -> CatalogError {
    CatalogError::Invalid {
        what: "DescribeTable answer for",
        location: table.to_string(),
        reason: reason.to_string(),
    }
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
        .ok_or_else(|| incomplete("(unnamed)", "no TableName"))?;
    let table_arn = table
        .table_arn()
        .ok_or_else(|| incomplete(name, "no TableArn"))?;
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
        .map_err(|e| {
            let class = rewind_aws::classify(&e);
            if class.code.as_deref() == Some("ResourceNotFoundException") {
                CatalogError::TableNotFound {
                    table: table.to_string(),
                    message: class.message,
                }
            } else {
                CatalogError::aws("DescribeTable", &e)
            }
        })?;
    let description = described.table().ok_or_else(|| CatalogError::Aws {
        operation: "DescribeTable",
        message: format!("no table description returned for {table}"),
        retryable: true,
    })?;
    let ttl = client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .map_err(|e| CatalogError::aws("DescribeTimeToLive", &e))?;
    let arn = description
        .table_arn()
        .ok_or_else(|| incomplete(table, "no TableArn"))?;
    let mut tags = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let page = client
            .list_tags_of_resource()
            .resource_arn(arn)
            .set_next_token(next.take())
            .send()
            .await
            .map_err(|e| CatalogError::aws("ListTagsOfResource", &e))?;
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
