//! Lambda stream events: one record on its own, and whole batches through the handler.

use crate::scratch::Scratch;
use rewind_capture::{CaptureOptions, Capturer};
use rewind_format::{
    encode_key, from_lambda_record, from_lambda_record_json, item_from_json, ConvertOptions,
    StreamArn,
};
use serde_json::Value;
use std::collections::BTreeSet;

/// One element of `Records`: a record that converts must carry canonical keys and images that
/// parse back, and a binary key that is the encoding of its keys.
pub fn lambda_record(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    // Inputs that are whole events are taken record by record.
    let is_event = value.get("Records").and_then(Value::as_array).is_some();
    let records = match value.get("Records").and_then(Value::as_array) {
        Some(records) => records.clone(),
        None => vec![value],
    };
    for options in [
        ConvertOptions::default(),
        ConvertOptions {
            keep_modify_old_image: true,
        },
    ] {
        for record in &records {
            let converted = from_lambda_record(record, "shardId-fuzz", 0, &options);
            // The text path (what the capture Lambda runs) answers exactly as the Value path:
            // on the input's own text (names in any order, repeated, escaped) when it is one
            // record, and on each record written out again.
            if !is_event {
                let text = std::str::from_utf8(data).expect("parsed as JSON, so UTF-8");
                assert_eq!(
                    from_lambda_record_json(text, "shardId-fuzz", 0, &options),
                    converted,
                    "text path differs on {text}"
                );
            }
            assert_eq!(
                from_lambda_record_json(&record.to_string(), "shardId-fuzz", 0, &options),
                converted,
                "text path differs on {record}"
            );
            let Ok(change) = converted else {
                continue;
            };
            let keys = item_from_json(&change.keys)
                .unwrap_or_else(|e| panic!("keys {} do not parse: {e}", change.keys));
            assert_eq!(
                encode_key(&keys).ok(),
                Some(change.key.clone()),
                "binary key"
            );
            for image in [&change.new_image, &change.old_image].into_iter().flatten() {
                item_from_json(image)
                    .unwrap_or_else(|e| panic!("image {image} does not parse: {e}"));
            }
        }
    }
}

/// A whole event through the capture Lambda's handler, into an empty store. When the handler
/// answers with no `batchItemFailures`, every record is accounted for: captured or quarantined,
/// and every captured record's sequence number is in a change file in the store.
pub fn lambda_batch(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(event) = serde_json::from_str::<Value>(text) else {
        return;
    };
    let scratch = Scratch::get();
    let store = scratch.empty_store("capture");
    let capturer = Capturer::new(store.clone(), CaptureOptions::default());
    let records = event
        .get("Records")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let arn = event
        .get("eventSourceARN")
        .or_else(|| records.first().and_then(|r| r.get("eventSourceARN")))
        .and_then(Value::as_str)
        .map(str::to_string);
    let shard = event
        .get("shardId")
        .and_then(Value::as_str)
        .unwrap_or("shardId-fuzz")
        .to_string();
    // The handler reads the text itself, as the Lambda does; the checks below read it parsed.
    let Ok((response, stats)) = scratch.block_on(rewind_capture::lambda::handle_stream_event(
        &capturer,
        text,
        1_800_000_000_000,
    )) else {
        return;
    };
    let failures = response
        .get("batchItemFailures")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    if failures > 0 || records.is_empty() {
        return;
    }
    assert_eq!(
        stats.records_captured + stats.quarantined,
        records.len() as u64,
        "records neither captured nor quarantined: {stats:?}"
    );
    // What converts and belongs to the event's stream (capture quarantines records of another
    // table or stream) must be in the store.
    let Some(stream) = arn.as_deref().and_then(|a| StreamArn::parse(a).ok()) else {
        return;
    };
    let expected: BTreeSet<String> = records
        .iter()
        .filter_map(|r| from_lambda_record(r, &shard, 0, &ConvertOptions::default()).ok())
        .filter(|r| r.table_name == stream.table && r.stream_label == stream.label)
        .map(|r| r.sequence_number)
        .collect();
    let stored: BTreeSet<String> = scratch.block_on(async {
        let mut seen = BTreeSet::new();
        for meta in rewind_store::list_all(store.as_ref(), "")
            .await
            .expect("list")
        {
            if !meta.key.ends_with(".parquet") {
                continue;
            }
            let body = store.get(&meta.key).await.expect("get");
            for r in rewind_format::read_change_file(&meta.key, body)
                .expect("a change file capture wrote")
            {
                seen.insert(r.sequence_number);
            }
        }
        seen
    });
    let missing: Vec<_> = expected.difference(&stored).collect();
    assert!(
        missing.is_empty(),
        "captured records not in any change file: {missing:?}"
    );
}
