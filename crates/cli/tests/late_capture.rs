//! A full backup taken before capture starts is usable only if capture read the stream before
//! the records of the scan's time were trimmed (24 h). Real time cannot be waited for here, so
//! the clocks are scripted: the backup runs through [`backup_from`] with a table source whose
//! clock says when the scan ran, and capture runs through the capture library (as the Lambda
//! does, from the stream's trim horizon) told when it first read the stream and given exactly
//! the records the stream still held then. The records come from the seeded workload, whose
//! table held items before its stream began (never in any stream record).
//!
//! - Capture first read 25 h after the scan: the records of the scan's time were gone. The
//!   backup is refused for use with the reason, and nothing is restorable: every restore and
//!   compaction refuses, and nothing is written.
//! - Capture first read 23 h after the scan (the control): the backup is usable, and a restore
//!   after its validity equals the workload's own model.

use rewind_capture::{CaptureOptions, Capturer, ShardBatch, StreamInput};
use rewind_catalog::TableDescription;
use rewind_compactor::table_source::scanned_from_json;
use rewind_compactor::table_source::ItemsAt;
use rewind_compactor::{backup_from, compact, BackupOptions, CompactOptions};
use rewind_replay::fingerprint::{fingerprint, item_key, Fingerprint};
use rewind_replay::inventory::summarize;
use rewind_replay::restore::{restore, RestoreProgress, RestoreRequest};
use rewind_replay::target::export::ExportTarget;
use rewind_replay::target::RestoreTarget;
use rewind_replay::window::SnapshotUse;
use rewind_replay::{AtSpec, ReplayError};
use rewind_store::{LocalStore, Store};
use rewind_workload::{Workload, WorkloadConfig};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

const HOUR_MS: i64 = 3_600_000;
const TABLE: &str = "shop";

/// The stream began at `STREAM_S`; the table already held the workload's initial population.
const STREAM_S: i64 = 1_795_672_800; // 2026-11-26T06:00:00Z
/// The backup's scan ran 60 s after the stream began.
const SCAN_MS: i64 = (STREAM_S + 60) * 1000;

fn description(workload: &Workload) -> TableDescription {
    serde_json::from_value(serde_json::json!({
        "format_version": 1,
        "table_name": TABLE,
        "table_arn": workload.table_arn(),
        "creation_date_time": "2026-11-12T06:00:00Z",
        "key_schema": [
            {"attribute_name": "pk", "key_type": "HASH"},
            {"attribute_name": "sk", "key_type": "RANGE"}
        ],
        "attribute_definitions": [
            {"attribute_name": "pk", "attribute_type": "S"},
            {"attribute_name": "sk", "attribute_type": "S"}
        ],
        "billing_mode": "PAY_PER_REQUEST",
        "stream": {
            "enabled": true,
            "view_type": "NEW_AND_OLD_IMAGES",
            "latest_stream_arn": workload.stream_arn(),
            "latest_stream_label": workload.config().stream_label,
        },
        "captured_at": "2026-11-26T06:01:00Z"
    }))
    .unwrap()
}

/// Key → fingerprint of items given as DynamoDB JSON text.
fn by_key(items: impl Iterator<Item = String>) -> BTreeMap<Vec<u8>, Fingerprint> {
    let names = ["pk".to_string(), "sk".to_string()];
    items
        .map(|text| {
            let item = rewind_format::item_from_json(&text).unwrap();
            (
                item_key(&item, &names, "item").unwrap().0,
                fingerprint(&item),
            )
        })
        .collect()
}

/// What the store and the model look like after the scripted run.
struct Run {
    _dir: tempfile::TempDir,
    store: Store,
    /// A second after the backup's validity, and the model then.
    point: i64,
    model_at_point: BTreeMap<Vec<u8>, Fingerprint>,
}

/// Stream from `STREAM_S`, backup at `SCAN_MS`, two hours of changes at 1 record/s; capture
/// first reads the stream `first_read_ms` and is given the records not yet trimmed then.
async fn run(first_read_ms: i64) -> Run {
    let mut workload = Workload::new(WorkloadConfig {
        table: TABLE.into(),
        stream_label: "2026-11-26T06:00:00.000".into(),
        start_epoch_secs: STREAM_S,
        records_per_second: 1,
        initial_users: 20,
        emit_initial_inserts: false,
        ..WorkloadConfig::default()
    });
    let (dir, store) = {
        let dir = tempfile::tempdir().unwrap();
        let store: Store = Arc::new(LocalStore::new(dir.path()));
        (dir, store)
    };
    let mut records: Vec<Value> = Vec::new();
    let mut backup = None;
    let point = SCAN_MS / 1000 + 3600;
    let mut model_at_point = BTreeMap::new();
    while let Some(record) = workload.next() {
        let stamp = (record["dynamodb"]["ApproximateCreationDateTime"]
            .as_f64()
            .unwrap()
            * 1000.0) as i64;
        if stamp >= SCAN_MS && backup.is_none() {
            // The scan: the table now, items from before the stream included.
            let source = ItemsAt {
                description: description(&workload),
                items: scanned_from_json(
                    workload
                        .current_items()
                        .map(|i| Value::Object(i.clone()).to_string()),
                )
                .unwrap(),
                now_ms: SCAN_MS,
            };
            backup = Some(
                backup_from(&store, &source, &BackupOptions::default())
                    .await
                    .unwrap(),
            );
        }
        if stamp >= SCAN_MS + 2 * HOUR_MS {
            break;
        }
        records.push(record);
        // At 1 record/s from STREAM_S, every record stamped up to `point` is out now.
        if workload.records_emitted() == (point - STREAM_S + 1) as u64 {
            model_at_point = by_key(
                workload
                    .current_items()
                    .map(|i| Value::Object(i.clone()).to_string()),
            );
        }
    }
    // The stream holds what is younger than 24 h when capture first reads it.
    let held: Vec<StreamInput> = records
        .into_iter()
        .filter(|r| {
            (r["dynamodb"]["ApproximateCreationDateTime"]
                .as_f64()
                .unwrap()
                * 1000.0) as i64
                > first_read_ms - 24 * HOUR_MS
        })
        .map(StreamInput::Lambda)
        .collect();
    let capturer = Capturer::new(store.clone(), CaptureOptions::default());
    let outcome = capturer
        .capture(
            &ShardBatch {
                table: TABLE.into(),
                stream_label: workload.config().stream_label.clone(),
                shard_id: workload.shard_id().to_string(),
                parent_shard_id: None,
                records: held,
                read_through_ms: Some(first_read_ms - 1000),
                shard_ended: false,
            },
            first_read_ms,
        )
        .await;
    assert!(outcome.failure.is_none(), "{:?}", outcome.failure);
    Run {
        _dir: dir,
        store,
        point,
        model_at_point,
    }
}

