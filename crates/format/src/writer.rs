//! Writing change files: records -> sorted Arrow batches -> one ZSTD Parquet object in memory.

use crate::error::FormatError;
use crate::record::ChangeRecord;
use crate::schema::{change_schema, columns, metadata, FORMAT_VERSION};
use crate::summary::FileSummary;
use arrow::array::{
    ArrayRef, BinaryArray, RecordBatch, StringArray, StringDictionaryBuilder,
    TimestampMillisecondArray, UInt32Array,
};
use arrow::datatypes::Int32Type;
use bytes::Bytes;
use parquet::arrow::arrow_writer::{compute_leaves, ArrowColumnChunk, ArrowRowGroupWriterFactory};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::metadata::{KeyValue, SortingColumn};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use rayon::prelude::*;
use std::sync::Arc;

/// How to write a file. Capture writes small files fast; compaction rewrites them at a high level.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// ZSTD level, 1-22. DESIGN.md measured 0.52x the export format at 3 and 0.41x at 19.
    pub zstd_level: i32,
    /// Rows per row group: bounds what a reader decodes at once.
    pub max_row_group_rows: usize,
    /// Rows per Arrow batch handed to the Parquet writer: bounds the writer's own memory.
    pub batch_rows: usize,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            zstd_level: 3,
            max_row_group_rows: 128 * 1024,
            batch_rows: 8 * 1024,
        }
    }
}

/// A written file: its bytes and what its metadata says.
#[derive(Debug, Clone)]
pub struct WrittenFile {
    /// The Parquet object.
    pub bytes: Bytes,
    /// The key-value metadata written into it.
    pub summary: FileSummary,
}

/// Sorts `records` by (key, stream label, sequence number) and writes them as one change file.
/// `object` names the file in errors. All records must belong to one table.
pub fn write_change_file(
    object: &str,
    mut records: Vec<ChangeRecord>,
    options: &WriteOptions,
) -> Result<WrittenFile, FormatError> {
    let fail = |source: Box<dyn std::error::Error + Send + Sync>| FormatError::Write {
        object: object.to_string(),
        source,
    };
    let summary = FileSummary::of(&records).map_err(|e| fail(e.into()))?;
    records.sort_unstable_by(|a, b| a.identity().cmp(&b.identity()));

    let schema = change_schema();
    let props = properties(&summary, options).map_err(|e| fail(e.into()))?;
    let writer = ArrowWriter::try_new(Vec::with_capacity(64 * 1024), schema, Some(props))
        .map_err(|e| fail(e.into()))?;
    let (mut writer, columns) = writer
        .into_serialized_writer()
        .map_err(|e| fail(e.into()))?;
    for (index, group) in records
        .chunks(options.max_row_group_rows.max(1))
        .enumerate()
    {
        let chunks = encode_row_group(&columns, index, group, options.batch_rows)
            .map_err(|e| fail(e.into()))?;
        let mut row_group = writer.next_row_group().map_err(|e| fail(e.into()))?;
        for chunk in chunks {
            chunk
                .append_to_row_group(&mut row_group)
                .map_err(|e| fail(e.into()))?;
        }
        row_group.close().map_err(|e| fail(e.into()))?;
    }
    // Checksum every byte of column data, so a flipped byte is caught even where the store's own
    // checksum is not (a file copied out of the bucket, a replica). Page indexes and the footer
    // come after; a damaged footer fails to parse.
    writer.flush().map_err(|e| fail(e.into()))?;
    let data = writer.inner();
    let data_crc = format!("{}:{:08x}", data.len(), crc32c::crc32c(data));
    writer.append_key_value_metadata(KeyValue::new(metadata::DATA_CRC32C.to_string(), data_crc));
    let bytes = writer.into_inner().map_err(|e| fail(e.into()))?;
    Ok(WrittenFile {
        bytes: Bytes::from(bytes),
        summary,
    })
}

/// The columns written without compression (docs/FORMAT.md, section 3): few distinct values
/// per file, or hashes, where ZSTD gains nothing.
pub const UNCOMPRESSED_COLUMNS: &[&str] = &[
    columns::TABLE_NAME,
    columns::EVENT_NAME,
    columns::STREAM_LABEL,
    columns::APPROXIMATE_CREATION_TIME,
    columns::OLD_IMAGE_HASH,
    columns::SHARD_ID,
];

