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

use crate::demo_source::model_at;
use anyhow::{bail, Context};
use flate2::write::GzEncoder;
use flate2::Compression;
use rewind_capture::description::{
    AttributeDefinition, KeySchemaElement, StreamSetting, TableDescription, TimeToLive,
    DESCRIPTION_VERSION,
};
use rewind_capture::{CaptureOptions, Capturer, ShardBatch, StreamInput};
use rewind_compactor::{backup_from, BackupOptions, BackupReport};
use rewind_replay::at::format_second;
use rewind_replay::catalog::load_catalog;
use rewind_replay::fingerprint::{fingerprint, item_key, Fingerprint};
use rewind_replay::plan::PlanOptions;
use rewind_replay::reconstruct::ReconstructOptions;
use rewind_replay::restore::{restore, RestoreProgress, RestoreRequest};
use rewind_replay::target::export::ExportTarget;
use rewind_replay::target::RestoreTarget;
use rewind_replay::verify::verify;
use rewind_replay::whole_life::check_whole_life;
use rewind_replay::window::{restorable_window, WindowOptions};
use rewind_replay::AtSpec;
use rewind_store::{layout, list_all, LocalStore, Store};
use rewind_workload::{Item as ModelItem, Workload, WorkloadConfig};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

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

/// The stream label of a stream created at `secs`, as DynamoDB writes it.
fn stream_label(secs: i64) -> anyhow::Result<String> {
    Ok(chrono::DateTime::from_timestamp(secs, 0)
        .context("start time out of range")?
        .format("%Y-%m-%dT%H:%M:%S%.3f")
        .to_string())
}

/// The table's description as capture would have stored it when the table (and its stream) was
/// created at `created_secs`: what the restorable window needs to know the change log covers the
/// table's whole life.
fn description(workload: &Workload, label: &str, created_secs: i64) -> TableDescription {
    let created = format_second(created_secs);
    let mut attribute_definitions: Vec<AttributeDefinition> = workload
        .key_schema()
        .iter()
        .map(|k| AttributeDefinition {
            attribute_name: k.name.to_string(),
            attribute_type: k.attribute_type.to_string(),
        })
        .collect();
    attribute_definitions.sort_by(|a, b| a.attribute_name.cmp(&b.attribute_name));
    TableDescription {
        format_version: DESCRIPTION_VERSION,
        table_name: workload.config().table.clone(),
        table_arn: workload.table_arn(),
        table_id: None,
        creation_date_time: Some(created.clone()),
        key_schema: workload
            .key_schema()
            .iter()
            .map(|k| KeySchemaElement {
                attribute_name: k.name.to_string(),
                key_type: k.key_type.to_string(),
            })
            .collect(),
        attribute_definitions,
        billing_mode: "PAY_PER_REQUEST".into(),
        provisioned_throughput: None,
        on_demand_throughput: None,
        global_secondary_indexes: Vec::new(),
        local_secondary_indexes: Vec::new(),
        table_class: None,
        time_to_live: Some(TimeToLive {
            status: "ENABLED".into(),
            attribute_name: Some(workload.ttl_attribute().to_string()),
        }),
        sse: None,
        tags: Default::default(),
        stream: StreamSetting {
            enabled: true,
            view_type: Some("NEW_AND_OLD_IMAGES".into()),
            latest_stream_arn: Some(workload.stream_arn()),
            latest_stream_label: Some(label.to_string()),
        },
        deletion_protection_enabled: false,
        replica_regions: Vec::new(),
        global_table_version: None,
        table_status: Some("ACTIVE".into()),
        item_count: None,
        table_size_bytes: None,
        captured_at: created,
    }
}

