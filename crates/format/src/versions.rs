//! Borrowed, typed access to the columns a fold reads, row by row, without copying a row into
//! an owned [`crate::ChangeRecord`]: reconstruction touches every version of every key but keeps
//! only the newest, so copying each row's strings first was most of its cost.

use crate::error::FormatError;
use crate::record::EventName;
use crate::schema::columns;
use arrow::array::{
    Array, ArrayAccessor, AsArray, BinaryArray, RecordBatch, StringArray, StringViewArray,
    TimestampMillisecondArray, TypedDictionaryArray, UInt32Array,
};
use arrow::datatypes::{Int32Type, TimestampMillisecondType};

/// The columns [`VersionColumns`] needs: open files with
/// [`crate::ChangeFileReader::open_columns`]`(…, VERSION_COLUMNS)` to decode nothing else.
pub const VERSION_COLUMNS: &[&str] = &[
    columns::EVENT_NAME,
    columns::STREAM_LABEL,
    columns::SEQUENCE_NUMBER,
    columns::APPROXIMATE_CREATION_TIME,
    columns::KEY,
    columns::KEYS,
    columns::NEW_IMAGE,
    columns::OLD_IMAGE_HASH,
];

/// A text column as the file was opened: offsets into one buffer (the plain reader), or views
/// into the decompressed pages ([`crate::ChangeFileReader::open_versions`]).
#[derive(Debug, Clone, Copy)]
enum Text<'a> {
    Offsets(&'a StringArray),
    Views(&'a StringViewArray),
}

impl<'a> Text<'a> {
    fn array(self) -> &'a dyn Array {
        match self {
            Text::Offsets(a) => a,
            Text::Views(a) => a,
        }
    }

    fn value(self, row: usize) -> &'a str {
        match self {
            Text::Offsets(a) => a.value(row),
            Text::Views(a) => a.value(row),
        }
    }
}

/// One batch's versions, checked once (types, no nulls where the format forbids them, known
/// event names) so that the per-row accessors cannot fail.
#[derive(Debug)]
pub struct VersionColumns<'a> {
    events: Vec<EventName>,
    label: TypedDictionaryArray<'a, Int32Type, StringArray>,
    seq: Text<'a>,
    stamp: &'a TimestampMillisecondArray,
    key: &'a BinaryArray,
    keys: Text<'a>,
    new_image: Text<'a>,
    old_hash: &'a UInt32Array,
}

