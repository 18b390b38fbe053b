//! The name parts every key shares: table names, shard ids, stream labels, sequence numbers,
//! times and run ids, each validated and reversible.

use super::{AT_FORMAT, LABEL_ESCAPES};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use percent_encoding::{percent_decode_str, utf8_percent_encode};

/// Why a name could not be built or read back; names the offending input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {value:?}: {reason}")]
pub struct LayoutError {
    /// What kind of name part or key was being handled.
    pub what: &'static str,
    /// The offending input.
    pub value: String,
    /// What is wrong with it.
    pub reason: String,
}

pub(crate) fn err(what: &'static str, value: &str, reason: impl Into<String>) -> LayoutError {
    LayoutError {
        what,
        value: value.to_string(),
        reason: reason.into(),
    }
}

/// Checks a DynamoDB table name (3-255 of `[A-Za-z0-9_.-]`), so it is safe as a path component.
pub fn validate_table(table: &str) -> Result<(), LayoutError> {
    let ok_len = (3..=255).contains(&table.len());
    let ok_chars = table
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok_len && ok_chars {
        Ok(())
    } else {
        Err(err(
            "table name",
            table,
            "DynamoDB table names are 3-255 characters of A-Z a-z 0-9 _ . -",
        ))
    }
}

/// Checks a shard id (`shardId-...`): letters, digits and `-` only, so it cannot hold a separator.
pub fn validate_shard(shard: &str) -> Result<(), LayoutError> {
    if !shard.is_empty()
        && shard.len() <= 65
        && shard
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        Ok(())
    } else {
        Err(err(
            "shard id",
            shard,
            "expected 1-65 characters of A-Z a-z 0-9 -",
        ))
    }
}

/// Zero-pads a decimal sequence number to [`SEQUENCE_WIDTH`] digits, so text order is numeric order
/// (the same padding as the change record's `sequence_number` column).
pub fn pad_sequence(seq: &str) -> Result<String, LayoutError> {
    rewind_format::pad_sequence_number(seq).map_err(|e| err("sequence number", seq, e.reason))
}

/// Encodes a stream label for use inside a key (reversible by [`decode_label`]).
pub fn encode_label(label: &str) -> Result<String, LayoutError> {
    if label.is_empty() {
        return Err(err("stream label", label, "empty"));
    }
    Ok(utf8_percent_encode(label, LABEL_ESCAPES).to_string())
}

/// Reverses [`encode_label`].
pub fn decode_label(encoded: &str) -> Result<String, LayoutError> {
    let decoded = percent_decode_str(encoded)
        .decode_utf8()
        .map_err(|e| err("encoded stream label", encoded, e.to_string()))?;
    if encode_label(&decoded)? != encoded {
        return Err(err(
            "encoded stream label",
            encoded,
            "not in canonical percent-encoding",
        ));
    }
    Ok(decoded.into_owned())
}

/// Formats an instant as the fixed-width `YYYYMMDDTHHMMSSZ` used in `at=` names (whole seconds).
pub fn format_at(at: DateTime<Utc>) -> String {
    at.format(AT_FORMAT).to_string()
}

/// Parses a `YYYYMMDDTHHMMSSZ` name part.
pub fn parse_at(s: &str) -> Result<DateTime<Utc>, LayoutError> {
    if s.len() != 16 {
        return Err(err("time", s, "expected YYYYMMDDTHHMMSSZ"));
    }
    NaiveDateTime::parse_from_str(s, AT_FORMAT)
        .map(|t| Utc.from_utc_datetime(&t))
        .map_err(|e| err("time", s, format!("expected YYYYMMDDTHHMMSSZ: {e}")))
}

/// Checks a run id (compaction or backup run): letters, digits and `-`, 1-64 characters.
pub fn validate_run_id(run_id: &str) -> Result<(), LayoutError> {
    if !run_id.is_empty()
        && run_id.len() <= 64
        && run_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        Ok(())
    } else {
        Err(err(
            "run id",
            run_id,
            "expected 1-64 characters of A-Z a-z 0-9 -",
        ))
    }
}

/// The `stream=<encoded label>` key part shared by checkpoints and gaps.
pub(crate) fn stream_part(label: &str) -> String {
    format!("stream={}", utf8_percent_encode(label, LABEL_ESCAPES))
}

pub(crate) fn parse_stream_part(part: &str) -> Result<String, LayoutError> {
    let encoded = part
        .strip_prefix("stream=")
        .ok_or_else(|| err("key part", part, "expected stream=<label>"))?;
    decode_label(encoded)
}

pub(crate) fn parse_table_part(part: &str) -> Result<String, LayoutError> {
    let table = part
        .strip_prefix("table=")
        .ok_or_else(|| err("key part", part, "expected table=<name>"))?;
    validate_table(table)?;
    Ok(table.to_string())
}
