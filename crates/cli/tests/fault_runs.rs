//! Seeded fault-injection runs: for each of 50 seeds, a random history is captured (as Lambda
//! delivers it, in random batches), compacted twice (merge, graced deletions, snapshot) and
//! restored to a random restorable second, all through a store that misbehaves at a seeded
//! fraction of its calls: throttling, dropped connections, corrupt reads, lost races, answers
//! lost after the write took effect, short listing pages and slow calls. Every step is retried
//! as production retries it (Lambda redelivers from the first record not made durable; an
//! operator runs the same command again). Every attempt either fails with an error that names
//! the failure, or succeeds; a restore that succeeds must equal the reference model.
//!
//! Found on its first run (seed 8): a restore whose bucket writes ran concurrently returned at
//! the first failure while other writes were still in flight; the cleanup ran, then their files
//! landed, and the next attempt met "target exists". `FoldedState::drain` now lets running
//! buckets finish before it returns the error.

use rand::{Rng, SeedableRng};
use rewind_capture::{capture_batch, CaptureOptions, ShardBatch, StreamInput};
use rewind_catalog::load_catalog;
use rewind_compactor::{compact, CompactOptions, MergeOptions};
use rewind_e2e::changelog::*;
use rewind_format::{ChangeRecord, EventName};
use rewind_replay::drill::sample_points;
use rewind_replay::restore::{restore, RestoreProgress, RestoreRequest};
use rewind_replay::target::export::ExportTarget;
use rewind_replay::target::RestoreTarget;
use rewind_replay::window::restorable_window;
use rewind_replay::AtSpec;
use rewind_store::{FaultKind, FaultyStore, LocalStore, Op as StoreOp, Store};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

const SEEDS: u64 = 50;
const ATTEMPTS: usize = 60;

fn faulty(clean: &Store, seed: u64) -> Store {
    // Per kind of call and fault; a whole compaction makes a few hundred calls.
    let rate = 0.015;
    Arc::new(
        FaultyStore::new(clean.clone())
            .fail_fraction(StoreOp::Get, rate, seed, FaultKind::Transient)
            .fail_fraction(
                StoreOp::Get,
                rate / 2.0,
                seed ^ 1,
                FaultKind::ChecksumMismatch,
            )
            .fail_fraction(StoreOp::Put, rate, seed ^ 2, FaultKind::Throttled)
            .fail_fraction(StoreOp::List, rate, seed ^ 3, FaultKind::Transient)
            .fail_fraction(StoreOp::Head, rate, seed ^ 4, FaultKind::Transient)
            .fail_fraction(StoreOp::Delete, rate, seed ^ 5, FaultKind::Throttled)
            .fail_fraction(StoreOp::PutIfAbsent, rate, seed ^ 6, FaultKind::Transient)
            .fail_fraction(StoreOp::Put, rate / 2.0, seed ^ 7, FaultKind::LostAnswer)
            .fail_fraction(StoreOp::PutIfAbsent, rate, seed ^ 8, FaultKind::LostAnswer)
            .fail_fraction(StoreOp::Delete, rate / 2.0, seed ^ 9, FaultKind::LostAnswer)
            .short_pages(seed ^ 10)
            .slow_calls(0.01, seed ^ 11, Duration::from_millis(15)),
    )
}

/// The stream ARN of the seeded table's stream.
fn stream_arn() -> String {
    format!("arn:aws:dynamodb:us-east-1:123456789012:table/{TABLE}/stream/{LABEL}")
}

/// `records` as the elements of a Lambda event's `Records` (NEW_AND_OLD_IMAGES: a MODIFY and
/// a REMOVE carry the key's previous image).
fn lambda_records(records: &[ChangeRecord]) -> Vec<Value> {
    let mut current: HashMap<String, String> = HashMap::new();
    let image = |text: &str| serde_json::from_str::<Value>(text).unwrap();
    records
        .iter()
        .map(|r| {
            let mut change = json!({
                "ApproximateCreationDateTime": r.approximate_creation_time_ms / 1000,
                "Keys": image(&r.keys),
                "SequenceNumber": r.sequence_number.trim_start_matches('0'),
                "SizeBytes": 100,
                "StreamViewType": "NEW_AND_OLD_IMAGES",
            });
            if let Some(old) = current.get(&r.keys) {
                change["OldImage"] = image(old);
            }
            match (&r.event_name, &r.new_image) {
                (EventName::Remove, _) => {
                    current.remove(&r.keys);
                }
                (_, Some(new)) => {
                    change["NewImage"] = image(new);
                    current.insert(r.keys.clone(), new.clone());
                }
                (_, None) => unreachable!("an INSERT or MODIFY has a new image"),
            }
            json!({
                "eventID": format!("e{}", r.sequence_number),
                "eventName": r.event_name.as_str(),
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "dynamodb": change,
                "eventSourceARN": stream_arn(),
            })
        })
        .collect()
}

