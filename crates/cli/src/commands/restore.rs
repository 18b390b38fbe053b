//! `rewind restore`: rebuild a table as it was at a second, into DynamoDB or an export.

use super::copy_args::CopyArgs;
use crate::output::Output;
use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rewind_replay::dry_run::dry_run;
use rewind_replay::plan::PlanOptions;
use rewind_replay::reconstruct::ReconstructOptions;
use rewind_replay::restore::{restore, RestoreProgress, RestoreRequest};
use rewind_replay::target::{open_target, TargetUrl, WriteStats};
use rewind_replay::AtSpec;
use std::io::IsTerminal;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// Arguments of `rewind restore`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The source table.
    #[arg(long)]
    table: String,
    /// Where the backup lives: s3://BUCKET/PREFIX, file://DIR or a plain path.
    #[arg(long)]
    store: String,
    /// The restore point: RFC 3339 (whole seconds, any offset) or `latest`.
    #[arg(long)]
    at: AtSpec,
    /// dynamodb://TABLE[?region=R], file://DIR or s3://BUCKET/PREFIX (an ImportTable export).
    #[arg(long)]
    to: String,
    /// Print the plan and what it would write (reads the files, writes nothing).
    #[arg(long)]
    dry_run: bool,
    /// Make an existing target equal to the state at the point (deleting keys not in it).
    #[arg(long)]
    into_existing: bool,
    /// Do not enable TTL on the restored table (expired items would otherwise be deleted).
    #[arg(long)]
    no_ttl: bool,
    /// Restore even though quarantined records may fall in the range.
    #[arg(long)]
    skip_quarantined: bool,
    /// Rebuild from the change log alone, ignoring snapshots (only where the log covers the
    /// table's whole life).
    #[arg(long)]
    ignore_snapshots: bool,
    /// Local directory for spill files (default: the system's temporary directory).
    #[arg(long)]
    spill_dir: Option<std::path::PathBuf>,
    /// Cores the reconstruction keeps busy (default: every core this process may run on).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
    /// A dev/test copy: some keys, masked attributes.
    #[command(flatten)]
    copy: CopyArgs,
}

/// Runs the restore (or the dry run) and prints the report.
pub async fn run(args: Args, output: Output) -> anyhow::Result<()> {
    let store = super::open_store(&args.store).await?;
    let target_url: TargetUrl = args.to.parse()?;
    let req = RestoreRequest {
        copy: args.copy.spec().await?,
        table: args.table.clone(),
        at: args.at,
        into_existing: args.into_existing,
        no_ttl: args.no_ttl,
        plan: PlanOptions {
            skip_quarantined: args.skip_quarantined,
            ignore_snapshots: args.ignore_snapshots,
            ..Default::default()
        },
        reconstruct: ReconstructOptions {
            spill_dir: args.spill_dir.clone(),
            ..super::reconstruct_threads(args.threads)
        },
    };
    if args.dry_run {
        let report = dry_run(&store, &req)
            .await
            .with_context(|| format!("planning the restore of {} at {}", args.table, args.at))?;
        match output {
            Output::Json => println!("{}", serde_json::to_string_pretty(&report)?),
            Output::Text => {
                println!(
                    "restore of {} at {} (requested {})",
                    report.table, report.at, report.requested
                );
                println!("restorable: {}", report.window.join(", "));
                println!(
                    "base: {}",
                    report
                        .base
                        .as_deref()
                        .unwrap_or("none (the change log covers the table's whole life)")
                );
                println!(
                    "files: {} ({} bytes), {} buckets",
                    report.files.len(),
                    report.bytes,
                    report.buckets
                );
                for f in &report.files {
                    println!("  {} ({} bytes)", f.key, f.size);
                }
                println!(
                    "records: {} read, {} applied",
                    report.rows_read, report.rows_applied
                );
                println!("items: {} ({} bytes)", report.items, report.item_bytes);
                println!(
                    "write cost: {} write units, about ${:.4} on demand; at least {:.1}s at a new on-demand table's default limit",
                    report.write_units, report.estimated_cost_usd, report.estimated_seconds
                );
                for q in &report.skipped_quarantine {
                    println!("skipping quarantined record {q}");
                }
            }
        }
        return Ok(());
    }
    let target = open_target(&target_url).await?;
    let progress = Arc::new(RestoreProgress::default());
    let bar = progress_bar(Arc::clone(&progress));
    let result = restore(&store, target.as_ref(), &req, &progress).await;
    if let Some((bar, ticker)) = bar {
        ticker.abort();
        bar.finish_and_clear();
    }
    let report = result.with_context(|| {
        format!(
            "restoring {} at {} into {}",
            args.table, args.at, target_url
        )
    })?;
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Output::Text => {
            let how = if report.restarted {
                " (started over: the interrupted restore's files were gone)"
            } else if report.resumed {
                " (resumed)"
            } else {
                ""
            };
            println!(
                "restored {} at {} into {}{how}: {} items ({} written, {} bytes) in {:.1}s, {} buckets ({} done before), {} throttles, {} retries",
                report.table,
                report.at,
                report.target,
                report.items,
                report.items_written,
                report.bytes_written,
                report.seconds,
                report.buckets,
                report.buckets_skipped,
                report.throttles,
                report.retries
            );
            if args.into_existing || report.restarted {
                println!(
                    "changed the existing target: {} deleted, {} overwritten, {} already equal",
                    report.deleted, report.changed, report.unchanged
                );
            }
            for key in &report.rolled_back {
                println!("rolled back {key}");
            }
            for conflict in &report.conflicts {
                println!("CONFLICT {conflict}");
            }
        }
    }
    if !report.conflicts.is_empty() {
        return Err(crate::exit::DifferencesFound(format!(
            "the rollback left {} item(s) as the application wrote them after the rollback read them (listed in the report); roll them back again if that is still wanted",
            report.conflicts.len()
        ))
        .into());
    }
    Ok(())
}

/// On a terminal, a bar over buckets with items/s; elsewhere nothing (logs stay clean).
fn progress_bar(
    progress: Arc<RestoreProgress>,
) -> Option<(ProgressBar, tokio::task::JoinHandle<()>)> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} buckets  {msg}  ETA {eta}",
        )
        .expect("valid template"),
    );
    let shown = bar.clone();
    let ticker = tokio::spawn(async move {
        let started = std::time::Instant::now();
        loop {
            let items = WriteStats::get(&progress.stats.items);
            let rate = items as f64 / started.elapsed().as_secs_f64().max(0.001);
            shown.set_length(progress.buckets_total.load(Ordering::Relaxed));
            shown.set_position(progress.buckets_done.load(Ordering::Relaxed));
            shown.set_message(format!(
                "{items} items, {rate:.0} items/s, {} throttles",
                WriteStats::get(&progress.stats.throttles)
            ));
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    Some((bar, ticker))
}
