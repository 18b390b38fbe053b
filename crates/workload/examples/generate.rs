//! Prints workload records as JSON lines, or measures generation speed.
//!
//! ```text
//! cargo run --release -p rewind-workload --example generate -- 10000 > records.jsonl
//! cargo run --release -p rewind-workload --example generate -- 10000 --stats [--rps=25] [--seed=42]
//! ```
//!
//! Why: benchmarks and manual checks (pyarrow, DuckDB, gzip ratios) want a file of records
//! without writing a program.

use rewind_workload::{Workload, WorkloadConfig};
use std::io::Write as _;
use std::time::Instant;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(10_000);
    let stats = args.iter().any(|a| a == "--stats");
    let defaults = WorkloadConfig::default();
    let cfg = WorkloadConfig {
        records_per_second: flag(&args, "--rps").unwrap_or(defaults.records_per_second),
        seed: flag(&args, "--seed").unwrap_or(defaults.seed),
        ..defaults
    };
    if stats {
        // Generation alone, records dropped as they come (how capture and benchmarks consume
        // them), then again keeping them for the statistics.
        let started = Instant::now();
        Workload::new(cfg.clone()).take(n).for_each(drop);
        let generated = started.elapsed().as_secs_f64();
        let records: Vec<_> = Workload::new(cfg).take(n).collect();
        let mut by_event = std::collections::BTreeMap::new();
        let serialise = Instant::now();
        let mut json_bytes = 0usize;
        for r in &records {
            json_bytes += serde_json::to_vec(r).map(|v| v.len()).unwrap_or(0);
            let mut event = r["eventName"].as_str().unwrap_or("").to_owned();
            if r.get("userIdentity").is_some() {
                event.push_str("(TTL)");
            }
            *by_event.entry(event).or_insert(0usize) += 1;
        }
        println!(
            "{n} records generated in {generated:.3} s ({:.0} records/s); serialised to {:.1} MB of JSON lines in {:.3} s; {by_event:?}",
            n as f64 / generated,
            json_bytes as f64 / 1e6,
            serialise.elapsed().as_secs_f64(),
        );
    } else {
        let w = Workload::new(cfg);
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        for r in w.take(n) {
            serde_json::to_writer(&mut out, &r)?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
    }
    Ok(())
}

/// `--name=value`, parsed.
fn flag<T: std::str::FromStr>(args: &[String], name: &str) -> Option<T> {
    args.iter()
        .find_map(|a| a.strip_prefix(name)?.strip_prefix('=')?.parse().ok())
}
