//! The job catalog: one DynamoDB item per backup or restore job.
//!
//! - [`record`]: what an item holds (kind, table, point, target, status, progress, counts,
//!   timestamps, error) and its life cycle.
//! - [`catalog`]: the table and its operations. Every state change is a conditional write,
//!   so two workers can never both run a job, a worker that lost a job cannot report on it, and a
//!   finished job is never reopened.

pub mod catalog;
pub mod record;

pub use catalog::{Claim, JobCatalog, JobError};
pub use record::{JobKind, JobRecord, JobStatus, NewJob, Progress};
