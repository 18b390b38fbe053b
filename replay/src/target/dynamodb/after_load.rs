//! The settings `finish` applies once the items are in: TTL (which would otherwise start
//! deleting items during the load), tags, the stream and deletion protection (which a failed
//! restore should not carry, so that its table can be dropped), each from the stored table
//! description and each a no-op when the table already has it.

use super::{built, DynamoDbTarget};
use crate::error::Result;
use crate::target::{FinishContext, RestoreTarget};
use aws_sdk_dynamodb::types as ddb;

impl DynamoDbTarget {
    /// Applies the stored description's TTL (unless `no_ttl`), tags, stream and deletion
    /// protection, in that order.
    pub(super) async fn apply_settings_after_load(&self, ctx: &FinishContext) -> Result<()> {
        let Some(d) = &ctx.description else {
            return Ok(());
        };
        if let Some(ttl) = d.time_to_live.as_ref().filter(|_| !ctx.no_ttl) {
            if matches!(ttl.status.as_str(), "ENABLED" | "ENABLING") {
                if let Some(attribute) = &ttl.attribute_name {
                    self.enable_ttl(attribute).await?;
                }
            }
        }
        if !d.tags.is_empty() {
            self.tag(&d.tags).await?;
        }
        if d.stream.enabled {
            self.enable_stream(d.stream.view_type.as_deref()).await?;
        }
        if d.deletion_protection_enabled {
            self.protect().await?;
        }
        Ok(())
    }

    async fn enable_ttl(&self, attribute: &str) -> Result<()> {
        if self.active_ttl_attribute().await?.as_deref() == Some(attribute) {
            return Ok(());
        }
        let spec = built(
            ddb::TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(attribute)
                .build(),
        )?;
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(spec)
            .send()
            .await
            .map_err(|e| self.aws_error("UpdateTimeToLive (finish: enable TTL)", &e))?;
        Ok(())
    }

    async fn tag(&self, tags: &std::collections::BTreeMap<String, String>) -> Result<()> {
        let table = self.wait_active().await?;
        let arn = table
            .table_arn()
            .ok_or_else(|| self.invalid("DescribeTable answer", "no TableArn"))?;
        let tags = tags
            .iter()
            .map(|(k, v)| built(ddb::Tag::builder().key(k).value(v).build()))
            .collect::<Result<Vec<_>>>()?;
        self.client
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| self.aws_error("TagResource (finish: tags)", &e))?;
        Ok(())
    }

    async fn enable_stream(&self, view_type: Option<&str>) -> Result<()> {
        let view_type = ddb::StreamViewType::from(view_type.unwrap_or("NEW_AND_OLD_IMAGES"));
        let table = self.wait_active().await?;
        if let Some(spec) = table.stream_specification().filter(|s| s.stream_enabled()) {
            if spec.stream_view_type() != Some(&view_type) {
                tracing::warn!(target = %self.label, wanted = %view_type, "the table already has a stream of another view type; left as it is");
            }
            return Ok(());
        }
        let spec = built(
            ddb::StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(view_type)
                .build(),
        )?;
        self.client
            .update_table()
            .table_name(&self.table)
            .stream_specification(spec)
            .send()
            .await
            .map_err(|e| self.aws_error("UpdateTable (finish: enable stream)", &e))?;
        self.wait_active().await.map(drop)
    }

    async fn protect(&self) -> Result<()> {
        let table = self.wait_active().await?;
        if table.deletion_protection_enabled() == Some(true) {
            return Ok(());
        }
        self.client
            .update_table()
            .table_name(&self.table)
            .deletion_protection_enabled(true)
            .send()
            .await
            .map_err(|e| self.aws_error("UpdateTable (finish: deletion protection)", &e))?;
        self.wait_active().await.map(drop)
    }
}
