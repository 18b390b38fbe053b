//! Where a restore writes: a DynamoDB table in any region, or an export that DynamoDB ImportTable
//! accepts. A target is written bucket by bucket (each bucket idempotent, so a resumed restore
//! may rewrite one safely) between one `prepare` and one `finish`, and can be read back for
//! `verify`.

pub mod dynamodb;
pub mod export;

use crate::error::{ReplayError, Result};
use crate::state::LiveItem;
use rewind_catalog::TableDescription;
use rewind_format::Item;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::mpsc;

/// A parsed `--to` / `--against` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetUrl {
    /// `dynamodb://TABLE[?region=R]`.
    DynamoDb {
        /// Table name.
        table: String,
        /// Region; `None`: the standard chain's region.
        region: Option<String>,
    },
    /// `file://DIR`, `s3://BUCKET/PREFIX` (a store URL): an ImportTable-ready export.
    Export {
        /// The store URL of the export's root (its `data/` and manifests go under it).
        url: String,
    },
}

impl std::str::FromStr for TargetUrl {
    type Err = ReplayError;

    fn from_str(url: &str) -> Result<Self> {
        let bad = |reason: &str| ReplayError::BadTarget {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        if let Some(rest) = url.strip_prefix("dynamodb://") {
            let (table, query) = match rest.split_once('?') {
                Some((t, q)) => (t, Some(q)),
                None => (rest, None),
            };
            if table.is_empty() {
                return Err(bad("no table name"));
            }
            rewind_catalog::layout::validate_table(table).map_err(|e| bad(&e.to_string()))?;
            let mut region = None;
            for pair in query.into_iter().flat_map(|q| q.split('&')) {
                match pair.split_once('=') {
                    Some(("region", r)) if is_region_name(r) => region = Some(r.to_string()),
                    Some(("region", r)) => {
                        return Err(bad(&format!(
                            "region {r:?} is not a region name (letters, digits and -, such as eu-west-1)"
                        )))
                    }
                    _ => return Err(bad(&format!("unknown parameter {pair:?} (only region=R)"))),
                }
            }
            return Ok(TargetUrl::DynamoDb {
                table: table.to_string(),
                region,
            });
        }
        if url.starts_with("file://") || url.starts_with("s3://") {
            rewind_store::StoreUrl::parse(url).map_err(|e| bad(&e.to_string()))?;
            return Ok(TargetUrl::Export {
                url: url.to_string(),
            });
        }
        Err(bad("unknown scheme"))
    }
}

/// Whether `region` can be a region name: what the AWS SDK accepts in an endpoint's host (1-63
/// letters, digits and `-`, not starting with `-`); anything else fails every call, late.
fn is_region_name(region: &str) -> bool {
    (1..=63).contains(&region.len())
        && !region.starts_with('-')
        && region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

impl std::fmt::Display for TargetUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TargetUrl::DynamoDb {
                table,
                region: Some(r),
            } => write!(f, "dynamodb://{table}?region={r}"),
            TargetUrl::DynamoDb {
                table,
                region: None,
            } => write!(f, "dynamodb://{table}"),
            TargetUrl::Export { url } => f.write_str(url),
        }
    }
}

/// How `prepare` treats what is already at the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// A new restore: the target must not exist (or hold nothing); it is created.
    Fresh,
    /// Continuing this same restore (same point, same pinned plan): what is there was written by
    /// it, so buckets are written again as they are, with no deletions.
    Resume,
    /// Make the target equal to the state: it may exist and hold anything (`--into-existing`,
    /// or a restore that started over with a new plan). Keys not in the state are deleted, and
    /// the changes are counted.
    Reconcile,
}

/// What `prepare` needs.
#[derive(Debug, Clone)]
pub struct PrepareContext {
    /// The source table's description in force at the restore point (key schema, indexes,
    /// billing, TTL, tags, ...). `None` only when the store has none, which the export target
    /// accepts and the DynamoDB target refuses.
    pub description: Option<TableDescription>,
    /// The key attribute names (from the description, or from the change log).
    pub key_names: Vec<String>,
    /// What to do with an existing target.
    pub mode: WriteMode,
    /// The bucket count of this restore (see [`rewind_format::bucket_of`]).
    pub buckets: u32,
    /// A copy of some keys only: `Reconcile` leaves the target's other keys as they are
    /// (`None`: the whole table is the restore's).
    pub scope: Option<std::sync::Arc<crate::copy_spec::ResolvedFilter>>,
}

/// What `finish` needs.
#[derive(Debug, Clone)]
pub struct FinishContext {
    /// As in [`PrepareContext`].
    pub description: Option<TableDescription>,
    /// Do not enable TTL on the restored table.
    pub no_ttl: bool,
    /// Source table name.
    pub source_table: String,
    /// The restore point (seconds since the epoch).
    pub at: i64,
    /// Number of buckets.
    pub buckets: u32,
    /// Items in the restored state.
    pub items: u64,
}

