//! A restore that fails leaves no target it created behind. Every refusal and every failure
//! before the write phase (a point outside the window, a broken history, a store failing
//! mid-way through the reads) happens before the target exists, because the whole state is
//! folded first. A failure at the target removes the table (or the export's files) this run
//! created when no bucket was written; once some are, the target is kept, the error says how to
//! resume or drop it, and running the restore again finishes it.
//!
//! DynamoDB targets are moto tables; the store is a local directory seeded as capture leaves it.

use async_trait::async_trait;
use rewind_catalog::layout;
use rewind_e2e::changelog::*;
use rewind_format::{image_hash, ChangeRecord, EventName, Item};
use rewind_replay::plan::PlanOptions;
use rewind_replay::reconstruct::ReconstructOptions;
use rewind_replay::restore::{restore, RestoreProgress, RestoreRequest};
use rewind_replay::state::LiveItem;
use rewind_replay::target::dynamodb::DynamoDbTarget;
use rewind_replay::target::export::ExportTarget;
use rewind_replay::target::{
    BucketWritten, FinishContext, PrepareContext, RestoreTarget, WriteStats,
};
use rewind_replay::{AtSpec, ReplayError};
use rewind_store::{list_all, FaultKind, FaultyStore, LocalStore, Op, Store};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// 600 changes of 80 items with continuity hashes, stamped 50 ms apart from T0 + 1 s.
fn history_with_hashes() -> Vec<ChangeRecord> {
    let mut last: HashMap<String, String> = HashMap::new();
    let mut out = Vec::new();
    for i in 0..600u64 {
        let key = format!("k{}", (i * 7919) % 80);
        let event = match (last.contains_key(&key), i % 9) {
            (false, _) => EventName::Insert,
            (true, 0) => EventName::Remove,
            (true, _) => EventName::Modify,
        };
        let mut r = record(
            &key,
            LABEL,
            100 + i,
            T0_MS + 1000 + i as i64 * 50,
            event,
            i as u32,
        );
        r.old_image_hash = last.get(&key).map(|img| image_hash(img));
        match event {
            EventName::Remove => {
                last.remove(&key);
            }
            _ => {
                last.insert(key, r.new_image.clone().unwrap());
            }
        }
        out.push(r);
    }
    out
}

/// The second after the last change.
fn end_second() -> i64 {
    (T0_MS + 1000 + 600 * 50) / 1000 + 1
}

