//! Replays every committed fuzz input on stable: the corpora cargo fuzz grew
//! (`fuzz/corpus/<target>/`) and the inputs of fixed findings (`fuzz/regressions/<target>/`),
//! so a finding, once fixed, stays fixed in every test run without a nightly toolchain.
//! Long fuzzing runs are `scripts/fuzz.sh`'s job, not this test's.

use rewind_fuzz_targets::{run, seed_store_dir, TARGETS};
use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn replay(kind: &str) -> usize {
    let mut replayed = 0;
    for (name, _) in TARGETS {
        for file in inputs(&fuzz_dir().join(kind).join(name)) {
            let data = std::fs::read(&file).unwrap();
            let outcome = std::panic::catch_unwind(|| run(name, &data));
            assert!(
                outcome.is_ok(),
                "fuzz target {name} fails on {} (run `cargo +nightly fuzz run {name} {}` in fuzz/ to reproduce)",
                file.display(),
                file.display()
            );
            replayed += 1;
        }
    }
    replayed
}

#[test]
fn every_corpus_input_passes() {
    let replayed = replay("corpus");
    // Every target has a seeded corpus: an empty directory would make this test vacuous.
    for (name, _) in TARGETS {
        assert!(
            !inputs(&fuzz_dir().join("corpus").join(name)).is_empty(),
            "fuzz/corpus/{name} is empty"
        );
    }
    println!("replayed {replayed} corpus inputs");
}

#[test]
fn every_regression_input_passes() {
    println!("replayed {} regression inputs", replay("regressions"));
}

/// The catalog targets start from the seed store: it must be a store a restore succeeds on,
/// or every catalog input would only exercise the refusal of a broken store.
#[test]
fn the_seed_store_restores() {
    use rewind_replay::restore::{restore, RestoreProgress, RestoreRequest};
    use rewind_replay::target::export::ExportTarget;
    use rewind_store::{LocalStore, Store};
    use std::sync::Arc;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let copy = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    rt.block_on(async {
        let seed: Store = Arc::new(LocalStore::new(seed_store_dir()));
        let store: Store = Arc::new(LocalStore::new(copy.path()));
        for meta in rewind_store::list_all(seed.as_ref(), "").await.unwrap() {
            store
                .put(&meta.key, seed.get(&meta.key).await.unwrap())
                .await
                .unwrap();
        }
        let target = ExportTarget::new(Arc::new(LocalStore::new(out.path())), "out".into());
        let request = RestoreRequest {
            table: "orders".into(),
            at: rewind_replay::AtSpec::Latest,
            into_existing: false,
            no_ttl: false,
            plan: Default::default(),
            reconstruct: Default::default(),
            copy: Default::default(),
        };
        let report = restore(&store, &target, &request, &RestoreProgress::default())
            .await
            .unwrap();
        assert!(report.items > 0, "{report:?}");
        let check = rewind_replay::check::check_table(&store, "orders")
            .await
            .unwrap();
        assert!(check.findings.is_empty(), "{check:?}");
    });
}
