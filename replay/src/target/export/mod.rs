//! The export target: the restored state as an export that DynamoDB ImportTable reads, in any
//! store (`file://DIR`, `s3://BUCKET/PREFIX`, a plain path).
//!
//! Layout under the export's root:
//!
//! ```text
//! data/bucket-NNNN-of-MMMM.json.gz   one gzip object per non-empty bucket: {"Item":{...}}\n lines
//! manifest-files.json                JSON lines, one per data file (key, item count, CRC32C, size)
//! manifest-summary.json              written last: the export's summary and ImportTable parameters
//! ```
//!
//! ImportTable reads every object under the prefix it is given, so it is given `PREFIX/data/`
//! and the manifests live beside `data/`, never in it. Data file names depend only on the
//! bucket and the bucket count, so a resumed restore rewrites a bucket in place. An empty bucket
//! has no data file (a stale one is deleted), and the manifests list exactly the data files that
//! exist; `finish` refuses a `data/` that holds anything else, since ImportTable would import it.
//!
//! Items are written as they are in the state: canonical DynamoDB JSON, numbers as written.
//!
//! The files: `data_file` (data file names, writing the gzip JSON lines and reading them back),
//! `manifest` (the two manifests, in the shape of AWS's export manifests) and `import_table`
//! (the ImportTable parameters the summary carries, from the stored table description).

mod data_file;
mod import_table;
mod manifest;

pub use data_file::{data_key, parse_data_key};
pub use import_table::{ImportTableParameters, S3BucketSource};
pub use manifest::{
    ExportInfo, ExportSummary, ManifestFile, EXPORT_FORMAT_VERSION, MANIFEST_VERSION,
};

use super::{BucketWritten, FinishContext, PrepareContext, RestoreTarget, WriteMode, WriteStats};
use crate::error::{ReplayError, Result};
use crate::state::LiveItem;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use data_file::{blocking, data_lines, gzip, read_data_file, Written};
use rewind_format::Item;
use rewind_store::{list_all, Store, StoreError};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use tokio::sync::mpsc;

/// The folder of the data files, relative to the export's root (ImportTable's key prefix).
pub const DATA_PREFIX: &str = "data/";
/// The per-file manifest (JSON lines), beside `data/`.
pub const MANIFEST_FILES: &str = "manifest-files.json";
/// The summary manifest, beside `data/`, written last.
pub const MANIFEST_SUMMARY: &str = "manifest-summary.json";

/// A restore target writing an ImportTable-ready export into a store (see the module docs).
#[derive(Debug)]
pub struct ExportTarget {
    store: Store,
    label: String,
    /// (bucket, root prefix) when the store is in S3.
    s3: Option<(String, String)>,
    /// The bucket count, set by `prepare` (0: not prepared).
    buckets: AtomicU32,
    started_at: Mutex<Option<DateTime<Utc>>>,
    written: Mutex<BTreeMap<String, Written>>,
    /// The mode `prepare` ran in (`abandon` removes only a fresh export's files).
    mode: Mutex<Option<WriteMode>>,
}

impl ExportTarget {
    /// The export at a store URL (`file://DIR`, `s3://BUCKET/PREFIX`, a plain path).
    pub async fn open(url: &str) -> Result<Self> {
        let store = rewind_store::open(url).await?;
        Ok(Self::new(store, url.to_string()))
    }

    /// The export at the root of `store`; `label` is its identity (the URL).
    pub fn new(store: Store, label: String) -> Self {
        // The store names its objects `s3://bucket/prefix/key` or a local path.
        let s3 = store
            .describe(MANIFEST_SUMMARY)
            .strip_prefix("s3://")
            .and_then(|rest| rest.strip_suffix(MANIFEST_SUMMARY))
            .and_then(|rest| {
                let (bucket, prefix) = rest.split_once('/')?;
                Some((bucket.to_string(), prefix.trim_end_matches('/').to_string()))
            });
        ExportTarget {
            store,
            label,
            s3,
            buckets: AtomicU32::new(0),
            started_at: Mutex::new(None),
            written: Mutex::new(BTreeMap::new()),
            mode: Mutex::new(None),
        }
    }

