//! `rewind redrive`: re-read a range Lambda's on-failure destination reported.

use crate::output::Output;
use anyhow::Context;
use rewind_capture::{redrive, CaptureOptions, Capturer, PollerConfig, RedriveRequest};

/// Arguments of `rewind redrive`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The DynamoDB table.
    #[arg(long)]
    table: String,
    /// Where the backup lives: s3://BUCKET/PREFIX, file://DIR or a plain path.
    #[arg(long)]
    store: String,
    /// The shard id from the on-failure record.
    #[arg(long)]
    shard: String,
    /// First sequence number of the range (inclusive).
    #[arg(long)]
    from: String,
    /// Last sequence number of the range (inclusive).
    #[arg(long)]
    to: String,
    /// The stream ARN from the on-failure record (default: the table's latest stream).
    #[arg(long)]
    stream_arn: Option<String>,
}

/// Reads the range from the stream and captures it.
pub async fn run(args: Args, output: Output) -> anyhow::Result<()> {
    let store = super::open_store(&args.store).await?;
    let (dynamodb, streams) = super::aws_clients().await;
    let capturer = Capturer::new(store, CaptureOptions::default());
    let request = RedriveRequest {
        table: args.table.clone(),
        shard_id: args.shard,
        from_sequence: args.from,
        to_sequence: args.to,
        stream_arn: args.stream_arn,
    };
    let config = PollerConfig::new(&args.table);
    let summary = redrive(
        &capturer,
        &dynamodb,
        &streams,
        &request,
        &config,
        &super::progress_line,
    )
    .await
    .with_context(|| format!("redriving {} {}", args.table, request.shard_id))?;
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&summary)?),
        Output::Text => println!(
            "redrove {} records of {} ({} captured, {} quarantined) into {} objects",
            summary.records_read,
            summary.shard_id,
            summary.records_captured,
            summary.quarantined,
            summary.objects.len()
        ),
    }
    Ok(())
}
