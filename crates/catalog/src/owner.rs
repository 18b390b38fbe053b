//! Which source table a table name in a store belongs to.
//!
//! Two DynamoDB tables can share a name (another account, another region, or the same name
//! re-created). Their change logs must never mix under one prefix: a restore would interleave
//! two tables' items. So the first writer of a table name claims it, once, with a put-if-absent
//! of `tables/table=<t>/owner.json` holding the table's ARN, and every later writer checks that
//! claim: the same ARN goes on, another ARN is [`CatalogError::ForeignTable`].

use crate::error::{CatalogError, Result};
use crate::json_record;
use crate::layout;
use rewind_store::{ObjectStore, StoreError};
use serde::{Deserialize, Serialize};

/// The content of `tables/table=<t>/owner.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableOwner {
    /// The ARN of the table whose data this prefix holds.
    pub table_arn: String,
    /// The table name (also in the key; kept here so the file explains itself).
    pub table: String,
    /// When the claim was made (RFC 3339).
    pub claimed_at: String,
}

/// Claims `table` in `store` for `table_arn`, or checks an existing claim.
///
/// Ok when this call made the claim or the table was already claimed by the same ARN (so it is
/// called freely at every start); [`CatalogError::ForeignTable`] when another ARN owns the name.
pub async fn claim_table(store: &dyn ObjectStore, table: &str, table_arn: &str) -> Result<()> {
    let key = layout::table_owner(table);
    if let Err(e) = layout::validate_table(table) {
        return Err(StoreError::InvalidKey {
            key,
            reason: e.to_string(),
        }
        .into());
    }
    let claim = TableOwner {
        table_arn: table_arn.to_string(),
        table: table.to_string(),
        claimed_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    };
    let body = serde_json::to_vec_pretty(&claim).map_err(|e| {
        StoreError::other("claim_table", store.describe(&key), e.to_string(), false)
    })?;
    match store.put_if_absent(&key, body.into()).await {
        Ok(_) => Ok(()),
        Err(StoreError::AlreadyExists { .. }) => {
            let owner = read_owner(store, table).await?.ok_or_else(|| {
                // Claimed and deleted in between: nothing sane to do but let the caller retry.
                StoreError::other(
                    "claim_table",
                    store.describe(&key),
                    "owner file vanished while being checked",
                    true,
                )
            })?;
            if owner.table_arn == table_arn {
                Ok(())
            } else {
                Err(CatalogError::ForeignTable {
                    table: table.to_string(),
                    claimed_by: owner.table_arn,
                    requested: table_arn.to_string(),
                })
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Reads the claim on `table`, if any (for `rewind ls` and for readers that want to show whose
/// data they restore).
pub async fn read_owner(store: &dyn ObjectStore, table: &str) -> Result<Option<TableOwner>> {
    json_record::read(store, &layout::table_owner(table), "owner claim").await
}
