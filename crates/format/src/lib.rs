//! The rewind change record and its on-disk form.
//!
//! Data path, top to bottom: a DynamoDB stream record (the text of a Lambda event's record,
//! [`from_lambda_record_json`], the same parsed as a `serde_json::Value`, [`from_lambda_record`],
//! or a Streams API `Record`, [`from_streams_record`]) becomes a [`ChangeRecord`] whose images are
//! canonical DynamoDB JSON ([`item_to_json`]) and whose key is a canonical byte string
//! ([`encode_key`]); records are written as one sorted, ZSTD-compressed Parquet file
//! ([`write_change_file`]) and read back batch by batch ([`ChangeFileReader`]).
//! docs/FORMAT.md specifies the format; [`FORMAT_VERSION`] is written into every file.

mod bucket;
#[cfg(feature = "stream-records")]
mod canonical_stream;
mod canonical_value;
mod dynamodb_json;
mod error;
#[cfg(feature = "stream-records")]
mod from_lambda;
#[cfg(feature = "stream-records")]
mod from_lambda_json;
#[cfg(feature = "stream-records")]
mod from_streams;
mod key;
pub mod number;
#[cfg(feature = "stream-records")]
mod raw_change;
mod reader;
mod record;
mod schema;
mod stream_arn;
mod summary;
mod versions;
mod writer;

pub use bucket::bucket_of;
pub use canonical_value::item_value_to_json;
pub use dynamodb_json::{item_from_json, item_to_json, validate_item, ValueError};
pub use error::{ConvertError, FormatError};
#[cfg(feature = "stream-records")]
pub use from_lambda::from_lambda_record;
#[cfg(feature = "stream-records")]
pub use from_lambda_json::{from_lambda_record_deserializer, from_lambda_record_json};
#[cfg(feature = "stream-records")]
pub use from_streams::from_streams_record;
pub use key::{encode_key, key_attribute_types, type_name, KeyError};
pub use reader::{batch_to_records, read_change_file, ChangeFileReader};
pub use record::{
    image_hash, pad_sequence_number, ChangeRecord, ConvertOptions, EventName, RecordSource,
    SEQUENCE_WIDTH,
};
pub use schema::{change_schema, columns, metadata, FORMAT_VERSION};
pub use serde_dynamo::{AttributeValue, Item};
pub use stream_arn::StreamArn;
pub use summary::{format_ms, FileSummary};
pub use versions::{VersionColumns, VERSION_COLUMNS};
pub use writer::{to_batch, write_change_file, WriteOptions, WrittenFile, UNCOMPRESSED_COLUMNS};
