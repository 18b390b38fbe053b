//! Reading change files: checks that a file is whole, ours and of a known version, then streams
//! its record batches (memory bounded by one row group's batch, not the file).

use crate::error::FormatError;
use crate::record::{ChangeRecord, EventName};
use crate::schema::{change_schema, columns, metadata, FORMAT_VERSION};
use crate::summary::FileSummary;
use arrow::array::{
    Array, ArrayAccessor, AsArray, BinaryArray, RecordBatch, StringArray,
    TimestampMillisecondArray, UInt32Array,
};
use arrow::datatypes::{DataType, Schema};
use arrow::datatypes::{Int32Type, TimestampMillisecondType};
use bytes::Bytes;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::ProjectionMask;
use std::collections::HashMap;
use std::sync::Arc;

const MAGIC: &[u8; 4] = b"PAR1";
const BATCH_ROWS: usize = 8 * 1024;

/// An open change file: its summary, and an iterator over its record batches.
#[derive(Debug)]
pub struct ChangeFileReader {
    object: String,
    summary: FileSummary,
    batches: ParquetRecordBatchReader,
    rows_read: usize,
}

impl ChangeFileReader {
    /// Validates `bytes` as a change file named `object` (used in every error).
    pub fn open(object: &str, bytes: Bytes) -> Result<Self, FormatError> {
        Self::open_inner(object, bytes, None, false)
    }

    /// Like [`ChangeFileReader::open`] (the whole file is still checked), but decodes only the
    /// named columns: a reader that needs a few columns does not pay to decompress and copy the
    /// others (reconstruction skips old images, shards, identities and ingest times).
    pub fn open_columns(object: &str, bytes: Bytes, names: &[&str]) -> Result<Self, FormatError> {
        Self::open_inner(object, bytes, Some(names), false)
    }

    /// Opens a file for [`crate::VersionColumns`]: only [`crate::VERSION_COLUMNS`] are decoded,
    /// and the text columns (sequence number, key attributes, new image) as string views that
    /// point into the decompressed pages instead of copies of them.
    pub fn open_versions(object: &str, bytes: Bytes) -> Result<Self, FormatError> {
        Self::open_inner(object, bytes, Some(crate::VERSION_COLUMNS), true)
    }

