//! The bucket layout: the only code in rewind that knows object keys.
//!
//! Every key is built by a `*_key`/`Display` function here and read back by the matching `parse`
//! function, so a name written by one version can always be understood by the next, and planners
//! can prune by name (table, hour, stream, shard, sequence range) without opening a file.
//!
//! ```text
//! changes/table=<t>/dt=YYYY-MM-DD/hour=HH/<label>_<shard>_<firstSeq>_<lastSeq>.parquet
//! changes/table=<t>/dt=YYYY-MM-DD/hour=HH/compacted_<run>.parquet
//! snapshots/table=<t>/at=YYYYMMDDTHHMMSSZ/run=<run>/bucket=NNNN.parquet
//! snapshots/table=<t>/at=YYYYMMDDTHHMMSSZ/manifest.json
//! checkpoints/table=<t>/stream=<label>/<shard>.json
//! tables/table=<t>/owner.json
//! tables/table=<t>/whole-life/{confirmed,refuted}.json
//! tables/table=<t>/description/at=YYYYMMDDTHHMMSSZ.json
//! quarantine/table=<t>/dt=YYYY-MM-DD/<sha256 of the raw record, 32 hex>.json
//! gaps/table=<t>/stream=<label>/<shard>_YYYYMMDDTHHMMSSZ.json
//! ```
//!
//! Times are fixed-width UTC so that key order is time order. A stream label (an ISO timestamp such
//! as `2026-11-26T06:00:00.000`) is percent-encoded where it appears in a key (`:` becomes `%3A`),
//! which keeps it reversible and free of the `_` and `/` separators. Sequence numbers are
//! zero-padded to 40 digits, so key order within a shard is stream order.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::fmt;

/// Width of a zero-padded sequence number (the change record's own width).
pub use rewind_format::SEQUENCE_WIDTH;

/// Characters of a stream label kept as they are in keys; everything else is percent-encoded.
const LABEL_ESCAPES: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.');

const CHANGES: &str = "changes";
const SNAPSHOTS: &str = "snapshots";
const CHECKPOINTS: &str = "checkpoints";
const TABLES: &str = "tables";
const QUARANTINE: &str = "quarantine";
const GAPS: &str = "gaps";
const RESTORES: &str = "restores";
const COMPACTION: &str = "compaction";
const AT_FORMAT: &str = "%Y%m%dT%H%M%SZ";

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

fn err(what: &'static str, value: &str, reason: impl Into<String>) -> LayoutError {
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

/// The hour partition (`dt`, `hour`) an instant falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HourPartition {
    /// The UTC date.
    pub date: NaiveDate,
    /// The UTC hour, 0-23.
    pub hour: u32,
}

impl HourPartition {
    /// The hour partition holding `at`.
    pub fn of(at: DateTime<Utc>) -> Self {
        HourPartition {
            date: at.date_naive(),
            hour: at.hour(),
        }
    }

    /// The first instant of the hour.
    pub fn start(&self) -> DateTime<Utc> {
        Utc.from_utc_datetime(&self.date.and_hms_opt(self.hour, 0, 0).expect("hour < 24"))
    }

    fn path(&self) -> String {
        format!("dt={}/hour={:02}", self.date.format("%Y-%m-%d"), self.hour)
    }

    fn parse(dt: &str, hour: &str) -> Result<Self, LayoutError> {
        let date_s = dt
            .strip_prefix("dt=")
            .ok_or_else(|| err("partition", dt, "expected dt=YYYY-MM-DD"))?;
        let hour_s = hour
            .strip_prefix("hour=")
            .ok_or_else(|| err("partition", hour, "expected hour=HH"))?;
        let date = NaiveDate::parse_from_str(date_s, "%Y-%m-%d")
            .ok()
            .filter(|_| date_s.len() == 10)
            .ok_or_else(|| err("partition", dt, "expected dt=YYYY-MM-DD"))?;
        let hour = hour_s
            .parse::<u32>()
            .ok()
            .filter(|h| *h < 24 && hour_s.len() == 2)
            .ok_or_else(|| err("partition", hour, "expected hour=00..23"))?;
        Ok(HourPartition { date, hour })
    }
}

/// Prefix of every change file of a table.
pub fn changes_prefix(table: &str) -> String {
    format!("{CHANGES}/table={table}/")
}