impl<'a> VersionColumns<'a> {
    /// Checks `batch` (rows of `object`, the name used in errors) and borrows its columns.
    pub fn new(object: &str, batch: &'a RecordBatch) -> Result<Self, FormatError> {
        let schema_err = |detail: String| FormatError::Schema {
            object: object.to_string(),
            detail,
        };
        let col = |name: &str| {
            batch
                .column_by_name(name)
                .ok_or_else(|| schema_err(format!("column {name} missing")))
        };
        let dict = |name: &str| -> Result<TypedDictionaryArray<'a, Int32Type, StringArray>, _> {
            col(name)?
                .as_dictionary_opt::<Int32Type>()
                .and_then(|d| d.downcast_dict::<StringArray>())
                .ok_or_else(|| schema_err(format!("column {name} is not a utf8 dictionary")))
        };
        let string = |name: &str| -> Result<Text<'a>, FormatError> {
            let c = col(name)?;
            c.as_string_opt::<i32>()
                .map(Text::Offsets)
                .or_else(|| c.as_string_view_opt().map(Text::Views))
                .ok_or_else(|| schema_err(format!("column {name} is not utf8")))
        };
        let event = dict(columns::EVENT_NAME)?;
        let label = dict(columns::STREAM_LABEL)?;
        let seq = string(columns::SEQUENCE_NUMBER)?;
        let stamp = col(columns::APPROXIMATE_CREATION_TIME)?
            .as_primitive_opt::<TimestampMillisecondType>()
            .ok_or_else(|| schema_err("column approximate_creation_time is not ms".into()))?;
        let key = col(columns::KEY)?
            .as_binary_opt::<i32>()
            .ok_or_else(|| schema_err("column key is not binary".into()))?;
        let keys = string(columns::KEYS)?;
        let new_image = string(columns::NEW_IMAGE)?;
        let old_hash = col(columns::OLD_IMAGE_HASH)?
            .as_primitive_opt()
            .ok_or_else(|| schema_err("column old_image_hash is not uint32".into()))?;

        let bad = |row: usize, detail: String| FormatError::BadRow {
            object: object.to_string(),
            row,
            detail,
        };
        for (a, name) in [
            (event.keys() as &dyn Array, columns::EVENT_NAME),
            (label.keys(), columns::STREAM_LABEL),
            (seq.array(), columns::SEQUENCE_NUMBER),
            (stamp, columns::APPROXIMATE_CREATION_TIME),
            (key, columns::KEY),
            (keys.array(), columns::KEYS),
        ] {
            if a.null_count() > 0 {
                let row = (0..a.len()).find(|&i| a.is_null(i)).unwrap_or(0);
                return Err(bad(row, format!("{name} is null")));
            }
        }
        // Parse each distinct event name once, then map rows through the dictionary.
        let names: Vec<Option<EventName>> = (0..event.values().len())
            .map(|i| EventName::parse(event.values().value(i)))
            .collect();
        let events =
            event
                .keys()
                .values()
                .iter()
                .enumerate()
                .map(|(row, &k)| {
                    names.get(k as usize).copied().flatten().ok_or_else(|| {
                        bad(row, format!("unknown event name {:?}", event.value(row)))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
        Ok(VersionColumns {
            events,
            label,
            seq,
            stamp,
            key,
            keys,
            new_image,
            old_hash,
        })
    }

    /// Rows in the batch.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether the batch has no rows.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// INSERT, MODIFY or REMOVE.
    pub fn event(&self, row: usize) -> EventName {
        self.events[row]
    }

    /// The stream label.
    pub fn stream_label(&self, row: usize) -> &'a str {
        self.label.value(row)
    }

    /// The sequence number (40 digits).
    pub fn sequence_number(&self, row: usize) -> &'a str {
        self.seq.value(row)
    }

    /// The change's time, ms since the epoch.
    pub fn stamp_ms(&self, row: usize) -> i64 {
        self.stamp.value(row)
    }

    /// The canonical binary key.
    pub fn key(&self, row: usize) -> &'a [u8] {
        self.key.value(row)
    }

    /// The key attributes, canonical DynamoDB JSON.
    pub fn keys(&self, row: usize) -> &'a str {
        self.keys.value(row)
    }

    /// The item after the change (`None` for a REMOVE).
    pub fn new_image(&self, row: usize) -> Option<&'a str> {
        (!self.new_image.array().is_null(row)).then(|| self.new_image.value(row))
    }

    /// CRC32C of the item before the change, when the stream carried it.
    pub fn old_image_hash(&self, row: usize) -> Option<u32> {
        (!self.old_hash.is_null(row)).then(|| self.old_hash.value(row))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::ChangeFileReader;
    use crate::record::ChangeRecord;
    use crate::writer::{write_change_file, WriteOptions};

    fn record(seq: u32, event: EventName) -> ChangeRecord {
        ChangeRecord {
            table_name: "t".into(),
            event_name: event,
            stream_label: "L".into(),
            sequence_number: format!("{seq:040}"),
            approximate_creation_time_ms: 1_000 + seq as i64,
            key: vec![1, seq as u8],
            keys: format!(r#"{{"pk":{{"N":"{seq}"}}}}"#),
            new_image: (event != EventName::Remove).then(|| format!(r#"{{"pk":{{"N":"{seq}"}}}}"#)),
            old_image: (event == EventName::Remove).then(|| "{}".to_string()),
            old_image_hash: (event != EventName::Insert).then_some(seq),
            user_identity: None,
            shard_id: "s".into(),
            ingested_at_ms: 0,
        }
    }

    #[test]
    fn projected_rows_read_back_as_written_as_copies_and_as_views() {
        let mut short = record(4, EventName::Modify);
        // Short enough to sit inside a string view, and long enough to need a page of its own.
        short.new_image = Some("{}".into());
        let mut long = record(5, EventName::Insert);
        long.new_image = Some(format!(r#"{{"pk":{{"S":"{}"}}}}"#, "é".repeat(40_000)));
        let records = vec![
            record(1, EventName::Insert),
            record(2, EventName::Modify),
            record(3, EventName::Remove),
            short,
            long,
        ];
        let file =
            write_change_file("f", records.clone(), &WriteOptions::default()).expect("write");
        let copies =
            ChangeFileReader::open_columns("f", file.bytes.clone(), VERSION_COLUMNS).expect("open");
        let views = ChangeFileReader::open_versions("f", file.bytes.clone()).expect("open");
        for reader in [copies, views] {
            let batches: Vec<_> = reader.collect::<Result<_, _>>().expect("read");
            assert_eq!(batches[0].num_columns(), VERSION_COLUMNS.len());
            let v = VersionColumns::new("f", &batches[0]).expect("view");
            assert_eq!(v.len(), records.len());
            for (row, r) in records.iter().enumerate() {
                assert_eq!(v.event(row), r.event_name);
                assert_eq!(v.stream_label(row), r.stream_label);
                assert_eq!(v.sequence_number(row), r.sequence_number);
                assert_eq!(v.stamp_ms(row), r.approximate_creation_time_ms);
                assert_eq!(v.key(row), r.key);
                assert_eq!(v.keys(row), r.keys);
                assert_eq!(v.new_image(row), r.new_image.as_deref());
                assert_eq!(v.old_image_hash(row), r.old_image_hash);
            }
        }
    }

    #[test]
    fn a_missing_column_is_named() {
        let file = write_change_file(
            "obj",
            vec![record(1, EventName::Insert)],
            &WriteOptions::default(),
        )
        .expect("write");
        let reader = ChangeFileReader::open_columns(
            "obj",
            file.bytes.clone(),
            &[columns::KEY, columns::EVENT_NAME],
        )
        .expect("open");
        let batch = reader
            .into_iter()
            .next()
            .expect("a batch")
            .expect("decodes");
        let e = VersionColumns::new("obj", &batch).unwrap_err().to_string();
        assert!(e.contains("obj") && e.contains("stream_label"), "{e}");
        let e = ChangeFileReader::open_columns("obj", file.bytes, &["nope"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("nope"), "{e}");
    }
}
