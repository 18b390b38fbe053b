//! `rewind verify`: compare a target with the state at a second; exit 1 on any difference.

use super::copy_args::CopyArgs;
use crate::exit::DifferencesFound;
use crate::output::Output;
use anyhow::Context;
use rewind_replay::plan::PlanOptions;
use rewind_replay::target::{open_target, TargetUrl};
use rewind_replay::verify::verify;
use rewind_replay::AtSpec;

/// Arguments of `rewind verify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The source table.
    #[arg(long)]
    table: String,
    /// Where the backup lives.
    #[arg(long)]
    store: String,
    /// The point: RFC 3339 or `latest`.
    #[arg(long)]
    at: AtSpec,
    /// dynamodb://TABLE[?region=R], file://DIR or s3://BUCKET/PREFIX.
    #[arg(long)]
    against: String,
    /// Verify even though quarantined records may fall in the range.
    #[arg(long)]
    skip_quarantined: bool,
    /// Cores the reconstruction keeps busy (default: every core this process may run on).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
    /// Verify a dev/test copy: the same --key-filter and --mask (and $REWIND_MASK_KEY) it was
    /// restored with. Target keys outside the filter are not compared.
    #[command(flatten)]
    copy: CopyArgs,
}

/// Runs the comparison and prints the report.
pub async fn run(args: Args, output: Output) -> anyhow::Result<()> {
    let store = super::open_store(&args.store).await?;
    let url: TargetUrl = args.against.parse()?;
    let target = open_target(&url).await?;
    let plan = PlanOptions {
        skip_quarantined: args.skip_quarantined,
        ..Default::default()
    };
    let report = verify(
        &store,
        &args.table,
        args.at,
        target.as_ref(),
        &plan,
        &super::reconstruct_threads(args.threads),
        &args.copy.spec().await?,
    )
    .await
    .with_context(|| format!("verifying {url} against {} at {}", args.table, args.at))?;
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Output::Text => {
            println!(
                "{} against {} at {}: {} expected, {} at the target, {} matching, {} missing, {} extra, {} differing, {} expired by TTL",
                report.target,
                report.table,
                report.at,
                report.expected_items,
                report.target_items,
                report.matching,
                report.missing,
                report.extra,
                report.differing,
                report.expired_by_ttl
            );
            for d in &report.differences {
                println!("  {:<8} {}", d.kind, d.key);
            }
        }
    }
    if report.is_equal() {
        Ok(())
    } else {
        Err(DifferencesFound(format!(
            "{} differs from the state at {}: {} missing, {} extra, {} differing",
            report.target, report.at, report.missing, report.extra, report.differing
        ))
        .into())
    }
}
