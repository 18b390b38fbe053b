//! `rewind backup`: a full snapshot of the live table by parallel Scan.

use crate::output::Output;
use anyhow::Context;
use rewind_compactor::{full_backup, BackupOptions};
use rewind_replay::window::SnapshotUse;

/// Arguments of `rewind backup`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The DynamoDB table to back up (its stream must be enabled with NEW_AND_OLD_IMAGES; capture
    /// may start later, within 24 h).
    #[arg(long)]
    table: String,
    /// Where the backup lives: s3://BUCKET/PREFIX, file://DIR or a plain path.
    #[arg(long)]
    store: String,
    /// Parallel Scan segments.
    #[arg(long, default_value_t = 4)]
    segments: u32,
    /// Key-hash buckets (a power of two); default: from the table's item count.
    #[arg(long)]
    buckets: Option<u32>,
    /// Local directory for spill files (default: the system's temporary directory).
    #[arg(long)]
    spill_dir: Option<std::path::PathBuf>,
}

/// Runs the backup and prints its report.
pub async fn run(args: Args, output: Output) -> anyhow::Result<()> {
    if let Some(b) = args.buckets {
        anyhow::ensure!(
            b.is_power_of_two(),
            "--buckets must be a power of two, not {b}"
        );
    }
    let store = super::open_store(&args.store).await?;
    let (dynamodb, _) = super::aws_clients().await;
    let opts = BackupOptions {
        segments: args.segments,
        buckets: args.buckets,
        spill_dir: args.spill_dir,
        ..BackupOptions::default()
    };
    let report = full_backup(&store, &dynamodb, &args.table, &opts)
        .await
        .with_context(|| format!("backing up table {}", args.table))?;
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Output::Text => {
            if report.committed {
                println!(
                    "backed up {}: {} items in {} files ({} bytes, {} buckets), scan {:.1}s, total {:.1}s",
                    report.table, report.items, report.files, report.bytes, report.buckets, report.scan_seconds, report.seconds
                );
                println!(
                    "snapshot {}: restorable from {} (changes from {} are applied over it)",
                    report.manifest, report.valid_from, report.changes_from
                );
                match &report.status {
                    Some(SnapshotUse::Usable) | None => {}
                    Some(SnapshotUse::WaitingForCapture(why)) => println!(
                        "waiting for capture: {why} (start capture within 24 h; `rewind ls` shows when it is usable)"
                    ),
                    Some(SnapshotUse::Refused(why)) => println!("not usable: {why}"),
                    Some(SnapshotUse::Invalidated) => println!("invalidated by records captured late"),
                }
            } else {
                println!(
                    "another backup of {} committed {} first; this run's files were removed",
                    report.table, report.manifest
                );
            }
        }
    }
    Ok(())
}
