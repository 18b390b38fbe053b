//! The compactor Lambda's handlers. A scheduled EventBridge rule invokes it (for example hourly)
//! with a constant input naming the table, `{"table": "shop"}`; it runs one compaction (merge
//! finished hours, cut a snapshot at the watermark) and publishes its metrics. With
//! `"retention": true` (a daily rule, say) it then applies the retention policy of its
//! environment, or the event's own `"retention": {"keep_changes_days": ..}`. Events with an
//! `action` are the steps of a Step Functions fan-out. Events are parsed into
//! [`CompactorEvent`] first.
//!
//! Idle shards are not probed here: that reads the stream, which is capture's job (the capture
//! Lambda's `{"action": "probe", "table": T}` event, or `rewind compact` on a host that runs
//! both), so a compactor never links stream-reading code.

use crate::compact::{compact, CompactOptions, CompactReport};
use crate::error::{CompactorError, Result};
pub use crate::lambda_event::{table_of, CompactionStep, CompactorEvent};
use rewind_catalog::list_snapshots;
use rewind_store::Store;
use serde_json::Value;

/// The AWS clients a scheduled run uses.
#[derive(Debug, Clone, Copy, Default)]
pub struct Clients<'a> {
    /// For metrics.
    pub cloudwatch: Option<&'a aws_sdk_cloudwatch::Client>,
}

/// Runs one invocation: parses the event (the process environment supplies the retention
/// policy's defaults) and runs the scheduled compaction or the step it names.
pub async fn invoke(
    store: &Store,
    clients: Clients<'_>,
    event: Value,
    now_ms: i64,
) -> Result<Value> {
    match parse_with_process_env(&event)? {
        CompactorEvent::Step(step) => run_step(store, step).await,
        CompactorEvent::Check { table, drill } => {
            let report = run_check(store, clients, &table, now_ms).await?;
            let mut answer = serde_json::to_value(report).expect("reports serialise");
            if let Some((to, n)) = drill {
                let drills = run_drills(store, clients, &table, &to, n, now_ms).await?;
                answer["drills"] = serde_json::to_value(drills).expect("reports serialise");
            }
            Ok(answer)
        }
        scheduled => {
            let report = run_scheduled(store, clients, scheduled, now_ms).await?;
            Ok(serde_json::to_value(report).expect("reports serialise"))
        }
    }
}

/// Runs one compaction for the event's table: merges, cuts a snapshot, applies retention when
/// asked. Metrics are best effort: CloudWatch never fails a committed snapshot.
pub async fn handle(
    store: &Store,
    clients: Clients<'_>,
    event: Value,
    now_ms: i64,
) -> Result<CompactReport> {
    run_scheduled(store, clients, parse_with_process_env(&event)?, now_ms).await
}

/// The event parsed with this process's environment as the retention policy's defaults.
fn parse_with_process_env(event: &Value) -> Result<CompactorEvent> {
    CompactorEvent::parse(event, &|name: &str| std::env::var(name).ok())
}

