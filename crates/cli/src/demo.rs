//! `rewind demo`: the whole pipeline on one laptop, no AWS account.
//!
//! A seeded workload ([`rewind_workload`]) stands in for a table's stream; its records go through
//! the capture library ([`rewind_capture::Capturer`], the same code the Lambda and the poller run)
//! into a local-directory store; then several points in time are restored into `file://` exports
//! (the ImportTable format) and each export is verified twice: against the state rewind
//! reconstructs ([`rewind_replay::verify`]) and against the workload's own model of the table at
//! that second, which shares no code with capture or replay. At the end of the first phase the
//! table is backed up (the model is scanned as `rewind backup` scans DynamoDB), and after capture
//! that backup is compared with the change log: that proves the log covers the table's whole life,
//! so every point back to the first second restores from the log alone (the later ones from the
//! backup and the changes after it). Nothing is compacted.
//!
//! Time is simulated: the workload stamps its records at `records_per_second` from
//! `2026-11-26T06:00:00Z`, and capture is told the simulated time (ingestion time, "read through"
//! times), so the restorable window and `latest` come out as they would had the demo run in real
//! time. The run is cut into phases of whole seconds; each phase ends with a checkpoint that says
//! the shard was read through the phase's end, as the poller's empty reads do.
//!
//! The work directory holds `store/` (the backup: `rewind ls --store DIR/store` reads it),
//! `exports/` (one export per restored point), `tmp/` (spill files) and a marker file
//! ([`MARKER`]) that lets a later `rewind demo --workdir DIR` reuse it: only a missing or empty
//! directory, or one holding the marker, is accepted, and in the latter only `store/`, `exports/`
//! and `tmp/` are replaced.

use anyhow::{bail, Context};
use rewind_catalog::layout;
use rewind_catalog::load_catalog;
use rewind_compactor::BackupOptions;
use rewind_replay::plan::PlanOptions;
use rewind_replay::reconstruct::ReconstructOptions;
use rewind_replay::whole_life::check_whole_life;
use rewind_replay::window::{restorable_window, WindowOptions};
use rewind_replay::AtSpec;
use rewind_store::{list_all, LocalStore, Store};
use rewind_workload::{Item as ModelItem, Workload, WorkloadConfig};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

mod capture_run;
mod restore_check;

use capture_run::{capture_run, stream_label};
use restore_check::restore_point;

/// The file that marks a directory as a demo's work directory (safe to clear and reuse).
pub const MARKER: &str = ".rewind-demo";

/// The sub-directories a demo creates (and replaces when a work directory is reused).
const OWNED: [&str; 3] = ["store", "exports", "tmp"];

/// How long after the last record the demo's poller makes its final empty read (ms): the
/// clock-skew margin (2 s), so that `latest` reaches the last second of the run.
const FINAL_READ_AFTER_MS: i64 = 2_000;

/// What the demo runs.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// The work directory (see the module docs: missing, empty, or a previous demo's).
    pub workdir: PathBuf,
    /// Workload seed: same seed, same records, same results.
    pub seed: u64,
    /// Phases of simulated time; every phase boundary but the last is a restore point, and the
    /// end of the last one is restored as `latest`.
    pub phases: u32,
    /// Simulated seconds per phase.
    pub phase_seconds: u32,
    /// Records per simulated second.
    pub records_per_second: u32,
    /// Records per capture batch (one change file each, as the poller flushes at 1,000).
    pub batch_records: usize,
    /// Customers the workload creates up front (about three items each).
    pub initial_users: usize,
    /// Stop after capture: no restores, no model copies.
    pub capture_only: bool,
}

impl DemoOptions {
    /// The defaults, in `workdir`: 5 phases of 5 minutes at 5 records/s (7,500 records, enough
    /// simulated time for idle sessions to expire and be deleted by TTL).
    pub fn new(workdir: impl Into<PathBuf>) -> Self {
        DemoOptions {
            workdir: workdir.into(),
            seed: 42,
            phases: 5,
            phase_seconds: 300,
            records_per_second: 5,
            batch_records: 1_000,
            initial_users: WorkloadConfig::default().initial_users,
            capture_only: false,
        }
    }
}

