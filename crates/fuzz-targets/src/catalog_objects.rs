//! The catalog's JSON records as a damaged or hostile store could hold them: a snapshot
//! manifest, a shard checkpoint, a restore journal. Each input replaces one object of the seed
//! store, then everything that reads it runs for real: the catalog load, `rewind check`'s scrub
//! and a restore of `latest` into an export (which plans, or resumes the journal, reconstructs
//! and writes). Errors are the expected outcome for most inputs; a panic, a hang or an
//! allocation that follows a number in the input without bound is a finding.

use crate::scratch::Scratch;
use bytes::Bytes;
use rewind_catalog::layout;
use rewind_catalog::JournalRef;
use rewind_replay::reconstruct::ReconstructOptions;
use rewind_replay::restore::{restore, RestoreProgress, RestoreRequest};
use rewind_replay::target::export::ExportTarget;
use rewind_replay::target::RestoreTarget;
use rewind_replay::AtSpec;
use rewind_store::Store;

/// The seed store's table.
pub const TABLE: &str = "orders";

/// The input as the seed store's (first) snapshot manifest.
pub fn snapshot_manifest(data: &[u8]) {
    let scratch = Scratch::get();
    let key = seed_key(scratch, |k| layout::parse_snapshot_manifest(k).is_some());
    exercise(scratch, &key, data, Scrub::Yes);
}

/// The input as the seed store's (first) shard checkpoint.
pub fn checkpoint(data: &[u8]) {
    let scratch = Scratch::get();
    let key = seed_key(scratch, |k| layout::CheckpointKey::parse(k).is_ok());
    exercise(scratch, &key, data, Scrub::No);
}

/// The input as the journal of an interrupted restore into the target the restore then uses:
/// a journal that says `running` for `latest` is resumed, its pinned plan trusted as far as the
/// store agrees with it.
pub fn journal(data: &[u8]) {
    let scratch = Scratch::get();
    let (_, target_id) = export_target(scratch);
    let journal = JournalRef::new(TABLE, &target_id);
    let key = format!("{}journal.json", journal.prefix());
    exercise(scratch, &key, data, Scrub::No);
}

/// The key of the first seed object for which `pick` holds.
fn seed_key(scratch: &Scratch, pick: impl Fn(&str) -> bool) -> String {
    scratch
        .seed_objects()
        .iter()
        .map(|(k, _)| k)
        .find(|k| pick(k))
        .cloned()
        .expect("the seed store has such an object")
}

/// The export target in the scratch space and its identity (stable for the process, so a
/// journal keyed by it is found), emptied.
fn export_target(scratch: &Scratch) -> (ExportTarget, String) {
    let store: Store = scratch.empty_store("target");
    let target = ExportTarget::new(store, "fuzz-target".into());
    let id = target.id();
    (target, id)
}

/// Whether an input runs `rewind check` too. The scrub decodes every change and snapshot file
/// (four fifths of an input's time) and reads manifests, not checkpoints or journals: only the
/// manifest target pays for it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Scrub {
    Yes,
    No,
}

/// Puts `data` at `key` over a fresh seed store and runs the readers.
fn exercise(scratch: &Scratch, key: &str, data: &[u8], scrub: Scrub) {
    let store = scratch.seeded_store(
        "store",
        &[(key.to_string(), Some(Bytes::copy_from_slice(data)))],
    );
    let (target, _) = export_target(scratch);
    let spill = scratch.empty_dir("spill");
    scratch.block_on(async {
        let _ = rewind_catalog::load_catalog(store.as_ref(), TABLE, None).await;
        if scrub == Scrub::Yes {
            let _ = rewind_replay::check::check_table(&store, TABLE).await;
        }
        let request = RestoreRequest {
            table: TABLE.into(),
            at: AtSpec::Latest,
            into_existing: false,
            no_ttl: false,
            plan: Default::default(),
            reconstruct: ReconstructOptions {
                read_concurrency: 1,
                bucket_concurrency: 1,
                spill_dir: Some(spill),
            },
            copy: Default::default(),
        };
        let _ = restore(&store, &target, &request, &RestoreProgress::default()).await;
    });
}
