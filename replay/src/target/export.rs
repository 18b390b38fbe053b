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

use super::{BucketWritten, FinishContext, PrepareContext, RestoreTarget, WriteMode, WriteStats};
use crate::error::{ReplayError, Result};
use crate::state::LiveItem;
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use rewind_catalog::TableDescription;
use rewind_format::Item;
use rewind_store::{list_all, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use tokio::sync::mpsc;

/// The folder of the data files, relative to the export's root (ImportTable's key prefix).
pub const DATA_PREFIX: &str = "data/";
/// The per-file manifest (JSON lines), beside `data/`.
pub const MANIFEST_FILES: &str = "manifest-files.json";
/// The summary manifest, beside `data/`, written last.
pub const MANIFEST_SUMMARY: &str = "manifest-summary.json";
/// `version` of AWS's export manifests, which ours mimic.
pub const MANIFEST_VERSION: &str = "2020-06-30";
/// Version of our own fields in the summary (`rewind`).
pub const EXPORT_FORMAT_VERSION: u32 = 1;

/// gzip level of the data files. Measured on 10.7k workload items (20.8 MB of lines, release
/// build, miniz_oxide): level 1 gives 25.3 % of the input at 281 MB/s, level 3 16.4 % at
/// 109 MB/s, level 6 15.3 % at 51 MB/s, level 9 14.9 % at 20 MB/s. Level 3: within 7 % of
/// level 6's size at twice its speed. (ImportTable bills the uncompressed size either way.)
const GZIP_LEVEL: u32 = 3;
/// Items per page sent by [`ExportTarget::scan`].
const SCAN_PAGE: usize = 1000;

/// The key of bucket `bucket`'s data file among `buckets` buckets: fixed width (at least four
/// digits), so names sort in bucket order.
pub fn data_key(bucket: u32, buckets: u32) -> String {
    let width = buckets.to_string().len().max(4);
    format!("{DATA_PREFIX}bucket-{bucket:0width$}-of-{buckets:0width$}.json.gz")
}

/// The (bucket, bucket count) of a data file key written by [`data_key`], or `None` for any
/// other key.
pub fn parse_data_key(key: &str) -> Option<(u32, u32)> {
    let name = key
        .strip_prefix(DATA_PREFIX)?
        .strip_prefix("bucket-")?
        .strip_suffix(".json.gz")?;
    let (bucket, buckets) = name.split_once("-of-")?;
    let number = |s: &str| -> Option<u32> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let (bucket, buckets) = (number(bucket)?, number(buckets)?);
    (bucket < buckets && data_key(bucket, buckets) == key).then_some((bucket, buckets))
}

/// One line of `manifest-files.json` (AWS writes `md5Checksum` and `etag`; we write the CRC32C
/// the store keeps and verifies with every object instead).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestFile {
    /// Items (lines) in the file.
    pub item_count: u64,
    /// CRC32C of the gzip object, base64 of the big-endian `u32` (S3's encoding).
    pub crc32c_checksum: Option<String>,
    /// Size of the gzip object in bytes.
    pub size_bytes: u64,
    /// Bytes of the uncompressed lines.
    pub uncompressed_size_bytes: u64,
    /// The object's key in its S3 bucket (prefix included), or relative to the export's root
    /// for a local export.
    #[serde(rename = "dataFileS3Key")]
    pub data_file_s3_key: String,
    /// The object's key relative to the export's root (`data/bucket-....json.gz`).
    pub data_file_key: String,
}

/// `manifest-summary.json`: AWS's export summary fields where they mean something here, and
/// ours under `rewind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportSummary {
    /// [`MANIFEST_VERSION`].
    pub version: String,
    /// Always `null`: not an AWS export.
    pub export_arn: Option<String>,
    /// When the restore began writing the export (RFC 3339, ms).
    pub start_time: String,
    /// When the export was finished (RFC 3339, ms).
    pub end_time: String,
    /// The source table's id, from its description.
    pub table_id: Option<String>,
    /// The source table's ARN, from its description.
    pub table_arn: Option<String>,
    /// The point in time the export holds: the restore point (RFC 3339).
    pub export_time: String,
    /// The S3 bucket of the export (`null` for a local export).
    pub s3_bucket: Option<String>,
    /// The key prefix of the export's root in the bucket (`null`: the bucket's root, or local).
    pub s3_prefix: Option<String>,
    /// Key of `manifest-files.json` (in the bucket, or relative to a local export's root).
    #[serde(rename = "manifestFilesS3Key")]
    pub manifest_files_s3_key: String,
    /// Items in the export.
    pub item_count: u64,
    /// `DYNAMODB_JSON`.
    pub output_format: String,
    /// `FULL_EXPORT`.
    pub export_type: String,
    /// Our own fields.
    pub rewind: ExportInfo,
}

