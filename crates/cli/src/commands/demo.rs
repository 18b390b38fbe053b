//! `rewind demo`: workload -> capture -> restore -> verify on this machine, no AWS account.

use crate::demo::{check_workdir, run_demo, DemoOptions, DemoReport};
use crate::exit::DifferencesFound;
use crate::output::Output;
use anyhow::Context;
use std::path::PathBuf;

/// Arguments of `rewind demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Work directory for the store and the exports: a new or empty directory, or a previous
    /// demo's (whose store/, exports/ and tmp/ are replaced). Default: a new directory under the
    /// system's temporary directory, kept (its path is printed) so the store can be explored with
    /// `rewind ls`, `rewind history` and `rewind restore`.
    #[arg(long)]
    workdir: Option<PathBuf>,
    /// Workload seed: the same seed generates the same records.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Customers created up front (each has a profile, orders, maybe a cart or session: about
    /// three items per customer). Raise it for a bigger table to restore.
    #[arg(long, default_value_t = 100)]
    initial_users: usize,
    /// Stream records per simulated second; the run is 5 phases of 5 minutes, so this sets its
    /// size (the initial customers' INSERTs come first).
    #[arg(long, default_value_t = 5)]
    records_per_second: u32,
    /// Generate and capture only, then stop: a store to explore or restore from by hand (and
    /// the benchmarks' way of making one).
    #[arg(long)]
    capture_only: bool,
}

/// Runs the demo and prints its summary; exit 1 when any restored point differs.
pub async fn run(args: Args, output: Output) -> anyhow::Result<()> {
    let workdir = match args.workdir {
        Some(dir) => {
            if let Err(e) = check_workdir(&dir) {
                // A directory we must not touch is a usage error (exit 2).
                clap::Error::raw(
                    clap::error::ErrorKind::ValueValidation,
                    format!("--workdir: {e:#}\n"),
                )
                .exit();
            }
            dir
        }
        None => tempfile::Builder::new()
            .prefix("rewind-demo-")
            .tempdir()
            .context("creating a work directory")?
            .keep(),
    };
    let opts = DemoOptions {
        seed: args.seed,
        initial_users: args.initial_users,
        records_per_second: args.records_per_second,
        capture_only: args.capture_only,
        ..DemoOptions::new(workdir)
    };
    let report = run_demo(&opts).await?;
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Output::Text => print_text(&report),
    }
    if report.is_ok() {
        Ok(())
    } else {
        Err(DifferencesFound(format!(
            "{} of {} restored points differ ({} differences)",
            report.points_restored - report.points_verified,
            report.points_restored,
            report.differences
        ))
        .into())
    }
}

fn print_text(r: &DemoReport) {
    println!("rewind demo in {}", r.workdir);
    println!(
        "captured {} stream records of table {} ({} INSERT, {} MODIFY, {} REMOVE of which {} by TTL) \
         over {} min of simulated time, in {} batches",
        thousands(r.records),
        r.table,
        thousands(r.inserts),
        thousands(r.modifies),
        thousands(r.removes),
        thousands(r.ttl_removes),
        r.simulated_seconds / 60,
        r.batches
    );
    println!(
        "change files: {} objects, {} bytes = {:.2}x the same records as gzip'd JSON lines \
         ({} bytes in one file per batch; {} bytes uncompressed)",
        r.change_files,
        thousands(r.change_bytes),
        r.size_vs_gzip_json,
        thousands(r.gzip_json_bytes),
        thousands(r.json_bytes)
    );
    println!("full backup after the first phase: {}", r.backup);
    println!("  compared with the change log: {}", r.whole_life_check);
    match &r.not_whole_life {
        None => println!(
            "restorable: {} (the change log covers the table's whole life)",
            r.restorable.join(", ")
        ),
        Some(why) => println!("restorable: {} ({why})", r.restorable.join(", ")),
    }
    println!("restored into exports, each compared with the reconstructed state and the workload's model:");
    for p in &r.points {
        let at = if p.requested == p.at {
            p.at.clone()
        } else {
            format!("{} = {}", p.requested, p.at)
        };
        println!(
            "  {at:<32} {:>6} items  {:>2} files read  {}",
            thousands(p.restored_items),
            p.files_read,
            if p.ok {
                "equal".to_string()
            } else {
                format!(
                    "DIFFERS: {} against the state, {} against the model",
                    p.state_differences, p.model_differences
                )
            }
        );
        for e in &p.examples {
            println!("      {e}");
        }
    }
    println!(
        "{} of {} points verified, {} differences; {:.1}s ({:.1}s capture, {:.1}s restore and verify)",
        r.points_verified,
        r.points_restored,
        r.differences,
        r.seconds,
        r.capture_seconds,
        r.restore_seconds
    );
    println!("explore the backup: rewind ls --store {}", r.store);
}

/// 1234567 -> "1,234,567".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
