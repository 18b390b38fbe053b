//! `rewind check`: scrub a table's backup (every object's checksum, every file decoded,
//! manifests against their files, the version chain across the whole retained log); exit 1 on
//! any finding. With `--drill-to`, also restore drills: random seconds restored into scratch
//! targets, verified, timed and removed. The library does the work: [`rewind_replay::check`],
//! [`rewind_replay::drill`].

use crate::exit::DifferencesFound;
use crate::output::Output;
use anyhow::Context;
use rewind_replay::check::check_table;
use rewind_replay::drill::drill;
use rewind_replay::target::TargetUrl;

/// Arguments of `rewind check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The table whose backup to scrub.
    #[arg(long)]
    table: String,
    /// Where the backup lives.
    #[arg(long)]
    store: String,
    /// Restore drills: restore this many random seconds of the window (with --drill-to), verify
    /// each, report the restore times (measured RTO), and remove the scratch targets.
    #[arg(long, requires = "drill_to")]
    sample: Option<usize>,
    /// Where drills restore: dynamodb://PREFIX[?region=R] (tables PREFIX-drill-...),
    /// file://DIR or s3://BUCKET/PREFIX (one export per drill under it). 3 drills unless
    /// --sample says otherwise.
    #[arg(long)]
    drill_to: Option<String>,
    /// Publish the scrub's and the drills' figures to CloudWatch (namespace Rewind, dimension
    /// Table; AWS settings from the standard chain): ScrubFindings, ScrubObjects, ScrubSeconds,
    /// DrillRestoreSeconds (the measured RTO), DrillItemsPerSecond, DrillFailures. For a
    /// scheduled check outside Lambda (cron, a systemd timer).
    #[arg(long)]
    publish_metrics: bool,
}

/// Scrubs and prints the report.
pub async fn run(args: Args, output: Output) -> anyhow::Result<()> {
    let store = super::open_store(&args.store).await?;
    let started = std::time::Instant::now();
    let report = check_table(&store, &args.table)
        .await
        .with_context(|| format!("checking the backup of {} in {}", args.table, args.store))?;
    let scrub_seconds = started.elapsed().as_secs_f64();
    let drills = match &args.drill_to {
        Some(base) => {
            let base: TargetUrl = base.parse()?;
            drill(&store, &args.table, args.sample.unwrap_or(3), &base)
                .await
                .with_context(|| format!("restore drills of {} into {base}", args.table))?
        }
        None => Vec::new(),
    };
    if args.publish_metrics {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let mut data = rewind_compactor::metrics::scrub_metric_data(&report, scrub_seconds, now_ms);
        data.extend(rewind_compactor::metrics::drill_metric_data(
            &args.table,
            &drills,
            now_ms,
        ));
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let client = aws_sdk_cloudwatch::Client::new(&config);
        rewind_compactor::metrics::publish_data(&client, data)
            .await
            .map_err(|e| anyhow::anyhow!("publishing the check's metrics: {e}"))?;
    }
    match output {
        Output::Json => {
            let mut json = serde_json::to_value(&report)?;
            json["drills"] = serde_json::to_value(&drills)?;
            println!("{}", serde_json::to_string_pretty(&json)?);
        }
        Output::Text => {
            println!(
                "{}: {} objects ({} bytes) read, {} change files ({} records), {} snapshot files, {} manifests, {} items chained: {}",
                report.table,
                report.objects,
                report.bytes,
                report.change_files,
                report.change_records,
                report.snapshot_files,
                report.manifests,
                report.items_chained,
                if report.is_clean() {
                    "intact".to_string()
                } else {
                    format!("{} findings", report.findings.len())
                }
            );
            for f in &report.findings {
                let kind = serde_json::to_value(f.kind)?;
                println!(
                    "  {:<10} {}: {}",
                    kind.as_str().unwrap_or("?"),
                    f.location,
                    f.detail
                );
            }
            for d in &drills {
                println!(
                    "  drill {}: {} items restored in {:.1} s, verified in {:.1} s: {} ({})",
                    d.at,
                    d.items,
                    d.restore_seconds,
                    d.verify_seconds,
                    if d.equal {
                        "equal".to_string()
                    } else {
                        format!("{} differences", d.differences)
                    },
                    d.cleanup
                );
            }
        }
    }
    let failed_drills = drills.iter().filter(|d| !d.equal).count();
    if failed_drills > 0 {
        return Err(DifferencesFound(format!(
            "{failed_drills} of {} restore drills of {} did not equal the state",
            drills.len(),
            report.table
        ))
        .into());
    }
    if report.is_clean() {
        Ok(())
    } else {
        Err(DifferencesFound(format!(
            "the backup of {} has {} findings",
            report.table,
            report.findings.len()
        ))
        .into())
    }
}
