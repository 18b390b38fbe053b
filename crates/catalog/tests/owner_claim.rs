//! The owner claim on both backends: the first writer of a table name claims it, the same ARN
//! goes on, another ARN is refused, and a name that cannot be a table is refused before anything
//! is written. (It rests on put-if-absent, which the store contract checks on both backends.)
//!
//! The S3 half needs the moto server `scripts/test.sh` starts (it fails, never skips, without).

use rewind_catalog::{claim_table, read_owner, CatalogError};
use rewind_store::{ObjectStore, StoreError};

async fn table_ownership(s: &dyn ObjectStore) {
    let arn_a = "arn:aws:dynamodb:us-east-1:111111111111:table/orders";
    let arn_b = "arn:aws:dynamodb:eu-west-1:222222222222:table/orders";
    assert_eq!(read_owner(s, "orders").await.unwrap(), None);
    claim_table(s, "orders", arn_a).await.unwrap();
    claim_table(s, "orders", arn_a).await.unwrap();
    match claim_table(s, "orders", arn_b).await {
        Err(CatalogError::ForeignTable {
            table,
            claimed_by,
            requested,
        }) => {
            assert_eq!(table, "orders");
            assert_eq!(claimed_by, arn_a);
            assert_eq!(requested, arn_b);
        }
        other => panic!("expected ForeignTable, got {other:?}"),
    }
    let owner = read_owner(s, "orders").await.unwrap().unwrap();
    assert_eq!(owner.table_arn, arn_a);
    assert_eq!(owner.table, "orders");
    chrono::DateTime::parse_from_rfc3339(&owner.claimed_at).unwrap();
    // Another table name is independent.
    claim_table(s, "orders-archive", arn_b).await.unwrap();
    // A name that cannot be a DynamoDB table is refused before anything is written.
    assert!(matches!(
        claim_table(s, "../x", arn_a).await,
        Err(CatalogError::Store(StoreError::InvalidKey { .. }))
    ));
}

#[tokio::test]
async fn owner_claims_on_a_local_store() {
    let dir = tempfile::tempdir().unwrap();
    table_ownership(&rewind_store::LocalStore::new(dir.path())).await;
}

#[tokio::test]
async fn owner_claims_on_s3() {
    rewind_e2e::moto_endpoint();
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    let bucket = format!("rewind-owner-{:016x}", rand::random::<u64>());
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    table_ownership(&rewind_store::S3Store::new(client, &bucket, "claims")).await;
}