/// The writer properties of a change file (docs/FORMAT.md): compression, statistics, the sort
/// order, and the summary and format version in the key-value metadata.
fn properties(
    summary: &FileSummary,
    options: &WriteOptions,
) -> Result<WriterProperties, ParquetError> {
    let level = ZstdLevel::try_new(options.zstd_level)?;
    let schema = change_schema();
    let sort_column = |name: &str| SortingColumn {
        column_idx: schema.index_of(name).expect("column exists") as i32,
        descending: false,
        nulls_first: false,
    };
    let mut kv = summary.to_key_values();
    kv.push(KeyValue::new(
        metadata::FORMAT_VERSION.to_string(),
        FORMAT_VERSION.to_string(),
    ));
    let mut props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        .set_statistics_enabled(EnabledStatistics::Page);
    // Item text is nearly always unique per row: a dictionary only costs a hash of every image
    // before the writer gives up on it, and page-level min/max of item text prunes nothing.
    for name in [
        columns::KEYS,
        columns::NEW_IMAGE,
        columns::OLD_IMAGE,
        columns::USER_IDENTITY,
    ] {
        let col = ColumnPath::from(name);
        props = props
            .set_column_dictionary_enabled(col.clone(), false)
            .set_column_statistics_enabled(col, EnabledStatistics::Chunk);
    }
    // Columns ZSTD does not shrink (a dictionary of a few values per file, or random 32-bit
    // hashes) are written uncompressed: compression made them larger, and every compressed
    // column chunk costs each reader a compressor and a decompressor context (measured: 6 % of
    // a reconstruction's CPU, half of it on these columns; docs/DECISIONS.md).
    for name in UNCOMPRESSED_COLUMNS {
        props = props.set_column_compression(ColumnPath::from(*name), Compression::UNCOMPRESSED);
    }
    Ok(props
        .set_max_row_group_row_count(Some(options.max_row_group_rows.max(1)))
        .set_sorting_columns(Some(vec![
            sort_column(columns::KEY),
            sort_column(columns::STREAM_LABEL),
            sort_column(columns::SEQUENCE_NUMBER),
        ]))
        .set_key_value_metadata(Some(kv))
        .set_created_by(format!("rewind-format {}", env!("CARGO_PKG_VERSION")))
        .build())
}

/// Encodes one row group's columns in parallel (the image columns hold nearly all the bytes and
/// the compression work, and capture waits on this), each column in slices of `batch_rows`
/// rows so that only one slice of it is copied into Arrow at a time. The chunks come back in
/// column order; appended in that order they give the bytes `ArrowWriter` writes.
fn encode_row_group(
    factory: &ArrowRowGroupWriterFactory,
    index: usize,
    records: &[ChangeRecord],
    batch_rows: usize,
) -> Result<Vec<ArrowColumnChunk>, ParquetError> {
    let schema = change_schema();
    let writers = factory.create_column_writers(index)?;
    assert_eq!(
        writers.len(),
        schema.fields().len(),
        "every change column is one Parquet leaf"
    );
    writers
        .into_par_iter()
        .enumerate()
        .map(|(column, mut writer)| {
            for slice in records.chunks(batch_rows.max(1)) {
                let array = column_array(column, slice);
                for leaf in compute_leaves(schema.field(column), &array)? {
                    writer.write(&leaf)?;
                }
            }
            writer.close()
        })
        .collect()
}

/// One Arrow batch of change records, in the order given.
pub fn to_batch(records: &[ChangeRecord]) -> RecordBatch {
    let arrays = (0..change_schema().fields().len())
        .map(|column| column_array(column, records))
        .collect();
    RecordBatch::try_new(change_schema(), arrays).expect("arrays match the schema by construction")
}

