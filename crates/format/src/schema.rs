//! The Arrow schema of a change file (docs/FORMAT.md, version [`FORMAT_VERSION`]).
//!
//! Deliberately absent, because something else already carries them or they cost more than they
//! give: the stream's `eventID` (random hex, ~15 % of a file; (table, shard, sequence number)
//! already identifies a record), `eventVersion`/`eventSource`/`awsRegion` (constant per stream; the
//! table ARN is in the table description), `SizeBytes` (derivable) and `StreamViewType` (a property
//! of the stream, in the table description).

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use std::sync::{Arc, OnceLock};

/// The change-log format version written into every file's key-value metadata.
pub const FORMAT_VERSION: u32 = 1;

/// Column names, in file order.
pub mod columns {
    /// Source table name.
    pub const TABLE_NAME: &str = "table_name";
    /// INSERT / MODIFY / REMOVE.
    pub const EVENT_NAME: &str = "event_name";
    /// The stream's label.
    pub const STREAM_LABEL: &str = "stream_label";
    /// Sequence number, 40 digits.
    pub const SEQUENCE_NUMBER: &str = "sequence_number";
    /// The change's time.
    pub const APPROXIMATE_CREATION_TIME: &str = "approximate_creation_time";
    /// Canonical binary key.
    pub const KEY: &str = "key";
    /// Key attributes as DynamoDB JSON.
    pub const KEYS: &str = "keys";
    /// Item after the change.
    pub const NEW_IMAGE: &str = "new_image";
    /// Item before the change (REMOVE; MODIFY when kept).
    pub const OLD_IMAGE: &str = "old_image";
    /// CRC32C of the old image.
    pub const OLD_IMAGE_HASH: &str = "old_image_hash";
    /// Who made the change (TTL).
    pub const USER_IDENTITY: &str = "user_identity";
    /// Source shard.
    pub const SHARD_ID: &str = "shard_id";
    /// When capture wrote it.
    pub const INGESTED_AT: &str = "ingested_at";
}

/// Key-value metadata keys.
pub mod metadata {
    /// Format version (decimal).
    pub const FORMAT_VERSION: &str = "rewind.format_version";
    /// Source table name.
    pub const TABLE: &str = "rewind.table";
    /// Smallest sequence number in the file (40 digits).
    pub const FIRST_SEQUENCE_NUMBER: &str = "rewind.first_sequence_number";
    /// Largest sequence number in the file (40 digits).
    pub const LAST_SEQUENCE_NUMBER: &str = "rewind.last_sequence_number";
    /// Earliest change time, RFC 3339 with milliseconds.
    pub const MIN_CREATION_TIME: &str = "rewind.min_creation_time";
    /// Latest change time, RFC 3339 with milliseconds.
    pub const MAX_CREATION_TIME: &str = "rewind.max_creation_time";
    /// Number of rows.
    pub const ROW_COUNT: &str = "rewind.row_count";
    /// `<length>:<crc32c hex>` of the file's first `length` bytes (all column data).
    pub const DATA_CRC32C: &str = "rewind.data_crc32c";
}

fn dict() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

fn timestamp() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
}

/// The schema every change file has.
pub fn change_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            use columns::*;
            Arc::new(Schema::new(vec![
                Field::new(TABLE_NAME, dict(), false),
                Field::new(EVENT_NAME, dict(), false),
                Field::new(STREAM_LABEL, dict(), false),
                Field::new(SEQUENCE_NUMBER, DataType::Utf8, false),
                Field::new(APPROXIMATE_CREATION_TIME, timestamp(), false),
                Field::new(KEY, DataType::Binary, false),
                Field::new(KEYS, DataType::Utf8, false),
                Field::new(NEW_IMAGE, DataType::Utf8, true),
                Field::new(OLD_IMAGE, DataType::Utf8, true),
                Field::new(OLD_IMAGE_HASH, DataType::UInt32, true),
                Field::new(USER_IDENTITY, DataType::Utf8, true),
                Field::new(SHARD_ID, dict(), false),
                Field::new(INGESTED_AT, timestamp(), false),
            ]))
        })
        .clone()
}
