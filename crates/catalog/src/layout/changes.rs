//! Change-file keys: one hour partition per directory, a batch file per capture batch and a
//! compacted file per small-file compaction run.

use super::names::{err, validate_shard, validate_table, LayoutError};
use super::*;
use chrono::{DateTime, NaiveDate, TimeZone, Timelike, Utc};
use percent_encoding::utf8_percent_encode;
use std::fmt;

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

impl fmt::Display for ChangeFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}
