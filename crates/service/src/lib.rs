//! Backup and restore as a service. Operators and other systems start backups and restores
//! without a shell; every job is an item in a DynamoDB job catalog that the local server
//! (`rewind serve`) and, in AWS, the Step Functions tasks update alike.
//!
//! - [`jobs`]: the job catalog: one item per job, claimed by exactly one worker with a
//!   conditional update, progress written every few seconds, a restart's orphaned jobs marked
//!   resumable.
//! - [`api`]: the REST router (`rewind serve`): tables and their windows, restore jobs.
//! - [`mask_key`]: the HMAC key of masked copies, from the environment or Secrets Manager.
//! - [`notify`]: SNS notifications of jobs that ended and of capture lag over a threshold.

pub mod api;
pub mod jobs;
pub mod lambda_env;
pub mod mask_key;
pub mod notify;
pub mod steps;

pub use jobs::{Claim, JobCatalog, JobError, JobKind, JobRecord, JobStatus, NewJob, Progress};