    fn open_inner(
        object: &str,
        bytes: Bytes,
        names: Option<&[&str]>,
        views: bool,
    ) -> Result<Self, FormatError> {
        let corrupt = |detail: String| FormatError::Corrupt {
            object: object.to_string(),
            detail,
        };
        check_whole(object, &bytes)?;
        let builder = guard(|| ParquetRecordBatchReaderBuilder::try_new(bytes.clone()))
            .map_err(corrupt)?
            .map_err(|e| corrupt(format!("footer does not decode: {e}")))?;
        let kv: HashMap<String, String> = builder
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .map(|kv| {
                kv.iter()
                    .filter_map(|e| Some((e.key.clone(), e.value.clone()?)))
                    .collect()
            })
            .unwrap_or_default();
        let schema_err = |detail: String| FormatError::Schema {
            object: object.to_string(),
            detail,
        };
        let version = kv.get(metadata::FORMAT_VERSION).ok_or_else(|| {
            schema_err(format!("no {} in its metadata", metadata::FORMAT_VERSION))
        })?;
        if version != &FORMAT_VERSION.to_string() {
            return Err(FormatError::UnsupportedVersion {
                object: object.to_string(),
                found: version.clone(),
                supported: FORMAT_VERSION,
            });
        }
        check_data_crc(&bytes, kv.get(metadata::DATA_CRC32C)).map_err(corrupt)?;
        let expected = change_schema();
        let found = builder.schema().clone();
        for field in expected.fields() {
            match found.field_with_name(field.name()) {
                Ok(f) if f.data_type() == field.data_type() => {}
                Ok(f) => {
                    return Err(schema_err(format!(
                        "column {} is {}, expected {}",
                        field.name(),
                        f.data_type(),
                        field.data_type()
                    )))
                }
                Err(_) => return Err(schema_err(format!("column {} missing", field.name()))),
            }
        }
        let summary = FileSummary::from_key_values(&kv).map_err(schema_err)?;
        let builder = if views {
            let fields: Vec<_> = found
                .fields()
                .iter()
                .map(|f| match f.name().as_str() {
                    columns::SEQUENCE_NUMBER | columns::KEYS | columns::NEW_IMAGE => {
                        Arc::new(f.as_ref().clone().with_data_type(DataType::Utf8View))
                    }
                    _ => Arc::clone(f),
                })
                .collect();
            let options = ArrowReaderOptions::new().with_schema(Arc::new(Schema::new(fields)));
            let metadata = ArrowReaderMetadata::try_new(Arc::clone(builder.metadata()), options)
                .map_err(|e| corrupt(format!("footer does not decode: {e}")))?;
            ParquetRecordBatchReaderBuilder::new_with_metadata(bytes.clone(), metadata)
        } else {
            builder
        };
        let mut builder = builder.with_batch_size(BATCH_ROWS);
        if let Some(names) = names {
            let roots = names
                .iter()
                .map(|name| {
                    found
                        .index_of(name)
                        .map_err(|_| schema_err(format!("column {name} missing")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
            builder = builder.with_projection(mask);
        }
        let batches = builder.build().map_err(|e| corrupt(e.to_string()))?;
        Ok(ChangeFileReader {
            object: object.to_string(),
            summary,
            batches,
            rows_read: 0,
        })
    }

    /// What the file's metadata says.
    pub fn summary(&self) -> &FileSummary {
        &self.summary
    }

    /// The next batch as change records, or `None` at the end.
    pub fn next_records(&mut self) -> Option<Result<Vec<ChangeRecord>, FormatError>> {
        let batch = self.next()?;
        let first_row = self.rows_read;
        Some(batch.and_then(|b| {
            self.rows_read += b.num_rows();
            batch_to_records(&self.object, &b, first_row)
        }))
    }
}

impl Iterator for ChangeFileReader {
    type Item = Result<RecordBatch, FormatError>;

    fn next(&mut self) -> Option<Self::Item> {
        let corrupt = |detail: String| FormatError::Corrupt {
            object: self.object.clone(),
            detail,
        };
        match guard(|| self.batches.next()) {
            Err(detail) => Some(Err(corrupt(detail))),
            Ok(None) => None,
            Ok(Some(batch)) => {
                Some(batch.map_err(|e| corrupt(format!("data does not decode: {e}"))))
            }
        }
    }
}

/// Reads a whole change file into records (for small files and tests; large readers iterate).
pub fn read_change_file(object: &str, bytes: Bytes) -> Result<Vec<ChangeRecord>, FormatError> {
    let mut reader = ChangeFileReader::open(object, bytes)?;
    let mut out = Vec::with_capacity(reader.summary().row_count as usize);
    while let Some(batch) = reader.next_records() {
        out.extend(batch?);
    }
    if out.len() as u64 != reader.summary().row_count {
        return Err(FormatError::Corrupt {
            object: object.to_string(),
            detail: format!(
                "{} rows read, metadata says {}",
                out.len(),
                reader.summary().row_count
            ),
        });
    }
    Ok(out)
}

/// Runs a Parquet decoding step, turning a panic into an error: the parquet crate asserts on some
/// damaged footers instead of returning an error, and a damaged file must never take down a
/// restore or a Lambda.
fn guard<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("unknown");
        format!("the Parquet decoder failed: {message}")
    })
}

fn check_whole(object: &str, bytes: &[u8]) -> Result<(), FormatError> {
    let truncated = |detail: String| FormatError::Truncated {
        object: object.to_string(),
        detail,
    };
    let len = bytes.len();
    if len < 12 {
        return Err(truncated(format!("{len} bytes")));
    }
    if &bytes[..4] != MAGIC {
        return Err(truncated("no Parquet magic at the start".into()));
    }
    if &bytes[len - 4..] != MAGIC {
        return Err(truncated(format!(
            "no Parquet magic at the end of its {len} bytes"
        )));
    }
    let footer = u32::from_le_bytes(bytes[len - 8..len - 4].try_into().expect("4 bytes")) as usize;
    if footer + 12 > len {
        return Err(truncated(format!(
            "footer of {footer} bytes does not fit in {len} bytes"
        )));
    }
    Ok(())
}

fn check_data_crc(bytes: &[u8], entry: Option<&String>) -> Result<(), String> {
    let entry = entry.ok_or_else(|| format!("no {} in its metadata", metadata::DATA_CRC32C))?;
    let parsed = entry.split_once(':').and_then(|(len, crc)| {
        Some((
            len.parse::<usize>().ok()?,
            u32::from_str_radix(crc, 16).ok()?,
        ))
    });
    let Some((len, expected)) = parsed else {
        return Err(format!(
            "{} = {entry:?} is malformed",
            metadata::DATA_CRC32C
        ));
    };
    if len > bytes.len() {
        return Err(format!(
            "data checksum covers {len} bytes, file has {}",
            bytes.len()
        ));
    }
    let actual = crc32c::crc32c(&bytes[..len]);
    if actual != expected {
        return Err(format!(
            "data checksum mismatch: crc32c {actual:08x}, written {expected:08x}"
        ));
    }
    Ok(())
}

/// Decodes one batch of a change file into records; `first_row` numbers rows in errors.
pub fn batch_to_records(
    object: &str,
    batch: &RecordBatch,
    first_row: usize,
) -> Result<Vec<ChangeRecord>, FormatError> {
    let schema_err = |detail: String| FormatError::Schema {
        object: object.to_string(),
        detail,
    };
    let col = |name: &str| {
        batch
            .column_by_name(name)
            .ok_or_else(|| schema_err(format!("column {name} missing")))
    };
    let dict = |name: &str| -> Result<Vec<Option<String>>, FormatError> {
        let c = col(name)?;
        let d = c
            .as_dictionary_opt::<Int32Type>()
            .ok_or_else(|| schema_err(format!("column {name} is not a dictionary")))?;
        let values = d
            .downcast_dict::<StringArray>()
            .ok_or_else(|| schema_err(format!("column {name} is not utf8")))?;
        Ok((0..d.len())
            .map(|i| (!d.is_null(i)).then(|| values.value(i).to_string()))
            .collect())
    };
    let string = |name: &str| -> Result<&StringArray, FormatError> {
        col(name)?
            .as_string_opt::<i32>()
            .ok_or_else(|| schema_err(format!("column {name} is not utf8")))
    };
    let time = |name: &str| -> Result<&TimestampMillisecondArray, FormatError> {
        col(name)?
            .as_primitive_opt::<TimestampMillisecondType>()
            .ok_or_else(|| schema_err(format!("column {name} is not timestamp(ms)")))
    };
    let table = dict(columns::TABLE_NAME)?;
    let event = dict(columns::EVENT_NAME)?;
    let label = dict(columns::STREAM_LABEL)?;
    let shard = dict(columns::SHARD_ID)?;
    let seq = string(columns::SEQUENCE_NUMBER)?;
    let created = time(columns::APPROXIMATE_CREATION_TIME)?;
    let key: &BinaryArray = col(columns::KEY)?
        .as_binary_opt::<i32>()
        .ok_or_else(|| schema_err("column key is not binary".into()))?;
    let keys = string(columns::KEYS)?;
    let new_image = string(columns::NEW_IMAGE)?;
    let old_image = string(columns::OLD_IMAGE)?;
    let old_hash: &UInt32Array = col(columns::OLD_IMAGE_HASH)?
        .as_primitive_opt()
        .ok_or_else(|| schema_err("column old_image_hash is not uint32".into()))?;
    let identity = string(columns::USER_IDENTITY)?;
    let ingested = time(columns::INGESTED_AT)?;

    let opt = |a: &StringArray, i: usize| (!a.is_null(i)).then(|| a.value(i).to_string());
    (0..batch.num_rows())
        .map(|i| {
            let row = first_row + i;
            let bad = |detail: String| FormatError::BadRow {
                object: object.to_string(),
                row,
                detail,
            };
            let required = |v: &Option<String>, name: &str| {
                v.clone().ok_or_else(|| bad(format!("{name} is null")))
            };
            for (a, name) in [
                (seq as &dyn Array, columns::SEQUENCE_NUMBER),
                (created, columns::APPROXIMATE_CREATION_TIME),
                (key, columns::KEY),
                (keys, columns::KEYS),
                (ingested, columns::INGESTED_AT),
            ] {
                if a.is_null(i) {
                    return Err(bad(format!("{name} is null")));
                }
            }
            let event_text = required(&event[i], columns::EVENT_NAME)?;
            Ok(ChangeRecord {
                table_name: required(&table[i], columns::TABLE_NAME)?,
                event_name: EventName::parse(&event_text)
                    .ok_or_else(|| bad(format!("unknown event name {event_text:?}")))?,
                stream_label: required(&label[i], columns::STREAM_LABEL)?,
                sequence_number: seq.value(i).to_string(),
                approximate_creation_time_ms: created.value(i),
                key: key.value(i).to_vec(),
                keys: keys.value(i).to_string(),
                new_image: opt(new_image, i),
                old_image: opt(old_image, i),
                old_image_hash: (!old_hash.is_null(i)).then(|| old_hash.value(i)),
                user_identity: opt(identity, i),
                shard_id: required(&shard[i], columns::SHARD_ID)?,
                ingested_at_ms: ingested.value(i),
            })
        })
        .collect()
}
