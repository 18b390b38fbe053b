//! Damaged or foreign files give distinct errors that name the object.

mod common;

use bytes::Bytes;
use common::*;
use rewind_format::{
    change_schema, from_lambda_record, read_change_file, to_batch, write_change_file,
    ConvertOptions, FormatError, WriteOptions,
};

fn good_file() -> (Vec<rewind_format::ChangeRecord>, Bytes) {
    let mut records = Vec::new();
    for i in 0..500u64 {
        let it: std::collections::HashMap<_, _> = [
            (
                "pk".to_string(),
                rewind_format::AttributeValue::S(format!("user-{i}")),
            ),
            (
                "name".to_string(),
                rewind_format::AttributeValue::S(format!("Customer number {i}")),
            ),
        ]
        .into();
        let r = lambda_record("INSERT", i, 1_764_000_000 + i as i64, Some(&it), None);
        records.push(from_lambda_record(&r, "shardId-1", 1, &ConvertOptions::default()).unwrap());
    }
    let f = write_change_file("good", records.clone(), &WriteOptions::default()).unwrap();
    (records, f.bytes)
}

const OBJ: &str = "s3://bucket/changes/table=shop/x.parquet";

#[test]
fn a_good_file_reads() {
    let (records, bytes) = good_file();
    assert_eq!(read_change_file(OBJ, bytes).unwrap().len(), records.len());
}

#[test]
fn truncation_is_reported_as_such() {
    let (_, bytes) = good_file();
    for cut in [0, 3, 11, bytes.len() / 2, bytes.len() - 1] {
        let e = read_change_file(OBJ, bytes.slice(..cut)).unwrap_err();
        assert!(matches!(e, FormatError::Truncated { .. }), "cut {cut}: {e}");
        assert!(e.to_string().contains(OBJ));
    }
}

#[test]
fn every_flipped_data_byte_is_caught() {
    let (_, bytes) = good_file();
    // Every byte of the column data (after the magic, before the page index and footer), as the
    // writer's own checksum entry says.
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let meta = SerializedFileReader::new(bytes.clone()).unwrap();
    let kv = meta
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .unwrap()
        .clone();
    let entry = kv.iter().find(|e| e.key == "rewind.data_crc32c").unwrap();
    let data_end: usize = entry
        .value
        .as_ref()
        .unwrap()
        .split(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(data_end > bytes.len() / 3, "{data_end} of {}", bytes.len());
    for at in (4..data_end).step_by(7) {
        let mut damaged = bytes.to_vec();
        damaged[at] ^= 0x10;
        let e = read_change_file(OBJ, Bytes::from(damaged)).unwrap_err();
        assert!(matches!(e, FormatError::Corrupt { .. }), "byte {at}: {e}");
        assert!(e.to_string().contains(OBJ), "{e}");
    }
}

#[test]
fn a_flipped_footer_byte_is_never_silent() {
    let (records, bytes) = good_file();
    let footer_len =
        u32::from_le_bytes(bytes[bytes.len() - 8..bytes.len() - 4].try_into().unwrap()) as usize;
    let footer_start = bytes.len() - 8 - footer_len;
    for at in footer_start..bytes.len() - 8 {
        let mut damaged = bytes.to_vec();
        damaged[at] ^= 0x01;
        // Either refused, or (a byte the reader does not depend on, such as a statistic or the
        // created-by string) read back exactly as written. Never different data.
        if let Ok(read) = read_change_file(OBJ, Bytes::from(damaged)) {
            let mut expected = records.clone();
            expected.sort_by(|a, b| a.identity().cmp(&b.identity()));
            assert_eq!(read, expected, "footer byte {at} changed the data silently");
        }
    }
}

fn file_with_metadata(version: Option<&str>) -> Bytes {
    use parquet::arrow::ArrowWriter;
    use parquet::file::metadata::KeyValue;
    use parquet::file::properties::WriterProperties;
    let (records, _) = good_file();
    let kv = version.map(|v| vec![KeyValue::new("rewind.format_version".into(), v.to_string())]);
    let props = WriterProperties::builder()
        .set_key_value_metadata(kv)
        .build();
    let mut w = ArrowWriter::try_new(Vec::new(), change_schema(), Some(props)).unwrap();
    w.write(&to_batch(&records)).unwrap();
    Bytes::from(w.into_inner().unwrap())
}

#[test]
fn unknown_version_is_refused_by_name() {
    let e = read_change_file(OBJ, file_with_metadata(Some("2"))).unwrap_err();
    match &e {
        FormatError::UnsupportedVersion {
            object,
            found,
            supported,
        } => {
            assert_eq!((object.as_str(), found.as_str(), *supported), (OBJ, "2", 1));
        }
        other => panic!("{other}"),
    }
    assert!(e.to_string().contains("version \"2\""), "{e}");
}

#[test]
fn foreign_parquet_is_refused() {
    let e = read_change_file(OBJ, file_with_metadata(None)).unwrap_err();
    assert!(matches!(e, FormatError::Schema { .. }), "{e}");
    assert!(e.to_string().contains(OBJ));
}

#[test]
fn empty_and_mixed_table_files_are_refused() {
    assert!(write_change_file("x", vec![], &WriteOptions::default()).is_err());
    let (mut records, _) = good_file();
    records[3].table_name = "other".into();
    let e = write_change_file("x", records, &WriteOptions::default()).unwrap_err();
    assert!(e.to_string().contains("two tables"), "{e}");
}
