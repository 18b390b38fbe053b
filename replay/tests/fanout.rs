//! The fan-out entry points driven in-process in the order the restore state machine calls
//! them (plan, one step per bucket in any order and on a fresh target instance each, commit):
//! the target ends equal to a plain restore's and to the reference model. A step out of order
//! is refused naming what to run first; a retried bucket writes nothing twice; a second plan
//! resumes with only the buckets not yet written.

use rewind_e2e::changelog::*;
use rewind_replay::fanout::{commit_fanout, plan_fanout, restore_bucket};
use rewind_replay::restore::{restore, RestoreProgress, RestoreRequest};
use rewind_replay::target::export::ExportTarget;
use rewind_replay::target::RestoreTarget;
use rewind_replay::AtSpec;
use rewind_store::{LocalStore, Store};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

fn workload() -> Vec<rewind_format::ChangeRecord> {
    use rewind_format::EventName;
    (0..2000u64)
        .map(|i| {
            let key = format!("k{}", (i * 7919) % 300);
            let event = match i % 9 {
                0 if i > 300 => EventName::Remove,
                _ if i < 300 => EventName::Insert,
                _ => EventName::Modify,
            };
            record(
                &key,
                LABEL,
                100 + i,
                T0_MS + 1000 + i as i64 * 50,
                event,
                i as u32,
            )
        })
        .collect()
}

fn request(at: i64) -> RestoreRequest {
    RestoreRequest {
        copy: Default::default(),
        table: TABLE.into(),
        at: AtSpec::Second(at),
        into_existing: false,
        no_ttl: false,
        plan: Default::default(),
        reconstruct: Default::default(),
    }
}

/// A new instance of the export target at `dir`, as each Lambda invocation opens it.
fn target(dir: &Path) -> ExportTarget {
    ExportTarget::new(
        Arc::new(LocalStore::new(dir)),
        format!("file://{}", dir.display()),
    )
}

async fn exported(dir: &Path) -> BTreeMap<String, String> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<rewind_format::Item>>(8);
    let export = target(dir);
    let (scanned, items) = tokio::join!(export.scan(tx), items_by_key(rx));
    scanned.unwrap();
    items
}

async fn seeded() -> (tempfile::TempDir, Store, Vec<rewind_format::ChangeRecord>) {
    let (dir, store) = local_store();
    let records = workload();
    write_files(store.as_ref(), &records, 150).await;
    seed_capture_state(store.as_ref(), T0_MS + 3_600_000).await;
    (dir, store, records)
}

#[tokio::test]
async fn steps_in_state_machine_order_equal_a_plain_restore() {
    let (_src, store, records) = seeded().await;
    let at = (T0_MS + 1000) / 1000 + 70;
    let req = request(at);
    let out = tempfile::tempdir().unwrap();

    // Out of order: no plan yet.
    let early = restore_bucket(&store, &target(out.path()), &req, 0)
        .await
        .unwrap_err();
    assert!(early.to_string().contains("run the plan step"), "{early}");

    let plan = plan_fanout(&store, &target(out.path()), &req)
        .await
        .unwrap();
    assert!(plan.fan_out);
    assert_eq!(plan.buckets, (0..plan.bucket_count).collect::<Vec<_>>());
    let early = commit_fanout(&store, &target(out.path()), &req)
        .await
        .unwrap_err();
    assert!(early.to_string().contains("are not written yet"), "{early}");

    // The Map's items in another order, one retried.
    let mut order = plan.buckets.clone();
    order.reverse();
    order.push(order[0]);
    let mut items = 0;
    for bucket in &order[..order.len() - 1] {
        items += restore_bucket(&store, &target(out.path()), &req, *bucket)
            .await
            .unwrap()
            .items_written;
    }
    let retried = restore_bucket(&store, &target(out.path()), &req, order[0])
        .await
        .unwrap();
    let first = restore_bucket(&store, &target(out.path()), &req, order[0])
        .await
        .unwrap();
    assert_eq!(retried, first, "a retried bucket answers its marker");
    let totals = commit_fanout(&store, &target(out.path()), &req)
        .await
        .unwrap();
    assert_eq!(totals.items_written, items);

    let plain = tempfile::tempdir().unwrap();
    restore(
        &store,
        &target(plain.path()),
        &req,
        &RestoreProgress::default(),
    )
    .await
    .unwrap();
    let want = reference(&records, (at + 1) * 1000);
    assert_eq!(exported(out.path()).await, want);
    assert_eq!(exported(plain.path()).await, want);
    assert_eq!(items, want.len() as u64);

    // Finished: its steps are refused, and the same restore again meets an existing target.
    let late = restore_bucket(&store, &target(out.path()), &req, 0)
        .await
        .unwrap_err();
    assert!(late.to_string().contains("finished"), "{late}");
    let again = plan_fanout(&store, &target(out.path()), &req)
        .await
        .unwrap_err();
    assert!(
        matches!(again, rewind_replay::ReplayError::TargetExists { .. }),
        "{again:?}"
    );
}

#[tokio::test]
async fn a_second_plan_resumes_with_the_buckets_not_written() {
    let (_src, store, records) = seeded().await;
    let at = (T0_MS + 1000) / 1000 + 90;
    let req = request(at);
    let out = tempfile::tempdir().unwrap();
    let plan = plan_fanout(&store, &target(out.path()), &req)
        .await
        .unwrap();
    let (written, rest) = plan.buckets.split_at(plan.buckets.len() / 2);
    for bucket in written {
        restore_bucket(&store, &target(out.path()), &req, *bucket)
            .await
            .unwrap();
    }
    // The execution failed here; the job is posted again.
    let again = plan_fanout(&store, &target(out.path()), &req)
        .await
        .unwrap();
    assert_eq!(again.buckets, rest, "only the buckets not written");
    assert_eq!(again.at, plan.at);
    for bucket in rest {
        restore_bucket(&store, &target(out.path()), &req, *bucket)
            .await
            .unwrap();
    }
    commit_fanout(&store, &target(out.path()), &req)
        .await
        .unwrap();
    assert_eq!(
        exported(out.path()).await,
        reference(&records, (at + 1) * 1000)
    );
}

#[tokio::test]
async fn a_restore_into_an_existing_target_is_not_fanned_out() {
    let (_src, store, _) = seeded().await;
    let req = RestoreRequest {
        into_existing: true,
        ..request((T0_MS + 1000) / 1000 + 50)
    };
    let out = tempfile::tempdir().unwrap();
    let plan = plan_fanout(&store, &target(out.path()), &req)
        .await
        .unwrap();
    assert!(!plan.fan_out, "{plan:?}");
    assert!(
        rewind_store::list_all(&LocalStore::new(out.path()), "")
            .await
            .unwrap()
            .is_empty(),
        "nothing prepared: the one-step restore does it"
    );
}
