//! Creating the table from the stored table description: keys, attribute definitions, billing
//! mode and throughput, secondary indexes, table class and SSE, each converted from
//! `rewind_catalog::description`'s types to the SDK's (`aws_sdk_dynamodb::types`). Settings that
//! would act on the load, or that a failed restore should not carry, wait for `after_load`.

use super::{built, DynamoDbTarget};
use crate::error::Result;
use aws_sdk_dynamodb::types as ddb;
use rewind_catalog::TableDescription;

impl DynamoDbTarget {
    /// CreateTable from the stored description (which a DynamoDB restore needs).
    pub(super) async fn create_table(&self, description: Option<&TableDescription>) -> Result<()> {
        let d = description.ok_or_else(|| {
            self.invalid(
                "table description",
                "a DynamoDB restore needs the stored table description to create the table \
                 (run capture or backup with DescribeTable permission so it is stored)",
            )
        })?;
        let provisioned = d.billing_mode != "PAY_PER_REQUEST";
        let mut req = self
            .client
            .create_table()
            .table_name(&self.table)
            .set_key_schema(Some(self.key_schema(&d.key_schema)?));
        for a in &d.attribute_definitions {
            req = req.attribute_definitions(built(
                ddb::AttributeDefinition::builder()
                    .attribute_name(&a.attribute_name)
                    .attribute_type(ddb::ScalarAttributeType::from(a.attribute_type.as_str()))
                    .build(),
            )?);
        }
        if provisioned {
            let t = d.provisioned_throughput.as_ref().ok_or_else(|| {
                self.invalid(
                    "table description",
                    "billing mode PROVISIONED without provisioned throughput",
                )
            })?;
            req = req
                .billing_mode(ddb::BillingMode::Provisioned)
                .provisioned_throughput(throughput(t)?);
        } else {
            req = req
                .billing_mode(ddb::BillingMode::PayPerRequest)
                .set_on_demand_throughput(d.on_demand_throughput.as_ref().map(on_demand));
        }
        for g in &d.global_secondary_indexes {
            let mut index = ddb::GlobalSecondaryIndex::builder()
                .index_name(&g.index_name)
                .set_key_schema(Some(self.key_schema(&g.key_schema)?))
                .projection(projection(&g.projection));
            if provisioned {
                let t = g
                    .provisioned_throughput
                    .as_ref()
                    .or(d.provisioned_throughput.as_ref());
                index = index.set_provisioned_throughput(t.map(throughput).transpose()?);
            } else {
                index =
                    index.set_on_demand_throughput(g.on_demand_throughput.as_ref().map(on_demand));
            }
            req = req.global_secondary_indexes(built(index.build())?);
        }
        for l in &d.local_secondary_indexes {
            req = req.local_secondary_indexes(built(
                ddb::LocalSecondaryIndex::builder()
                    .index_name(&l.index_name)
                    .set_key_schema(Some(self.key_schema(&l.key_schema)?))
                    .projection(projection(&l.projection))
                    .build(),
            )?);
        }
        if let Some(class) = &d.table_class {
            req = req.table_class(ddb::TableClass::from(class.as_str()));
        }
        req = req.set_sse_specification(self.sse_specification(d));
        req.send()
            .await
            .map_err(|e| self.aws_error("CreateTable", &e))?;
        tracing::info!(target = %self.label, "table created");
        Ok(())
    }

    fn key_schema(
        &self,
        elements: &[rewind_catalog::description::KeySchemaElement],
    ) -> Result<Vec<ddb::KeySchemaElement>> {
        elements
            .iter()
            .map(|k| {
                built(
                    ddb::KeySchemaElement::builder()
                        .attribute_name(&k.attribute_name)
                        .key_type(ddb::KeyType::from(k.key_type.as_str()))
                        .build(),
                )
            })
            .collect()
    }

    /// SSE for a source encrypted with a KMS key. A key of another region cannot be used here:
    /// then the AWS-managed key (`aws/dynamodb`) is, with a warning.
    fn sse_specification(&self, d: &TableDescription) -> Option<ddb::SseSpecification> {
        let sse = d.sse.as_ref()?;
        let on = matches!(
            sse.status.as_deref(),
            Some("ENABLED" | "ENABLING" | "UPDATING")
        );
        if !on || sse.sse_type.as_deref() != Some("KMS") {
            return None;
        }
        let here = self
            .client
            .config()
            .region()
            .map(|r| r.as_ref().to_string());
        let key = sse.kms_master_key_arn.as_deref().filter(|arn| {
            let key_region = arn.split(':').nth(3);
            let same = key_region.is_some() && key_region == here.as_deref();
            if !same {
                tracing::warn!(target = %self.label, key = arn, "the source's KMS key is in another region; the restored table uses the AWS-managed key");
            }
            same
        });
        Some(
            ddb::SseSpecification::builder()
                .enabled(true)
                .sse_type(ddb::SseType::Kms)
                .set_kms_master_key_id(key.map(str::to_string))
                .build(),
        )
    }
}

fn throughput(
    t: &rewind_catalog::description::ProvisionedThroughput,
) -> Result<ddb::ProvisionedThroughput> {
    built(
        ddb::ProvisionedThroughput::builder()
            .read_capacity_units(t.read_capacity_units)
            .write_capacity_units(t.write_capacity_units)
            .build(),
    )
}

fn on_demand(t: &rewind_catalog::description::OnDemandThroughput) -> ddb::OnDemandThroughput {
    ddb::OnDemandThroughput::builder()
        .set_max_read_request_units(t.max_read_request_units)
        .set_max_write_request_units(t.max_write_request_units)
        .build()
}

fn projection(p: &rewind_catalog::description::Projection) -> ddb::Projection {
    let include = p.projection_type == "INCLUDE";
    ddb::Projection::builder()
        .projection_type(ddb::ProjectionType::from(p.projection_type.as_str()))
        .set_non_key_attributes(include.then(|| p.non_key_attributes.clone()))
        .build()
}