/// Captures `records` in random batches through `store`, each retried from its first record
/// not made durable, as Lambda redelivers (ReportBatchItemFailures). Returns failed attempts.
async fn capture_all(
    store: &Store,
    records: &[ChangeRecord],
    rng: &mut impl Rng,
    seed: u64,
) -> usize {
    let events = lambda_records(records);
    let mut failures = 0;
    let mut next = 0;
    while next < events.len() {
        let end = (next + rng.gen_range(1..40)).min(events.len());
        let mut from = next;
        let mut attempts = 0;
        while from < end {
            let batch = ShardBatch {
                table: TABLE.into(),
                stream_label: LABEL.into(),
                shard_id: "shardId-1".into(),
                parent_shard_id: None,
                records: events[from..end]
                    .iter()
                    .cloned()
                    .map(StreamInput::Lambda)
                    .collect(),
                read_through_ms: None,
                shard_ended: false,
            };
            let now = records[end - 1].approximate_creation_time_ms + 500;
            let outcome =
                capture_batch(store.as_ref(), &batch, &CaptureOptions::default(), now).await;
            assert_eq!(
                outcome.quarantined, 0,
                "seed {seed}: a well-formed record was quarantined"
            );
            match outcome.failure {
                None => from = end,
                Some(failure) => {
                    failures += 1;
                    attempts += 1;
                    let text = format!("{:#}", failure.error);
                    assert!(names_the_fault(&text), "seed {seed}: capture: {text}");
                    assert!(
                        attempts < ATTEMPTS,
                        "seed {seed}: a batch never became durable"
                    );
                    from += failure.first_failed;
                }
            }
        }
        next = end;
    }
    failures
}

/// An error an operator can act on: it says the call that failed.
fn names_the_fault(error: &str) -> bool {
    error.contains("injected fault") || error.contains("checksum")
}

/// The export at `dir`: key JSON → item JSON, as `resume.rs` reads it.
async fn exported(dir: &std::path::Path, label: &str) -> BTreeMap<String, String> {
    let store: Store = Arc::new(LocalStore::new(dir));
    let target = ExportTarget::new(store, label.to_string());
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let scan = target.scan(tx);
    let (scanned, items) = tokio::join!(scan, items_by_key(rx));
    scanned.unwrap();
    items
}

async fn one_seed(seed: u64) -> (usize, usize) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let ops: Vec<Op> = (0..rng.gen_range(150..400))
        .map(|_| Op {
            key: rng.gen_range(0..24),
            event: rng.gen(),
            gap_ms: rng.gen_range(1..90) * 1000,
            new_stream: false,
        })
        .collect();
    let records = history(&ops);
    let (_dir, clean) = local_store();
    // The description and whole-life verdict a full backup of the new table leaves; the
    // checkpoint capture then moves on.
    seed_capture_state(clean.as_ref(), T0_MS + 1000).await;
    let last = records.last().unwrap().approximate_creation_time_ms;
    let store = faulty(&clean, seed);
    let mut failures = capture_all(&store, &records, &mut rng, seed).await;

    // Compaction twice (the second deletes what the first replaced: grace 0), each retried.
    for run in 0..2 {
        let options = CompactOptions {
            merge: Some(MergeOptions {
                grace_ms: 0,
                now_ms: last + 3_600_000 * (run + 2),
            }),
            ..Default::default()
        };
        let mut done = false;
        for _ in 0..ATTEMPTS {
            match compact(&store, TABLE, &options).await {
                Ok(_) => {
                    done = true;
                    break;
                }
                Err(e) => {
                    failures += 1;
                    if std::env::var_os("FAULT_DEBUG").is_some() {
                        eprintln!("seed {seed}: compaction attempt failed: {e:#}");
                    }
                    assert!(
                        names_the_fault(&e.to_string()),
                        "seed {seed}: compaction: {e}"
                    );
                }
            }
        }
        assert!(
            done,
            "seed {seed}: compaction {run} never succeeded in {ATTEMPTS} attempts"
        );
    }

    // A restore to a random restorable second, retried (resuming) until it succeeds.
    let catalog = load_catalog(clean.as_ref(), TABLE, None).await.unwrap();
    let window = restorable_window(&catalog, &Default::default());
    let at = sample_points(&window.intervals, 1, &mut rng)[0];
    let out = tempfile::tempdir().unwrap();
    let label = format!("file://{}", out.path().display());
    let request = RestoreRequest {
        copy: Default::default(),
        table: TABLE.into(),
        at: AtSpec::Second(at),
        into_existing: false,
        no_ttl: false,
        plan: Default::default(),
        reconstruct: Default::default(),
    };
    let mut restored = false;
    for _ in 0..ATTEMPTS {
        let target = ExportTarget::new(Arc::new(LocalStore::new(out.path())), label.clone());
        match restore(&store, &target, &request, &RestoreProgress::default()).await {
            Ok(_) => {
                restored = true;
                break;
            }
            Err(e) => {
                failures += 1;
                let text = format!("{e:#}");
                // FAULT_DEBUG=1 prints every failed attempt, to follow a seed's story.
                if std::env::var_os("FAULT_DEBUG").is_some() {
                    eprintln!("seed {seed}: restore attempt failed: {text}");
                }
                assert!(names_the_fault(&text), "seed {seed}: restore: {text}");
            }
        }
    }
    assert!(
        restored,
        "seed {seed}: the restore never succeeded in {ATTEMPTS} attempts"
    );
    assert_eq!(
        exported(out.path(), &label).await,
        reference(&records, (at + 1) * 1000),
        "seed {seed}: the restore to {at} succeeded wrong"
    );
    (failures, records.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_seeds_of_faults_never_give_a_wrong_restore() {
    let mut failures = 0;
    let mut records = 0;
    for seed in 0..SEEDS {
        let (f, r) = one_seed(seed).await;
        failures += f;
        records += r;
    }
    println!("{SEEDS} seeds: {records} changes, {failures} failed attempts retried");
    assert!(
        failures > SEEDS as usize,
        "the faults were injected: {failures} failed attempts"
    );
}
