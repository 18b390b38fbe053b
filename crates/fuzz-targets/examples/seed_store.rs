//! Writes `fuzz/seed-store/` (the store the catalog targets start from) and the seeds of the
//! catalog-object corpora, by doing what production does: capture-shaped change files, a
//! compaction (merged hours and a compacted snapshot), more changes after it, and a restore
//! interrupted after its first bucket, whose journal becomes the journal seed.
//!
//! `cargo run -p rewind-fuzz-targets --example seed_store` (deterministic but for the run ids
//! and times compaction writes; rerun only when the formats change, and commit the result).

use rewind_catalog::layout;
use rewind_compactor::{compact, CompactOptions, MergeOptions};
use rewind_e2e::changelog::*;
use rewind_fuzz_targets::seed_store_dir;
use rewind_replay::reconstruct::ReconstructOptions;
use rewind_replay::restore::{restore, RestoreProgress, RestoreRequest};
use rewind_replay::target::export::ExportTarget;
use rewind_replay::AtSpec;
use rewind_store::{FaultKind, FaultyStore, LocalStore, Op as StoreOp, Store};
use std::path::Path;
use std::sync::Arc;

fn ops(count: usize, mut state: u64) -> Vec<Op> {
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        state >> 33
    };
    (0..count)
        .map(|_| Op {
            key: (next() % 12) as u8,
            event: next() as u8,
            gap_ms: 20_000 + (next() % 40_000) as u32,
            new_stream: false,
        })
        .collect()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let dir = seed_store_dir();
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store: Store = Arc::new(LocalStore::new(&dir));

    // Two histories: the second continues the first, after the snapshot.
    let all = history(&ops(160, 7));
    let (before, after) = all.split_at(120);
    write_files(store.as_ref(), before, 9).await;
    let last_before = before.last().unwrap().approximate_creation_time_ms;
    seed_capture_state(store.as_ref(), last_before + 10_000).await;
    let report = compact(
        &store,
        TABLE,
        &CompactOptions {
            merge: Some(MergeOptions {
                grace_ms: 0,
                now_ms: last_before + 3 * 3_600_000,
            }),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    println!("compacted: {report:?}");
    write_files(store.as_ref(), after, 9).await;
    let last = after.last().unwrap().approximate_creation_time_ms;
    seed_capture_state(store.as_ref(), last + 10_000).await;

    // A restore interrupted after its journal and first bucket marker.
    let scratch = tempfile::tempdir().unwrap();
    let target = ExportTarget::new(
        Arc::new(LocalStore::new(scratch.path())),
        "seed-target".into(),
    );
    let faulty: Store = Arc::new(FaultyStore::new(store.clone()).fail_nth_under(
        StoreOp::Put,
        "restores/",
        4,
        FaultKind::Transient,
    ));
    let request = RestoreRequest {
        table: TABLE.into(),
        at: AtSpec::Latest,
        into_existing: false,
        no_ttl: false,
        plan: Default::default(),
        reconstruct: ReconstructOptions {
            read_concurrency: 1,
            bucket_concurrency: 1,
            spill_dir: None,
        },
        copy: Default::default(),
    };
    let interrupted = restore(&faulty, &target, &request, &RestoreProgress::default()).await;
    println!("interrupted restore: {interrupted:?}");
    assert!(
        interrupted.is_err(),
        "the injected fault should stop the restore"
    );

    let corpus = dir.join("../corpus");
    let mut journal = None;
    for meta in rewind_store::list_all(store.as_ref(), "").await.unwrap() {
        let body = store.get(&meta.key).await.unwrap();
        let name = meta.key.replace('/', "_");
        if meta.key.starts_with("restores/") {
            if meta.key.ends_with("journal.json") {
                journal = Some(body.clone());
            }
            store.delete(&meta.key).await.unwrap();
            continue;
        }
        if layout::parse_snapshot_manifest(&meta.key).is_some() {
            save(&corpus.join("snapshot_manifest"), &name, &body);
        } else if layout::CheckpointKey::parse(&meta.key).is_ok() {
            save(&corpus.join("checkpoint"), &name, &body);
        } else if meta.key.ends_with(".parquet")
            // One of each kind: a capture batch, a merged hour, a snapshot bucket.
            && ["_0000000000000000000000000000000000001032.", "/compacted_", "bucket=0003."]
                .iter()
                .any(|s| meta.key.contains(s))
        {
            save(&corpus.join("change_file"), &name, &body);
        }
    }
    let journal = journal.expect("the interrupted restore left a journal");
    save(&corpus.join("journal"), "interrupted.json", &journal);
    // The same journal, finished: a re-run starts over.
    let done = String::from_utf8(journal.to_vec())
        .unwrap()
        .replace("\"running\"", "\"done\"");
    save(&corpus.join("journal"), "done.json", done.as_bytes());
    println!("seed store in {}", dir.display());
}

fn save(dir: &Path, name: &str, body: &[u8]) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(format!("seed-{name}")), body).unwrap();
}
