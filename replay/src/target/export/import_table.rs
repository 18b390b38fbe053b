//! What the summary tells ImportTable: where the data files are, their format, and
//! `TableCreationParameters` for a table like the source (keys, GSIs, billing) built from the
//! stored table description, with notes on what ImportTable cannot set.

use rewind_catalog::TableDescription;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// ImportTable's request (the parts we can fill in), PascalCase as in the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImportTableParameters {
    /// Where the data files are.
    pub s3_bucket_source: S3BucketSource,
    /// `DYNAMODB_JSON`.
    pub input_format: String,
    /// `GZIP`.
    pub input_compression_type: String,
    /// The new table; `None` when the store had no description of the source table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_creation_parameters: Option<serde_json::Value>,
}

/// ImportTable's `S3BucketSource`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct S3BucketSource {
    /// The bucket (`None` for a local export: the bucket it is uploaded to).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_bucket: Option<String>,
    /// `PREFIX/data/`.
    pub s3_key_prefix: String,
}

/// ImportTable's `TableCreationParameters` for a table like the source (keys, GSIs, billing),
/// and notes on what ImportTable cannot set.
pub(super) fn table_creation_parameters(
    description: Option<&TableDescription>,
    source_table: &str,
) -> (Option<serde_json::Value>, Vec<String>) {
    use serde_json::{json, Value};
    let mut notes = Vec::new();
    let Some(d) = description else {
        notes.push(
            "the store holds no description of the source table: fill in \
             TableCreationParameters (TableName, KeySchema, AttributeDefinitions, BillingMode) \
             yourself"
                .into(),
        );
        return (None, notes);
    };
    let key_schema = |ks: &[rewind_catalog::description::KeySchemaElement]| -> Value {
        ks.iter()
            .map(|k| json!({"AttributeName": k.attribute_name, "KeyType": k.key_type}))
            .collect()
    };
    let provisioned = d.billing_mode == "PROVISIONED";
    let throughput = |t: &Option<rewind_catalog::description::ProvisionedThroughput>| {
        t.as_ref().map(|t| {
            json!({"ReadCapacityUnits": t.read_capacity_units,
                   "WriteCapacityUnits": t.write_capacity_units})
        })
    };
    let on_demand = |t: &Option<rewind_catalog::description::OnDemandThroughput>| {
        t.as_ref().map(|t| {
            let mut m = serde_json::Map::new();
            if let Some(r) = t.max_read_request_units {
                m.insert("MaxReadRequestUnits".into(), r.into());
            }
            if let Some(w) = t.max_write_request_units {
                m.insert("MaxWriteRequestUnits".into(), w.into());
            }
            Value::Object(m)
        })
    };
    // Only attributes that a key uses: CreateTable refuses unused definitions (those of
    // local secondary indexes, which ImportTable cannot create).
    let mut used: BTreeSet<&str> = d
        .key_schema
        .iter()
        .map(|k| k.attribute_name.as_str())
        .collect();
    let mut gsis = Vec::new();
    for g in &d.global_secondary_indexes {
        used.extend(g.key_schema.iter().map(|k| k.attribute_name.as_str()));
        let mut projection = json!({"ProjectionType": g.projection.projection_type});
        if !g.projection.non_key_attributes.is_empty() {
            projection["NonKeyAttributes"] = json!(g.projection.non_key_attributes);
        }
        let mut gsi = json!({
            "IndexName": g.index_name,
            "KeySchema": key_schema(&g.key_schema),
            "Projection": projection,
        });
        if provisioned {
            if let Some(t) = throughput(&g.provisioned_throughput) {
                gsi["ProvisionedThroughput"] = t;
            }
        } else if let Some(t) = on_demand(&g.on_demand_throughput) {
            gsi["OnDemandThroughput"] = t;
        }
        gsis.push(gsi);
    }
    let definitions: Value = d
        .attribute_definitions
        .iter()
        .filter(|a| used.contains(a.attribute_name.as_str()))
        .map(|a| json!({"AttributeName": a.attribute_name, "AttributeType": a.attribute_type}))
        .collect();
    let name = format!("{source_table}-restored");
    let name = if name.len() <= 255 {
        name
    } else {
        source_table.to_string()
    };
    let mut params = json!({
        "TableName": name,
        "AttributeDefinitions": definitions,
        "KeySchema": key_schema(&d.key_schema),
        "BillingMode": if provisioned { "PROVISIONED" } else { "PAY_PER_REQUEST" },
    });
    if provisioned {
        if let Some(t) = throughput(&d.provisioned_throughput) {
            params["ProvisionedThroughput"] = t;
        }
    } else if let Some(t) = on_demand(&d.on_demand_throughput) {
        params["OnDemandThroughput"] = t;
    }
    if !gsis.is_empty() {
        params["GlobalSecondaryIndexes"] = Value::Array(gsis);
    }
    notes.push(format!(
        "TableName {name:?} is a suggestion: ImportTable creates a new table and fails if one \
         of that name exists"
    ));
    if !d.local_secondary_indexes.is_empty() {
        let names: Vec<&str> = d
            .local_secondary_indexes
            .iter()
            .map(|l| l.index_name.as_str())
            .collect();
        notes.push(format!(
            "ImportTable cannot create local secondary indexes; the source had: {}",
            names.join(", ")
        ));
    }
    if let Some(attr) = d
        .time_to_live
        .as_ref()
        .filter(|t| t.status == "ENABLED" || t.status == "ENABLING")
        .and_then(|t| t.attribute_name.as_ref())
    {
        notes.push(format!(
            "the source had TTL on attribute {attr:?}: enable it after the import \
             (UpdateTimeToLive); items already expired are deleted then"
        ));
    }
    notes.push(
        "not set by ImportTable: streams, tags, point-in-time recovery, deletion protection, \
         table class, encryption with a customer key (set them after the import)"
            .into(),
    );
    (Some(params), notes)
}