async fn run_scheduled(
    store: &Store,
    clients: Clients<'_>,
    event: CompactorEvent,
    now_ms: i64,
) -> Result<CompactReport> {
    let CompactorEvent::Scheduled { table, retention } = event else {
        return Err(CompactorError::Invalid {
            what: "compactor event",
            location: format!("{event:?}"),
            reason: "a fan-out step is not a scheduled run".into(),
        });
    };
    let report = compact(store, &table, &CompactOptions::default()).await?;
    if let Some(days) = retention {
        let deleted =
            crate::retention::apply_retention(store, &table, &days.policy(), now_ms / 1000, false)
                .await?;
        tracing::info!(table = %table, change_files = deleted.change_files.len(), snapshots = deleted.snapshots.len(), policy = ?days, "retention applied");
    }
    if let Some(client) = clients.cloudwatch {
        let newest = list_snapshots(store.as_ref(), &table)
            .await
            .map_err(rewind_replay::ReplayError::from)?
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

/// A scheduled scrub of `table` ([`rewind_replay::check::check_table`]): its findings are
/// logged one by one and published as `ScrubFindings` (the alarm's metric); the invocation
/// succeeds either way, since the scrub itself ran.
pub async fn run_check(
    store: &Store,
    clients: Clients<'_>,
    table: &str,
    now_ms: i64,
) -> Result<rewind_replay::check::CheckReport> {
    let started = std::time::Instant::now();
    let report = rewind_replay::check::check_table(store, table).await?;
    let seconds = started.elapsed().as_secs_f64();
    for finding in &report.findings {
        tracing::error!(%table, kind = ?finding.kind, location = %finding.location, detail = %finding.detail, "scrub finding");
    }
    if let Some(client) = clients.cloudwatch {
        let data = crate::metrics::scrub_metric_data(&report, seconds, now_ms);
        if let Err(e) = crate::metrics::publish_data(client, data).await {
            tracing::warn!(%table, error = %e, "scrub metrics not published");
        }
    }
    tracing::info!(%table, objects = report.objects, findings = report.findings.len(), seconds, "scrub done");
    Ok(report)
}

/// Scheduled restore drills of `table` into scratch targets under `to`
/// ([`rewind_replay::drill::drill`]): the measured RTO, items/s and failures published as
/// `DrillRestoreSeconds`, `DrillItemsPerSecond` and `DrillFailures`. A drill that does not
/// equal the state is logged and counted; the invocation succeeds, since the drill ran.
pub async fn run_drills(
    store: &Store,
    clients: Clients<'_>,
    table: &str,
    to: &str,
    n: usize,
    now_ms: i64,
) -> Result<Vec<rewind_replay::drill::DrillResult>> {
    let base: rewind_replay::target::TargetUrl = to.parse()?;
    let drills = rewind_replay::drill::drill(store, table, n, &base).await?;
    for d in drills.iter().filter(|d| !d.equal) {
        tracing::error!(%table, at = %d.at, target = %d.target, differences = d.differences, "restore drill did not equal the state");
    }
    if let Some(client) = clients.cloudwatch {
        let data = crate::metrics::drill_metric_data(table, &drills, now_ms);
        if let Err(e) = crate::metrics::publish_data(client, data).await {
            tracing::warn!(%table, error = %e, "drill metrics not published");
        }
    }
    Ok(drills)
}

/// One step of a fanned-out compaction (a Step Functions state machine: plan, a Map state over
/// the buckets, commit), chosen by the event's `action`:
///
/// - `{"action": "plan", "table": T, "at"?: seconds}` → `{"table", "run_id", "at", "buckets": [0, 1, ...]}`
///   (`at` defaults to the watermark);
/// - `{"action": "bucket", "table": T, "run_id": R, "bucket": b}` → `{"bucket", "file"}`;
/// - `{"action": "commit", "table": T, "run_id": R, "results": [...]}` → `{"manifest", "committed"}`.
pub async fn handle_step(store: &Store, event: Value) -> Result<Value> {
    match CompactorEvent::parse(&event, &|_| None)? {
        CompactorEvent::Step(step) => run_step(store, step).await,
        CompactorEvent::Scheduled { .. } | CompactorEvent::Check { .. } => {
            Err(CompactorError::Invalid {
                what: "compaction step",
                location: event.to_string().chars().take(200).collect(),
                reason: "\"action\" must be plan, bucket or commit".into(),
            })
        }
    }
}

async fn run_step(store: &Store, step: CompactionStep) -> Result<Value> {
    match step {
        CompactionStep::Plan { table, at } => {
            let at = match at {
                Some(at) => at,
                None => {
                    let catalog = rewind_catalog::load_catalog(store.as_ref(), &table, None)
                        .await
                        .map_err(rewind_replay::ReplayError::from)?;
                    rewind_replay::window::restorable_window(&catalog, &Default::default())
                        .watermark
                        .ok_or_else(|| CompactorError::Invalid {
                            what: "compaction step",
                            location: format!("plan of {table}"),
                            reason: "capture has not read anything yet (no watermark)".into(),
                        })?
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
        CompactionStep::Bucket {
            table,
            run_id,
            bucket,
        } => {
            let plan = crate::fanout::load_snapshot_plan(store, &table, &run_id).await?;
            let result =
                crate::fanout::compact_bucket(store, &plan, bucket, &Default::default()).await?;
            Ok(serde_json::to_value(result).expect("results serialise"))
        }
        CompactionStep::Commit {
            table,
            run_id,
            results,
        } => {
            let plan = crate::fanout::load_snapshot_plan(store, &table, &run_id).await?;
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
    }
}

/// The error an invocation reports: typed, so the console, Step Functions' `Catch` and the
/// failure notification tell a bad event from a store outage without reading the message.
impl From<CompactorError> for lambda_runtime::Diagnostic {
    fn from(error: CompactorError) -> Self {
        let error_type = match &error {
            CompactorError::Invalid { .. } => "Rewind.InvalidEvent",
            CompactorError::Store(_) => "Rewind.StoreError",
            CompactorError::Replay(_) => "Rewind.ReplayError",
            CompactorError::Format(_) => "Rewind.FormatError",
            CompactorError::Catalog(_) => "Rewind.CatalogError",
            CompactorError::NotCapturing { .. } => "Rewind.NotCapturing",
            CompactorError::Aws { .. } => "Rewind.AwsError",
        };
        lambda_runtime::Diagnostic {
            error_type: error_type.into(),
            error_message: error.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_invocations_report_a_type_per_cause() {
        let typed = |e: CompactorError| lambda_runtime::Diagnostic::from(e).error_type;
        let bad_event = CompactorEvent::parse(&serde_json::json!({}), &|_| None).unwrap_err();
        assert_eq!(typed(bad_event), "Rewind.InvalidEvent");
        let outage = rewind_store::StoreError::other("get", "k", "down", true);
        assert_eq!(typed(CompactorError::Store(outage)), "Rewind.StoreError");
        let refused = rewind_catalog::check_view_type("shop", "KEYS_ONLY").unwrap_err();
        assert_eq!(typed(refused.into()), "Rewind.CatalogError");
    }
}
