//! `rewind ls`: tables in a store, their restorable windows and lag.

use crate::output::Output;
use rewind_replay::inventory::{list_tables, summarize};
use rewind_replay::window::{WholeLife, WindowOptions};

/// Arguments of `rewind ls`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where the backups live.
    #[arg(long)]
    store: String,
    /// Only this table.
    #[arg(long)]
    table: Option<String>,
}

/// Prints one summary per table.
pub async fn run(args: Args, output: Output) -> anyhow::Result<()> {
    let store = super::open_store(&args.store).await?;
    let tables = match args.table {
        Some(t) => vec![t],
        None => list_tables(&store).await?,
    };
    let mut summaries = Vec::new();
    for table in &tables {
        summaries.push(summarize(&store, table, &WindowOptions::default()).await?);
    }
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&summaries)?),
        Output::Text => {
            if summaries.is_empty() {
                println!("no tables in {}", args.store);
            }
            for s in &summaries {
                println!(
                    "{}{}",
                    s.table,
                    s.table_arn
                        .as_deref()
                        .map(|a| format!(" ({a})"))
                        .unwrap_or_default()
                );
                let window = if s.window_text.is_empty() {
                    "nothing yet".to_string()
                } else {
                    s.window_text.join(", ")
                };
                println!("  restorable: {window}");
                if let (Some(w), Some(lag)) = (&s.watermark, s.lag_seconds) {
                    println!("  watermark:  {w} (lag {lag}s)");
                }
                if let Some(d) = &s.deleted {
                    println!("  {}", d.text);
                }
                for missing in &s.incomplete {
                    println!("  incomplete: {missing}");
                }
                if s.lineages.len() > 1 {
                    for lineage in &s.lineages {
                        println!("  {lineage}");
                    }
                }
                match (&s.whole_life, &s.not_whole_life) {
                    (WholeLife::Confirmed { snapshot }, _) => println!(
                        "  whole life: the change log holds every item since the stream began{}",
                        snapshot
                            .as_deref()
                            .map(|m| format!(" (full backup {m} agreed)"))
                            .unwrap_or_default()
                    ),
                    (_, Some(why)) => println!("  whole life: {why}"),
                    (_, None) => {}
                }
                for snap in &s.snapshot_states {
                    println!("  {}", snap.status_text);
                }
                println!(
                    "  changes:    {} files, {} bytes; snapshots: {}",
                    s.change_files, s.change_bytes, s.snapshots
                );
                println!(
                    "  streams:    {} ({} shards, {} ended); gaps: {}; quarantined: {}",
                    s.streams.join(", "),
                    s.shards,
                    s.shards_ended,
                    s.gaps,
                    s.quarantined
                );
            }
        }
    }
    Ok(())
}