/// Our fields of the summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportInfo {
    /// [`EXPORT_FORMAT_VERSION`].
    pub format_version: u32,
    /// The source table's name.
    pub source_table: String,
    /// The restore point, RFC 3339 UTC (`2026-11-26T05:40:12Z`).
    pub restore_point: String,
    /// The restore point in seconds since the epoch.
    pub restore_point_epoch_seconds: i64,
    /// The restore's bucket count (`MMMM` in the data file names).
    pub bucket_count: u32,
    /// The data files' folder relative to the export's root (`data/`).
    pub data_prefix: String,
    /// Data files (empty buckets have none).
    pub data_file_count: u64,
    /// Total size of the gzip data files.
    pub compressed_bytes: u64,
    /// Total size of the uncompressed lines.
    pub uncompressed_bytes: u64,
    /// Parameters of ImportTable, in the API's shape: `aws dynamodb import-table
    /// --cli-input-json "$(jq .rewind.importTable manifest-summary.json)"`.
    pub import_table: ImportTableParameters,
    /// What the import does not carry over, and what to fill in by hand.
    pub notes: Vec<String>,
}

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

/// What `write_bucket` learnt about a data file, so `finish` need not read it back.
#[derive(Debug, Clone)]
struct Written {
    items: u64,
    uncompressed: u64,
    size: u64,
    crc32c: Option<String>,
}

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

    /// The summary, if the export has been finished.
    pub async fn read_summary(&self) -> Result<Option<ExportSummary>> {
        let body = match self.store.get(MANIFEST_SUMMARY).await {
            Ok(body) => body,
            Err(StoreError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        serde_json::from_slice(&body)
            .map(Some)
            .map_err(|e| ReplayError::Invalid {
                what: "export summary",
                location: self.store.describe(MANIFEST_SUMMARY),
                reason: e.to_string(),
            })
    }

    /// The lines of `manifest-files.json` (empty if there is none).
    pub async fn read_manifest_files(&self) -> Result<Vec<ManifestFile>> {
        let body = match self.store.get(MANIFEST_FILES).await {
            Ok(body) => body,
            Err(StoreError::NotFound { .. }) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let location = self.store.describe(MANIFEST_FILES);
        let text = std::str::from_utf8(&body).map_err(|e| ReplayError::Invalid {
            what: "export file manifest",
            location: location.clone(),
            reason: e.to_string(),
        })?;
        text.lines()
            .enumerate()
            .map(|(i, line)| {
                serde_json::from_str(line).map_err(|e| ReplayError::Invalid {
                    what: "export file manifest",
                    location: format!("{location} line {}", i + 1),
                    reason: e.to_string(),
                })
            })
            .collect()
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

    /// Counts a data file written by another run (a resumed restore), reading it back.
    async fn count_back(&self, key: &str) -> Result<Written> {
        let body = self.store.get(key).await?;
        let crc32c = self.store.head(key).await?.crc32c;
        let size = body.len() as u64;
        let location = self.store.describe(key);
        let (items, uncompressed) = blocking(move || count_lines(&body, &location)).await??;
        Ok(Written {
            items,
            uncompressed,
            size,
            crc32c,
        })
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
        let capacity: usize = items.iter().map(|i| i.image.len() + 10).sum();
        let mut lines = Vec::with_capacity(capacity);
        for item in items {
            // Canonical JSON has no raw newline (one in a string is escaped); a line break
            // would split the item into two broken lines.
            if !item.image.starts_with('{') || item.image.contains('\n') {
                return Err(ReplayError::Invalid {
                    what: "item image",
                    location: item.keys.clone(),
                    reason: "not one line of DynamoDB JSON".into(),
                });
            }
            lines.extend_from_slice(b"{\"Item\":");
            lines.extend_from_slice(item.image.as_bytes());
            lines.extend_from_slice(b"}\n");
        }
        let uncompressed = lines.len() as u64;
        let location = self.store.describe(&key);
        let gz = blocking(move || {
            let mut encoder = GzEncoder::new(
                Vec::with_capacity(lines.len() / 4 + 64),
                Compression::new(GZIP_LEVEL),
            );
            encoder.write_all(&lines)?;
            encoder.finish()
        })
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
        let (mut items, mut compressed, mut uncompressed) = (0u64, 0u64, 0u64);
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
            compressed += w.size;
            uncompressed += w.uncompressed;
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

        let mut manifest = Vec::new();
        for file in &files {
            serde_json::to_writer(&mut manifest, file).expect("manifest lines serialise");
            manifest.push(b'\n');
        }
        self.store
            .put(MANIFEST_FILES, Bytes::from(manifest))
            .await?;

        let end = Utc::now();
        let start = self
            .started_at
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .unwrap_or(end);
        let ms = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
        let restore_point = crate::at::format_second(ctx.at);
        let (s3_bucket, s3_prefix) = match &self.s3 {
            Some((b, p)) => (Some(b.clone()), Some(p.clone()).filter(|p| !p.is_empty())),
            None => (None, None),
        };
        let (table_creation_parameters, mut notes) =
            table_creation_parameters(ctx.description.as_ref(), &ctx.source_table);
        if self.s3.is_none() {
            notes.push(format!(
                "a local export: upload the directory's data/ folder, without its dot-files (the \
                 local store's checksum sidecars), to s3://BUCKET/PREFIX/data/ (e.g. aws s3 sync \
                 --exclude '*/.*' --exclude '.*'), then set S3Bucket and S3KeyPrefix = \
                 PREFIX/{DATA_PREFIX}"
            ));
        }
        let summary = ExportSummary {
            version: MANIFEST_VERSION.into(),
            export_arn: None,
            start_time: ms(start),
            end_time: ms(end),
            table_id: ctx.description.as_ref().and_then(|d| d.table_id.clone()),
            table_arn: ctx.description.as_ref().map(|d| d.table_arn.clone()),
            export_time: restore_point.clone(),
            s3_bucket: s3_bucket.clone(),
            s3_prefix,
            manifest_files_s3_key: self.s3_key(MANIFEST_FILES),
            item_count: items,
            output_format: "DYNAMODB_JSON".into(),
            export_type: "FULL_EXPORT".into(),
            rewind: ExportInfo {
                format_version: EXPORT_FORMAT_VERSION,
                source_table: ctx.source_table.clone(),
                restore_point,
                restore_point_epoch_seconds: ctx.at,
                bucket_count: ctx.buckets,
                data_prefix: DATA_PREFIX.into(),
                data_file_count: files.len() as u64,
                compressed_bytes: compressed,
                uncompressed_bytes: uncompressed,
                import_table: ImportTableParameters {
                    s3_bucket_source: S3BucketSource {
                        s3_bucket,
                        s3_key_prefix: self.s3_key(DATA_PREFIX),
                    },
                    input_format: "DYNAMODB_JSON".into(),
                    input_compression_type: "GZIP".into(),
                    table_creation_parameters,
                },
                notes,
            },
        };
        let body = serde_json::to_vec_pretty(&summary).expect("the summary serialises");
        self.store.put(MANIFEST_SUMMARY, Bytes::from(body)).await?;
        tracing::info!(
            target = %self.label,
            items,
            files = files.len(),
            compressed_bytes = compressed,
            "export target: manifests written"
        );
        Ok(())
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

/// Runs CPU-bound work (gzip, parsing) off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(v) => Ok(v),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(ReplayError::io(
            "<blocking task>",
            std::io::Error::other(e.to_string()),
        )),
    }
}

/// One line of a data file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    #[serde(rename = "Item")]
    item: Item,
}