/// Counts one bucket's write produced (the record of its done-marker, owned by the catalog).
pub use rewind_catalog::journal::BucketWritten;

/// Live counters shared by the writer tasks and the progress display.
#[derive(Debug, Default)]
pub struct WriteStats {
    /// Items written so far.
    pub items: AtomicU64,
    /// Bytes written so far.
    pub bytes: AtomicU64,
    /// Throttling responses (and requests with unprocessed items).
    pub throttles: AtomicU64,
    /// Requests retried.
    pub retries: AtomicU64,
}

impl WriteStats {
    /// Adds to a counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// A restore destination.
#[async_trait::async_trait]
pub trait RestoreTarget: Send + Sync + std::fmt::Debug {
    /// A canonical identity (the URL), part of the resume key.
    fn id(&self) -> String;

    /// Refuses, before a restore reads anything, what `prepare` would refuse without changing
    /// anything (a `Fresh` restore into a target that exists). Creates nothing.
    async fn precheck(&self, _ctx: &PrepareContext) -> Result<()> {
        Ok(())
    }

    /// Undoes what `prepare` created in this run, after the restore failed: the table it
    /// created, the export objects it wrote. Returns what it removed, in words (`None`: this
    /// run created nothing).
    async fn abandon(&self) -> Result<Option<String>> {
        Ok(None)
    }

    /// Removes a target this run created and completed, whole (a restore drill's scratch
    /// target): the table, or the export's data files and manifests. Returns what it removed
    /// (`None`: this run did not create it, so nothing is touched). By default as
    /// [`RestoreTarget::abandon`].
    async fn discard(&self) -> Result<Option<String>> {
        self.abandon().await
    }

    /// How an operator removes the target by hand, in words (a command where there is one).
    fn drop_hint(&self) -> String {
        format!("delete {}", self.id())
    }

    /// Checks and creates the target before any bucket is written (see [`WriteMode`]).
    /// [`ReplayError::TargetExists`] when `Fresh` meets an existing target; nothing is changed then.
    async fn prepare(&self, ctx: &PrepareContext) -> Result<()>;

    /// Writes bucket `bucket`'s items (sorted by key; possibly none), so that afterwards the
    /// target holds exactly these items for the keys of this bucket. Idempotent.
    async fn write_bucket(
        &self,
        bucket: u32,
        items: &[LiveItem],
        stats: &WriteStats,
    ) -> Result<BucketWritten>;

    /// After every bucket: table settings applied after the load (TTL unless `no_ttl`, tags,
    /// stream, ...), or the export's manifests.
    async fn finish(&self, ctx: &FinishContext) -> Result<()>;

    /// Sends every item at the target, in pages, for `verify`. Returns when all are sent.
    async fn scan(&self, sink: mpsc::Sender<Vec<Item>>) -> Result<()>;

    /// The TTL attribute the target deletes expired items by, if TTL is on there (verify
    /// tolerates missing items that had already expired).
    async fn active_ttl_attribute(&self) -> Result<Option<String>>;
}

/// Opens the target a URL names.
pub async fn open_target(url: &TargetUrl) -> Result<Box<dyn RestoreTarget>> {
    Ok(match url {
        TargetUrl::DynamoDb { table, region } => {
            Box::new(dynamodb::DynamoDbTarget::connect(table, region.as_deref()).await)
        }
        TargetUrl::Export { url } => Box::new(export::ExportTarget::open(url).await?),
    })
}

#[cfg(test)]
mod url_tests {
    use super::*;

    #[test]
    fn reads_target_urls() {
        assert_eq!(
            "dynamodb://shop-restored?region=eu-west-1"
                .parse::<TargetUrl>()
                .unwrap(),
            TargetUrl::DynamoDb {
                table: "shop-restored".into(),
                region: Some("eu-west-1".into())
            }
        );
        assert_eq!(
            "dynamodb://abc".parse::<TargetUrl>().unwrap().to_string(),
            "dynamodb://abc"
        );
        assert!(matches!(
            "s3://b/exports/x".parse::<TargetUrl>().unwrap(),
            TargetUrl::Export { .. }
        ));
        for bad in [
            "dynamodb://",
            "dynamodb://abc?colour=red",
            "dynamodb://abc?region=",
            "dynamodb://abc?region=//",
            "dynamodb://abc?region=a b",
            "dynamodb://abc?region=-eu",
            "ftp://x",
            "/plain/path",
        ] {
            assert!(bad.parse::<TargetUrl>().is_err(), "{bad}");
        }
    }
}
