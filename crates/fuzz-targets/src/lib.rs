//! The bodies of rewind's fuzz targets, in a library so that two runners share them:
//!
//! - `fuzz/` (cargo fuzz, nightly, libFuzzer with AddressSanitizer and a malloc limit) runs
//!   each target for millions of inputs during the work (`scripts/fuzz.sh`);
//! - `tests/corpora.rs` replays every committed input (the corpora under `fuzz/corpus/` and the
//!   findings kept under `fuzz/regressions/`) on stable in every test run, so a fixed finding
//!   stays fixed without a nightly toolchain in CI.
//!
//! Each target takes the raw bytes an attacker, a damaged store or a careless operator could
//! hand rewind, and must not panic, hang or allocate without bound. Where a target can check more
//! than "no panic" cheaply, it does: a value that parses must re-encode to itself, a batch that
//! succeeds must account for every record (captured or quarantined, never dropped).

pub mod arguments;
pub mod catalog_objects;
pub mod events;
pub mod files;
mod scratch;
pub mod values;

pub use scratch::{seed_store_dir, Scratch};

/// One fuzz target: its name (the cargo fuzz target and its corpus directory) and its body.
pub type Target = (&'static str, fn(&[u8]));

/// Every target, by name. `fuzz/fuzz_targets/<name>.rs` calls the body; the corpora test
/// replays `fuzz/corpus/<name>/` and `fuzz/regressions/<name>/` through it.
pub const TARGETS: &[Target] = &[
    ("lambda_record", events::lambda_record),
    ("lambda_batch", events::lambda_batch),
    ("dynamodb_json", values::dynamodb_json),
    ("change_file", files::change_file),
    ("snapshot_manifest", catalog_objects::snapshot_manifest),
    ("checkpoint", catalog_objects::checkpoint),
    ("journal", catalog_objects::journal),
    ("arguments", arguments::arguments),
];

/// Runs the target called `name` on `data`.
///
/// # Panics
/// When there is no such target, and whenever the target finds a defect.
pub fn run(name: &str, data: &[u8]) {
    let (_, body) = TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no fuzz target {name}"));
    body(data)
}

/// What a libFuzzer process sets up once, before the first input.
///
/// libfuzzer-sys installs a panic hook that aborts at once, even for a panic that is caught:
/// the change-file reader deliberately catches the parquet crate's asserts on damaged footers
/// (and turns them into errors naming the object), so with that hook every damaged footer would
/// look like a finding. The default hook is put back: a panic that escapes the target still
/// reaches libfuzzer-sys's own `catch_unwind`, which aborts and reports it.
pub fn fuzzing_init() {
    let _ = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| {
        eprintln!("{info}");
    }));
    Scratch::get();
}
