//! The store URL every command takes (`--store URL`): `s3://BUCKET/PREFIX`, `file://DIR` or a
//! plain path.
//!
//! Parsed strictly: a typo such as `s3:/bucket` or `s3a://bucket` is refused instead of becoming
//! a local directory named `s3:` that silently receives the backups.

use crate::error::StoreError;
use std::fmt;
use std::path::PathBuf;

/// Where a store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// An S3 bucket and a key prefix inside it (no leading or trailing `/`; empty for the
    /// bucket's root).
    S3 {
        /// The bucket name.
        bucket: String,
        /// Keys are stored under `prefix/` (or at the root when empty).
        prefix: String,
    },
    /// A local directory.
    Local {
        /// The directory, as given (relative paths stay relative to the working directory).
        path: PathBuf,
    },
}

fn invalid(url: &str, reason: impl Into<String>) -> StoreError {
    StoreError::InvalidUrl {
        url: url.to_string(),
        reason: reason.into(),
    }
}

/// Splits `scheme://rest` when `s` starts with an RFC 3986 scheme followed by `:`.
fn split_scheme(s: &str) -> Option<(&str, &str)> {
    let colon = s.find(':')?;
    let scheme = &s[..colon];
    let mut bytes = scheme.bytes();
    let first_ok = bytes.next().is_some_and(|b| b.is_ascii_alphabetic());
    let rest_ok = bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    // A one-letter "scheme" is a Windows drive (`C:\backups`), not a URL.
    if first_ok && rest_ok && scheme.len() > 1 {
        Some((scheme, &s[colon + 1..]))
    } else {
        None
    }
}

impl StoreUrl {
    /// Parses a store URL.
    ///
    /// - `s3://bucket` and `s3://bucket/some/prefix/` (trailing `/` optional);
    /// - `file://DIR`: everything after `file://` is the path, so `file:///abs/dir` is
    ///   `/abs/dir` and `file://rel/dir` is `rel/dir`; not percent-decoded, since people type
    ///   these by hand;
    /// - anything without a scheme is a plain path.
    ///
    /// Any other scheme, a missing `//`, an empty bucket or path, a query or fragment, or a
    /// prefix with empty, `.` or `..` segments is [`StoreError::InvalidUrl`].
    pub fn parse(url: &str) -> Result<StoreUrl, StoreError> {
        if url.trim().is_empty() {
            return Err(invalid(url, "empty"));
        }
        let Some((scheme, rest)) = split_scheme(url) else {
            return Ok(StoreUrl::Local {
                path: PathBuf::from(url),
            });
        };
        let scheme_lc = scheme.to_ascii_lowercase();
        let Some(rest) = rest.strip_prefix("//") else {
            return Err(invalid(
                url,
                format!("expected {scheme}://..., or a plain path without a scheme"),
            ));
        };
        match scheme_lc.as_str() {
            "s3" => parse_s3(url, rest),
            "file" => {
                if rest.is_empty() {
                    return Err(invalid(url, "no directory after file://"));
                }
                Ok(StoreUrl::Local {
                    path: PathBuf::from(rest),
                })
            }
            _ => Err(invalid(
                url,
                format!("unsupported scheme {scheme:?}: use s3://BUCKET/PREFIX, file://DIR or a plain path"),
            )),
        }
    }
}

fn parse_s3(url: &str, rest: &str) -> Result<StoreUrl, StoreError> {
    if rest.contains(['?', '#']) {
        return Err(invalid(
            url,
            "query strings and fragments are not supported",
        ));
    }
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(invalid(url, "no bucket name"));
    }
    // S3 bucket names: 3-63 of lower-case letters, digits, '.', '-'. Legacy buckets may hold
    // upper case and '_', so only refuse what can never be a bucket.
    if !bucket
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
    {
        return Err(invalid(
            url,
            format!("{bucket:?} is not a bucket name (letters, digits, '.', '-')"),
        ));
    }
    let prefix = prefix.strip_suffix('/').unwrap_or(prefix);
    if !prefix.is_empty() {
        for segment in prefix.split('/') {
            if segment.is_empty() || segment == "." || segment == ".." {
                return Err(invalid(
                    url,
                    format!("prefix {prefix:?} has an empty, '.' or '..' segment"),
                ));
            }
        }
    }
    Ok(StoreUrl::S3 {
        bucket: bucket.to_string(),
        prefix: prefix.to_string(),
    })
}

impl std::str::FromStr for StoreUrl {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        StoreUrl::parse(s)
    }
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreUrl::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            StoreUrl::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
            StoreUrl::Local { path } => write!(f, "{}", path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3(bucket: &str, prefix: &str) -> StoreUrl {
        StoreUrl::S3 {
            bucket: bucket.into(),
            prefix: prefix.into(),
        }
    }

    fn local(path: &str) -> StoreUrl {
        StoreUrl::Local { path: path.into() }
    }

    fn assert_invalid(url: &str) {
        match StoreUrl::parse(url) {
            Err(StoreError::InvalidUrl { url: u, reason }) => {
                assert_eq!(u, url);
                assert!(!reason.is_empty());
            }
            other => panic!("{url:?}: expected InvalidUrl, got {other:?}"),
        }
    }

    #[test]
    fn s3_urls() {
        assert_eq!(StoreUrl::parse("s3://bucket").unwrap(), s3("bucket", ""));
        assert_eq!(StoreUrl::parse("s3://bucket/").unwrap(), s3("bucket", ""));
        assert_eq!(
            StoreUrl::parse("s3://my-bucket/backups/prod/").unwrap(),
            s3("my-bucket", "backups/prod")
        );
        assert_eq!(StoreUrl::parse("s3://b.dots/p").unwrap(), s3("b.dots", "p"));
        assert_eq!(StoreUrl::parse("S3://bucket/p").unwrap(), s3("bucket", "p"));
    }

    #[test]
    fn file_urls_and_plain_paths() {
        assert_eq!(
            StoreUrl::parse("file:///abs/dir").unwrap(),
            local("/abs/dir")
        );
        assert_eq!(StoreUrl::parse("file://rel/dir").unwrap(), local("rel/dir"));
        assert_eq!(StoreUrl::parse("file://./here").unwrap(), local("./here"));
        assert_eq!(StoreUrl::parse("/tmp/store").unwrap(), local("/tmp/store"));
        assert_eq!(StoreUrl::parse("store").unwrap(), local("store"));
        assert_eq!(StoreUrl::parse("./a:b").unwrap(), local("./a:b"));
        assert_eq!(
            StoreUrl::parse("C:\\backups").unwrap(),
            local("C:\\backups")
        );
    }

    #[test]
    fn bad_urls() {
        for url in [
            "",
            "  ",
            "s3://",
            "s3:///prefix",
            "s3:bucket",
            "s3:/bucket",
            "s3a://bucket",
            "gs://bucket/p",
            "http://example.com/x",
            "file://",
            "file:/abs",
            "s3://bucket//double",
            "s3://bucket/a/../b",
            "s3://bucket/./b",
            "s3://bucket/p?versionId=1",
            "s3://bucket/p#frag",
            "s3://bu cket/p",
        ] {
            assert_invalid(url);
        }
    }

    #[test]
    fn display_round_trips() {
        for url in ["s3://bucket", "s3://bucket/a/b", "/tmp/x", "rel"] {
            let parsed = StoreUrl::parse(url).unwrap();
            assert_eq!(parsed.to_string(), url);
            assert_eq!(StoreUrl::parse(&parsed.to_string()).unwrap(), parsed);
        }
    }
}
