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
//! tables/table=<t>/deleted/stream=<label>.json
//! quarantine/table=<t>/dt=YYYY-MM-DD/<sha256 of the raw record, 32 hex>.json
//! gaps/table=<t>/stream=<label>/<shard>_YYYYMMDDTHHMMSSZ.json
//! ```
//!
//! Times are fixed-width UTC so that key order is time order. A stream label (an ISO timestamp such
//! as `2026-11-26T06:00:00.000`) is percent-encoded where it appears in a key (`:` becomes `%3A`),
//! which keeps it reversible and free of the `_` and `/` separators. Sequence numbers are
//! zero-padded to 40 digits, so key order within a shard is stream order.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};

/// Width of a zero-padded sequence number (the change record's own width).
pub use rewind_format::SEQUENCE_WIDTH;

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

mod changes;
mod checkpoints;
mod gaps;
mod jobs;
mod names;
mod quarantine;
mod snapshots;
mod table;
#[cfg(test)]
mod tests;

pub use changes::*;
pub use checkpoints::*;
pub use gaps::*;
pub use jobs::*;
pub use names::*;
pub use quarantine::*;
pub use snapshots::*;
pub use table::*;