/// What the demo did and found.
#[derive(Debug, Clone, Serialize)]
pub struct DemoReport {
    /// The work directory.
    pub workdir: String,
    /// The store (a local directory).
    pub store: String,
    /// The source table.
    pub table: String,
    /// Stream records generated and captured.
    pub records: u64,
    /// Of which INSERT.
    pub inserts: u64,
    /// Of which MODIFY.
    pub modifies: u64,
    /// Of which REMOVE.
    pub removes: u64,
    /// Of the REMOVEs, deletions by DynamoDB's TTL process.
    pub ttl_removes: u64,
    /// Simulated seconds the records span.
    pub simulated_seconds: u64,
    /// Capture batches (one per `batch_records`, and one at each phase's end).
    pub batches: u64,
    /// Change files in the store.
    pub change_files: u64,
    /// Their bytes.
    pub change_bytes: u64,
    /// The same records as DynamoDB stream JSON lines, uncompressed.
    pub json_bytes: u64,
    /// ... gzip'd (default level), one file per capture batch: the like-for-like peer.
    pub gzip_json_bytes: u64,
    /// `change_bytes / gzip_json_bytes`.
    pub size_vs_gzip_json: f64,
    /// The restorable window after capture.
    pub restorable: Vec<String>,
    /// Why the change log alone does not cover the table's whole life, if it does not.
    pub not_whole_life: Option<String>,
    /// The full backup taken after the first phase (its manifest).
    pub backup: String,
    /// What comparing that backup with the change log found.
    pub whole_life_check: String,
    /// The restored points.
    pub points: Vec<PointReport>,
    /// Points restored.
    pub points_restored: u64,
    /// Points whose export equals both the reconstructed state and the model.
    pub points_verified: u64,
    /// Differences over all points and both comparisons.
    pub differences: u64,
    /// Wall-clock seconds of the generation and capture.
    pub capture_seconds: f64,
    /// Wall-clock seconds of the restores and verifications.
    pub restore_seconds: f64,
    /// Wall-clock seconds in all.
    pub seconds: f64,
}

impl DemoReport {
    /// Whether every point was restored and matched.
    pub fn is_ok(&self) -> bool {
        self.differences == 0 && self.points_verified == self.points.len() as u64
    }
}

/// One restored point.
#[derive(Debug, Clone, Serialize)]
pub struct PointReport {
    /// As requested: RFC 3339 or `latest`.
    pub requested: String,
    /// The resolved second, RFC 3339.
    pub at: String,
    /// The export (`file://` URL).
    pub export: String,
    /// Items in the workload's model at that second.
    pub model_items: u64,
    /// Items the restore wrote.
    pub restored_items: u64,
    /// Change files the restore read.
    pub files_read: u64,
    /// Export vs reconstructed state (`rewind verify`): missing + extra + differing.
    pub state_differences: u64,
    /// Export vs the workload's model: missing + extra + differing.
    pub model_differences: u64,
    /// The first differing keys, `kind key` (both comparisons).
    pub examples: Vec<String>,
    /// Both comparisons found nothing.
    pub ok: bool,
}

/// Checks that `dir` may be used as a work directory: missing, empty, or holding [`MARKER`].
pub fn check_workdir(dir: &Path) -> anyhow::Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    if !dir.is_dir() {
        bail!("{} is not a directory", dir.display());
    }
    if dir.join(MARKER).is_file() {
        return Ok(());
    }
    let mut entries =
        std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    if entries.next().is_some() {
        bail!(
            "{} is not empty and is not a previous demo's work directory (no {MARKER} file): \
             give an empty or new directory",
            dir.display()
        );
    }
    Ok(())
}

/// Creates (or clears a previous demo's) work directory and returns its absolute path.
fn prepare_workdir(dir: &Path) -> anyhow::Result<PathBuf> {
    check_workdir(dir)?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let dir = dir
        .canonicalize()
        .with_context(|| format!("resolving {}", dir.display()))?;
    std::fs::write(
        dir.join(MARKER),
        "A `rewind demo` work directory: a later `rewind demo --workdir` here replaces store/, exports/ and tmp/.\n",
    )
    .with_context(|| format!("writing {}", dir.join(MARKER).display()))?;
    for sub in OWNED {
        let path = dir.join(sub);
        if path.exists() {
            std::fs::remove_dir_all(&path)
                .with_context(|| format!("removing the previous demo's {}", path.display()))?;
        }
    }
    std::fs::create_dir_all(dir.join("tmp"))?;
    Ok(dir)
}

/// A restore point and the model's items at it.
struct Point {
    at: AtSpec,
    /// The second the model was taken at (what `latest` must resolve to).
    second: i64,
    model: Vec<ModelItem>,
}

/// What capture produced, for the report.
#[derive(Default)]
struct Captured {
    records: u64,
    inserts: u64,
    modifies: u64,
    removes: u64,
    ttl_removes: u64,
    batches: u64,
    json_bytes: u64,
    gzip_json_bytes: u64,
}

