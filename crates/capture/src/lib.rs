//! Capture: every DynamoDB stream change into Parquet change logs, losslessly.
//!
//! The same library runs in the stream-consumer Lambda (production) and in the stream poller
//! (`rewind capture`, for running outside Lambda, tests and the demo). Data path:
//! stream records ([`StreamInput`]) of one shard form a [`ShardBatch`]; [`Capturer::capture`]
//! converts them (unconvertible ones go to quarantine), writes one change file per hour the batch
//! touches, and only then advances the shard's checkpoint. What it writes beside the data
//! (checkpoints, gaps, quarantine, table descriptions, the owner claim) is the catalog's
//! ([`rewind_catalog`]): capture writes those records, it does not define them.

mod batch;
mod capturer;
mod error;
mod input;
pub mod lambda;
pub mod lambda_event;
pub mod lineage;
pub mod metrics;
pub mod poller;

pub use batch::{capture_batch, BatchFailure, BatchOutcome, CaptureOptions, ShardBatch};
pub use capturer::Capturer;
pub use error::{CaptureError, Result};
pub use input::StreamInput;
pub use lambda::handle_stream_event;
pub use metrics::InvocationStats;
pub use poller::{
    redrive, run_poller, PollProgress, PollSummary, PollerConfig, RedriveRequest, RedriveSummary,
};