/// Generates the run's records phase by phase and captures them in batches; takes the model at
/// each of `seconds` (sorted) on the way, and a full backup of the table at the end of the
/// first phase.
async fn capture_run(
    opts: &DemoOptions,
    store: &Store,
    workload: &mut Workload,
    table: &str,
    (start, end): (i64, i64),
    seconds: &[i64],
    backup_opts: &BackupOptions,
) -> anyhow::Result<(Captured, Vec<Point>, BackupReport)> {
    let label = workload.config().stream_label.clone();
    let capturer = Capturer::new(Arc::clone(store), CaptureOptions::default());
    capturer
        .claim(table, &workload.table_arn())
        .await
        .context("claiming the table in the store")?;
    let created = chrono::DateTime::from_timestamp(start, 0).context("start time out of range")?;
    rewind_capture::save_description_if_changed(
        store.as_ref(),
        &description(workload, &label, start),
        created,
    )
    .await
    .context("saving the table description")?;

    let rps = u64::from(opts.records_per_second);
    // The simulated clock after `emitted` records (the workload's own formula).
    let clock_ms = |emitted: u64| start * 1000 + (emitted * 1000 / rps) as i64;
    let mut shard = Shard {
        capturer: &capturer,
        table,
        label: &label,
        shard_id: workload.shard_id().to_string(),
        records: Vec::new(),
        json: Vec::new(),
    };
    let mut captured = Captured::default();
    let mut points = Vec::new();
    let mut backup = None;
    let mut next_point = seconds.iter().peekable();
    let phase = i64::from(opts.phase_seconds);
    for phase_end in (1..).map(|k| start + k * phase).take_while(|&e| e <= end) {
        let phase_records = (phase_end - start) as u64 * rps;
        while workload.records_emitted() < phase_records {
            let record = workload.next().expect("the workload is endless");
            captured.count(&record);
            shard.push(record)?;
            // The model at second S: after every record stamped S or earlier.
            while let Some(&&s) = next_point.peek() {
                if workload.records_emitted() < (s - start + 1) as u64 * rps {
                    break;
                }
                points.push(Point {
                    at: AtSpec::Second(s),
                    second: s,
                    model: workload.current_items().cloned().collect(),
                });
                next_point.next();
            }
            if shard.records.len() >= opts.batch_records {
                let now = clock_ms(workload.records_emitted());
                shard.flush(None, now, &mut captured).await?;
            }
        }
        // The phase's end: everything stamped before it has been read.
        let now = phase_end * 1000;
        shard.flush(Some(now - 1), now, &mut captured).await?;
        if backup.is_none() {
            // `rewind backup` of the table as it is now (the model holds every record so far).
            let source = model_at(
                description(workload, &label, start),
                workload.current_items().cloned(),
                now,
            )?;
            backup = Some(
                backup_from(store, &source, backup_opts)
                    .await
                    .context("backing up the table")?,
            );
        }
    }
    // The poller's empty read a little later: the watermark reaches the run's last second.
    let now = end * 1000 + FINAL_READ_AFTER_MS;
    shard.flush(Some(now), now, &mut captured).await?;
    let backup = backup.context("the run has at least one phase")?;
    Ok((captured, points, backup))
}

impl Captured {
    fn count(&mut self, record: &Value) {
        self.records += 1;
        match record["eventName"].as_str() {
            Some("INSERT") => self.inserts += 1,
            Some("MODIFY") => self.modifies += 1,
            Some("REMOVE") => {
                self.removes += 1;
                if record["userIdentity"]["principalId"] == "dynamodb.amazonaws.com" {
                    self.ttl_removes += 1;
                }
            }
            _ => {}
        }
    }
}

/// The one shard's unflushed records, and their JSON lines for the size comparison.
struct Shard<'a> {
    capturer: &'a Capturer,
    table: &'a str,
    label: &'a str,
    shard_id: String,
    records: Vec<Value>,
    json: Vec<u8>,
}

