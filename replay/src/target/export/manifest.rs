//! The export's two manifests beside `data/`, in the shape of AWS's export manifests where a
//! field means something here: `manifest-files.json` (a JSON line per data file) and
//! `manifest-summary.json` (the export's summary, our own fields under `rewind`, and the
//! ImportTable parameters), written last so that an export with a summary is a finished one.

use super::import_table::{table_creation_parameters, ImportTableParameters, S3BucketSource};
use super::{ExportTarget, DATA_PREFIX, MANIFEST_FILES, MANIFEST_SUMMARY};
use crate::error::{ReplayError, Result};
use crate::target::FinishContext;
use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use rewind_store::StoreError;
use serde::{Deserialize, Serialize};

/// `version` of AWS's export manifests, which ours mimic.
pub const MANIFEST_VERSION: &str = "2020-06-30";
/// Version of our own fields in the summary (`rewind`).
pub const EXPORT_FORMAT_VERSION: u32 = 1;

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

impl ExportTarget {
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

    /// Writes `manifest-files.json` listing `files`, then `manifest-summary.json` (last: an
    /// export with a summary is finished).
    pub(super) async fn write_manifests(
        &self,
        ctx: &FinishContext,
        files: &[ManifestFile],
    ) -> Result<()> {
        let items: u64 = files.iter().map(|f| f.item_count).sum();
        let compressed: u64 = files.iter().map(|f| f.size_bytes).sum();
        let uncompressed: u64 = files.iter().map(|f| f.uncompressed_size_bytes).sum();
        let mut manifest = Vec::new();
        for file in files {
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
}