    /// The store the export is in.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The full S3 key of a key relative to the export's root (the key itself when local).
    fn s3_key(&self, key: &str) -> String {
        match &self.s3 {
            Some((_, prefix)) if !prefix.is_empty() => format!("{prefix}/{key}"),
            _ => key.to_string(),
        }
    }

    fn prepared_buckets(&self) -> Result<u32> {
        match self.buckets.load(Ordering::Acquire) {
            0 => Err(ReplayError::Invalid {
                what: "export target",
                location: self.label.clone(),
                reason: "a bucket was written before prepare".into(),
            }),
            n => Ok(n),
        }
    }

    /// Whether the export holds anything: a data file or a manifest.
    async fn exists(&self) -> Result<bool> {
        if !self
            .store
            .list_page(DATA_PREFIX, None, 1)
            .await?
            .objects
            .is_empty()
        {
            return Ok(true);
        }
        for key in [MANIFEST_SUMMARY, MANIFEST_FILES] {
            match self.store.head(key).await {
                Ok(_) => return Ok(true),
                Err(StoreError::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(false)
    }
}

#[async_trait::async_trait]
impl RestoreTarget for ExportTarget {
    fn id(&self) -> String {
        self.label.clone()
    }

    fn drop_hint(&self) -> String {
        format!("delete everything under {}", self.label)
    }

    async fn precheck(&self, ctx: &PrepareContext) -> Result<()> {
        if ctx.mode == WriteMode::Fresh && self.exists().await? {
            return Err(ReplayError::TargetExists {
                target: self.label.clone(),
            });
        }
        Ok(())
    }

    async fn abandon(&self) -> Result<Option<String>> {
        // Only a fresh export's objects are ours alone; the manifests are written last, so an
        // abandoned export has none, and its data files go.
        if self.mode.lock().unwrap_or_else(|e| e.into_inner()).take() != Some(WriteMode::Fresh) {
            return Ok(None);
        }
        let stale = list_all(self.store.as_ref(), DATA_PREFIX).await?;
        for object in &stale {
            self.store.delete(&object.key).await?;
        }
        Ok(Some(format!(
            "removed the {} data file(s) this restore wrote to {}",
            stale.len(),
            self.label
        )))
    }

    async fn discard(&self) -> Result<Option<String>> {
        if self.mode.lock().unwrap_or_else(|e| e.into_inner()).take() != Some(WriteMode::Fresh) {
            return Ok(None);
        }
        // Fresh: the export's root held nothing before this run, so everything under it is ours.
        let objects = list_all(self.store.as_ref(), "").await?;
        for object in &objects {
            self.store.delete(&object.key).await?;
        }
        Ok(Some(format!(
            "removed the {} object(s) of the export at {}",
            objects.len(),
            self.label
        )))
    }

    async fn prepare(&self, ctx: &PrepareContext) -> Result<()> {
        if ctx.buckets == 0 {
            return Err(ReplayError::Invalid {
                what: "export target",
                location: self.label.clone(),
                reason: "a restore has at least one bucket".into(),
            });
        }
        match ctx.mode {
            WriteMode::Fresh => {
                if self.exists().await? {
                    return Err(ReplayError::TargetExists {
                        target: self.label.clone(),
                    });
                }
            }
            WriteMode::Resume => {}
            WriteMode::Reconcile => {
                // The summary first: a half-cleared export must not look finished.
                for key in [MANIFEST_SUMMARY, MANIFEST_FILES] {
                    self.store.delete(key).await?;
                }
                let stale = list_all(self.store.as_ref(), DATA_PREFIX).await?;
                for object in &stale {
                    self.store.delete(&object.key).await?;
                }
                tracing::info!(
                    target = %self.label,
                    deleted = stale.len(),
                    "export target: removed the previous data files and manifests"
                );
                self.written
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clear();
            }
        }
        self.buckets.store(ctx.buckets, Ordering::Release);
        *self.mode.lock().unwrap_or_else(|e| e.into_inner()) = Some(ctx.mode);
        self.started_at
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert_with(Utc::now);
        Ok(())
    }

    async fn write_bucket(
        &self,
        bucket: u32,
        items: &[LiveItem],
        stats: &WriteStats,
    ) -> Result<BucketWritten> {
        let buckets = self.prepared_buckets()?;
        if bucket >= buckets {
            return Err(ReplayError::Invalid {
                what: "export target",
                location: self.label.clone(),
                reason: format!("bucket {bucket} written, but the restore has {buckets} buckets"),
            });
        }
        let key = data_key(bucket, buckets);
        if items.is_empty() {
            // No file for an empty bucket; a resumed restore removes one left over.
            self.store.delete(&key).await?;
            self.written
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&key);
            return Ok(BucketWritten::default());
        }
        let lines = data_lines(items)?;
        let uncompressed = lines.len() as u64;
        let location = self.store.describe(&key);
        let gz = blocking(move || gzip(&lines))
            .await?
            .map_err(|e| ReplayError::io(location, e))?;
        let size = gz.len() as u64;
        let meta = self.store.put(&key, Bytes::from(gz)).await?;
        let n = items.len() as u64;
        WriteStats::add(&stats.items, n);
        WriteStats::add(&stats.bytes, uncompressed);
        self.written
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                key,
                Written {
                    items: n,
                    uncompressed,
                    size,
                    crc32c: meta.crc32c,
                },
            );
        Ok(BucketWritten {
            items_written: n,
            bytes_written: uncompressed,
            ..BucketWritten::default()
        })
    }

    async fn finish(&self, ctx: &FinishContext) -> Result<()> {
        let prepared = self.buckets.load(Ordering::Acquire);
        if prepared != 0 && prepared != ctx.buckets {
            return Err(ReplayError::Invalid {
                what: "export target",
                location: self.label.clone(),
                reason: format!(
                    "finished with {} buckets, prepared with {prepared}",
                    ctx.buckets
                ),
            });
        }
        let objects = list_all(self.store.as_ref(), DATA_PREFIX).await?;
        let mut files = Vec::with_capacity(objects.len());
        let mut items = 0u64;
        for object in &objects {
            match parse_data_key(&object.key) {
                Some((_, m)) if m == ctx.buckets => {}
                _ => {
                    return Err(ReplayError::Invalid {
                        what: "export data file",
                        location: self.store.describe(&object.key),
                        reason: format!(
                            "not a data file of this export of {} buckets (such as {}); \
                             ImportTable would import it too: remove it, or restore again with \
                             --into-existing",
                            ctx.buckets,
                            data_key(0, ctx.buckets)
                        ),
                    })
                }
            }
            let known = self
                .written
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&object.key)
                .filter(|w| w.size == object.size)
                .cloned();
            let w = match known {
                Some(w) => w,
                None => self.count_back(&object.key).await?,
            };
            items += w.items;
            files.push(ManifestFile {
                item_count: w.items,
                crc32c_checksum: w.crc32c,
                size_bytes: w.size,
                uncompressed_size_bytes: w.uncompressed,
                data_file_s3_key: self.s3_key(&object.key),
                data_file_key: object.key.clone(),
            });
        }
        if items != ctx.items {
            return Err(ReplayError::Invalid {
                what: "export",
                location: self.label.clone(),
                reason: format!(
                    "the data files hold {items} items, the restored state {}: a bucket is \
                     missing or stale",
                    ctx.items
                ),
            });
        }

        self.write_manifests(ctx, &files).await
    }

    async fn scan(&self, sink: mpsc::Sender<Vec<Item>>) -> Result<()> {
        let objects = list_all(self.store.as_ref(), DATA_PREFIX).await?;
        for object in objects {
            let location = self.store.describe(&object.key);
            if !object.key.ends_with(".json.gz") {
                return Err(ReplayError::Invalid {
                    what: "export data file",
                    location,
                    reason: "not a .json.gz data file (ImportTable would read it too)".into(),
                });
            }
            let body = self.store.get(&object.key).await?;
            let sink = sink.clone();
            let open = blocking(move || read_data_file(&body, &location, &sink)).await??;
            if !open {
                return Ok(()); // the receiver has gone: nobody wants the rest
            }
        }
        Ok(())
    }

    async fn active_ttl_attribute(&self) -> Result<Option<String>> {
        Ok(None)
    }
}
