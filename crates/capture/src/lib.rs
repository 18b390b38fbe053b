//! Capture: every DynamoDB stream change into Parquet change logs, losslessly.
//!
//! The same library runs in the stream-consumer Lambda (production) and in the stream poller
//! (`rewind capture`, for running outside Lambda, tests and the demo). Data path:
//! stream records ([`StreamInput`]) of one shard form a [`ShardBatch`]; [`Capturer::capture`]
//! converts them (unconvertible ones go to quarantine), writes one change file per hour the batch
//! touches, and only then advances the shard's [`Checkpoint`].

mod batch;
mod capturer;
mod checkpoint;
pub mod description;
mod error;
mod gap;
mod input;
pub mod lambda;
pub mod lineage;
pub mod metrics;
pub mod poller;
mod quarantine;
mod view_type;

pub use batch::{capture_batch, BatchFailure, BatchOutcome, CaptureOptions, ShardBatch};
pub use capturer::Capturer;
pub use checkpoint::{list_checkpoints, load_checkpoint, save_checkpoint, Checkpoint};
pub use description::{
    describe_table, latest_description, save_description_if_changed, TableDescription,
};
pub use error::{CaptureError, Result};
pub use gap::{list_gaps, record_gap, Gap};
pub use input::StreamInput;
pub use lambda::handle_stream_event;
pub use metrics::InvocationStats;
pub use poller::{
    redrive, run_poller, PollProgress, PollSummary, PollerConfig, RedriveRequest, RedriveSummary,
};
pub use quarantine::{list_quarantined, quarantine, QuarantinedRecord};
pub use view_type::{check_view_type, ViewTypeVerdict};
