//! The Parquet change-file reader, on whatever bytes an object holds.

use bytes::Bytes;
use rewind_format::{batch_to_records, read_change_file, ChangeFileReader};

/// Bytes read as a change file: the whole-file reader and the streaming reader must agree, and
/// every record read back must carry a key that decodes. Then, past the file checks (magic,
/// data checksum, schema), any Parquet the decoder accepts goes through the row decoder
/// directly, so values a damaged-but-well-formed file holds (nulls, unknown event names, huge
/// counts) are tried too, not only what survives the checksum.
pub fn change_file(data: &[u8]) {
    let bytes = Bytes::copy_from_slice(data);
    let whole = read_change_file("fuzz/change.parquet", bytes.clone());
    if let Ok(records) = &whole {
        for r in records {
            assert!(
                rewind_format::key_attribute_types(&r.key).is_some(),
                "a record read back has a key that does not decode: {:?}",
                r.key
            );
        }
        let mut reader = ChangeFileReader::open("fuzz/change.parquet", bytes.clone())
            .expect("opened once already");
        let mut streamed = 0;
        while let Some(batch) = reader.next_records() {
            streamed += batch.expect("read whole already").len();
        }
        assert_eq!(
            streamed,
            records.len(),
            "streaming and whole reads disagree"
        );
    }
    rows_past_the_checks(bytes);
}

fn rows_past_the_checks(bytes: Bytes) {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    // The parquet crate asserts on some damaged inputs; the change-file reader guards those
    // (the same way), this target is after rewind's own row decoding.
    let _ = std::panic::catch_unwind(move || {
        let Ok(builder) = ParquetRecordBatchReaderBuilder::try_new(bytes) else {
            return;
        };
        let Ok(reader) = builder.with_batch_size(256).build() else {
            return;
        };
        let mut first_row = 0;
        for batch in reader.take(64) {
            let Ok(batch) = batch else { return };
            let _ = batch_to_records("fuzz/rows.parquet", &batch, first_row);
            first_row += batch.num_rows();
        }
    });
}