/// Prefix of the change files of one hour.
pub fn changes_hour_prefix(table: &str, hour: HourPartition) -> String {
    format!("{CHANGES}/table={table}/{}/", hour.path())
}

/// What a change file holds, as its name says.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ChangeFileKind {
    /// One capture batch of one shard: records `first..=last` of that shard, in that hour.
    Batch {
        /// The stream label (decoded).
        stream_label: String,
        /// The shard the records came from.
        shard_id: String,
        /// First sequence number, padded to 40 digits.
        first_sequence: String,
        /// Last sequence number, padded to 40 digits.
        last_sequence: String,
    },
    /// The output of small-file compaction of an hour, named by the compaction run.
    Compacted {
        /// The compaction run id.
        run_id: String,
    },
}

/// A change-log object: `changes/table=<t>/dt=../hour=../<name>.parquet`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChangeFile {
    /// Source table name.
    pub table: String,
    /// The hour the records' creation times fall in.
    pub hour: HourPartition,
    /// Batch or compacted.
    pub kind: ChangeFileKind,
}

impl ChangeFile {
    /// A batch file name, validating every part; sequence numbers are padded here.
    pub fn batch(
        table: &str,
        hour: HourPartition,
        stream_label: &str,
        shard_id: &str,
        first_sequence: &str,
        last_sequence: &str,
    ) -> Result<Self, LayoutError> {
        validate_table(table)?;
        validate_shard(shard_id)?;
        encode_label(stream_label)?;
        Ok(ChangeFile {
            table: table.to_string(),
            hour,
            kind: ChangeFileKind::Batch {
                stream_label: stream_label.to_string(),
                shard_id: shard_id.to_string(),
                first_sequence: pad_sequence(first_sequence)?,
                last_sequence: pad_sequence(last_sequence)?,
            },
        })
    }

    /// A compacted file of one hour.
    pub fn compacted(table: &str, hour: HourPartition, run_id: &str) -> Result<Self, LayoutError> {
        validate_table(table)?;
        validate_run_id(run_id)?;
        Ok(ChangeFile {
            table: table.to_string(),
            hour,
            kind: ChangeFileKind::Compacted {
                run_id: run_id.to_string(),
            },
        })
    }

    /// The object key.
    pub fn key(&self) -> String {
        let name = match &self.kind {
            ChangeFileKind::Batch {
                stream_label,
                shard_id,
                first_sequence,
                last_sequence,
            } => format!(
                "{}_{shard_id}_{first_sequence}_{last_sequence}.parquet",
                utf8_percent_encode(stream_label, LABEL_ESCAPES)
            ),
            ChangeFileKind::Compacted { run_id } => format!("compacted_{run_id}.parquet"),
        };
        format!("{}{name}", changes_hour_prefix(&self.table, self.hour))
    }