impl Shard<'_> {
    fn push(&mut self, record: Value) -> anyhow::Result<()> {
        serde_json::to_writer(&mut self.json, &record)?;
        self.json.push(b'\n');
        self.records.push(record);
        Ok(())
    }

    /// Captures the buffered records as one batch (also when there are none, to record the
    /// read-through time), at simulated time `now_ms`.
    async fn flush(
        &mut self,
        read_through_ms: Option<i64>,
        now_ms: i64,
        captured: &mut Captured,
    ) -> anyhow::Result<()> {
        if self.records.is_empty() && read_through_ms.is_none() {
            return Ok(());
        }
        if !self.json.is_empty() {
            let mut gz = GzEncoder::new(Vec::new(), Compression::default());
            gz.write_all(&self.json)?;
            captured.json_bytes += self.json.len() as u64;
            captured.gzip_json_bytes += gz.finish()?.len() as u64;
            self.json.clear();
        }
        let batch = ShardBatch {
            table: self.table.to_string(),
            stream_label: self.label.to_string(),
            shard_id: self.shard_id.clone(),
            parent_shard_id: None,
            records: self.records.drain(..).map(StreamInput::Lambda).collect(),
            read_through_ms,
            shard_ended: false,
        };
        let outcome = self.capturer.capture(&batch, now_ms).await;
        if let Some(failure) = outcome.failure {
            return Err(anyhow::Error::new(failure.error).context(format!(
                "capturing a batch of {} records (from record {} on)",
                batch.records.len(),
                failure.first_failed
            )));
        }
        if outcome.quarantined > 0 {
            bail!(
                "capture quarantined {} of the workload's records: it could not convert them",
                outcome.quarantined
            );
        }
        if !batch.records.is_empty() {
            captured.batches += 1;
        }
        Ok(())
    }
}

/// Restores one point into its own export and compares the export with the reconstructed state
/// and with the model.
async fn restore_point(
    store: &Store,
    table: &str,
    workdir: &Path,
    n: usize,
    point: &Point,
    key_names: &[String],
) -> anyhow::Result<PointReport> {
    let name = match point.at {
        AtSpec::Latest => format!("{n:02}-latest"),
        AtSpec::Second(s) => format!("{n:02}-{}", format_second(s).replace(':', "")),
    };
    let dir = workdir.join("exports").join(name);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let url = format!("file://{}", dir.display());
    let target = ExportTarget::open(&url)
        .await
        .with_context(|| format!("opening the export {url}"))?;
    let reconstruct = ReconstructOptions {
        spill_dir: Some(workdir.join("tmp")),
        ..Default::default()
    };
    let request = RestoreRequest {
        table: table.to_string(),
        at: point.at,
        into_existing: false,
        no_ttl: false,
        plan: PlanOptions::default(),
        reconstruct: reconstruct.clone(),
    };
    let restored = restore(store, &target, &request, &RestoreProgress::default())
        .await
        .with_context(|| format!("restoring {table} at {} into {url}", point.at))?;
    let mut examples = Vec::new();
    let mut model_differences = 0;
    if restored.at != format_second(point.second) {
        model_differences += 1;
        examples.push(format!(
            "{} resolved to {}, expected {}",
            point.at,
            restored.at,
            format_second(point.second)
        ));
    }
    let at = AtSpec::Second(point.second);
    let state = verify(
        store,
        table,
        at,
        &target,
        &PlanOptions::default(),
        &reconstruct,
    )
    .await
    .with_context(|| format!("verifying {url} against {table} at {at}"))?;
    examples.extend(
        state
            .differences
            .iter()
            .map(|d| format!("state {} {}", d.kind, d.key)),
    );
    let state_differences = state.missing + state.extra + state.differing;

    let exported = scan(&target, key_names).await?;
    let (differences, model_examples) = compare_with_model(&point.model, exported, key_names)?;
    model_differences += differences;
    examples.extend(model_examples);
    examples.truncate(10);
    Ok(PointReport {
        requested: point.at.to_string(),
        at: restored.at.clone(),
        export: url,
        model_items: point.model.len() as u64,
        restored_items: restored.items,
        files_read: restored.files_read,
        state_differences,
        model_differences,
        ok: state_differences == 0 && model_differences == 0,
        examples,
    })
}

