//! A restore interrupted part-way resumes: the re-run skips finished buckets, writes only the
//! rest, and ends equal to the reference. A restore whose pinned files were replaced meanwhile
//! (compaction) starts over with a new plan instead of mixing two plans.

use rewind_e2e::changelog::*;
use rewind_format::{read_change_file, EventName};
use rewind_replay::plan::PlanOptions;
use rewind_replay::reconstruct::ReconstructOptions;
use rewind_replay::restore::{restore, RestoreProgress, RestoreRequest};
use rewind_replay::target::export::ExportTarget;
use rewind_replay::target::RestoreTarget;
use rewind_replay::AtSpec;
use rewind_store::{FaultKind, FaultyStore, LocalStore, Op, Store};
use std::collections::BTreeMap;
use std::sync::Arc;

fn workload() -> Vec<rewind_format::ChangeRecord> {
    let mut out = Vec::new();
    for i in 0..3000u64 {
        let key = format!("k{}", (i * 7919) % 400);
        let event = match i % 11 {
            0 if i > 400 => EventName::Remove,
            _ if i < 400 => EventName::Insert,
            _ => EventName::Modify,
        };
        out.push(record(
            &key,
            LABEL,
            100 + i,
            T0_MS + 1000 + i as i64 * 50,
            event,
            i as u32,
        ));
    }
    out
}

fn request(at: i64) -> RestoreRequest {
    RestoreRequest {
        copy: Default::default(),
        table: TABLE.into(),
        at: AtSpec::Second(at),
        into_existing: false,
        no_ttl: false,
        plan: PlanOptions::default(),
        reconstruct: ReconstructOptions {
            read_concurrency: 2,
            // One bucket at a time, so an injected failure leaves some finished and some not.
            bucket_concurrency: 1,
            spill_dir: None,
        },
    }
}

async fn exported(dir: &std::path::Path, label: &str) -> BTreeMap<String, String> {
    let store: Store = Arc::new(LocalStore::new(dir));
    let target = ExportTarget::new(store, label.to_string());
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let scan = target.scan(tx);
    let (scanned, items) = tokio::join!(scan, items_by_key(rx));
    scanned.unwrap();
    items
}

#[tokio::test]
async fn an_interrupted_restore_resumes_and_skips_finished_buckets() {
    let (_src, store) = local_store();
    let records = workload();
    write_files(store.as_ref(), &records, 250).await;
    seed_capture_state(store.as_ref(), T0_MS + 3_600_000).await;
    let at = (T0_MS + 1000) / 1000 + 100;
    let want = reference(&records, (at + 1) * 1000);

    let out_dir = tempfile::tempdir().unwrap();
    let label = format!("file://{}", out_dir.path().display());
    let local: Store = Arc::new(LocalStore::new(out_dir.path()));
    // The 7th put into the export fails for good: six buckets are durable by then.
    let failing = FaultyStore::new(Arc::clone(&local)).fail_nth(Op::Put, 7, FaultKind::Permanent);
    let target = ExportTarget::new(Arc::new(failing), label.clone());
    let err = restore(&store, &target, &request(at), &RestoreProgress::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("injected"), "{err}");

    let counting = Arc::new(FaultyStore::new(Arc::clone(&local)));
    let target = ExportTarget::new(counting.clone(), label.clone());
    let report = restore(&store, &target, &request(at), &RestoreProgress::default())
        .await
        .unwrap();
    assert!(report.resumed && !report.restarted, "{report:?}");
    assert_eq!(report.buckets_skipped, 6, "{report:?}");
    // Only the unfinished buckets are written again, then the two manifests.
    let data_puts = counting.calls(Op::Put) - 2;
    assert_eq!(
        data_puts,
        u64::from(report.buckets - report.buckets_skipped)
    );
    assert_eq!(report.items, want.len() as u64);
    assert_eq!(exported(out_dir.path(), &label).await, want);

    // The same command once more: the restore is done and the target exists.
    let again = restore(&store, &target, &request(at), &RestoreProgress::default()).await;
    assert!(
        matches!(again, Err(rewind_replay::ReplayError::TargetExists { .. })),
        "{again:?}"
    );
}

