//! Property: arbitrary items survive stream record -> change record -> Parquet -> change record
//! with every stored field unchanged, and images survive as the same DynamoDB values.

mod common;

use common::*;
use proptest::prelude::*;
use rewind_format::{
    from_lambda_record, item_from_json, item_to_json, read_change_file, write_change_file,
    ChangeRecord, ConvertOptions, EventName, WriteOptions,
};

fn history() -> impl Strategy<Value = Vec<serde_json::Value>> {
    // A few items, each inserted, modified and maybe removed: every event kind, linked images.
    proptest::collection::vec((item(), item(), any::<bool>()), 1..6).prop_map(|items| {
        let mut seq = 0u64;
        let mut out = Vec::new();
        for (i, (first, second, remove)) in items.into_iter().enumerate() {
            let mut second = second;
            // Same key for every version of item i; distinct keys across items.
            let mut first = first;
            first.insert(
                "pk".into(),
                rewind_format::AttributeValue::S(format!("item-{i}")),
            );
            first.remove("sk");
            for (k, v) in common::keys_of(&first) {
                second.insert(k, v);
            }
            second.remove("sk");
            seq += 1;
            out.push(lambda_record(
                "INSERT",
                seq,
                1_764_000_000 + seq as i64,
                Some(&first),
                None,
            ));
            seq += 1;
            out.push(lambda_record(
                "MODIFY",
                seq,
                1_764_000_000 + seq as i64,
                Some(&second),
                Some(&first),
            ));
            if remove {
                seq += 1;
                out.push(lambda_record(
                    "REMOVE",
                    seq,
                    1_764_000_000 + seq as i64,
                    None,
                    Some(&second),
                ));
            }
        }
        out
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn records_survive_parquet(events in history(), keep_old in any::<bool>(), level in 1i32..8) {
        let options = ConvertOptions { keep_modify_old_image: keep_old };
        let mut records: Vec<ChangeRecord> = events
            .iter()
            .map(|e| from_lambda_record(e, "shardId-00000001-abc", 1_764_000_999_123, &options).unwrap())
            .collect();
        let written = write_change_file(
            "mem://roundtrip.parquet",
            records.clone(),
            &WriteOptions { zstd_level: level, max_row_group_rows: 3, batch_rows: 2 },
        ).unwrap();
        let read = read_change_file("mem://roundtrip.parquet", written.bytes).unwrap();
        records.sort_by(|a, b| a.identity().cmp(&b.identity()));
        prop_assert_eq!(&read, &records);

        // Images are the stream's items, losslessly; and a MODIFY/REMOVE's hash equals the hash of
        // the previous version's new image.
        for (event, record) in events.iter().zip(events.iter().map(|e| from_lambda_record(e, "s", 0, &options).unwrap())) {
            if let Some(new) = event["dynamodb"].get("NewImage") {
                let original: rewind_format::Item = serde_json::from_value(new.clone()).unwrap();
                let expected = item_to_json(&original);
                prop_assert_eq!(record.new_image.as_deref(), Some(expected.as_str()));
                let back = item_from_json(record.new_image.as_deref().unwrap()).unwrap();
                prop_assert_eq!(item_to_json(&back), item_to_json(&original));
            }
            if let Some(old) = event["dynamodb"].get("OldImage") {
                let original: rewind_format::Item = serde_json::from_value(old.clone()).unwrap();
                prop_assert_eq!(record.old_image_hash, Some(rewind_format::image_hash(&item_to_json(&original))));
                let stored = record.event_name == EventName::Remove || keep_old;
                prop_assert_eq!(record.old_image.is_some(), stored);
            }
        }
    }

    #[test]
    fn images_written_from_event_json_equal_the_typed_path(it in item()) {
        // Capture writes Lambda images straight from the event's JSON; the Streams API path
        // goes through typed values. Both must give the same canonical text (hashes link them).
        let value = serde_json::to_value(&it).unwrap();
        prop_assert_eq!(rewind_format::item_value_to_json(&value).unwrap(), item_to_json(&it));
    }

    #[test]
    fn canonical_json_is_independent_of_order_and_lossless(it in item()) {
        let text = item_to_json(&it);
        let parsed = item_from_json(&text).unwrap();
        prop_assert_eq!(item_to_json(&parsed), text.clone());
        // Shuffle: serialise through serde_json (random map order), parse, canonicalise again.
        let reparsed: rewind_format::Item = serde_json::from_str(&serde_json::to_string(&it).unwrap()).unwrap();
        prop_assert_eq!(item_to_json(&reparsed), text);
        // Numbers are the strings that were sent; binary is the bytes; sets hold the same members.
        prop_assert_eq!(parsed.len(), it.len());
        for (name, v) in &it {
            prop_assert_eq!(normalise(parsed[name].clone()), normalise(v.clone()));
        }
    }
}

/// Sets sorted (they have no order), everything else as it is.
fn normalise(v: rewind_format::AttributeValue) -> rewind_format::AttributeValue {
    use rewind_format::AttributeValue as A;
    match v {
        A::Ss(mut s) => {
            s.sort();
            A::Ss(s)
        }
        A::Ns(mut s) => {
            s.sort();
            A::Ns(s)
        }
        A::Bs(mut s) => {
            s.sort();
            A::Bs(s)
        }
        A::L(l) => A::L(l.into_iter().map(normalise).collect()),
        A::M(m) => A::M(m.into_iter().map(|(k, v)| (k, normalise(v))).collect()),
        other => other,
    }
}
