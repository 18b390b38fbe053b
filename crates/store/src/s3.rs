//! The S3 backend (aws-sdk-s3), also used against moto in tests.
//!
//! - Every put sends `x-amz-checksum-crc32c` computed here from the bytes, so S3 rejects a body
//!   damaged on the way and stores exactly the checksum we computed.
//! - Every get asks for the stored checksum (`x-amz-checksum-mode: ENABLED`) and recomputes it.
//!   The SDK validates too, but only when the header comes back; moto stores checksums without
//!   checking them, and an object written by another tool may have none, so the store checks
//!   itself and refuses an object without a CRC32C ([`StoreError::MissingChecksum`]).
//! - Put-if-absent is a conditional write, `If-None-Match: *`. S3 answers 412
//!   PreconditionFailed when the key exists, and 409 ConditionalRequestConflict when another
//!   conditional write of the key is in flight; both are [`StoreError::AlreadyExists`]: this
//!   writer did not win.

use crate::checksum;
use crate::error::StoreError;
use crate::{validate_key, validate_prefix, ListPage, ObjectMeta, ObjectStore, Result};
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode};
use bytes::Bytes;
use std::error::Error as StdError;

/// A store under `s3://bucket/prefix`.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
    /// Without leading or trailing `/`; empty for the bucket's root.
    prefix: String,
}

/// Which answers mean "the object is not there" / "you lost the race" for this call.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Call {
    Read,
    Conditional,
    Other,
}

impl S3Store {
    /// A store for `s3://bucket/prefix` using `client` (whose region, credentials, endpoint and
    /// retry policy apply as configured). Slashes around `prefix` are ignored.
    pub fn new(
        client: aws_sdk_s3::Client,
        bucket: impl Into<String>,
        prefix: impl Into<String>,
    ) -> Self {
        let prefix: String = prefix.into();
        S3Store {
            client,
            bucket: bucket.into(),
            prefix: prefix.trim_matches('/').to_string(),
        }
    }

    /// The SDK client, for callers that need S3 features the store does not offer.
    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The key prefix (no leading or trailing `/`; empty for the bucket's root).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The S3 object key of a store key.
    pub fn object_key(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}/{key}", self.prefix)
        }
    }

    fn store_key<'a>(&self, object_key: &'a str) -> &'a str {
        if self.prefix.is_empty() {
            object_key
        } else {
            object_key
                .strip_prefix(self.prefix.as_str())
                .and_then(|k| k.strip_prefix('/'))
                .unwrap_or(object_key)
        }
    }

    /// PutObject with our CRC32C; `if_absent` makes it conditional (`If-None-Match: *`).
    async fn put_inner(&self, key: &str, body: Bytes, if_absent: bool) -> Result<ObjectMeta> {
        validate_key(key)?;
        let location = self.describe(key);
        let crc = checksum::to_base64(checksum::crc32c(&body));
        let size = body.len() as u64;
        let mut request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .checksum_algorithm(ChecksumAlgorithm::Crc32C)
            .checksum_crc32_c(&crc)
            .body(ByteStream::from(body));
        let (op, call) = if if_absent {
            request = request.if_none_match("*");
            ("put_if_absent", Call::Conditional)
        } else {
            ("put", Call::Other)
        };
        request
            .send()
            .await
            .map_err(|e| map_sdk_error(op, &location, e, call))?;
        Ok(ObjectMeta {
            key: key.to_string(),
            size,
            crc32c: Some(crc),
            last_modified: None,
        })
    }
}

/// Converts an S3 time to chrono.
fn to_chrono(t: &aws_sdk_s3::primitives::DateTime) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

/// Maps an SDK error to the store's vocabulary, by error code first and HTTP status second
/// (HEAD answers carry no body, so no code).
fn map_sdk_error<E>(
    op: &'static str,
    location: &str,
    err: SdkError<E, HttpResponse>,
    call: Call,
) -> StoreError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    let status = err.raw_response().map(|r| r.status().as_u16());
    let code = err.code().map(str::to_string);
    let key = location.to_string();
    match &err {
        SdkError::ServiceError(_) => {
            let code = code.as_deref();
            if call == Call::Conditional
                && (matches!(
                    code,
                    Some("PreconditionFailed" | "ConditionalRequestConflict")
                ) || matches!(status, Some(412 | 409)))
            {
                return StoreError::AlreadyExists { key };
            }
            // A missing bucket is also a 404, but a configuration error, not a missing object.
            if call == Call::Read
                && code != Some("NoSuchBucket")
                && (matches!(code, Some("NoSuchKey" | "NotFound")) || status == Some(404))
            {
                return StoreError::NotFound { key };
            }
        }
        SdkError::ResponseError(_) if call == Call::Read && status == Some(404) => {
            return StoreError::NotFound { key };
        }
        _ => {}
    }
    // One rule for every AWS call (rewind_aws): throttling, 5xx, timeouts and lost connections
    // retry; construction failures and other client errors do not.
    // Its message is S3's own ("NoSuchBucket: The specified bucket does not exist"), not the
    // raw response: it reaches people (CLI errors, job records, notifications).
    let class = rewind_aws::classify(&err);
    let retryable = class.retryable;
    let message = match status {
        Some(status) => format!("HTTP {status} {}", class.message),
        None => class.message,
    };
    StoreError::Other {
        op,
        key,
        message,
        retryable,
        source: Some(Box::new(err)),
    }
}

