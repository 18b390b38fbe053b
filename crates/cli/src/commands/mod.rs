//! One module per command.

pub mod backup;
pub mod capture;
pub mod check;
pub mod compact;
pub mod copy_args;
pub mod demo;
pub mod history;
pub mod ls;
pub mod redrive;
pub mod restore;
pub mod serve;
pub mod verify;

use anyhow::Context;

/// AWS clients from the standard chain (AWS_REGION, AWS_ENDPOINT_URL, profiles).
pub async fn aws_clients() -> (aws_sdk_dynamodb::Client, aws_sdk_dynamodbstreams::Client) {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    (
        aws_sdk_dynamodb::Client::new(&config),
        aws_sdk_dynamodbstreams::Client::new(&config),
    )
}

/// Opens the store named by `--store`.
pub async fn open_store(url: &str) -> anyhow::Result<rewind_store::Store> {
    rewind_store::open(url)
        .await
        .with_context(|| format!("opening store {url}"))
}

/// A progress line per flush, on stderr (stdout carries the result).
pub fn progress_line(p: &rewind_capture::PollProgress) {
    let lag = p
        .lag_ms
        .map(|l| format!(", lag {}", crate::output::seconds(l)))
        .unwrap_or_default();
    let ended = if p.shard_ended { ", shard ended" } else { "" };
    eprintln!(
        "{} {}: +{} records, +{} objects ({} bytes){lag}{ended}; total {} records in {} objects",
        p.table, p.shard_id, p.records, p.objects, p.bytes, p.total_records, p.total_objects
    );
}

/// Reconstruction settings for `--threads N` (every core this process may run on without it).
pub fn reconstruct_threads(threads: Option<u16>) -> rewind_replay::reconstruct::ReconstructOptions {
    use rewind_replay::reconstruct::ReconstructOptions;
    threads.map_or_else(ReconstructOptions::default, |n| {
        ReconstructOptions::for_threads(usize::from(n))
    })
}
