//! Seeded fault-injection runs: for each of 50 seeds, a random history is compacted (merge,
//! graced deletions, snapshot) and restored to a random restorable second through a store that
//! fails a seeded fraction of its calls (throttling, dropped connections, corrupt reads, lost
//! races), retried as an operator would (run the same command again). Every attempt either
//! fails with an error that names the failure, or succeeds; a success must equal the reference
//! model. Capture's own store faults are covered in capture/tests/batch_faults.rs.
//!
//! Found on its first run (seed 8): a restore whose bucket writes ran concurrently returned at
//! the first failure while other writes were still in flight; the cleanup ran, then their files
//! landed, and the next attempt met "target exists". `FoldedState::drain` now lets running
//! buckets finish before it returns the error.

use rand::{Rng, SeedableRng};
use rewind_catalog::load_catalog;
use rewind_compactor::{compact, CompactOptions, MergeOptions};
use rewind_e2e::changelog::*;
use rewind_replay::drill::sample_points;
use rewind_replay::restore::{restore, RestoreProgress, RestoreRequest};
use rewind_replay::target::export::ExportTarget;
use rewind_replay::target::RestoreTarget;
use rewind_replay::window::restorable_window;
use rewind_replay::AtSpec;
use rewind_store::{FaultKind, FaultyStore, LocalStore, Op as StoreOp, Store};
use std::collections::BTreeMap;
use std::sync::Arc;

const SEEDS: u64 = 50;
const ATTEMPTS: usize = 40;

fn faulty(clean: &Store, seed: u64) -> Store {
    let rate = 0.04;
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
            .fail_fraction(StoreOp::PutIfAbsent, rate, seed ^ 6, FaultKind::Transient),
    )
}

/// An error an operator can act on: it says the call that failed.
fn names_the_fault(error: &str) -> bool {
    error.contains("injected fault") || error.contains("checksum")
}

/// The export at `dir`: key JSON → item JSON, as `resume.rs` reads it.
async fn exported(dir: &std::path::Path, label: &str) -> BTreeMap<String, String> {
    let store: Store = Arc::new(LocalStore::new(dir));
    let target = ExportTarget::new(store, label.to_string());
    let (tx, mut rx) = tokio::sync::mpsc::channel(8);
    let scan = target.scan(tx);
    let collect = async {
        let mut out = BTreeMap::new();
        while let Some(page) = rx.recv().await {
            for item in page {
                let keys: std::collections::HashMap<_, _> = item
                    .iter()
                    .filter(|(k, _)| *k == "pk")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                out.insert(
                    rewind_format::item_to_json(&keys),
                    rewind_format::item_to_json(&item),
                );
            }
        }
        out
    };
    let (scanned, items) = tokio::join!(scan, collect);
    scanned.unwrap();
    items
}

async fn one_seed(seed: u64) -> (usize, usize) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let ops: Vec<Op> = (0..rng.gen_range(150..400))
        .map(|_| Op {
            key: rng.gen_range(0..24),
            event: rng.gen(),
            gap_ms: rng.gen_range(500..90_000),
            new_stream: false,
        })
        .collect();
    let records = history(&ops);
    let (_dir, clean) = local_store();
    write_files(clean.as_ref(), &records, rng.gen_range(5..40)).await;
    let last = records.last().unwrap().approximate_creation_time_ms;
    seed_capture_state(clean.as_ref(), last + 10_000).await;
    let store = faulty(&clean, seed);
    let mut failures = 0;

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