async fn seeded(records: &[ChangeRecord]) -> (tempfile::TempDir, Store) {
    let (dir, store) = local_store();
    write_files(store.as_ref(), records, 50).await;
    seed_capture_state(store.as_ref(), T0_MS + 3_600_000).await;
    (dir, store)
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

async fn ddb() -> aws_sdk_dynamodb::Client {
    rewind_e2e::moto_endpoint();
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    aws_sdk_dynamodb::Client::new(&config)
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{:08x}", rand::random::<u32>())
}

async fn exists(client: &aws_sdk_dynamodb::Client, table: &str) -> bool {
    client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .is_ok()
}

/// A target whose `write_bucket` fails (not retryable) from its `fail_at`-th call on.
#[derive(Debug)]
struct FailingWrites<T> {
    inner: T,
    fail_at: usize,
    writes: AtomicUsize,
}

#[async_trait]
impl<T: RestoreTarget> RestoreTarget for FailingWrites<T> {
    fn id(&self) -> String {
        self.inner.id()
    }
    async fn precheck(&self, ctx: &PrepareContext) -> rewind_replay::Result<()> {
        self.inner.precheck(ctx).await
    }
    async fn abandon(&self) -> rewind_replay::Result<Option<String>> {
        self.inner.abandon().await
    }
    fn drop_hint(&self) -> String {
        self.inner.drop_hint()
    }
    async fn prepare(&self, ctx: &PrepareContext) -> rewind_replay::Result<()> {
        self.inner.prepare(ctx).await
    }
    async fn write_bucket(
        &self,
        bucket: u32,
        items: &[LiveItem],
        stats: &WriteStats,
    ) -> rewind_replay::Result<BucketWritten> {
        if self.writes.fetch_add(1, Ordering::SeqCst) + 1 >= self.fail_at {
            return Err(ReplayError::Aws {
                operation: "BatchWriteItem",
                target: self.inner.id(),
                message: "injected fault: AccessDeniedException".into(),
                retryable: false,
            });
        }
        self.inner.write_bucket(bucket, items, stats).await
    }
    async fn finish(&self, ctx: &FinishContext) -> rewind_replay::Result<()> {
        self.inner.finish(ctx).await
    }
    async fn scan(&self, sink: tokio::sync::mpsc::Sender<Vec<Item>>) -> rewind_replay::Result<()> {
        self.inner.scan(sink).await
    }
    async fn active_ttl_attribute(&self) -> rewind_replay::Result<Option<String>> {
        self.inner.active_ttl_attribute().await
    }
}

fn failing<T>(inner: T, fail_at: usize) -> FailingWrites<T> {
    FailingWrites {
        inner,
        fail_at,
        writes: AtomicUsize::new(0),
    }
}

/// Journals of restores of [`TABLE`] left in the store.
async fn journals(store: &Store) -> usize {
    list_all(store.as_ref(), &format!("restores/table={TABLE}/"))
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn refusals_and_failures_before_the_write_create_no_table() {
    let client = ddb().await;
    let records = history_with_hashes();
    let (_dir, store) = seeded(&records).await;

    // A point before the window.
    let name = unique("never-outside");
    let err = restore(
        &store,
        &DynamoDbTarget::connect(&name, None).await,
        &request(T0_MS / 1000 - 60),
        &RestoreProgress::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ReplayError::OutsideWindow { .. }), "{err}");
    assert!(err.is_bad_input());
    assert!(!exists(&client, &name).await);

    // A broken history: a MODIFY in the middle of an item's life is lost.
    let lost = records
        .iter()
        .position(|r| {
            r.event_name == EventName::Modify
                && records
                    .iter()
                    .skip_while(|x| x.sequence_number != r.sequence_number)
                    .skip(1)
                    .any(|x| x.keys == r.keys && x.event_name == EventName::Modify)
        })
        .unwrap();
    let mut broken = records.clone();
    let gone = broken.remove(lost);
    let (_dir2, broken_store) = seeded(&broken).await;
    let name = unique("never-broken");
    let err = restore(
        &broken_store,
        &DynamoDbTarget::connect(&name, None).await,
        &request(end_second()),
        &RestoreProgress::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, ReplayError::BrokenHistory { key, .. } if *key == gone.keys),
        "{err}"
    );
    assert!(!exists(&client, &name).await);
    assert_eq!(journals(&broken_store).await, 0);

    // The store fails mid-way through reading the change files.
    let name = unique("never-store");
    let faulty = || -> Store {
        Arc::new(FaultyStore::new(store.clone()).fail_nth_under(
            Op::Get,
            &layout::changes_prefix(TABLE),
            4,
            FaultKind::Permanent,
        ))
    };
    let err = restore(
        &faulty(),
        &DynamoDbTarget::connect(&name, None).await,
        &request(end_second()),
        &RestoreProgress::default(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, ReplayError::Store(_)) && err.to_string().contains("injected fault"),
        "{err}"
    );
    assert!(!exists(&client, &name).await);
    assert_eq!(journals(&store).await, 0);

    // Into an export: nothing written either.
    let out = tempfile::tempdir().unwrap();
    let export = ExportTarget::new(
        Arc::new(LocalStore::new(out.path())),
        format!("file://{}", out.path().display()),
    );
    restore(
        &faulty(),
        &export,
        &request(end_second()),
        &RestoreProgress::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn a_failure_at_the_target_removes_what_this_restore_created_or_says_how_to_resume() {
    let client = ddb().await;
    let records = history_with_hashes();
    let (_dir, store) = seeded(&records).await;
    let want = reference(&records, end_second() * 1000 + 1000);

    // The first bucket's write fails: the table this run created is deleted again, and its
    // journal with it.
    let name = unique("abandoned");
    let target = failing(DynamoDbTarget::connect(&name, None).await, 1);
    let err = restore(
        &store,
        &target,
        &request(end_second()),
        &RestoreProgress::default(),
    )
    .await
    .unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, ReplayError::TargetFailed { .. })
            && message.contains("injected fault")
            && message.contains(&format!("deleted table dynamodb://{name}")),
        "{message}"
    );
    assert!(!exists(&client, &name).await);
    assert_eq!(journals(&store).await, 0);

    // A later bucket fails: what is written is kept for the resume the error describes.
    let name = unique("resumable");
    let target = failing(DynamoDbTarget::connect(&name, None).await, 4);
    let err = restore(
        &store,
        &target,
        &request(end_second()),
        &RestoreProgress::default(),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("3 of 16 buckets are written")
            && err.contains("run the same command again to resume")
            && err.contains(&format!("aws dynamodb delete-table --table-name {name}"))
            && err.contains("delete restores/table=orders/target="),
        "{err}"
    );
    assert!(exists(&client, &name).await);
    let report = restore(
        &store,
        &DynamoDbTarget::connect(&name, None).await,
        &request(end_second()),
        &RestoreProgress::default(),
    )
    .await
    .unwrap();
    assert!(report.resumed, "{report:?}");
    assert_eq!(report.buckets_skipped, 3);
    let mut got = BTreeMap::new();
    let (tx, mut rx) = tokio::sync::mpsc::channel(8);
    let reader = DynamoDbTarget::connect(&name, None).await;
    let scan = reader.scan(tx);
    let collect = async {
        while let Some(page) = rx.recv().await {
            for item in page {
                let keys: HashMap<_, _> = item
                    .iter()
                    .filter(|(k, _)| *k == "pk")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                got.insert(
                    rewind_format::item_to_json(&keys),
                    rewind_format::item_to_json(&item),
                );
            }
        }
    };
    let (scanned, ()) = tokio::join!(scan, collect);
    scanned.unwrap();
    assert_eq!(got, want);

    // An export whose first bucket fails: no data file and no manifest remain.
    let out = tempfile::tempdir().unwrap();
    let export = ExportTarget::new(
        Arc::new(LocalStore::new(out.path())),
        format!("file://{}", out.path().display()),
    );
    let err = restore(
        &store,
        &failing(export, 2),
        &request(end_second()),
        &RestoreProgress::default(),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("1 of 16 buckets are written"), "{err}");
    let files: Vec<_> = walk(out.path());
    assert!(
        !files.iter().any(|f| f.contains("manifest")),
        "no manifest for an incomplete export: {files:?}"
    );
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path.display().to_string());
        }
    }
    out
}
