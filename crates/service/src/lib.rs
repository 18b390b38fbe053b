//! Backup and restore as a service. Operators and other systems start backups and restores
//! without a shell; every job is an item in a DynamoDB job catalog that the local server
//! (`rewind serve`) and, in AWS, the Step Functions tasks update alike.
//!
//! This crate holds the job catalog ([`jobs`]): one item per job, claimed by exactly one worker
//! with a conditional update, progress written at most every few seconds, and a restart's
//! orphaned jobs marked resumable.

pub mod jobs;

pub use jobs::{Claim, JobCatalog, JobError, JobKind, JobRecord, JobStatus, NewJob, Progress};
