//! The export target: layout, manifests, idempotence, refusal to overwrite, and a round trip
//! through ImportTable (moto server).

use flate2::read::GzDecoder;
use rewind_catalog::TableDescription;
use rewind_format::bucket_of;
use rewind_format::{encode_key, item_to_json, AttributeValue, Item};
use rewind_replay::state::LiveItem;
use rewind_replay::target::export::{
    data_key, parse_data_key, ExportSummary, ExportTarget, ManifestFile, DATA_PREFIX,
    MANIFEST_FILES, MANIFEST_SUMMARY,
};
use rewind_replay::target::{FinishContext, PrepareContext, RestoreTarget, WriteMode, WriteStats};
use rewind_replay::ReplayError;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc;

const SOURCE: &str = "orders";
const AT: i64 = 1_795_672_812; // 2026-11-26T06:00:12Z

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn n(v: &str) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// Items keyed pk (S) + sk (N), each holding every attribute type, nested ones included.
fn sample_items(count: usize) -> Vec<Item> {
    items_of(count, false)
}

/// The items moto's ImportTable can read (moto 5.2.5 parses the lines with py-partiql-parser
/// 0.6.3, whose JSON reader, unlike DynamoDB's, does not decode escapes: `\n` stays two
/// characters and `\"` ends the string; and it stops at the first empty object `{}`, silently,
/// so the rest of the file is lost while the import reports COMPLETED). So: strings without
/// characters JSON escapes, no empty map. Every type, nesting, empty list, 38-digit numbers and
/// non-ASCII text are still there.
fn moto_items(count: usize) -> Vec<Item> {
    items_of(count, true)
}

fn items_of(count: usize, moto_safe: bool) -> Vec<Item> {
    (0..count)
        .map(|i| {
            let mut m: HashMap<String, AttributeValue> = HashMap::new();
            m.insert("pk".into(), s(&format!("user#{}", i % 7)));
            m.insert("sk".into(), n(&i.to_string()));
            m.insert("status".into(), s(["NEW", "PAID", "SHIPPED"][i % 3]));
            let text = if moto_safe {
                format!("héllo {i} ✓ / \u{1F600}")
            } else {
                format!("héllo \"{i}\"\nline two\t✓ \\ / \u{1F600} \u{7}")
            };
            m.insert("text".into(), s(&text));
            m.insert("empty".into(), s(""));
            m.insert("big".into(), n("12345678901234567890123456789012345678"));
            m.insert(
                "tiny".into(),
                n("-0.00000000000000000000000000000000000012345678901234567890123456789012345678"),
            );
            m.insert("written".into(), n("12.050"));
            m.insert("bin".into(), AttributeValue::B(vec![0, 1, 2, 255, i as u8]));
            m.insert("flag".into(), AttributeValue::Bool(i % 2 == 0));
            m.insert("nothing".into(), AttributeValue::Null(true));
            m.insert(
                "tags".into(),
                AttributeValue::Ss(vec!["b".into(), "a".into(), format!("t{i}")]),
            );
            m.insert(
                "nums".into(),
                AttributeValue::Ns(vec![
                    "1".into(),
                    "-2.5".into(),
                    "99999999999999999999999999999999999999".into(),
                    format!("{i}.5"),
                ]),
            );
            m.insert(
                "blobs".into(),
                AttributeValue::Bs(vec![vec![1, 2, 3], vec![i as u8, 0, 9]]),
            );
            let deep: HashMap<String, AttributeValue> = [(
                "deep".to_string(),
                AttributeValue::L(vec![
                    AttributeValue::Null(true),
                    AttributeValue::Bool(false),
                ]),
            )]
            .into();
            m.insert(
                "list".into(),
                AttributeValue::L(vec![
                    s("x"),
                    n("1"),
                    AttributeValue::M(deep),
                    AttributeValue::L(vec![]),
                    AttributeValue::Bs(vec![vec![7]]),
                ]),
            );
            let mut nested: HashMap<String, AttributeValue> = [
                ("b".to_string(), AttributeValue::Ss(vec!["z".into()])),
                (
                    "ns".to_string(),
                    AttributeValue::Ns(vec!["3".into(), "-1".into()]),
                ),
            ]
            .into();
            if !moto_safe {
                nested.insert("empty".into(), AttributeValue::M(HashMap::new()));
            }
            let map: HashMap<String, AttributeValue> = [
                ("a".to_string(), n("0")),
                ("nested".to_string(), AttributeValue::M(nested)),
                ("i".to_string(), n(&i.to_string())),
            ]
            .into();
            m.insert("map".into(), AttributeValue::M(map));
            Item::from(m)
        })
        .collect()
}