    /// Reads a change-file key back; refuses anything that is not exactly what [`Self::key`] makes.
    pub fn parse(key: &str) -> Result<Self, LayoutError> {
        let bad = |reason: &str| err("change file key", key, reason);
        let parts: Vec<&str> = key.split('/').collect();
        let [root, table_part, dt, hour, name] = parts[..] else {
            return Err(bad(
                "expected changes/table=<t>/dt=<d>/hour=<h>/<name>.parquet",
            ));
        };
        if root != CHANGES {
            return Err(bad("not under changes/"));
        }
        let table = parse_table_part(table_part)?;
        let hour = HourPartition::parse(dt, hour)?;
        let stem = name
            .strip_suffix(".parquet")
            .ok_or_else(|| bad("expected a .parquet name"))?;
        // A batch name has exactly three `_` (labels encode theirs), a compacted name exactly one.
        let file = match stem.split('_').collect::<Vec<_>>()[..] {
            ["compacted", run_id] => ChangeFile::compacted(&table, hour, run_id)?,
            [label, shard, first, last] => {
                if first.len() != SEQUENCE_WIDTH || last.len() != SEQUENCE_WIDTH {
                    return Err(bad("sequence numbers must be 40 digits"));
                }
                ChangeFile::batch(&table, hour, &decode_label(label)?, shard, first, last)?
            }
            _ => return Err(bad(
                "expected <label>_<shard>_<firstSeq>_<lastSeq>.parquet or compacted_<run>.parquet",
            )),
        };
        if file.key() != key {
            return Err(bad("not in canonical form"));
        }
        Ok(file)
    }
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
fn stream_part(label: &str) -> String {
    format!("stream={}", utf8_percent_encode(label, LABEL_ESCAPES))
}

fn parse_stream_part(part: &str) -> Result<String, LayoutError> {
    let encoded = part
        .strip_prefix("stream=")
        .ok_or_else(|| err("key part", part, "expected stream=<label>"))?;
    decode_label(encoded)
}

fn parse_table_part(part: &str) -> Result<String, LayoutError> {
    let table = part
        .strip_prefix("table=")
        .ok_or_else(|| err("key part", part, "expected table=<name>"))?;
    validate_table(table)?;
    Ok(table.to_string())
}

/// Prefix of every snapshot of a table.
pub fn snapshots_prefix(table: &str) -> String {
    format!("{SNAPSHOTS}/table={table}/")
}

/// The directory of one snapshot.
pub fn snapshot_prefix(table: &str, at: DateTime<Utc>) -> String {
    format!("{SNAPSHOTS}/table={table}/at={}/", format_at(at))
}

/// The manifest that makes a snapshot exist (written last, put-if-absent).
pub fn snapshot_manifest(table: &str, at: DateTime<Utc>) -> String {
    format!("{}manifest.json", snapshot_prefix(table, at))
}

/// One key-hash bucket of a snapshot, written by one run.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SnapshotFile {
    /// Source table name.
    pub table: String,
    /// The snapshot time (whole seconds).
    pub at: DateTime<Utc>,
    /// The run that wrote it, so racing runs never overwrite each other.
    pub run_id: String,
    /// Key-hash bucket number.
    pub bucket: u32,
}

impl SnapshotFile {
    /// The object key.
    pub fn key(&self) -> String {
        format!(
            "{}run={}/bucket={:04}.parquet",
            snapshot_prefix(&self.table, self.at),
            self.run_id,
            self.bucket
        )
    }

    /// Reads a snapshot-file key back.
    pub fn parse(key: &str) -> Result<Self, LayoutError> {
        let bad = |reason: &str| err("snapshot file key", key, reason);
        let parts: Vec<&str> = key.split('/').collect();
        let [root, table_part, at, run, name] = parts[..] else {
            return Err(bad(
                "expected snapshots/table=<t>/at=<time>/run=<id>/bucket=<n>.parquet",
            ));
        };
        if root != SNAPSHOTS {
            return Err(bad("not under snapshots/"));
        }
        let table = parse_table_part(table_part)?;
        let at = parse_at(
            at.strip_prefix("at=")
                .ok_or_else(|| bad("expected at=<time>"))?,
        )?;
        let run_id = run
            .strip_prefix("run=")
            .ok_or_else(|| bad("expected run=<id>"))?;
        validate_run_id(run_id)?;
        let bucket = name
            .strip_prefix("bucket=")
            .and_then(|s| s.strip_suffix(".parquet"))
            .and_then(|s| s.parse::<u32>().ok())
            .ok_or_else(|| bad("expected bucket=NNNN.parquet"))?;
        let file = SnapshotFile {
            table,
            at,
            run_id: run_id.to_string(),
            bucket,
        };
        if file.key() != key {
            return Err(bad("not in canonical form"));
        }
        Ok(file)
    }
}

/// Prefix of a table's snapshot invalidations (late records that existing snapshots lack).
pub fn snapshot_invalidations_prefix(table: &str) -> String {
    format!("{SNAPSHOTS}/table={table}/invalidations/")
}

/// One invalidation, named by the late records' oldest stamp and a unique suffix.
pub fn snapshot_invalidation_key(table: &str, from: DateTime<Utc>, unique: &str) -> String {
    format!(
        "{}{}_{unique}.json",
        snapshot_invalidations_prefix(table),
        format_at(from)
    )
}

/// The time of a snapshot from its manifest key, or `None` if the key is not a manifest.
pub fn parse_snapshot_manifest(key: &str) -> Option<(String, DateTime<Utc>)> {
    let parts: Vec<&str> = key.split('/').collect();
    let [SNAPSHOTS, table_part, at, "manifest.json"] = parts[..] else {
        return None;
    };
    let table = parse_table_part(table_part).ok()?;
    let at = parse_at(at.strip_prefix("at=")?).ok()?;
    Some((table, at))
}

