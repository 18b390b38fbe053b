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

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod from_sdk;
#[cfg(test)]
mod tests;
mod versions;

pub use from_sdk::{describe_table, description_from_parts};
pub use versions::{
    latest_description, list_descriptions, save_description_if_changed, DescribedAt,
};

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