fn live(item: &Item) -> LiveItem {
    let keys: HashMap<String, AttributeValue> = ["pk", "sk"]
        .iter()
        .map(|k| (k.to_string(), item[*k].clone()))
        .collect();
    LiveItem::new(
        encode_key(&keys).expect("key"),
        &item_to_json(&keys),
        &item_to_json(item),
        AT * 1000,
        "2026-11-26T06:00:00.000",
        &format!("{:040}", 1),
    )
}

/// The items of each bucket, sorted by key (what the restore hands a target).
fn by_bucket(items: &[Item], buckets: u32) -> Vec<Vec<LiveItem>> {
    let mut out = vec![Vec::new(); buckets as usize];
    for item in items {
        let l = live(item);
        out[bucket_of(&l.key, buckets) as usize].push(l);
    }
    for b in &mut out {
        b.sort_by(|a, b| a.key.cmp(&b.key));
    }
    out
}

fn description() -> TableDescription {
    serde_json::from_value(serde_json::json!({
        "format_version": 1,
        "table_name": SOURCE,
        "table_arn": format!("arn:aws:dynamodb:us-east-1:123456789012:table/{SOURCE}"),
        "table_id": "0f1e2d3c-0000-4000-8000-000000000000",
        "key_schema": [
            {"attribute_name": "pk", "key_type": "HASH"},
            {"attribute_name": "sk", "key_type": "RANGE"}
        ],
        "attribute_definitions": [
            {"attribute_name": "created", "attribute_type": "N"},
            {"attribute_name": "pk", "attribute_type": "S"},
            {"attribute_name": "sk", "attribute_type": "N"},
            {"attribute_name": "status", "attribute_type": "S"}
        ],
        "billing_mode": "PAY_PER_REQUEST",
        "global_secondary_indexes": [{
            "index_name": "byStatus",
            "key_schema": [{"attribute_name": "status", "key_type": "HASH"}],
            "projection": {"projection_type": "KEYS_ONLY", "non_key_attributes": []}
        }],
        "local_secondary_indexes": [{
            "index_name": "byCreated",
            "key_schema": [
                {"attribute_name": "pk", "key_type": "HASH"},
                {"attribute_name": "created", "key_type": "RANGE"}
            ],
            "projection": {"projection_type": "ALL", "non_key_attributes": []}
        }],
        "time_to_live": {"status": "ENABLED", "attribute_name": "expires"},
        "stream": {"enabled": true, "view_type": "NEW_AND_OLD_IMAGES"},
        "captured_at": "2026-11-26T05:00:00Z"
    }))
    .expect("a valid description")
}

fn prepare_ctx(mode: WriteMode, buckets: u32) -> PrepareContext {
    PrepareContext {
        scope: None,
        description: Some(description()),
        key_names: vec!["pk".into(), "sk".into()],
        mode,
        buckets,
    }
}

fn finish_ctx(buckets: u32, items: u64) -> FinishContext {
    FinishContext {
        description: Some(description()),
        no_ttl: false,
        source_table: SOURCE.into(),
        at: AT,
        buckets,
        items,
    }
}

/// prepare, every bucket, finish: what a restore does.
async fn write_export(target: &ExportTarget, mode: WriteMode, items: &[Item], buckets: u32) {
    target
        .prepare(&prepare_ctx(mode, buckets))
        .await
        .expect("prepare");
    let stats = WriteStats::default();
    let mut total_bytes = 0;
    for (b, lives) in by_bucket(items, buckets).iter().enumerate() {
        let written = target
            .write_bucket(b as u32, lives, &stats)
            .await
            .expect("write_bucket");
        assert_eq!(written.items_written, lives.len() as u64);
        let line_bytes: usize = lives.iter().map(|l| l.image().len() + 10).sum();
        assert_eq!(written.bytes_written, line_bytes as u64);
        assert_eq!(
            (written.deleted, written.unchanged, written.changed),
            (0, 0, 0)
        );
        total_bytes += written.bytes_written;
    }
    assert_eq!(WriteStats::get(&stats.items), items.len() as u64);
    assert_eq!(WriteStats::get(&stats.bytes), total_bytes);
    target
        .finish(&finish_ctx(buckets, items.len() as u64))
        .await
        .expect("finish");
}