/// Prefix of every checkpoint of every table: listing it finds the tables a store backs up.
pub fn all_checkpoints_prefix() -> String {
    format!("{CHECKPOINTS}/")
}

/// Prefix of every checkpoint of a table.
pub fn checkpoints_prefix(table: &str) -> String {
    format!("{CHECKPOINTS}/table={table}/")
}

/// The checkpoint of one shard of one stream.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CheckpointKey {
    /// Source table name.
    pub table: String,
    /// The stream label (decoded).
    pub stream_label: String,
    /// The shard.
    pub shard_id: String,
}

impl CheckpointKey {
    /// Builds and validates.
    pub fn new(table: &str, stream_label: &str, shard_id: &str) -> Result<Self, LayoutError> {
        validate_table(table)?;
        encode_label(stream_label)?;
        validate_shard(shard_id)?;
        Ok(CheckpointKey {
            table: table.into(),
            stream_label: stream_label.into(),
            shard_id: shard_id.into(),
        })
    }

    /// The object key.
    pub fn key(&self) -> String {
        format!(
            "{}{}/{}.json",
            checkpoints_prefix(&self.table),
            stream_part(&self.stream_label),
            self.shard_id
        )
    }

    /// Reads a checkpoint key back.
    pub fn parse(key: &str) -> Result<Self, LayoutError> {
        let bad = |reason: &str| err("checkpoint key", key, reason);
        let parts: Vec<&str> = key.split('/').collect();
        let [CHECKPOINTS, table_part, stream, name] = parts[..] else {
            return Err(bad(
                "expected checkpoints/table=<t>/stream=<label>/<shard>.json",
            ));
        };
        let table = parse_table_part(table_part)?;
        let label = parse_stream_part(stream)?;
        let shard = name
            .strip_suffix(".json")
            .ok_or_else(|| bad("expected <shard>.json"))?;
        let parsed = CheckpointKey::new(&table, &label, shard)?;
        if parsed.key() != key {
            return Err(bad("not in canonical form"));
        }
        Ok(parsed)
    }
}

/// Prefix of every recorded gap of a table.
pub fn gaps_prefix(table: &str) -> String {
    format!("{GAPS}/table={table}/")
}

/// A recorded gap in a shard's capture: records the stream no longer held when capture asked for
/// them (trimmed after 24 h, or a skipped range never redriven). Restores across it are refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GapKey {
    /// Source table name.
    pub table: String,
    /// The stream label (decoded).
    pub stream_label: String,
    /// The shard.
    pub shard_id: String,
    /// When capture noticed it (whole seconds): names sort in detection order.
    pub detected_at: DateTime<Utc>,
}

impl GapKey {
    /// Builds and validates.
    pub fn new(
        table: &str,
        stream_label: &str,
        shard_id: &str,
        detected_at: DateTime<Utc>,
    ) -> Result<Self, LayoutError> {
        validate_table(table)?;
        encode_label(stream_label)?;
        validate_shard(shard_id)?;
        let detected_at = parse_at(&format_at(detected_at))?;
        Ok(GapKey {
            table: table.into(),
            stream_label: stream_label.into(),
            shard_id: shard_id.into(),
            detected_at,
        })
    }

    /// The object key.
    pub fn key(&self) -> String {
        format!(
            "{}{}/{}_{}.json",
            gaps_prefix(&self.table),
            stream_part(&self.stream_label),
            self.shard_id,
            format_at(self.detected_at)
        )
    }

    /// Reads a gap key back.
    pub fn parse(key: &str) -> Result<Self, LayoutError> {
        let bad = |reason: &str| err("gap key", key, reason);
        let parts: Vec<&str> = key.split('/').collect();
        let [GAPS, table_part, stream, name] = parts[..] else {
            return Err(bad(
                "expected gaps/table=<t>/stream=<label>/<shard>_<time>.json",
            ));
        };
        let table = parse_table_part(table_part)?;
        let label = parse_stream_part(stream)?;
        let (shard, at) = name
            .strip_suffix(".json")
            .and_then(|n| n.split_once('_'))
            .ok_or_else(|| bad("expected <shard>_<time>.json"))?;
        let parsed = GapKey::new(&table, &label, shard, parse_at(at)?)?;
        if parsed.key() != key {
            return Err(bad("not in canonical form"));
        }
        Ok(parsed)
    }
}

