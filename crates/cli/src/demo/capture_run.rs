//! The demo's capture: the workload's records, phase by phase, through the capture library in
//! batches (as the Lambda would deliver them), with the JSON-lines size they would have taken.

use super::*;
use crate::demo_source::model_at;
use anyhow::{bail, Context};
use flate2::write::GzEncoder;
use flate2::Compression;
use rewind_capture::{CaptureOptions, Capturer, ShardBatch, StreamInput};
use rewind_catalog::description::{
    AttributeDefinition, KeySchemaElement, StreamSetting, TableDescription, TimeToLive,
    DESCRIPTION_VERSION,
};
use rewind_compactor::{backup_from, BackupOptions, BackupReport};
use rewind_replay::at::format_second;
use rewind_replay::AtSpec;
use rewind_store::Store;
use rewind_workload::Workload;
use serde_json::Value;
use std::io::Write;
use std::sync::Arc;

/// The stream label of a stream created at `secs`, as DynamoDB writes it.
pub(super) fn stream_label(secs: i64) -> anyhow::Result<String> {
    Ok(chrono::DateTime::from_timestamp(secs, 0)
        .context("start time out of range")?
        .format("%Y-%m-%dT%H:%M:%S%.3f")
        .to_string())
}

/// The table's description as capture would have stored it when the table (and its stream) was
/// created at `created_secs`: what the restorable window needs to know the change log covers the
/// table's whole life.
pub(super) fn description(workload: &Workload, label: &str, created_secs: i64) -> TableDescription {
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
pub(super) async fn capture_run(
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
    rewind_catalog::save_description_if_changed(
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
pub(super) struct Shard<'a> {
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
