//! `rewind`: the command line. Each command parses its arguments, calls one library function and
//! maps its result to output and an exit code (0 success, 1 differences found, 2 usage or bad
//! input, 3 other failure; DESIGN.md's contract).

mod commands;
mod demo;
mod demo_source;
mod exit;
mod output;
mod stop;

use clap::{Parser, Subcommand};
use output::Output;

/// Continuous backup and point-in-time restore for DynamoDB.
#[derive(Debug, Parser)]
#[command(name = "rewind", version, about, long_about = None)]
struct Cli {
    /// Output format for results.
    #[arg(long, global = true, value_enum, default_value_t = Output::Text)]
    output: Output,
    /// Clock-skew margin taken off every shard's read-through time before it counts towards the
    /// watermark: it covers a write's delay into its stream and this host's clock offset
    /// (docs/DECISIONS.md, "The skew margin"). One value for everything this process computes.
    #[arg(long, global = true, env = "REWIND_SKEW_MARGIN", default_value = "2s", value_parser = humantime::parse_duration)]
    skew_margin: std::time::Duration,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole pipeline on this machine (no AWS account): workload, capture, restore, verify.
    Demo(commands::demo::Args),
    /// Stream poller: capture a table's stream into the store (outside Lambda).
    Capture(commands::capture::Args),
    /// Re-read a sequence range of a shard that Lambda reported and skipped.
    Redrive(commands::redrive::Args),
    /// Full snapshot of the live table by parallel Scan (bootstrap, scheduled full backups).
    Backup(commands::backup::Args),
    /// Cut a snapshot at the watermark from the newest snapshot and the changes after it.
    Compact(commands::compact::Args),
    /// Rebuild a table as it was at a second, into DynamoDB or an ImportTable export.
    Restore(commands::restore::Args),
    /// Compare a restored table or export with the state at a second (exit 1 on differences).
    Verify(commands::verify::Args),
    /// Scrub a table's backup: checksums, files, manifests, version chain (exit 1 on findings).
    Check(commands::check::Args),
    /// Every version of one item.
    History(commands::history::Args),
    /// Tables in a store: restorable window, watermark, lag, files.
    Ls(commands::ls::Args),
    /// The REST API: restore jobs and tables' windows over HTTP (jobs in a DynamoDB catalog).
    Serve(commands::serve::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    rewind_replay::window::set_process_skew_margin(cli.skew_margin);
    // The demo prints its own summary; the libraries' progress lines would only bury it.
    let default_filter = match cli.command {
        Command::Demo(_) => "warn",
        _ => "warn,rewind=info",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter)),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => return exit::report(&anyhow::Error::new(e).context("starting the runtime")),
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Demo(args) => commands::demo::run(args, cli.output).await,
            Command::Capture(args) => commands::capture::run(args, cli.output).await,
            Command::Redrive(args) => commands::redrive::run(args, cli.output).await,
            Command::Backup(args) => commands::backup::run(args, cli.output).await,
            Command::Compact(args) => commands::compact::run(args, cli.output).await,
            Command::Restore(args) => commands::restore::run(args, cli.output).await,
            Command::Verify(args) => commands::verify::run(args, cli.output).await,
            Command::Check(args) => commands::check::run(args, cli.output).await,
            Command::History(args) => commands::history::run(args, cli.output).await,
            Command::Ls(args) => commands::ls::run(args, cli.output).await,
            Command::Serve(args) => commands::serve::run(args).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => exit::report(&e),
    }
}