/// The object that binds a table name in this prefix to one source table ARN.
pub fn table_owner(table: &str) -> String {
    format!("{TABLES}/table={table}/owner.json")
}

/// Prefix of every table's own objects (owner claims, descriptions, markers).
pub fn all_tables_prefix() -> String {
    format!("{TABLES}/")
}

/// The table an owner-claim key belongs to, `None` for any other key.
pub fn parse_table_owner(key: &str) -> Option<String> {
    let rest = key.strip_prefix(TABLES)?.strip_prefix("/table=")?;
    let table = rest.strip_suffix("/owner.json")?;
    (!table.contains('/') && validate_table(table).is_ok()).then(|| table.to_string())
}

/// What retention has deleted of a table's change log: restores must not assume the log covers
/// what is gone.
pub fn retention_marker(table: &str) -> String {
    format!("{TABLES}/table={table}/retention.json")
}

/// The proof that the change log covers the table's whole life: a full backup's Scan that the
/// log explains (written once, put-if-absent).
pub fn whole_life_confirmed(table: &str) -> String {
    format!("{TABLES}/table={table}/whole-life/confirmed.json")
}

/// The proof that it does not (an item the log never inserted); it outranks a confirmation and
/// is never withdrawn (written once, put-if-absent).
pub fn whole_life_refuted(table: &str) -> String {
    format!("{TABLES}/table={table}/whole-life/refuted.json")
}

/// Prefix of the table's description versions.
pub fn descriptions_prefix(table: &str) -> String {
    format!("{TABLES}/table={table}/description/")
}

/// One version of the table description, in force from `at`.
pub fn description_key(table: &str, at: DateTime<Utc>) -> String {
    format!("{}at={}.json", descriptions_prefix(table), format_at(at))
}

/// Reads a description key back to its table and time.
pub fn parse_description_key(key: &str) -> Result<(String, DateTime<Utc>), LayoutError> {
    let bad = |reason: &str| err("description key", key, reason);
    let parts: Vec<&str> = key.split('/').collect();
    let [TABLES, table_part, "description", name] = parts[..] else {
        return Err(bad("expected tables/table=<t>/description/at=<time>.json"));
    };
    let table = parse_table_part(table_part)?;
    let at = name
        .strip_prefix("at=")
        .and_then(|s| s.strip_suffix(".json"))
        .ok_or_else(|| bad("expected at=<time>.json"))?;
    Ok((table, parse_at(at)?))
}

/// Prefix of every quarantined record of a table.
pub fn quarantine_prefix(table: &str) -> String {
    format!("{QUARANTINE}/table={table}/")
}

/// Where a stream record that could not be converted is kept raw. Named by the SHA-256 of the raw
/// bytes, so a retried batch quarantines the same record under the same key.
pub fn quarantine_key(table: &str, ingested_at: DateTime<Utc>, raw_sha256_hex: &str) -> String {
    let name: String = raw_sha256_hex.chars().take(32).collect();
    format!(
        "{}dt={}/{name}.json",
        quarantine_prefix(table),
        ingested_at.format("%Y-%m-%d")
    )
}

/// Prefix of the small-file compaction's pending deletions of a table: each marker lists the
/// change files one compacted file replaced, deleted once a grace period has passed.
pub fn compaction_pending_prefix(table: &str) -> String {
    format!("{COMPACTION}/table={table}/pending/")
}

/// The pending-deletion marker of one compaction run.
pub fn compaction_pending_key(table: &str, run_id: &str) -> String {
    format!("{}{run_id}.json", compaction_pending_prefix(table))
}

/// The plan of one fanned-out compaction run (its steps read it by run id).
pub fn compaction_run_key(table: &str, run_id: &str) -> String {
    format!("{COMPACTION}/table={table}/runs/{run_id}.json")
}

/// Prefix of one restore's progress journal: the source table and a digest of the target's
/// canonical URL (`target_digest`: lowercase hex), so a re-run of the same restore finds it.
pub fn restore_prefix(table: &str, target_digest: &str) -> String {
    format!("{RESTORES}/table={table}/target={target_digest}/")
}

/// The journal of a restore: the request, the resolved point and the pinned plan.
pub fn restore_journal(table: &str, target_digest: &str) -> String {
    format!("{}journal.json", restore_prefix(table, target_digest))
}

/// Prefix of the markers of finished buckets of a restore.
pub fn restore_done_prefix(table: &str, target_digest: &str) -> String {
    format!("{}done/", restore_prefix(table, target_digest))
}