fn invalid_line(location: &str, line: u64, reason: impl Into<String>) -> ReplayError {
    ReplayError::Invalid {
        what: "export line",
        location: format!("{location} line {line}"),
        reason: reason.into(),
    }
}

/// Calls `f` with each line (without its `\n`) of a gzip data file and its 1-based number;
/// returns the uncompressed byte count. `f` returns `false` to stop.
fn for_each_line(
    body: &[u8],
    location: &str,
    mut f: impl FnMut(&[u8], u64) -> Result<bool>,
) -> Result<u64> {
    let mut reader = BufReader::with_capacity(256 * 1024, MultiGzDecoder::new(body));
    let mut buf = Vec::with_capacity(4096);
    let (mut number, mut bytes) = (0u64, 0u64);
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| invalid_line(location, number + 1, format!("not gzip: {e}")))?;
        if n == 0 {
            return Ok(bytes);
        }
        number += 1;
        bytes += n as u64;
        let line = buf.strip_suffix(b"\n").unwrap_or(&buf);
        if !f(line, number)? {
            return Ok(bytes);
        }
    }
}

/// Counts the lines (items) and uncompressed bytes of a data file.
fn count_lines(body: &[u8], location: &str) -> Result<(u64, u64)> {
    let mut items = 0u64;
    let bytes = for_each_line(body, location, |line, number| {
        if line.is_empty() {
            return Err(invalid_line(location, number, "empty line"));
        }
        items += 1;
        Ok(true)
    })?;
    Ok((items, bytes))
}

/// Parses a data file and sends its items in pages; `false` when the receiver has gone.
fn read_data_file(body: &[u8], location: &str, sink: &mpsc::Sender<Vec<Item>>) -> Result<bool> {
    let mut page = Vec::with_capacity(SCAN_PAGE);
    let mut open = true;
    for_each_line(body, location, |line, number| {
        let parsed: Line = serde_json::from_slice(line).map_err(|e| {
            invalid_line(
                location,
                number,
                format!("not {{\"Item\": DynamoDB JSON}}: {e}"),
            )
        })?;
        rewind_format::validate_item(&parsed.item)
            .map_err(|e| invalid_line(location, number, e.to_string()))?;
        page.push(parsed.item);
        if page.len() == SCAN_PAGE {
            open = sink
                .blocking_send(std::mem::replace(&mut page, Vec::with_capacity(SCAN_PAGE)))
                .is_ok();
        }
        Ok(open)
    })?;
    if open && !page.is_empty() {
        open = sink.blocking_send(page).is_ok();
    }
    Ok(open)
}

/// ImportTable's `TableCreationParameters` for a table like the source (keys, GSIs, billing),
/// and notes on what ImportTable cannot set.
fn table_creation_parameters(
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