/// Every item of the export, by canonical key: (key attributes as JSON, fingerprint).
async fn scan(
    target: &ExportTarget,
    key_names: &[String],
) -> anyhow::Result<HashMap<Vec<u8>, (String, Fingerprint)>> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let collect = async {
        let mut all = Vec::new();
        while let Some(page) = rx.recv().await {
            all.extend(page);
        }
        all
    };
    let (scanned, items) = tokio::join!(target.scan(tx), collect);
    scanned.with_context(|| format!("reading the export {}", target.id()))?;
    let mut by_key = HashMap::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let (key, keys) = item_key(item, key_names, &format!("{} item {i}", target.id()))?;
        if by_key
            .insert(key, (keys.clone(), fingerprint(item)))
            .is_some()
        {
            bail!("the export {} holds key {keys} twice", target.id());
        }
    }
    Ok(by_key)
}

/// Missing + extra + differing items of the export against the model, and the first few.
fn compare_with_model(
    model: &[ModelItem],
    mut exported: HashMap<Vec<u8>, (String, Fingerprint)>,
    key_names: &[String],
) -> anyhow::Result<(u64, Vec<String>)> {
    let mut differences = 0;
    let mut examples = Vec::new();
    let mut note = |kind: &str, keys: &str| {
        differences += 1;
        if examples.len() < 10 {
            examples.push(format!("model {kind} {keys}"));
        }
    };
    for (i, raw) in model.iter().enumerate() {
        let item = rewind_format::item_from_json(&serde_json::to_string(raw)?)
            .with_context(|| format!("reading the workload's model item {i}"))?;
        let (key, keys) = item_key(&item, key_names, &format!("model item {i}"))?;
        match exported.remove(&key) {
            Some((_, f)) if f == fingerprint(&item) => {}
            Some(_) => note("differs", &keys),
            None => note("missing", &keys),
        }
    }
    let mut extra: Vec<String> = exported.into_values().map(|(keys, _)| keys).collect();
    extra.sort();
    for keys in extra {
        note("extra", &keys);
    }
    Ok((differences, examples))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(json: &str) -> ModelItem {
        serde_json::from_str(json).unwrap()
    }

    fn export(items: &[&str]) -> HashMap<Vec<u8>, (String, Fingerprint)> {
        let names = ["pk".to_string()];
        items
            .iter()
            .map(|j| {
                let parsed = rewind_format::item_from_json(j).unwrap();
                let (key, keys) = item_key(&parsed, &names, "test").unwrap();
                (key, (keys, fingerprint(&parsed)))
            })
            .collect()
    }

    #[test]
    fn the_model_comparison_counts_missing_extra_and_differing_items() {
        let names = ["pk".to_string()];
        let model = [
            item(r#"{"pk":{"S":"a"},"n":{"N":"100"}}"#),
            item(r#"{"pk":{"S":"b"},"v":{"S":"x"}}"#),
            item(r#"{"pk":{"S":"c"}}"#),
        ];
        // Numbers compare by value; `b` differs, `c` is missing, `d` is extra.
        let exported = export(&[
            r#"{"pk":{"S":"a"},"n":{"N":"1E+2"}}"#,
            r#"{"pk":{"S":"b"},"v":{"S":"y"}}"#,
            r#"{"pk":{"S":"d"}}"#,
        ]);
        let (n, examples) = compare_with_model(&model, exported, &names).unwrap();
        assert_eq!(n, 3, "{examples:?}");
        assert_eq!(examples.len(), 3);
        assert!(examples[0].starts_with("model differs"), "{examples:?}");
        assert!(examples[1].starts_with("model missing"), "{examples:?}");
        assert!(examples[2].starts_with("model extra"), "{examples:?}");
        let same = export(&[
            r#"{"pk":{"S":"a"},"n":{"N":"100"}}"#,
            r#"{"pk":{"S":"b"},"v":{"S":"x"}}"#,
            r#"{"pk":{"S":"c"}}"#,
        ]);
        assert_eq!(compare_with_model(&model, same, &names).unwrap().0, 0);
    }

    #[test]
    fn only_empty_or_demo_directories_are_work_directories() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check_workdir(&dir.path().join("new")).is_ok());
        assert!(check_workdir(dir.path()).is_ok());
        std::fs::write(dir.path().join("x"), "").unwrap();
        assert!(check_workdir(dir.path()).is_err());
        std::fs::write(dir.path().join(MARKER), "").unwrap();
        assert!(check_workdir(dir.path()).is_ok());
    }
}
