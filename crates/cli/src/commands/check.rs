//! `rewind check`: scrub a table's backup (every object's checksum, every file decoded,
//! manifests against their files, the version chain across the whole retained log); exit 1 on
//! any finding. The library does the work: [`rewind_replay::check`].

use crate::exit::DifferencesFound;
use crate::output::Output;
use anyhow::Context;
use rewind_replay::check::check_table;

/// Arguments of `rewind check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The table whose backup to scrub.
    #[arg(long)]
    table: String,
    /// Where the backup lives.
    #[arg(long)]
    store: String,
}

/// Scrubs and prints the report.
pub async fn run(args: Args, output: Output) -> anyhow::Result<()> {
    let store = super::open_store(&args.store).await?;
    let report = check_table(&store, &args.table)
        .await
        .with_context(|| format!("checking the backup of {} in {}", args.table, args.store))?;
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&report)?),
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
        }
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
