//! The scheduled compactor's handler: an EventBridge rule invokes it (for example hourly) with a
//! constant input naming the table, `{"table": "shop"}`; it runs one compaction (merge finished
//! hours, cut a snapshot at the watermark) and publishes its metrics. With `"retention": true`
//! (a daily rule, say) it then applies the default retention policy.

use crate::compact::{compact, CompactOptions, CompactReport};
use crate::error::{CompactorError, Result};
use rewind_replay::catalog::list_snapshots;
use rewind_store::Store;
use serde_json::Value;

/// Reads the table from the event: `{"table": ...}` (the rule's constant input) or the same
/// object under `detail` (a custom event).
pub fn table_of(event: &Value) -> Result<String> {
    event
        .get("table")
        .or_else(|| event.get("detail").and_then(|d| d.get("table")))
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| CompactorError::Invalid {
            what: "compactor event",
            location: event.to_string().chars().take(200).collect(),
            reason: "no \"table\" (give the EventBridge target the constant input {\"table\": \"<name>\"})".into(),
        })
}

/// The AWS clients a scheduled run uses.
#[derive(Debug, Clone, Copy, Default)]
pub struct Clients<'a> {
    /// For metrics.
    pub cloudwatch: Option<&'a aws_sdk_cloudwatch::Client>,
    /// For probing idle shards (DescribeTable, then the stream).
    pub dynamodb: Option<&'a aws_sdk_dynamodb::Client>,
    /// See `dynamodb`.
    pub streams: Option<&'a aws_sdk_dynamodbstreams::Client>,
}

/// Shards whose read-through is older than this are probed before the watermark is taken.
pub const STALE_AFTER_MS: i64 = 60_000;

/// Runs one compaction for the event's table: probes idle shards (so the watermark moves),
/// merges, cuts a snapshot. Probing and metrics are best effort: a failed probe leaves the
/// watermark where capture put it, and CloudWatch never fails a committed snapshot.
pub async fn handle(
    store: &Store,
    clients: Clients<'_>,
    event: Value,
    now_ms: i64,
) -> Result<CompactReport> {
    let table = table_of(&event)?;
    if let (Some(dynamodb), Some(streams)) = (clients.dynamodb, clients.streams) {
        match rewind_capture::poller::probe_stale_shards(
            store.as_ref(),
            dynamodb,
            streams,
            &table,
            STALE_AFTER_MS,
            now_ms,
        )
        .await
        {
            Ok(probe) => {
                tracing::info!(table = %table, advanced = ?probe.advanced, behind = ?probe.behind, "idle shards probed")
            }
            Err(e) => {
                tracing::warn!(table = %table, error = %e, "probing idle shards failed; the watermark stays where capture left it")
            }
        }
    }
    let report = compact(store, &table, &CompactOptions::default()).await?;
    if event.get("retention").and_then(Value::as_bool) == Some(true) {
        let deleted = crate::retention::apply_retention(
            store,
            &table,
            &crate::retention::RetentionPolicy::default(),
            now_ms / 1000,
            false,
        )
        .await?;
        tracing::info!(table = %table, change_files = deleted.change_files.len(), snapshots = deleted.snapshots.len(), "retention applied");
    }
    if let Some(client) = clients.cloudwatch {
        let newest = list_snapshots(store.as_ref(), &table)
            .await?
            .iter()
            .map(|s| s.at)
            .max();
        if let Err(e) = crate::metrics::publish(client, &report, newest, now_ms).await {
            tracing::warn!(table = %table, error = %e, "compaction metrics not published");
        }
    }
    tracing::info!(table = %table, snapshot = ?report.snapshot_at, skipped = ?report.skipped, "compaction done");
    Ok(report)
}

/// One step of a fanned-out compaction (a Step Functions state machine: plan, a Map state over
/// the buckets, commit), chosen by the event's `action`:
///
/// - `{"action": "plan", "table": T, "at"?: seconds}` → `{"table", "run_id", "at", "buckets": [0, 1, ...]}`
///   (`at` defaults to the watermark);
/// - `{"action": "bucket", "table": T, "run_id": R, "bucket": b}` → `{"bucket", "file"}`;
/// - `{"action": "commit", "table": T, "run_id": R, "results": [...]}` → `{"manifest", "committed"}`.
pub async fn handle_step(store: &Store, event: Value) -> Result<Value> {
    let table = table_of(&event)?;
    let bad = |reason: &str| CompactorError::Invalid {
        what: "compaction step",
        location: event.to_string().chars().take(200).collect(),
        reason: reason.to_string(),
    };
    let run_id = || {
        event
            .get("run_id")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("no \"run_id\""))
    };
    match event.get("action").and_then(Value::as_str) {
        Some("plan") => {
            let at = match event.get("at").and_then(Value::as_i64) {
                Some(at) => at,
                None => {
                    let catalog =
                        rewind_replay::catalog::load_catalog(store.as_ref(), &table, None).await?;
                    rewind_replay::window::restorable_window(&catalog, &Default::default())
                        .watermark
                        .ok_or_else(|| bad("capture has not read anything yet (no watermark)"))?
                }
            };
            let plan = crate::fanout::plan_snapshot(store, &table, at, &Default::default()).await?;
            Ok(serde_json::json!({
                "table": table,
                "run_id": plan.run_id,
                "at": plan.at,
                "buckets": plan.buckets(),
            }))
        }
        Some("bucket") => {
            let plan = crate::fanout::load_snapshot_plan(store, &table, run_id()?).await?;
            let bucket = event
                .get("bucket")
                .and_then(Value::as_u64)
                .ok_or_else(|| bad("no \"bucket\""))? as u32;
            let result =
                crate::fanout::compact_bucket(store, &plan, bucket, &Default::default()).await?;
            Ok(serde_json::to_value(result).expect("results serialise"))
        }
        Some("commit") => {
            let plan = crate::fanout::load_snapshot_plan(store, &table, run_id()?).await?;
            let results: Vec<crate::fanout::BucketResult> = serde_json::from_value(
                event
                    .get("results")
                    .cloned()
                    .ok_or_else(|| bad("no \"results\""))?,
            )
            .map_err(|e| bad(&format!("results: {e}")))?;
            Ok(
                match crate::fanout::commit_snapshot(store, &plan, &results).await? {
                    crate::snapshot_writer::Committed::Won { manifest_key, .. } => {
                        serde_json::json!({"manifest": manifest_key, "committed": true})
                    }
                    crate::snapshot_writer::Committed::Lost { manifest_key } => {
                        serde_json::json!({"manifest": manifest_key, "committed": false})
                    }
                },
            )
        }
        _ => Err(bad("\"action\" must be plan, bucket or commit")),
    }
}