/// Every item the target's scan sends, as canonical DynamoDB JSON, sorted.
async fn scanned(target: &ExportTarget) -> Vec<String> {
    let (tx, mut rx) = mpsc::channel::<Vec<Item>>(4);
    let collect = tokio::spawn(async move {
        let mut all = Vec::new();
        while let Some(page) = rx.recv().await {
            assert!(!page.is_empty(), "scan sends no empty pages");
            all.extend(page.iter().map(|i| item_to_json(i)));
        }
        all
    });
    target.scan(tx).await.expect("scan");
    let mut all = collect.await.expect("collector");
    all.sort();
    all
}

fn canonical(items: &[Item]) -> Vec<String> {
    let mut all: Vec<String> = items.iter().map(|i| item_to_json(i)).collect();
    all.sort();
    all
}

/// A file's CRC32C, size and modification time.
type FileState = (u32, usize, SystemTime);

/// Every file under `dir` (dot-files included).
fn snapshot(dir: &Path) -> BTreeMap<String, FileState> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, FileState>) {
        for entry in std::fs::read_dir(dir).expect("read_dir") {
            let entry = entry.expect("dir entry");
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).expect("under root");
                let modified = entry
                    .metadata()
                    .expect("metadata")
                    .modified()
                    .expect("mtime");
                let bytes = std::fs::read(&path).expect("read");
                out.insert(
                    rel.to_string_lossy().into_owned(),
                    (crc32c::crc32c(&bytes), bytes.len(), modified),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The visible files under `dir/data` (not the local store's dot-file sidecars).
fn data_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("data"))
        .expect("data/ exists")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with('.'))
        .map(|name| format!("{DATA_PREFIX}{name}"))
        .collect();
    names.sort();
    names
}

fn gunzip(bytes: &[u8]) -> String {
    let mut text = String::new();
    GzDecoder::new(bytes)
        .read_to_string(&mut text)
        .expect("a gzip of UTF-8");
    text
}