/// Finds the SDK's own checksum-validation failure in a body error's chain, if that is what it
/// is, and returns (expected, actual) in S3's base64 encoding.
fn sdk_checksum_mismatch(err: &(dyn StdError + 'static)) -> Option<(String, String)> {
    use aws_smithy_checksums::body::validate::Error as ValidateError;
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(ValidateError::ChecksumMismatch { expected, actual }) = e.downcast_ref() {
            let b64 = |b: &[u8]| {
                <[u8; 4]>::try_from(b)
                    .map(|a| checksum::to_base64(u32::from_be_bytes(a)))
                    .unwrap_or_else(|_| format!("{b:02x?}"))
            };
            return Some((b64(expected), b64(actual)));
        }
        // io::Error's source() skips the error it wraps; look inside explicitly.
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            if let Some(found) = sdk_checksum_mismatch(inner) {
                return Some(found);
            }
        }
        current = e.source();
    }
    None
}

#[async_trait::async_trait]
impl ObjectStore for S3Store {
    async fn put(&self, key: &str, body: Bytes) -> Result<ObjectMeta> {
        self.put_inner(key, body, false).await
    }

    async fn put_if_absent(&self, key: &str, body: Bytes) -> Result<ObjectMeta> {
        self.put_inner(key, body, true).await
    }

    async fn get(&self, key: &str) -> Result<Bytes> {
        validate_key(key)?;
        let location = self.describe(key);
        let output = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .map_err(|e| map_sdk_error("get", &location, e, Call::Read))?;
        let stored = output.checksum_crc32_c().map(str::to_string);
        let body = match output.body.collect().await {
            Ok(body) => body.into_bytes(),
            Err(e) => {
                if let Some((expected, actual)) = sdk_checksum_mismatch(&e) {
                    return Err(StoreError::ChecksumMismatch {
                        key: location,
                        expected,
                        actual,
                    });
                }
                return Err(StoreError::Other {
                    op: "get",
                    key: location,
                    message: format!("reading the body failed: {}", DisplayErrorContext(&e)),
                    retryable: true,
                    source: Some(Box::new(e)),
                });
            }
        };
        checksum::verify(&location, stored.as_deref(), &body)?;
        Ok(body)
    }

    async fn list_page(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<ListPage> {
        validate_prefix(prefix)?;
        let location = self.describe(prefix);
        let limit = limit.clamp(1, crate::MAX_LIST_PAGE);
        // With a root prefix, list "root/" + prefix so that "root2/..." never matches.
        let full_prefix = if self.prefix.is_empty() {
            prefix.to_string()
        } else {
            format!("{}/{prefix}", self.prefix)
        };
        let mut request = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .max_keys(limit as i32);
        if !full_prefix.is_empty() {
            request = request.prefix(&full_prefix);
        }
        if let Some(after) = start_after {
            request = request.start_after(self.object_key(after));
        }
        let mut output = request
            .clone()
            .send()
            .await
            .map_err(|e| map_sdk_error("list", &location, e, Call::Other))?;
        // S3 may answer a page with no keys that still says more follow (ListObjectsV2 makes
        // no promise of full pages): follow its continuation token until keys or the end come,
        // since an empty page gives the caller no key to page on from.
        while output.contents().is_empty() && output.is_truncated().unwrap_or(false) {
            let Some(token) = output.next_continuation_token().map(str::to_string) else {
                break;
            };
            output = request
                .clone()
                .continuation_token(token)
                .send()
                .await
                .map_err(|e| map_sdk_error("list", &location, e, Call::Other))?;
        }
        let mut objects: Vec<ObjectMeta> = output
            .contents()
            .iter()
            .filter_map(|o| {
                let key = o.key()?;
                Some(ObjectMeta {
                    key: self.store_key(key).to_string(),
                    size: o.size().unwrap_or(0).max(0) as u64,
                    crc32c: None,
                    last_modified: o.last_modified().and_then(to_chrono),
                })
            })
            .collect();
        let mut truncated = output.is_truncated().unwrap_or(false);
        if objects.len() > limit {
            objects.truncate(limit);
            truncated = true;
        }
        Ok(ListPage { objects, truncated })
    }

    async fn head(&self, key: &str) -> Result<ObjectMeta> {
        validate_key(key)?;
        let location = self.describe(key);
        let output = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .map_err(|e| map_sdk_error("head", &location, e, Call::Read))?;
        Ok(ObjectMeta {
            key: key.to_string(),
            size: output.content_length().unwrap_or(0).max(0) as u64,
            crc32c: output.checksum_crc32_c().map(str::to_string),
            last_modified: output.last_modified().and_then(to_chrono),
        })
    }

    async fn delete(&self, key: &str) -> Result<()> {
        validate_key(key)?;
        let location = self.describe(key);
        match self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => match map_sdk_error("delete", &location, e, Call::Read) {
                // S3 answers 204 for an absent key; some emulators answer 404.
                StoreError::NotFound { .. } => Ok(()),
                other => Err(other),
            },
        }
    }

    fn describe(&self, key: &str) -> String {
        format!("s3://{}/{}", self.bucket, self.object_key(key))
    }
}