fn request(at: AtSpec) -> RestoreRequest {
    RestoreRequest {
        copy: Default::default(),
        table: TABLE.into(),
        at,
        into_existing: false,
        no_ttl: true,
        plan: Default::default(),
        reconstruct: Default::default(),
    }
}

#[tokio::test]
async fn a_backup_that_capture_reached_too_late_is_refused_and_nothing_is_restored() {
    let run = run(SCAN_MS + 25 * HOUR_MS).await;
    let summary = summarize(&run.store, TABLE, &Default::default())
        .await
        .unwrap();
    let state = &summary.snapshot_states[0];
    assert_eq!(state.kind, "full backup");
    assert!(
        matches!(&state.status, SnapshotUse::Refused(why)
            if why.contains("more than 24 h after the backup's changes begin")
                && why.contains("take a new full backup")),
        "{state:?}"
    );
    assert!(summary.window.is_empty(), "{summary:?}");
    assert!(
        summary
            .not_whole_life
            .as_deref()
            .is_some_and(|w| w.contains("more than 24 h after it began")),
        "{summary:?}"
    );

    for at in [
        AtSpec::Latest,
        AtSpec::Second(run.point),
        AtSpec::Second(SCAN_MS / 1000 + 10),
    ] {
        let out = tempfile::tempdir().unwrap();
        let target = ExportTarget::new(
            Arc::new(LocalStore::new(out.path())),
            format!("file://{}", out.path().display()),
        );
        let err = restore(
            &run.store,
            &target,
            &request(at),
            &RestoreProgress::default(),
        )
        .await
        .unwrap_err();
        let message = err.to_string();
        assert!(
            matches!(err, ReplayError::NothingRestorable { .. })
                && message.contains("cannot be used: capture first read stream"),
            "{message}"
        );
        assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
    }
    let err = compact(&run.store, TABLE, &CompactOptions::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot be used"), "{err}");
    let summary = summarize(&run.store, TABLE, &Default::default())
        .await
        .unwrap();
    assert_eq!(
        summary.snapshots, 1,
        "no snapshot cut from a refused backup"
    );
}

#[tokio::test]
async fn a_backup_that_capture_reached_in_time_restores_the_model() {
    let run = run(SCAN_MS + 23 * HOUR_MS).await;
    let summary = summarize(&run.store, TABLE, &Default::default())
        .await
        .unwrap();
    assert_eq!(summary.snapshot_states[0].status, SnapshotUse::Usable);

    let out = tempfile::tempdir().unwrap();
    let label = format!("file://{}", out.path().display());
    let target = ExportTarget::new(Arc::new(LocalStore::new(out.path())), label);
    restore(
        &run.store,
        &target,
        &request(AtSpec::Second(run.point)),
        &RestoreProgress::default(),
    )
    .await
    .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::channel(8);
    let scan = target.scan(tx);
    let collect = async {
        let mut texts = Vec::new();
        while let Some(page) = rx.recv().await {
            texts.extend(page.iter().map(|item| rewind_format::item_to_json(item)));
        }
        texts
    };
    let (scanned, texts) = tokio::join!(scan, collect);
    scanned.unwrap();
    let restored = by_key(texts.into_iter());
    assert!(!run.model_at_point.is_empty());
    assert_eq!(restored.len(), run.model_at_point.len());
    assert!(
        restored == run.model_at_point,
        "the restore differs from the model"
    );

    // The items from before the stream are in no stream record: the log never covered the
    // whole life, and comparing it with the backup says so.
    let summary = summarize(&run.store, TABLE, &Default::default())
        .await
        .unwrap();
    assert!(
        matches!(&summary.whole_life, rewind_replay::window::WholeLife::No { reason }
            if reason.contains("has no INSERT in the change log") || reason.contains("never inserted")),
        "{:?}",
        summary.whole_life
    );
}