#[test]
fn data_keys_round_trip() {
    assert_eq!(data_key(3, 16), "data/bucket-0003-of-0016.json.gz");
    assert_eq!(data_key(12345, 65536), "data/bucket-12345-of-65536.json.gz");
    assert_eq!(
        parse_data_key("data/bucket-0003-of-0016.json.gz"),
        Some((3, 16))
    );
    assert_eq!(
        parse_data_key("data/bucket-12345-of-65536.json.gz"),
        Some((12345, 65536))
    );
    for bad in [
        "data/bucket-0016-of-0016.json.gz",
        "data/bucket-3-of-16.json.gz",
        "data/bucket-0003-of-0016.json",
        "bucket-0003-of-0016.json.gz",
        "data/bucket-+003-of-0016.json.gz",
        "data/other.json.gz",
    ] {
        assert_eq!(parse_data_key(bad), None, "{bad}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_export_round_trip_and_modes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("file://{}", dir.path().display());
    let items = sample_items(20);
    let buckets = 32; // 20 items: at least 12 buckets are empty
    let target = ExportTarget::open(&url).await.expect("open");
    assert_eq!(target.id(), url);
    assert_eq!(target.active_ttl_attribute().await.expect("ttl"), None);
    write_export(&target, WriteMode::Fresh, &items, buckets).await;

    // What a scan (verify) reads back is exactly what was written.
    assert_eq!(scanned(&target).await, canonical(&items));

    // One gzip object per non-empty bucket, lines {"Item":<image>}\n in key order.
    let expected = by_bucket(&items, buckets);
    let expected_files: Vec<String> = (0..buckets)
        .filter(|b| !expected[*b as usize].is_empty())
        .map(|b| data_key(b, buckets))
        .collect();
    assert!(expected_files.len() < buckets as usize);
    assert_eq!(data_files(dir.path()), expected_files);
    for key in &expected_files {
        let (b, m) = parse_data_key(key).expect("a data key");
        assert_eq!(m, buckets);
        let text = gunzip(&std::fs::read(dir.path().join(key)).expect("data file"));
        let want: String = expected[b as usize]
            .iter()
            .map(|l| format!("{{\"Item\":{}}}\n", l.image()))
            .collect();
        assert_eq!(text, want, "{key}");
    }

    // Manifests beside data/, listing exactly the data files.
    let mut top: Vec<String> = std::fs::read_dir(dir.path())
        .expect("root")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with('.'))
        .collect();
    top.sort();
    assert_eq!(top, ["data", MANIFEST_FILES, MANIFEST_SUMMARY]);
    let manifest = target.read_manifest_files().await.expect("manifest files");
    let raw_manifest =
        std::fs::read_to_string(dir.path().join(MANIFEST_FILES)).expect("manifest text");
    assert_eq!(raw_manifest.lines().count(), manifest.len());
    assert!(raw_manifest.ends_with('\n'));
    let listed: Vec<String> = manifest.iter().map(|f| f.data_file_key.clone()).collect();
    assert_eq!(listed, expected_files);
    for f in &manifest {
        let (b, _) = parse_data_key(&f.data_file_key).expect("data key");
        let lives = &expected[b as usize];
        assert_eq!(f.item_count, lives.len() as u64);
        assert_eq!(f.data_file_s3_key, f.data_file_key, "local: relative keys");
        let bytes = std::fs::read(dir.path().join(&f.data_file_key)).expect("data file");
        assert_eq!(f.size_bytes, bytes.len() as u64);
        assert_eq!(f.uncompressed_size_bytes, gunzip(&bytes).len() as u64);
        let crc = crc32c::crc32c(&bytes);
        assert!(f.crc32c_checksum.is_some());
        let sidecar = dir
            .path()
            .join("data")
            .join(format!(".{}.crc32c-{crc:08x}", &f.data_file_key[5..]));
        assert!(sidecar.exists(), "checksum sidecar {}", sidecar.display());
    }
    let summary: ExportSummary = target
        .read_summary()
        .await
        .expect("summary")
        .expect("a summary");
    assert_eq!(summary.item_count, items.len() as u64);
    assert_eq!(summary.version, "2020-06-30");
    assert_eq!(summary.export_arn, None);
    assert_eq!(summary.export_time, "2026-11-26T06:00:12Z");
    assert_eq!(summary.output_format, "DYNAMODB_JSON");
    assert_eq!(
        summary.table_arn.as_deref(),
        Some("arn:aws:dynamodb:us-east-1:123456789012:table/orders")
    );
    assert_eq!(
        (summary.s3_bucket.as_deref(), summary.s3_prefix.as_deref()),
        (None, None)
    );
    assert_eq!(summary.manifest_files_s3_key, MANIFEST_FILES);
    assert!(summary.start_time <= summary.end_time);
    let info = &summary.rewind;
    assert_eq!(info.source_table, SOURCE);
    assert_eq!(info.restore_point, "2026-11-26T06:00:12Z");
    assert_eq!(info.restore_point_epoch_seconds, AT);
    assert_eq!(info.bucket_count, buckets);
    assert_eq!(info.data_file_count, expected_files.len() as u64);
    let import = &info.import_table;
    assert_eq!(import.input_format, "DYNAMODB_JSON");
    assert_eq!(import.input_compression_type, "GZIP");
    assert_eq!(import.s3_bucket_source.s3_key_prefix, "data/");
    assert_eq!(import.s3_bucket_source.s3_bucket, None);
    let params = import.table_creation_parameters.as_ref().expect("params");
    assert_eq!(
        params["KeySchema"],
        serde_json::json!([
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"}
        ])
    );
    // The LSI's attribute is left out: ImportTable cannot create LSIs, and CreateTable refuses
    // unused attribute definitions.
    assert_eq!(
        params["AttributeDefinitions"],
        serde_json::json!([
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
            {"AttributeName": "status", "AttributeType": "S"}
        ])
    );
    assert_eq!(params["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(params["GlobalSecondaryIndexes"][0]["IndexName"], "byStatus");
    assert!(info.notes.iter().any(|n| n.contains("byCreated")));
    assert!(info.notes.iter().any(|n| n.contains("\"expires\"")));
    let raw_summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(MANIFEST_SUMMARY)).expect("summary"))
            .expect("JSON");
    for field in [
        "version",
        "exportArn",
        "startTime",
        "endTime",
        "tableArn",
        "exportTime",
        "s3Prefix",
        "itemCount",
        "outputFormat",
        "manifestFilesS3Key",
    ] {
        assert!(raw_summary.get(field).is_some(), "summary lacks {field}");
    }
    assert_eq!(
        raw_summary["rewind"]["importTable"]["S3BucketSource"]["S3KeyPrefix"],
        "data/"
    );

    // Fresh on an existing export: TargetExists, and nothing touched.
    let before = snapshot(dir.path());
    let again = ExportTarget::open(&url).await.expect("open");
    match again.prepare(&prepare_ctx(WriteMode::Fresh, buckets)).await {
        Err(ReplayError::TargetExists { target }) => assert_eq!(target, url),
        other => panic!("expected TargetExists, got {other:?}"),
    }
    assert_eq!(snapshot(dir.path()), before);

    // Resume (a new process): rewriting a bucket is idempotent, and finish counts the files
    // it did not write itself by reading them back.
    let resumed = ExportTarget::open(&url).await.expect("open");
    resumed
        .prepare(&prepare_ctx(WriteMode::Resume, buckets))
        .await
        .expect("resume");
    let first = parse_data_key(&expected_files[0]).expect("key").0;
    let stats = WriteStats::default();
    resumed
        .write_bucket(first, &expected[first as usize], &stats)
        .await
        .expect("rewrite");
    let empty = (0..buckets)
        .find(|b| expected[*b as usize].is_empty())
        .expect("an empty bucket");
    resumed
        .write_bucket(empty, &[], &stats)
        .await
        .expect("empty bucket");
    resumed
        .finish(&finish_ctx(buckets, items.len() as u64))
        .await
        .expect("finish after resume");
    let after = snapshot(dir.path());
    // Contents only (the rewritten file is new), and the summary has a new end time.
    let contents = |snap: &BTreeMap<String, FileState>| -> BTreeMap<String, (u32, usize)> {
        snap.iter()
            .filter(|(k, _)| !k.contains(MANIFEST_SUMMARY))
            .map(|(k, (crc, len, _))| (k.clone(), (*crc, *len)))
            .collect()
    };
    assert_eq!(
        contents(&after),
        contents(&before),
        "data and file manifest unchanged"
    );
    assert_eq!(
        resumed.read_manifest_files().await.expect("manifest"),
        manifest
    );
    assert_eq!(scanned(&resumed).await, canonical(&items));

    // finish with a wrong item count (a bucket missing): refused.
    let err = resumed
        .finish(&finish_ctx(buckets, items.len() as u64 + 1))
        .await
        .expect_err("item count mismatch");
    assert!(
        matches!(err, ReplayError::Invalid { what: "export", .. }),
        "{err}"
    );

    // A resume with another bucket count meets the old files at finish: refused, naming one.
    let confused = ExportTarget::open(&url).await.expect("open");
    confused
        .prepare(&prepare_ctx(WriteMode::Resume, 4))
        .await
        .expect("resume");
    for (b, lives) in by_bucket(&items, 4).iter().enumerate() {
        confused
            .write_bucket(b as u32, lives, &stats)
            .await
            .expect("write");
    }
    match confused.finish(&finish_ctx(4, items.len() as u64)).await {
        Err(ReplayError::Invalid {
            what: "export data file",
            location,
            ..
        }) => assert!(location.contains("-of-0032.json.gz"), "{location}"),
        other => panic!("expected a stale data file, got {other:?}"),
    }

    // Reconcile clears every data file (other bucket counts included) and the manifests.
    let smaller: Vec<Item> = items[..12].to_vec();
    let reconciled = ExportTarget::open(&url).await.expect("open");
    write_export(&reconciled, WriteMode::Reconcile, &smaller, 4).await;
    let files = data_files(dir.path());
    assert!(!files.is_empty());
    assert!(
        files.iter().all(|f| f.ends_with("-of-0004.json.gz")),
        "{files:?}"
    );
    assert_eq!(scanned(&reconciled).await, canonical(&smaller));
    let manifest: Vec<ManifestFile> = reconciled.read_manifest_files().await.expect("manifest");
    assert_eq!(
        manifest
            .iter()
            .map(|f| f.data_file_key.clone())
            .collect::<Vec<_>>(),
        files
    );
    assert_eq!(manifest.iter().map(|f| f.item_count).sum::<u64>(), 12);
    let summary = reconciled
        .read_summary()
        .await
        .expect("read")
        .expect("summary");
    assert_eq!((summary.item_count, summary.rewind.bucket_count), (12, 4));
    // No sidecar of a deleted file is left behind.
    let hidden: Vec<String> = std::fs::read_dir(dir.path().join("data"))
        .expect("data")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.'))
        .collect();
    assert_eq!(hidden.len(), files.len(), "{hidden:?}");
}

#[tokio::test]
async fn fresh_refuses_a_manifest_alone_and_unprepared_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = dir.path().display().to_string(); // a plain path
    let target = ExportTarget::open(&url).await.expect("open");
    let stats = WriteStats::default();
    let items = sample_items(1);
    let err = target
        .write_bucket(0, &[live(&items[0])], &stats)
        .await
        .expect_err("write before prepare");
    assert!(matches!(err, ReplayError::Invalid { .. }), "{err}");

    target
        .store()
        .put(MANIFEST_SUMMARY, bytes::Bytes::from_static(b"{}"))
        .await
        .expect("put");
    let err = target
        .prepare(&prepare_ctx(WriteMode::Fresh, 1))
        .await
        .expect_err("a manifest exists");
    assert!(matches!(err, ReplayError::TargetExists { .. }), "{err}");
    assert!(!dir.path().join("data").exists());

    // Reconcile removes it; without a description the summary says what to fill in.
    target
        .prepare(&PrepareContext {
            scope: None,
            description: None,
            ..prepare_ctx(WriteMode::Reconcile, 1)
        })
        .await
        .expect("reconcile");
    let err = target
        .write_bucket(1, &[], &stats)
        .await
        .expect_err("bucket out of range");
    assert!(matches!(err, ReplayError::Invalid { .. }), "{err}");
    target
        .write_bucket(0, &[live(&items[0])], &stats)
        .await
        .expect("write");
    target
        .finish(&FinishContext {
            description: None,
            ..finish_ctx(1, 1)
        })
        .await
        .expect("finish");
    let summary = target.read_summary().await.expect("read").expect("summary");
    assert_eq!(summary.table_arn, None);
    assert!(summary
        .rewind
        .import_table
        .table_creation_parameters
        .is_none());
    assert!(summary
        .rewind
        .notes
        .iter()
        .any(|n| n.contains("TableCreationParameters")));
    assert_eq!(scanned(&target).await, canonical(&items));
}