/// The journal's last write (marking the restore done) lands but its answer is lost (a timeout
/// after S3 took the write). The target is complete: the restore succeeds rather than ask for
/// a re-run that would then refuse the existing target (found by the seeded fault runs).
#[tokio::test]
async fn a_lost_answer_to_the_last_journal_write_does_not_fail_a_finished_restore() {
    let (_src, local_store_) = local_store();
    let records = workload();
    write_files(local_store_.as_ref(), &records, 250).await;
    seed_capture_state(local_store_.as_ref(), T0_MS + 3_600_000).await;
    let at = (T0_MS + 1000) / 1000 + 100;
    let out_dir = tempfile::tempdir().unwrap();
    let label = format!("file://{}", out_dir.path().display());
    let target = ExportTarget::new(Arc::new(LocalStore::new(out_dir.path())), label.clone());
    let journal = format!(
        "{}journal.json",
        rewind_catalog::JournalRef::new(TABLE, &target.id()).prefix()
    );
    // The first put of the journal starts the restore, the second marks it done.
    let store: Store = Arc::new(FaultyStore::new(local_store_.clone()).fail_nth_under(
        Op::Put,
        &journal,
        2,
        FaultKind::LostAnswer,
    ));
    let report = restore(&store, &target, &request(at), &RestoreProgress::default())
        .await
        .unwrap();
    assert_eq!(
        exported(out_dir.path(), &label).await,
        reference(&records, (at + 1) * 1000)
    );
    assert_eq!(
        report.items,
        reference(&records, (at + 1) * 1000).len() as u64
    );
}

#[tokio::test]
async fn a_restore_whose_pinned_files_were_replaced_starts_over() {
    let (_src, store) = local_store();
    let records = workload();
    let keys = write_files(store.as_ref(), &records, 250).await;
    seed_capture_state(store.as_ref(), T0_MS + 3_600_000).await;
    let at = (T0_MS + 1000) / 1000 + 120;
    let want = reference(&records, (at + 1) * 1000);

    let out_dir = tempfile::tempdir().unwrap();
    let label = format!("file://{}", out_dir.path().display());
    let local: Store = Arc::new(LocalStore::new(out_dir.path()));
    let failing = FaultyStore::new(Arc::clone(&local)).fail_nth(Op::Put, 4, FaultKind::Transient);
    restore(
        &store,
        &ExportTarget::new(Arc::new(failing), label.clone()),
        &request(at),
        &RestoreProgress::default(),
    )
    .await
    .unwrap_err();

    // Compaction replaces the first file with one holding the same records under another name.
    let first = &keys[0];
    let moved = read_change_file(first, store.get(first).await.unwrap()).unwrap();
    let hour = rewind_catalog::layout::ChangeFile::parse(first)
        .unwrap()
        .hour;
    let compacted = rewind_catalog::layout::ChangeFile::compacted(TABLE, hour, "run-1")
        .unwrap()
        .key();
    let written = rewind_format::write_change_file(&compacted, moved, &Default::default()).unwrap();
    store.put(&compacted, written.bytes).await.unwrap();
    store.delete(first).await.unwrap();

    let report = restore(
        &store,
        &ExportTarget::new(Arc::clone(&local), label.clone()),
        &request(at),
        &RestoreProgress::default(),
    )
    .await
    .unwrap();
    assert!(report.restarted && !report.resumed, "{report:?}");
    assert_eq!(report.buckets_skipped, 0);
    assert_eq!(exported(out_dir.path(), &label).await, want);
}

/// A change file that vanished without a replacement (deleted by hand, lost in a copy) is not
/// silently skipped: the items whose versions it held begin with a MODIFY or REMOVE, so the log
/// no longer covers the table's whole life. The restore records that durably, plans again,
/// finds no snapshot to start from and refuses naming one of the items; nothing is written to
/// the target, and every later restore refuses the same way.
#[tokio::test]
async fn a_lost_change_file_stops_the_restore_naming_an_item() {
    let (_src, store) = local_store();
    let records = workload();
    let keys = write_files(store.as_ref(), &records, 250).await;
    seed_capture_state(store.as_ref(), T0_MS + 3_600_000).await;
    // The first file holds the INSERTs of 250 items.
    store.delete(&keys[0]).await.unwrap();

    let out_dir = tempfile::tempdir().unwrap();
    let label = format!("file://{}", out_dir.path().display());
    let at = (T0_MS + 1000) / 1000 + 140;
    for _ in 0..2 {
        let err = restore(
            &store,
            &ExportTarget::new(Arc::new(LocalStore::new(out_dir.path())), label.clone()),
            &request(at),
            &RestoreProgress::default(),
        )
        .await
        .unwrap_err();
        let message = err.to_string();
        assert!(
            matches!(err, rewind_replay::ReplayError::NothingRestorable { .. })
                && message.contains(r#"{"pk":{"S":"k"#)
                && message.contains("has no INSERT in the change log")
                && message.contains("take a full backup"),
            "{message}"
        );
        assert_eq!(
            std::fs::read_dir(out_dir.path()).unwrap().count(),
            0,
            "nothing written to the target"
        );
    }
    let verdict = rewind_catalog::load_whole_life(store.as_ref(), TABLE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(verdict.verdict, rewind_catalog::WholeLifeVerdict::Refuted);
}