/// The marker of one finished bucket, written once the bucket is durable at the target.
pub fn restore_done_key(table: &str, target_digest: &str, bucket: u32) -> String {
    format!(
        "{}bucket={bucket:04}.json",
        restore_done_prefix(table, target_digest)
    )
}

/// The bucket of a finished-bucket marker key, `None` if the key is not one.
pub fn parse_restore_done_key(key: &str) -> Option<u32> {
    let name = key.rsplit('/').next()?;
    name.strip_prefix("bucket=")?
        .strip_suffix(".json")
        .filter(|n| n.len() == 4)?
        .parse()
        .ok()
}

impl fmt::Display for ChangeFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn restore_markers_round_trip() {
        let key = restore_done_key("shop", "ab12", 7);
        assert_eq!(key, "restores/table=shop/target=ab12/done/bucket=0007.json");
        assert!(key.starts_with(&restore_done_prefix("shop", "ab12")));
        assert_eq!(parse_restore_done_key(&key), Some(7));
        assert_eq!(
            parse_restore_done_key(&restore_journal("shop", "ab12")),
            None
        );
    }

    #[test]
    fn owner_claims_name_their_table() {
        assert_eq!(
            parse_table_owner(&table_owner("shop")).as_deref(),
            Some("shop")
        );
        assert!(table_owner("shop").starts_with(&all_tables_prefix()));
        for other in [
            retention_marker("shop"),
            whole_life_confirmed("shop"),
            description_key("shop", t("2026-11-26T06:00:00Z")),
            "tables/table=a/b/owner.json".to_string(),
        ] {
            assert_eq!(parse_table_owner(&other), None, "{other}");
        }
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn batch_key_round_trips_and_reads_well() {
        let hour = HourPartition::of(t("2026-11-26T06:59:59Z"));
        let f = ChangeFile::batch(
            "shop",
            hour,
            "2026-11-26T06:00:00.000",
            "shardId-00000001414562939581-a3b4c5d6",
            "1200",
            "100000000000000000001",
        )
        .unwrap();
        let key = f.key();
        assert_eq!(
            key,
            "changes/table=shop/dt=2026-11-26/hour=06/2026-11-26T06%3A00%3A00.000_\
             shardId-00000001414562939581-a3b4c5d6_\
             0000000000000000000000000000000000001200_\
             0000000000000000000100000000000000000001.parquet"
        );
        assert_eq!(ChangeFile::parse(&key).unwrap(), f);
    }

    #[test]
    fn compacted_key_round_trips() {
        let f = ChangeFile::compacted(
            "my.table_1",
            HourPartition::of(t("2026-01-02T23:00:00Z")),
            "r-42",
        )
        .unwrap();
        assert_eq!(
            f.key(),
            "changes/table=my.table_1/dt=2026-01-02/hour=23/compacted_r-42.parquet"
        );
        assert_eq!(ChangeFile::parse(&f.key()).unwrap(), f);
    }

    #[test]
    fn bad_change_keys_are_refused_with_the_key_named() {
        for key in [
            "changes/table=shop/dt=2026-11-26/hour=24/x_s_1_2.parquet",
            "changes/table=shop/dt=2026-11-26/hour=6/a_s_0000000000000000000000000000000000000001_0000000000000000000000000000000000000002.parquet",
            "changes/table=sh/dt=2026-11-26/hour=06/compacted_r.parquet",
            "changes/table=shop/dt=2026-11-26/hour=06/compacted_r.json",
            "changes/table=shop/dt=2026-11-26/hour=06/a_b_c.parquet",
            "snapshots/table=shop/dt=2026-11-26/hour=06/compacted_r.parquet",
            "changes/table=shop/dt=2026-11-26/hour=06/2026%3a00_s_0000000000000000000000000000000000000001_0000000000000000000000000000000000000002.parquet",
        ] {
            let e = ChangeFile::parse(key).unwrap_err();
            assert!(!e.value.is_empty(), "{key}: {e}");
        }
    }

    #[test]
    fn pad_sequence_orders_numerically() {
        let a = pad_sequence("999").unwrap();
        let b = pad_sequence("1000").unwrap();
        assert!(a < b);
        assert_eq!(pad_sequence("0001").unwrap(), pad_sequence("1").unwrap());
        assert!(pad_sequence("12a").is_err());
        assert!(pad_sequence("").is_err());
        assert!(pad_sequence(&"9".repeat(41)).is_err());
        assert_eq!(pad_sequence(&"9".repeat(40)).unwrap(), "9".repeat(40));
    }

    #[test]
    fn snapshot_and_manifest_keys() {
        let at = t("2026-11-26T05:40:12Z");
        let f = SnapshotFile {
            table: "shop".into(),
            at,
            run_id: "run-7".into(),
            bucket: 17,
        };
        assert_eq!(
            f.key(),
            "snapshots/table=shop/at=20261126T054012Z/run=run-7/bucket=0017.parquet"
        );
        assert_eq!(SnapshotFile::parse(&f.key()).unwrap(), f);
        let m = snapshot_manifest("shop", at);
        assert_eq!(m, "snapshots/table=shop/at=20261126T054012Z/manifest.json");
        assert_eq!(parse_snapshot_manifest(&m), Some(("shop".into(), at)));
        assert_eq!(parse_snapshot_manifest(&f.key()), None);
    }

    #[test]
    fn checkpoint_description_quarantine_keys() {
        let c = CheckpointKey::new("shop", "2026-11-26T06:00:00.000", "shardId-1").unwrap();
        assert_eq!(
            c.key(),
            "checkpoints/table=shop/stream=2026-11-26T06%3A00%3A00.000/shardId-1.json"
        );
        assert_eq!(CheckpointKey::parse(&c.key()).unwrap(), c);
        let at = t("2026-11-26T05:40:12+02:00");
        let d = description_key("shop", at);
        assert_eq!(d, "tables/table=shop/description/at=20261126T034012Z.json");
        assert_eq!(parse_description_key(&d).unwrap(), ("shop".into(), at));
        assert_eq!(table_owner("shop"), "tables/table=shop/owner.json");
        let g = GapKey::new("shop", "2026-11-26T06:00:00.000", "shardId-1", at).unwrap();
        assert_eq!(
            g.key(),
            "gaps/table=shop/stream=2026-11-26T06%3A00%3A00.000/shardId-1_20261126T034012Z.json"
        );
        assert_eq!(GapKey::parse(&g.key()).unwrap(), g);
        let q = quarantine_key("shop", at, &"ab".repeat(32));
        assert_eq!(
            q,
            format!(
                "quarantine/table=shop/dt=2026-11-26/{}.json",
                "ab".repeat(16)
            )
        );
    }

    #[test]
    fn names_sort_in_time_order() {
        let a = description_key("shop", t("2026-11-26T09:00:00Z"));
        let b = description_key("shop", t("2026-11-26T10:00:00Z"));
        let c = description_key("shop", t("2027-01-01T00:00:00Z"));
        assert!(a < b && b < c);
        let h9 = changes_hour_prefix("shop", HourPartition::of(t("2026-11-26T09:00:00Z")));
        let h10 = changes_hour_prefix("shop", HourPartition::of(t("2026-11-26T10:00:00Z")));
        assert!(h9 < h10);
    }

    proptest! {
        #[test]
        fn any_batch_name_round_trips(
            table in "[A-Za-z0-9_.-]{3,40}",
            secs in 0i64..4_102_444_800,
            label in "[ -~]{1,40}",
            shard in "[A-Za-z0-9-]{1,65}",
            first in "[0-9]{1,40}",
            last in "[0-9]{1,40}",
        ) {
            let hour = HourPartition::of(DateTime::from_timestamp(secs, 0).unwrap());
            let f = ChangeFile::batch(&table, hour, &label, &shard, &first, &last).unwrap();
            let key = f.key();
            prop_assert_eq!(ChangeFile::parse(&key).unwrap(), f);
            prop_assert_eq!(key.matches('/').count(), 4);
        }

        #[test]
        fn any_label_round_trips(label in "\\PC{1,30}") {
            let enc = encode_label(&label).unwrap();
            prop_assert!(!enc.contains('/') && !enc.contains('_'));
            prop_assert_eq!(decode_label(&enc).unwrap(), label);
        }

        #[test]
        fn any_at_round_trips(secs in 0i64..253_402_300_799) {
            let at = DateTime::from_timestamp(secs, 0).unwrap();
            prop_assert_eq!(parse_at(&format_at(at)).unwrap(), at);
        }
    }
}
