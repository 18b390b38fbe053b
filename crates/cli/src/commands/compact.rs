//! `rewind compact`: cut a snapshot at the watermark from the newest base and the changes after it.

use crate::output::Output;
use anyhow::Context;
use rewind_compactor::{apply_retention, compact, CompactOptions, RetentionDays};
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
    /// Do not probe idle shards through the Streams API before taking the watermark (for a store
    /// whose table is not reachable from here).
    #[arg(long)]
    no_probe: bool,
    /// Cut the snapshot only; leave small change files as they are.
    #[arg(long)]
    no_merge: bool,
    /// How long files replaced by a merged file stay before a later run deletes them.
    #[arg(long, default_value_t = 3600)]
    grace_seconds: u32,
    /// After compacting, delete what the retention policy no longer keeps.
    #[arg(long)]
    retention: bool,
    /// With --retention: list what would be deleted, delete nothing (and do not compact).
    #[arg(long)]
    dry_run: bool,
    /// Every second restorable for this many days.
    #[arg(long, default_value_t = 35)]
    keep_changes_days: u32,
    /// Every snapshot kept this many days.
    #[arg(long, default_value_t = 35)]
    keep_daily_days: u32,
    /// The first snapshot of each week kept this many days.
    #[arg(long, default_value_t = 365)]
    keep_weekly_days: u32,
    /// The first snapshot of each month kept this many days.
    #[arg(long, default_value_t = 2555)]
    keep_monthly_days: u32,
}

/// Runs one compaction and prints its report.
pub async fn run(args: Args, output: Output) -> anyhow::Result<()> {
    let store = super::open_store(&args.store).await?;
    anyhow::ensure!(
        !args.dry_run || args.retention,
        "--dry-run goes with --retention"
    );
    // The same conversion the compactor Lambda applies to its environment and event.
    let policy = RetentionDays {
        keep_changes_days: args.keep_changes_days,
        keep_daily_days: args.keep_daily_days,
        keep_weekly_days: args.keep_weekly_days,
        keep_monthly_days: args.keep_monthly_days,
    }
    .policy();
    if args.dry_run {
        let now = chrono::Utc::now().timestamp();
        let report = apply_retention(&store, &args.table, &policy, now, true)
            .await
            .with_context(|| format!("planning retention for {}", args.table))?;
        match output {
            Output::Json => println!("{}", serde_json::to_string_pretty(&report)?),
            Output::Text => {
                println!(
                    "{}: retention would delete {} change files and {} snapshots (keeping {}); every second from {} stays restorable",
                    args.table,
                    report.change_files.len(),
                    report.snapshots.len(),
                    report.kept_snapshots.len(),
                    rewind_replay::at::format_second(report.cutoff)
                );
                for key in report.change_files.iter().chain(&report.snapshots) {
                    println!("  {key}");
                }
            }
        }
        return Ok(());
    }
    let at = args.at.and_then(AtSpec::second);
    if !args.no_probe {
        let (dynamodb, streams) = super::aws_clients().await;
        let now = chrono::Utc::now().timestamp_millis();
        match rewind_capture::poller::probe_stale_shards(
            store.as_ref(),
            &dynamodb,
            &streams,
            &args.table,
            rewind_capture::poller::STALE_AFTER_MS,
            now,
        )
        .await
        {
            Ok(p) if p.deleted.is_some() => eprintln!(
                "{}: the table was deleted and its stream delivered to the end: its lineage is closed (rewind ls shows the last restorable point)",
                args.table
            ),
            Ok(p) if !p.behind.is_empty() => eprintln!(
                "{}: capture is behind on shards {:?}: the watermark waits for them",
                args.table, p.behind
            ),
            Ok(_) => {}
            Err(e) => eprintln!(
                "{}: probing idle shards failed ({e}); the watermark stays where capture left it (--no-probe skips this)",
                args.table
            ),
        }
    }
    let opts = CompactOptions {
        at,
        merge: (!args.no_merge).then(|| rewind_compactor::MergeOptions {
            grace_ms: i64::from(args.grace_seconds) * 1000,
            ..Default::default()
        }),
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
    let retention = if args.retention {
        let now = chrono::Utc::now().timestamp();
        Some(
            apply_retention(&store, &args.table, &policy, now, false)
                .await
                .with_context(|| format!("applying retention to {}", args.table))?,
        )
    } else {
        None
    };
    if let (Output::Text, Some(r)) = (output, &retention) {
        println!(
            "{}: retention deleted {} change files and {} snapshots ({} objects); every second from {} stays restorable",
            args.table,
            r.change_files.len(),
            r.snapshots.len(),
            r.objects_deleted,
            rewind_replay::at::format_second(r.cutoff)
        );
    }
    match output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({"compaction": report, "retention": retention}))?
        ),
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
