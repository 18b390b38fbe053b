//! `rewind history`: every version of one item.

use crate::output::Output;
use anyhow::Context;
use rewind_replay::history::{history, parse_key};

/// Arguments of `rewind history`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The source table.
    #[arg(long)]
    table: String,
    /// Where the backup lives.
    #[arg(long)]
    store: String,
    /// The item's key: DynamoDB JSON ({"pk":{"S":"u#1"}}) or plain JSON ({"pk":"u#1"}).
    #[arg(long)]
    key: String,
}

/// Prints the versions, oldest first.
pub async fn run(args: Args, output: Output) -> anyhow::Result<()> {
    let key = parse_key(&args.key)?;
    let store = super::open_store(&args.store).await?;
    let versions = history(&store, &args.table, &key)
        .await
        .with_context(|| format!("reading the history of {} in {}", args.key, args.table))?;
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&versions)?),
        Output::Text => {
            if versions.is_empty() {
                println!("no versions of {} in {}", args.key, args.table);
            }
            for v in &versions {
                let who = v
                    .user_identity
                    .as_ref()
                    .map(|u| format!(" by {u}"))
                    .unwrap_or_default();
                let image = v.new_image.as_ref().or(v.old_image.as_ref());
                println!(
                    "{} {:<6}{who} {}",
                    v.at,
                    v.event,
                    image.map(|i| i.to_string()).unwrap_or_default()
                );
            }
        }
    }
    Ok(())
}