/// Runs the demo (see the module docs). An `Err` is a failure to run; differences are in the
/// report ([`DemoReport::is_ok`]).
pub async fn run_demo(opts: &DemoOptions) -> anyhow::Result<DemoReport> {
    let started = Instant::now();
    if opts.phases < 2 || opts.phase_seconds == 0 || opts.records_per_second == 0 {
        bail!("the demo needs at least 2 phases of at least 1 s and at least 1 record/s");
    }
    let workdir = prepare_workdir(&opts.workdir)?;
    let store_dir = workdir.join("store");
    let store: Store = Arc::new(LocalStore::new(&store_dir));

    let defaults = WorkloadConfig::default();
    let start = defaults.start_epoch_secs;
    let config = WorkloadConfig {
        seed: opts.seed,
        records_per_second: opts.records_per_second,
        initial_users: opts.initial_users,
        stream_label: stream_label(start)?,
        ..defaults
    };
    let table = config.table.clone();
    let mut workload = Workload::new(config);

    // The restore points: the first second, every phase boundary but the last, and `latest`.
    let phase = i64::from(opts.phase_seconds);
    let end = start + i64::from(opts.phases) * phase; // first second after the run
    let mut seconds: Vec<i64> = vec![start];
    seconds.extend((1..i64::from(opts.phases)).map(|k| start + k * phase - 1));
    seconds.dedup();
    if opts.capture_only {
        seconds.clear();
    }

    let capture_started = Instant::now();
    let backup_opts = BackupOptions {
        segments: 2,
        spill_dir: Some(workdir.join("tmp")),
        ..BackupOptions::default()
    };
    let (captured, mut points, backup) = capture_run(
        opts,
        &store,
        &mut workload,
        &table,
        (start, end),
        &seconds,
        &backup_opts,
    )
    .await?;
    // The backup's Scan against the change log: proves that the log holds every item since the
    // stream began, so restores from the log alone reach back to the first second.
    let reconstruct_opts = ReconstructOptions {
        spill_dir: Some(workdir.join("tmp")),
        ..ReconstructOptions::default()
    };
    let verdict = check_whole_life(&store, &table, &PlanOptions::default(), &reconstruct_opts)
        .await
        .context("comparing the full backup with the change log")?;
    if !opts.capture_only {
        points.push(Point {
            at: AtSpec::Latest,
            second: end - 1,
            model: workload.current_items().cloned().collect(),
        });
    }
    let capture_seconds = capture_started.elapsed().as_secs_f64();

    let files = list_all(store.as_ref(), &layout::changes_prefix(&table))
        .await
        .context("listing the change files")?;
    let change_bytes: u64 = files.iter().map(|f| f.size).sum();
    let catalog = load_catalog(store.as_ref(), &table, None).await?;
    let window = restorable_window(&catalog, &WindowOptions::default());

    let restore_started = Instant::now();
    let key_names: Vec<String> = workload
        .key_schema()
        .iter()
        .map(|k| k.name.to_string())
        .collect();
    let mut reports = Vec::with_capacity(points.len());
    for (i, point) in points.iter().enumerate() {
        reports.push(restore_point(&store, &table, &workdir, i + 1, point, &key_names).await?);
    }
    let restore_seconds = restore_started.elapsed().as_secs_f64();

    let differences = reports
        .iter()
        .map(|p| p.state_differences + p.model_differences)
        .sum();
    Ok(DemoReport {
        workdir: workdir.display().to_string(),
        store: store_dir.display().to_string(),
        table,
        records: captured.records,
        inserts: captured.inserts,
        modifies: captured.modifies,
        removes: captured.removes,
        ttl_removes: captured.ttl_removes,
        simulated_seconds: (end - start) as u64,
        batches: captured.batches,
        change_files: files.len() as u64,
        change_bytes,
        json_bytes: captured.json_bytes,
        gzip_json_bytes: captured.gzip_json_bytes,
        size_vs_gzip_json: change_bytes as f64 / captured.gzip_json_bytes.max(1) as f64,
        restorable: window.intervals.iter().map(ToString::to_string).collect(),
        not_whole_life: window.not_whole_life().map(str::to_string),
        backup: backup.manifest,
        whole_life_check: verdict.map_or_else(
            || "not compared (capture has not covered the backup yet)".to_string(),
            |v| v.reason,
        ),
        points_restored: reports.len() as u64,
        points_verified: reports.iter().filter(|p| p.ok).count() as u64,
        points: reports,
        differences,
        capture_seconds,
        restore_seconds,
        seconds: started.elapsed().as_secs_f64(),
    })
}
