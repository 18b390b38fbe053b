//! Restore points: a whole second (UTC) or `latest`.

use chrono::{DateTime, SecondsFormat, Utc};
use std::fmt;
use std::str::FromStr;

/// What the user asked for: a second, or `latest` (the watermark, resolved once per restore).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AtSpec {
    /// The newest restorable second (the watermark) at the moment the restore starts.
    Latest,
    /// A whole second, in seconds since the epoch (UTC).
    Second(i64),
}

impl AtSpec {
    /// The second asked for, `None` for `latest` (which only the catalog can resolve).
    pub fn second(self) -> Option<i64> {
        match self {
            AtSpec::Second(s) => Some(s),
            AtSpec::Latest => None,
        }
    }
}

/// Why a time could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("restore point {input:?}: {reason} (expected RFC 3339 such as 2026-11-26T05:40:12Z, or `latest`)")]
pub struct AtError {
    input: String,
    reason: String,
}

impl FromStr for AtSpec {
    type Err = AtError;

    /// Reads RFC 3339 (any offset) or `latest`. A fraction of a second is refused: a restore point
    /// is a whole second, and silently rounding a time the user typed would restore a point they
    /// did not ask for.
    fn from_str(s: &str) -> Result<Self, AtError> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("latest") {
            return Ok(AtSpec::Latest);
        }
        let at = DateTime::parse_from_rfc3339(s).map_err(|e| AtError {
            input: s.to_string(),
            reason: e.to_string(),
        })?;
        if at.timestamp_subsec_nanos() != 0 {
            return Err(AtError {
                input: s.to_string(),
                reason: "restore points are whole seconds; drop the fraction".into(),
            });
        }
        Ok(AtSpec::Second(at.timestamp()))
    }
}

impl fmt::Display for AtSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AtSpec::Latest => f.write_str("latest"),
            AtSpec::Second(s) => f.write_str(&format_second(*s)),
        }
    }
}

/// A second as RFC 3339 UTC (`2026-11-26T05:40:12Z`).
pub fn format_second(second: i64) -> String {
    DateTime::<Utc>::from_timestamp(second, 0)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_else(|| format!("{second}s"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_latest_and_offsets() {
        assert_eq!("latest".parse::<AtSpec>().unwrap(), AtSpec::Latest);
        let utc: AtSpec = "2026-11-26T05:40:12Z".parse().unwrap();
        let offset: AtSpec = "2026-11-26T06:40:12+01:00".parse().unwrap();
        assert_eq!(utc, offset);
        assert_eq!(utc.to_string(), "2026-11-26T05:40:12Z");
    }

    #[test]
    fn refuses_fractions_and_garbage() {
        let e = "2026-11-26T05:40:12.5Z".parse::<AtSpec>().unwrap_err();
        assert!(e.to_string().contains("whole seconds"), "{e}");
        assert!("yesterday".parse::<AtSpec>().is_err());
    }
}
