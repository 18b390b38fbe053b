//! The restore journal as the restore uses it: the record and its keys are the catalog's
//! ([`rewind_catalog::journal`]); the plan pinned in it and the check of its pins are here.

use crate::plan::Plan;
pub use rewind_catalog::journal::{BucketWritten, JournalRef, JournalStatus, StoredJournal};
use std::collections::BTreeSet;

/// The journal of one restore, its plan pinned.
pub type Journal = StoredJournal<Plan>;

/// Which pinned objects of `plan` the catalog no longer lists with the same size.
pub fn missing_pins(plan: &Plan, listed: &BTreeSet<(String, u64)>) -> Vec<String> {
    plan.files
        .iter()
        .filter(|f| !listed.contains(&(f.key.clone(), f.size)))
        .map(|f| f.key.clone())
        .collect()
}
