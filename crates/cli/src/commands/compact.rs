//! `rewind compact`: cut a snapshot at the watermark from the newest base and the changes after it.

use crate::output::Output;
use anyhow::Context;
use rewind_compactor::{compact, CompactOptions};
use rewind_replay::AtSpec;

/// Arguments of `rewind compact`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The source table.
    #[arg(long)]
    table: String,
    /// Where the backup lives: s3://BUCKET/PREFIX, file://DIR or a plain path.
    #[arg(long)]
    store: String,
    /// Cut at this second instead of the watermark (RFC 3339; it must be restorable).
    #[arg(long)]
    at: Option<AtSpec>,
}

/// Runs one compaction and prints its report.
pub async fn run(args: Args, output: Output) -> anyhow::Result<()> {
    let store = super::open_store(&args.store).await?;
    let at = match args.at {
        None | Some(AtSpec::Latest) => None,
        Some(AtSpec::Second(s)) => Some(s),
    };
    let opts = CompactOptions {
        at,
        ..CompactOptions::default()
    };
    let report = compact(&store, &args.table, &opts)
        .await
        .with_context(|| format!("compacting table {}", args.table))?;
    if let (Output::Text, Some(m)) = (output, &report.merge) {
        println!(
            "{}: merged {} hours ({} files, {} bytes -> {} files, {} bytes); deleted {} replaced files, {} waiting for the grace period",
            report.table,
            m.hours_merged,
            m.files_merged,
            m.bytes_merged,
            m.files_written,
            m.bytes_written,
            m.files_deleted,
            m.files_pending
        );
    }
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Output::Text => match (&report.skipped, &report.snapshot_at) {
            (Some(why), _) => println!("{}: nothing to do: {why}", report.table),
            (None, Some(at)) if report.committed => println!(
                "{}: snapshot at {at} ({} items, {} files, {} bytes) from {} and {} change files ({} bytes) in {:.1}s",
                report.table,
                report.items,
                report.files_written,
                report.bytes_written,
                report.base.as_deref().unwrap_or("the whole-life log"),
                report.files_read,
                report.bytes_read,
                report.seconds
            ),
            (None, at) => println!(
                "{}: another compaction committed the snapshot at {} first",
                report.table,
                at.as_deref().unwrap_or("?")
            ),
        },
    }
    Ok(())
}