#[tokio::test]
async fn scan_names_a_malformed_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = ExportTarget::open(&dir.path().display().to_string())
        .await
        .expect("open");
    let good = item_to_json(&sample_items(1)[0]);
    let cases = [
        (
            format!("{{\"Item\":{good}}}\n{{\"Item\":{{\"x\":{{\"N\":\"abc\"}}}}}}\n"),
            2,
        ),
        (format!("{{\"Item\":{good}}}\n\n"), 2),
        (format!("{{\"Itm\":{good}}}\n"), 1),
        (
            format!("{{\"Item\":{good}}}\n{{\"Item\":{{\"x\":{{\"SS\":[]}}}}}}"),
            2,
        ),
        (format!("{{\"Item\":{good}}}\n{{\"Item\":{good}"), 2),
    ];
    for (body, line) in cases {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, body.as_bytes()).expect("gzip");
        let key = data_key(0, 1);
        target
            .store()
            .put(&key, bytes::Bytes::from(gz.finish().expect("gzip")))
            .await
            .expect("put");
        let (tx, mut rx) = mpsc::channel(4);
        let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
        match target.scan(tx).await {
            Err(ReplayError::Invalid {
                what: "export line",
                location,
                reason,
            }) => {
                assert!(
                    location.ends_with(&format!("bucket-0000-of-0001.json.gz line {line}")),
                    "{location}: {reason}"
                );
            }
            other => panic!("{body:?}: expected an invalid line, got {other:?}"),
        }
        drain.await.expect("drain");
    }

    // Not gzip at all.
    target
        .store()
        .put(
            &data_key(0, 1),
            bytes::Bytes::from_static(b"{\"Item\":{}}\n"),
        )
        .await
        .expect("put");
    let (tx, _rx) = mpsc::channel(4);
    let err = target.scan(tx).await.expect_err("not gzip");
    assert!(
        err.to_string().contains("bucket-0000-of-0001.json.gz"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// Against moto: the export in S3, imported by ImportTable, equals the input.

fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

fn sdk_key_schema(v: &serde_json::Value) -> Vec<aws_sdk_dynamodb::types::KeySchemaElement> {
    use aws_sdk_dynamodb::types::{KeySchemaElement, KeyType};
    v.as_array()
        .expect("a key schema")
        .iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(k["AttributeName"].as_str().expect("name"))
                .key_type(KeyType::from(k["KeyType"].as_str().expect("type")))
                .build()
                .expect("key schema element")
        })
        .collect()
}

