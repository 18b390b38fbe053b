//! Stream records -> change records, from both shapes (Lambda JSON, Streams API), and the errors
//! that malformed records give.

mod common;

use aws_sdk_dynamodbstreams::types::{
    AttributeValue as SV, Identity, OperationType, Record, StreamRecord,
};
use rewind_format::{
    from_lambda_record, from_streams_record, image_hash, ChangeRecord, ConvertOptions, EventName,
    RecordSource,
};
use serde_json::{json, Value};

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn convert(record: &Value) -> ChangeRecord {
    from_lambda_record(
        record,
        "shardId-00000001-a",
        1_764_138_999_000,
        &ConvertOptions::default(),
    )
    .unwrap()
}

#[test]
fn aws_sample_event_converts_every_kind() {
    let event = fixture("lambda_event_aws.json");
    let records: Vec<ChangeRecord> = event["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(convert)
        .collect();
    let [insert, modify, remove] = &records[..] else {
        panic!()
    };

    assert_eq!(insert.table_name, "ExampleTableWithStream");
    assert_eq!(insert.stream_label, "2015-06-27T00:48:05.899");
    assert_eq!(insert.event_name, EventName::Insert);
    assert_eq!(
        insert.sequence_number,
        "0000000000004421584500000000017450439091"
    );
    assert_eq!(insert.approximate_creation_time_ms, 1_764_138_968_000);
    assert_eq!(insert.keys, r#"{"Id":{"N":"101"}}"#);
    assert_eq!(
        insert.new_image.as_deref(),
        Some(r#"{"Id":{"N":"101"},"Message":{"S":"New item!"}}"#)
    );
    assert_eq!(
        (insert.old_image.as_deref(), insert.old_image_hash),
        (None, None)
    );
    assert_eq!(insert.shard_id, "shardId-00000001-a");
    assert_eq!(insert.ingested_at_ms, 1_764_138_999_000);

    // MODIFY: old image not kept by default, but its hash links it to the INSERT's new image.
    assert_eq!(modify.old_image, None);
    assert_eq!(
        modify.old_image_hash,
        Some(image_hash(insert.new_image.as_deref().unwrap()))
    );
    assert_eq!(modify.key, insert.key);

    // REMOVE: the deleted item is kept; a TTL deletion keeps its identity.
    assert_eq!(remove.new_image, None);
    assert_eq!(remove.old_image, modify.new_image);
    assert_eq!(
        remove.old_image_hash,
        Some(image_hash(modify.new_image.as_deref().unwrap()))
    );
    assert_eq!(
        remove.user_identity.as_deref(),
        Some(r#"{"principalId":"dynamodb.amazonaws.com","type":"Service"}"#)
    );
}

#[test]
fn modify_old_image_is_kept_when_asked() {
    let event = fixture("lambda_event_aws.json");
    let r = from_lambda_record(
        &event["Records"][1],
        "s",
        0,
        &ConvertOptions {
            keep_modify_old_image: true,
        },
    )
    .unwrap();
    assert_eq!(
        r.old_image.as_deref(),
        Some(r#"{"Id":{"N":"101"},"Message":{"S":"New item!"}}"#)
    );
}

#[test]
fn fractional_times_and_every_type_survive() {
    let r = convert(&fixture("lambda_record_fractional_time.json"));
    assert_eq!(r.approximate_creation_time_ms, 1_764_138_968_123);
    assert_eq!(r.stream_label, "2026-11-26T06:36:08.123456");
    let image = r.new_image.unwrap();
    for part in [
        r#""ledger":{"N":"12345678901234567890123456789012345678"}"#,
        r#""sk":{"N":"1E+2"}"#,
        r#""avatar":{"B":"iVBORw0KGgo="}"#,
        r#""tags":{"SS":["early","vip"]}"#,
        r#""scores":{"NS":["1.5","3"]}"#,
        r#""blobs":{"BS":["AQ==","Ag=="]}"#,
        r#""address":{"M":{"city":{"S":"Zürich"},"lines":{"L":[{"S":"Bahnhofstrasse 1"},{"N":"8001"}]}}}"#,
    ] {
        assert!(image.contains(part), "{part} not in {image}");
    }
    // 1E+2 is the key 100.
    let mut other = fixture("lambda_record_fractional_time.json");
    other["dynamodb"]["Keys"]["sk"] = json!({"N": "100"});
    assert_eq!(convert(&other).key, r.key);
}

fn streams_record(event: OperationType, seq: &str) -> Record {
    let image = |msg: &str| {
        [
            ("Id".to_string(), SV::N("101".into())),
            ("Message".to_string(), SV::S(msg.into())),
            ("Tags".to_string(), SV::Ss(vec!["b".into(), "a".into()])),
            (
                "Nested".to_string(),
                SV::M([("x".to_string(), SV::L(vec![SV::Bool(true), SV::Null(true)]))].into()),
            ),
        ]
        .into_iter()
        .collect::<std::collections::HashMap<_, _>>()
    };
    let mut change = StreamRecord::builder()
        .approximate_creation_date_time(aws_smithy_types::DateTime::from_secs(1_764_138_969))
        .keys("Id", SV::N("101".into()))
        .sequence_number(seq)
        .size_bytes(59);
    if event != OperationType::Remove {
        change = change.set_new_image(Some(image("after")));
    }
    if event != OperationType::Insert {
        change = change.set_old_image(Some(image("before")));
    }
    let mut record = Record::builder()
        .event_id("e1")
        .event_name(event.clone())
        .dynamodb(change.build());
    if event == OperationType::Remove {
        record = record.user_identity(
            Identity::builder()
                .principal_id("dynamodb.amazonaws.com")
                .r#type("Service")
                .build(),
        );
    }
    record.build()
}

#[test]
fn streams_api_and_lambda_shapes_give_the_same_record() {
    let source = RecordSource {
        table_name: "shop".into(),
        stream_label: "2026-11-26T06:00:00.000".into(),
        shard_id: "shardId-00000001-a".into(),
        ingested_at_ms: 1_764_138_999_000,
    };
    for (op, name) in [
        (OperationType::Insert, "INSERT"),
        (OperationType::Modify, "MODIFY"),
        (OperationType::Remove, "REMOVE"),
    ] {
        let from_api = from_streams_record(
            &streams_record(op.clone(), "777"),
            &source,
            &ConvertOptions::default(),
        )
        .unwrap();
        let image = |msg: &str| {
            json!({
                "Id": {"N": "101"}, "Message": {"S": msg}, "Tags": {"SS": ["a", "b"]},
                "Nested": {"M": {"x": {"L": [{"BOOL": true}, {"NULL": true}]}}}
            })
        };
        let mut lambda = json!({
            "eventID": "e1", "eventName": name, "eventVersion": "1.1", "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "dynamodb": {"ApproximateCreationDateTime": 1764138969, "Keys": {"Id": {"N": "101"}},
                         "SequenceNumber": "777", "SizeBytes": 59, "StreamViewType": "NEW_AND_OLD_IMAGES"},
            "eventSourceARN": "arn:aws:dynamodb:us-east-1:1:table/shop/stream/2026-11-26T06:00:00.000"
        });
        if name != "REMOVE" {
            lambda["dynamodb"]["NewImage"] = image("after");
        }
        if name != "INSERT" {
            lambda["dynamodb"]["OldImage"] = image("before");
        }
        if name == "REMOVE" {
            lambda["userIdentity"] =
                json!({"type": "Service", "principalId": "dynamodb.amazonaws.com"});
        }
        assert_eq!(from_api, convert(&lambda), "{name}");
    }
}

#[test]
fn malformed_records_name_the_field_and_the_record() {
    let good = fixture("lambda_event_aws.json")["Records"][0].clone();
    type Breakage = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Breakage)> = vec![
        ("eventName", Box::new(|r| r["eventName"] = json!("UPSERT"))),
        (
            "eventSourceARN",
            Box::new(|r| r["eventSourceARN"] = json!("arn:aws:s3:::x")),
        ),
        (
            "eventSourceARN",
            Box::new(|r| {
                r.as_object_mut().unwrap().remove("eventSourceARN");
            }),
        ),
        (
            "SequenceNumber",
            Box::new(|r| r["dynamodb"]["SequenceNumber"] = json!("12ab")),
        ),
        (
            "SequenceNumber",
            Box::new(|r| {
                r["dynamodb"]
                    .as_object_mut()
                    .unwrap()
                    .remove("SequenceNumber");
            }),
        ),
        (
            "ApproximateCreationDateTime",
            Box::new(|r| {
                r["dynamodb"]
                    .as_object_mut()
                    .unwrap()
                    .remove("ApproximateCreationDateTime");
            }),
        ),
        ("Keys", Box::new(|r| r["dynamodb"]["Keys"] = json!({}))),
        (
            "Keys",
            Box::new(|r| r["dynamodb"]["Keys"] = json!({"Id": {"BOOL": true}})),
        ),
        (
            "Keys",
            Box::new(|r| r["dynamodb"]["Keys"] = json!({"Id": {"N": "1x"}})),
        ),
        (
            "NewImage",
            Box::new(|r| r["dynamodb"]["NewImage"]["Price"] = json!({"N": "12,50"})),
        ),
        (
            "NewImage",
            Box::new(|r| {
                r["dynamodb"].as_object_mut().unwrap().remove("NewImage");
            }),
        ),
        // Images are checked as they are written, so an unknown type names the image and the
        // attribute rather than only the record.
        (
            "NewImage",
            Box::new(|r| r["dynamodb"]["NewImage"]["x"] = json!({"Q": "1"})),
        ),
        (
            "OldImage",
            Box::new(|r| r["dynamodb"]["OldImage"] = json!({"x": {"N": "1", "S": "1"}})),
        ),
        ("<record>", Box::new(|r| r["dynamodb"] = json!("nope"))),
    ];
    for (field, break_it) in cases {
        let mut r = good.clone();
        break_it(&mut r);
        let e = from_lambda_record(&r, "s", 0, &ConvertOptions::default()).unwrap_err();
        assert_eq!(e.field, field, "{e}");
        let text = e.to_string();
        assert!(
            text.contains("c4ca4238a0b923820dcc509a6f75849b"),
            "record not named: {text}"
        );
    }
}