/// Column `index` of the change schema for `records`, in the order given.
fn column_array(index: usize, records: &[ChangeRecord]) -> ArrayRef {
    fn dictionary<'a>(values: impl Iterator<Item = &'a str>) -> ArrayRef {
        let mut builder = StringDictionaryBuilder::<Int32Type>::new();
        values.for_each(|v| builder.append_value(v));
        Arc::new(builder.finish())
    }
    fn text<'a>(values: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
        Arc::new(values.collect::<StringArray>())
    }
    fn time(values: impl Iterator<Item = i64>) -> ArrayRef {
        Arc::new(TimestampMillisecondArray::from_iter_values(values).with_timezone("UTC"))
    }
    let rows = records.iter();
    // In the order of `change_schema`; the test below holds the two equal.
    match index {
        0 => dictionary(rows.map(|r| r.table_name.as_str())),
        1 => dictionary(rows.map(|r| r.event_name.as_str())),
        2 => dictionary(rows.map(|r| r.stream_label.as_str())),
        3 => text(rows.map(|r| Some(r.sequence_number.as_str()))),
        4 => time(rows.map(|r| r.approximate_creation_time_ms)),
        5 => Arc::new(
            rows.map(|r| Some(r.key.as_slice()))
                .collect::<BinaryArray>(),
        ),
        6 => text(rows.map(|r| Some(r.keys.as_str()))),
        7 => text(rows.map(|r| r.new_image.as_deref())),
        8 => text(rows.map(|r| r.old_image.as_deref())),
        9 => Arc::new(rows.map(|r| r.old_image_hash).collect::<UInt32Array>()),
        10 => text(rows.map(|r| r.user_identity.as_deref())),
        11 => dictionary(rows.map(|r| r.shard_id.as_str())),
        12 => time(rows.map(|r| r.ingested_at_ms)),
        _ => panic!("the change schema has 13 columns, not {}", index + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::read_change_file;
    use crate::record::EventName;

    fn records(n: usize) -> Vec<ChangeRecord> {
        (0..n)
            .map(|i| ChangeRecord {
                table_name: "shop".into(),
                event_name: [EventName::Insert, EventName::Modify, EventName::Remove][i % 3],
                stream_label: "2026-12-05T00:00:00.000".into(),
                sequence_number: format!("{:040}", 1000 + i),
                approximate_creation_time_ms: 1_764_000_000_000 + i as i64,
                key: vec![b'k', (i % 7) as u8, (i / 7) as u8],
                keys: format!(r#"{{"pk":{{"S":"k{i}"}}}}"#),
                new_image: (i % 3 != 2).then(|| {
                    format!(r#"{{"pk":{{"S":"k{i}"}},"v":{{"N":"{i}"}}}}"#).repeat(1 + i % 5)
                }),
                old_image: (i % 3 == 2).then(|| format!(r#"{{"pk":{{"S":"k{i}"}}}}"#)),
                old_image_hash: (i % 3 != 0).then_some(i as u32),
                user_identity: (i % 11 == 0).then(|| r#"{"type":"Service"}"#.into()),
                shard_id: format!("shardId-{}", i % 2),
                ingested_at_ms: 1_764_000_001_000,
            })
            .collect()
    }

    /// What `ArrowWriter` writes for the same records and properties: the parallel column
    /// encoding must give the same file, byte for byte.
    fn reference(mut records: Vec<ChangeRecord>, options: &WriteOptions) -> Vec<u8> {
        let summary = FileSummary::of(&records).unwrap();
        records.sort_unstable_by(|a, b| a.identity().cmp(&b.identity()));
        let props = properties(&summary, options).unwrap();
        let mut writer = ArrowWriter::try_new(Vec::new(), change_schema(), Some(props)).unwrap();
        for chunk in records.chunks(options.batch_rows) {
            writer.write(&to_batch(chunk)).unwrap();
        }
        writer.flush().unwrap();
        writer.sync().unwrap();
        let data = writer.inner();
        let crc = format!("{}:{:08x}", data.len(), crc32c::crc32c(data));
        writer.append_key_value_metadata(KeyValue::new(metadata::DATA_CRC32C.to_string(), crc));
        writer.into_inner().unwrap()
    }

    #[test]
    fn parallel_columns_write_the_bytes_arrow_writer_writes() {
        for (n, group, batch) in [
            (1, 10, 10),
            (50, 7, 3),
            (50, 64, 5),
            (300, 128, 128),
            (300, 100, 33),
        ] {
            let options = WriteOptions {
                zstd_level: 3,
                max_row_group_rows: group,
                batch_rows: batch,
            };
            let written = write_change_file("t", records(n), &options).unwrap();
            // Not assert_eq!: a mismatch would print two whole files.
            assert!(
                written.bytes.as_ref() == reference(records(n), &options).as_slice(),
                "{n} rows, groups of {group}, slices of {batch}: the bytes differ"
            );
            let mut sorted = records(n);
            sorted.sort_unstable_by(|a, b| a.identity().cmp(&b.identity()));
            assert_eq!(read_change_file("t", written.bytes).unwrap(), sorted);
        }
    }
}