/// ImportTable's TableCreationParameters from the summary's JSON, under another table name.
fn creation_parameters(
    params: &serde_json::Value,
    table: &str,
) -> aws_sdk_dynamodb::types::TableCreationParameters {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, GlobalSecondaryIndex, Projection, ProjectionType,
        ScalarAttributeType, TableCreationParameters,
    };
    let mut builder = TableCreationParameters::builder()
        .table_name(table)
        .set_key_schema(Some(sdk_key_schema(&params["KeySchema"])))
        .billing_mode(BillingMode::from(
            params["BillingMode"].as_str().expect("billing mode"),
        ));
    for a in params["AttributeDefinitions"]
        .as_array()
        .expect("definitions")
    {
        builder = builder.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(a["AttributeName"].as_str().expect("name"))
                .attribute_type(ScalarAttributeType::from(
                    a["AttributeType"].as_str().expect("type"),
                ))
                .build()
                .expect("definition"),
        );
    }
    for g in params["GlobalSecondaryIndexes"]
        .as_array()
        .into_iter()
        .flatten()
    {
        builder = builder.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(g["IndexName"].as_str().expect("index name"))
                .set_key_schema(Some(sdk_key_schema(&g["KeySchema"])))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(
                            g["Projection"]["ProjectionType"]
                                .as_str()
                                .expect("projection"),
                        ))
                        .build(),
                )
                .build()
                .expect("GSI"),
        );
    }
    builder.build().expect("table creation parameters")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_export_imports_into_dynamodb() {
    use aws_sdk_dynamodb::types::{
        ImportStatus, InputCompressionType, InputFormat, S3BucketSource,
    };

    rewind_e2e::moto_endpoint();
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let bucket = unique("rewind-export");
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateBucket {bucket}: {e:?}"));

    let items = moto_items(60);
    let buckets = 8;
    let url = format!("s3://{bucket}/exports/x");
    let target = ExportTarget::open(&url).await.expect("open");
    write_export(&target, WriteMode::Fresh, &items, buckets).await;
    assert_eq!(scanned(&target).await, canonical(&items));

    // The layout in the bucket: data files under exports/x/data/, manifests beside data/.
    let listed = s3
        .list_objects_v2()
        .bucket(&bucket)
        .send()
        .await
        .expect("ListObjectsV2");
    let mut keys: Vec<String> = listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect();
    keys.sort();
    let manifest = target.read_manifest_files().await.expect("manifest");
    let mut want: Vec<String> = manifest
        .iter()
        .map(|f| f.data_file_s3_key.clone())
        .collect();
    want.extend([
        format!("exports/x/{MANIFEST_FILES}"),
        format!("exports/x/{MANIFEST_SUMMARY}"),
    ]);
    want.sort();
    assert_eq!(keys, want);
    assert!(manifest
        .iter()
        .all(|f| f.data_file_s3_key == format!("exports/x/{}", f.data_file_key)));
    let summary = target.read_summary().await.expect("read").expect("summary");
    assert_eq!(summary.s3_bucket.as_deref(), Some(bucket.as_str()));
    assert_eq!(summary.s3_prefix.as_deref(), Some("exports/x"));
    assert_eq!(
        summary.manifest_files_s3_key,
        "exports/x/manifest-files.json"
    );
    let import = &summary.rewind.import_table;
    assert_eq!(
        import.s3_bucket_source.s3_bucket.as_deref(),
        Some(bucket.as_str())
    );
    assert_eq!(import.s3_bucket_source.s3_key_prefix, "exports/x/data/");

    // Fresh on it again: refused.
    let again = ExportTarget::open(&url).await.expect("open");
    assert!(matches!(
        again.prepare(&prepare_ctx(WriteMode::Fresh, buckets)).await,
        Err(ReplayError::TargetExists { .. })
    ));

    // ImportTable with the summary's parameters.
    let table = unique("rewind-import");
    let params = import
        .table_creation_parameters
        .as_ref()
        .expect("creation parameters");
    let started = ddb
        .import_table()
        .input_format(InputFormat::from(import.input_format.as_str()))
        .input_compression_type(InputCompressionType::from(
            import.input_compression_type.as_str(),
        ))
        .s3_bucket_source(
            S3BucketSource::builder()
                .s3_bucket(import.s3_bucket_source.s3_bucket.clone().expect("bucket"))
                .s3_key_prefix(&import.s3_bucket_source.s3_key_prefix)
                .build()
                .expect("S3 source"),
        )
        .table_creation_parameters(creation_parameters(params, &table))
        .send()
        .await
        .unwrap_or_else(|e| panic!("ImportTable: {e:?}"));
    let arn = started
        .import_table_description()
        .and_then(|d| d.import_arn())
        .expect("an import ARN")
        .to_string();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let done = loop {
        let d = ddb
            .describe_import()
            .import_arn(&arn)
            .send()
            .await
            .expect("DescribeImport")
            .import_table_description
            .expect("a description");
        match d.import_status() {
            Some(ImportStatus::InProgress) | None => {}
            _ => break d,
        }
        assert!(
            std::time::Instant::now() < deadline,
            "import still in progress after 60 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        done.import_status(),
        Some(&ImportStatus::Completed),
        "import failed: {:?} {:?} ({} errors)",
        done.failure_code(),
        done.failure_message(),
        done.error_count()
    );
    assert_eq!(done.imported_item_count(), items.len() as i64);

    // The imported table holds exactly the input, item for item.
    let mut imported = Vec::new();
    let mut start = None;
    loop {
        let page = ddb
            .scan()
            .table_name(&table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("Scan");
        imported.extend(
            page.items()
                .iter()
                .map(|i| item_to_json(&Item::from(i.clone()))),
        );
        match page.last_evaluated_key() {
            Some(k) if !k.is_empty() => start = Some(k.clone()),
            _ => break,
        }
    }
    imported.sort();
    let want = canonical(&items);
    assert_eq!(imported.len(), want.len());
    for (got, want) in imported.iter().zip(&want) {
        assert_eq!(got, want);
    }
}

/// An item over DynamoDB's 400 KB limit (DynamoDB never stores one, so only a damaged or
/// foreign record can hold it) is refused naming its key, rather than written into an export
/// that ImportTable would load without it. Items near the limit whose JSON is longer than it
/// (binary values are a third longer in base64) are written.
#[tokio::test]
async fn an_item_over_400_kb_is_refused_naming_its_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("file://{}", dir.path().display());
    let target = ExportTarget::open(&url).await.expect("open");
    target
        .prepare(&prepare_ctx(WriteMode::Fresh, 1))
        .await
        .expect("prepare");
    let item = |pk: &str, attribute: AttributeValue| {
        let mut m: HashMap<String, AttributeValue> = HashMap::new();
        m.insert("pk".into(), s(pk));
        m.insert("sk".into(), n("1"));
        m.insert("blob".into(), attribute);
        live(&Item::from(m))
    };
    // 400,000 bytes of binary: 533,336 characters of base64, under the limit in DynamoDB.
    let near = item("near", AttributeValue::B(vec![7u8; 400_000]));
    assert!(near.image().len() > 409_600);
    let stats = WriteStats::default();
    target
        .write_bucket(0, std::slice::from_ref(&near), &stats)
        .await
        .expect("an item under the limit is written");

    let over = item("over", s(&"x".repeat(409_600)));
    let err = target
        .write_bucket(0, &[over], &stats)
        .await
        .expect_err("over the limit");
    let message = err.to_string();
    assert!(
        matches!(err, ReplayError::Invalid { .. })
            && message.contains(r#"{"pk":{"S":"over"}"#)
            && message.contains("409613 bytes")
            && message.contains("ImportTable"),
        "{message}"
    );
}
