//! Point-in-time replay: rebuild a DynamoDB table as it was at a whole second T from what the
//! store holds, write it into DynamoDB (any region) or as an ImportTable-ready export, and verify.
//!
//! The data path reads top to bottom: [`catalog`] (what the store holds) → [`plan`] (a pure
//! decision: base, files, window) → [`reconstruct`] (files → key-hash buckets → [`state`] per
//! bucket) → [`target`] (write) → [`verify`]. Only [`catalog`], [`reconstruct`] and the targets do
//! I/O; the planner and the fold are pure and tested table by table.

pub mod at;
pub mod bucket;
pub mod chain;
pub mod check;
pub mod copy_spec;
pub mod drill;
pub mod dry_run;
pub mod error;
pub mod fanout;
pub mod fingerprint;
pub mod fold;
pub mod folded;
pub mod history;
pub mod inventory;
pub mod journal;
mod malloc_threshold;
pub mod plan;
pub mod reconstruct;
pub mod restore;
pub mod spill;
pub mod state;
pub mod target;
pub mod verify;
pub mod version_spill;
pub mod whole_life;
pub mod window;

pub use at::AtSpec;
pub use error::{ReplayError, Result};

#[cfg(test)]
mod plan_tests;
