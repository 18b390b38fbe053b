//! `rewind capture`: the stream poller.

use crate::output::Output;
use anyhow::Context;
use rewind_capture::{run_poller, CaptureOptions, Capturer, PollerConfig};
use std::time::Duration;

/// Arguments of `rewind capture`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The DynamoDB table whose stream to capture.
    #[arg(long)]
    table: String,
    /// Where the backup lives: s3://BUCKET/PREFIX, file://DIR or a plain path.
    #[arg(long)]
    store: String,
    /// Read every shard until caught up with the moment the run began, then flush and exit.
    #[arg(long)]
    once: bool,
    /// Flush a shard's buffer once it holds this many records. A trigger, not a cap: it is
    /// checked after each GetRecords page, so a file can hold up to one page (1,000 records)
    /// more.
    #[arg(long, default_value_t = 1000)]
    max_batch_records: usize,
    /// Flush a shard's buffer once its oldest record was read this long ago, and before
    /// sleeping after an empty read if it would pass that age during the sleep: the main term
    /// of the RPO (docs/OPERATIONS.md, "What RPO to expect").
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    max_batch_age: Duration,
    /// A shard with no new records checkpoints its read-through this often: an idle table's
    /// watermark trails by up to this much (nothing written is at risk meanwhile).
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    idle_checkpoint_interval: Duration,
    /// On SIGTERM or SIGINT, seconds the final flush may take before the process exits anyway
    /// (what it did not make durable is read again by the next run).
    #[arg(long, default_value_t = 10)]
    stop_timeout: u64,
}

/// Runs the poller until caught up (`--once`) or SIGTERM/SIGINT, then prints the summary.
pub async fn run(args: Args, output: Output) -> anyhow::Result<()> {
    let store = super::open_store(&args.store).await?;
    let (dynamodb, streams) = super::aws_clients().await;
    let capturer = Capturer::new(store, CaptureOptions::default());
    let mut config = PollerConfig::new(&args.table);
    config.once = args.once;
    config.max_batch_records = args.max_batch_records;
    config.max_batch_age = args.max_batch_age;
    config.idle_checkpoint_interval = args.idle_checkpoint_interval;
    let stop = crate::stop::stop_requested(
        "flushing and checkpointing what was read",
        Duration::from_secs(args.stop_timeout),
    );
    let summary = run_poller(
        &capturer,
        &dynamodb,
        &streams,
        &config,
        stop,
        &super::progress_line,
    )
    .await
    .with_context(|| format!("capturing table {}", args.table))?;
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&summary)?),
        Output::Text => {
            println!(
                "captured {} of {} records read from {} ({} shards, {} ended) into {} objects, {} bytes, in {:.1}s",
                summary.records_captured,
                summary.records_read,
                summary.stream_arn,
                summary.shards_read,
                summary.shards_ended,
                summary.objects,
                summary.bytes_written,
                summary.seconds
            );
            if summary.quarantined > 0 {
                println!(
                    "quarantined {} records that could not be converted",
                    summary.quarantined
                );
            }
            for gap in &summary.gaps {
                println!("GAP recorded: {gap}");
            }
            for d in &summary.previous_lineages_deleted {
                println!(
                    "{}",
                    deletion_line("the table was re-created: its previous incarnation", d)
                );
            }
            if let Some(d) = &summary.deleted {
                println!("{}", deletion_line("the table was deleted", d));
            }
        }
    }
    Ok(())
}

/// One line saying how a deleted table's lineage was closed.
fn deletion_line(what: &str, d: &rewind_catalog::TableDeletion) -> String {
    let last = rewind_replay::at::format_second(d.last_restorable_second());
    if d.drained {
        format!(
            "DELETED: {what}; its stream {} was read to the end; last restorable point {last} (restore --at latest)",
            d.stream_label
        )
    } else {
        format!(
            "DELETED: {what}; its stream {} could no longer be read ({}): a gap is recorded after the last capture; last restorable point before it: see rewind ls",
            d.stream_label,
            d.unreadable_reason.as_deref().unwrap_or("unknown reason")
        )
    }
}
