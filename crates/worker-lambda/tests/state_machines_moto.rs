//! The state machines the template deploys (deploy/statemachines/*.asl.json), run by a small
//! ASL interpreter (tests/asl) against the real worker in-process and moto: every Task's
//! Parameters must be a step the worker accepts, every path must find what the previous
//! step answered, and each job must end as the worker records it. Covered: a fanned-out restore
//! (API job), a refused restore ending in job_failed, an into-existing restore (one step), a
//! backup job (the child backup machine) and a scheduled backup (no job yet).

mod asl;
mod common;

use asl::{load, run, Failure, Run};
use common::*;
use rewind_e2e::changelog::*;
use rewind_replay::target::dynamodb::DynamoDbTarget;
use rewind_service::jobs::{JobCatalog, JobKind, JobStatus, NewJob};
use rewind_service::mask_key::MaskKey;
use rewind_service::notify::Notifier;
use rewind_service::steps::StepContext;
use rewind_worker_lambda::handle;
use serde_json::{json, Value};
use std::path::PathBuf;

const WORKER: &str = "arn:aws:lambda:us-east-1:123456789012:function:rewind-worker";
const BACKUP_MACHINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:rewind-backup";

fn definition(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/statemachines")
        .join(name);
    load(
        &path,
        &[
            ("WorkerFunctionArn", WORKER),
            ("BackupStateMachineArn", BACKUP_MACHINE),
            ("MapMaxConcurrency", "10"),
        ],
    )
}

/// Runs `machine` on `input` with Tasks served by the worker (and child executions of the
/// backup machine run inline).
async fn execute(ctx: &StepContext, machine: &Value, input: Value) -> Run {
    let backup = definition("backup.asl.json");
    let backup = &backup;
    let invoke = move |resource: String, target: String, input: Value| {
        Box::pin(async move {
            match resource.as_str() {
                "arn:aws:states:::lambda:invoke" => {
                    assert_eq!(target, WORKER, "a Task calls another function");
                    match handle(ctx, input["Payload"].clone()).await {
                        Ok(answer) => Ok(json!({"Payload": answer, "StatusCode": 200})),
                        Err(d) => Err(Failure {
                            cause:
                                json!({"errorType": d.error_type, "errorMessage": d.error_message})
                                    .to_string(),
                            error: d.error_type,
                        }),
                    }
                }
                r if r.starts_with("arn:aws:states:::states:startExecution.sync") => {
                    assert_eq!(target, BACKUP_MACHINE);
                    let context = json!({"Execution": {"Id": "child"}});
                    let child =
                        Box::pin(run_child(backup, input["Input"].clone(), context, ctx)).await;
                    match child.result {
                        Ok(output) => Ok(json!({"Output": output, "Status": "SUCCEEDED"})),
                        Err(f) => Err(Failure {
                            error: "States.TaskFailed".into(),
                            cause: format!("{}: {}", f.error, f.cause),
                        }),
                    }
                }
                other => panic!("a Task calls {other}, which the test does not serve"),
            }
        })
            as std::pin::Pin<Box<dyn std::future::Future<Output = Result<Value, Failure>> + '_>>
    };
    let context =
        json!({"Execution": {"Id": "arn:aws:states:us-east-1:123456789012:execution:rewind:test"}});
    run(machine, input, context, &invoke).await
}

/// The child machine, with the same Task server (boxed: the interpreter recurses).
fn run_child<'a>(
    machine: &'a Value,
    input: Value,
    context: Value,
    ctx: &'a StepContext,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Run> + 'a>> {
    Box::pin(async move {
        let invoke = move |resource: String, _target: String, input: Value| {
            Box::pin(async move {
                assert_eq!(resource, "arn:aws:states:::lambda:invoke");
                match handle(ctx, input["Payload"].clone()).await {
                    Ok(answer) => Ok(json!({"Payload": answer, "StatusCode": 200})),
                    Err(d) => Err(Failure {
                        cause: json!({"errorType": d.error_type, "errorMessage": d.error_message})
                            .to_string(),
                        error: d.error_type,
                    }),
                }
            })
                as std::pin::Pin<Box<dyn std::future::Future<Output = Result<Value, Failure>> + '_>>
        };
        run(machine, input, context, &invoke).await
    })
}

async fn context(store: rewind_store::Store) -> StepContext {
    rewind_e2e::moto_endpoint();
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let jobs = JobCatalog::new(dynamodb.clone(), unique("jobs"));
    jobs.create_if_missing().await.unwrap();
    StepContext {
        store,
        jobs,
        notifier: Notifier::disabled(),
        mask_key: MaskKey::new(None),
        dynamodb,
    }
}

async fn restore_job(ctx: &StepContext, at_text: &str, to: &str, into_existing: bool) -> String {
    let request = json!({"table": TABLE, "at": at_text, "to": to, "into_existing": into_existing,
        "no_ttl": false, "key_filter": null, "mask": [], "dry_run": false});
    ctx.jobs
        .create(NewJob {
            kind: JobKind::Restore,
            table: TABLE.into(),
            at: Some(at_text.to_string()),
            target: Some(to.to_string()),
            request: request.to_string(),
        })
        .await
        .unwrap()
        .job_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restores_run_through_the_deployed_machine() {
    let (_dir, store) = local_store();
    let records = workload();
    write_files(store.as_ref(), &records, 100).await;
    seed_capture_state(store.as_ref(), T0_MS + 3_600_000).await;
    let ctx = context(store).await;
    let machine = definition("restore.asl.json");
    let at = (T0_MS + 1000) / 1000 + 50;
    let at_text = rewind_replay::at::format_second(at);
    let table = unique("restored");
    let to = format!("dynamodb://{table}");

    // A fanned-out restore, as the API Lambda starts it.
    let id = restore_job(&ctx, &at_text, &to, false).await;
    let done = execute(
        &ctx,
        &machine,
        json!({"job_id": id, "kind": "restore", "table": TABLE}),
    )
    .await;
    let output = done
        .result
        .unwrap_or_else(|f| panic!("{f:?} after {:?}", done.visited));
    for state in ["Plan", "Buckets", "Commit", "Verify"] {
        assert!(
            done.visited.iter().any(|v| v == state),
            "{state} not visited: {:?}",
            done.visited
        );
    }
    assert!(!done.visited.iter().any(|v| v == "RestoreWhole"));
    let job = ctx.jobs.get(&id).await.unwrap().unwrap();
    assert_eq!(
        job.status,
        JobStatus::Succeeded,
        "{job:?} (output {output})"
    );
    let target = DynamoDbTarget::new(ctx.dynamodb.clone(), &table, to.clone());
    assert_eq!(
        table_items(&target).await,
        reference(&records, (at + 1) * 1000)
    );

    // The same request again: the plan is refused, the Catch reports, the run fails.
    let refused = restore_job(&ctx, &at_text, &to, false).await;
    let failed = execute(
        &ctx,
        &machine,
        json!({"job_id": refused, "kind": "restore", "table": TABLE}),
    )
    .await;
    let failure = failed.result.expect_err("an existing target fails the run");
    assert!(
        failed.visited.iter().any(|v| v == "JobFailed"),
        "{:?}",
        failed.visited
    );
    assert!(
        failure.cause.contains("already exists") || failure.error.contains("Rewind"),
        "{failure:?}"
    );
    let job = ctx.jobs.get(&refused).await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::FailedResumable, "{job:?}");
    assert!(
        job.error.as_deref().unwrap().contains("already exists"),
        "{job:?}"
    );

    // Into the existing table, at another point: one step, verified.
    let later = at + 30;
    let later_text = rewind_replay::at::format_second(later);
    let id = restore_job(&ctx, &later_text, &to, true).await;
    let done = execute(
        &ctx,
        &machine,
        json!({"job_id": id, "kind": "restore", "table": TABLE}),
    )
    .await;
    done.result
        .unwrap_or_else(|f| panic!("{f:?} after {:?}", done.visited));
    assert!(
        done.visited.iter().any(|v| v == "RestoreWhole"),
        "{:?}",
        done.visited
    );
    assert_eq!(
        ctx.jobs.get(&id).await.unwrap().unwrap().status,
        JobStatus::Succeeded
    );
    assert_eq!(
        table_items(&target).await,
        reference(&records, (later + 1) * 1000)
    );
    let _ = ctx.dynamodb.delete_table().table_name(&table).send().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_run_through_the_deployed_machines() {
    let (_dir, store) = local_store();
    let ctx = context(store.clone()).await;
    let source = unique("orders");
    rewind_e2e::table_with_items(&ctx.dynamodb, &source, 40).await;

    // A backup job from the API: the jobs machine starts the backup machine.
    let id = ctx
        .jobs
        .create(NewJob {
            kind: JobKind::Backup,
            table: source.clone(),
            at: None,
            target: None,
            request: json!({"table": source}).to_string(),
        })
        .await
        .unwrap()
        .job_id;
    let jobs_machine = definition("restore.asl.json");
    let done = execute(
        &ctx,
        &jobs_machine,
        json!({"job_id": id, "kind": "backup", "table": source}),
    )
    .await;
    done.result
        .unwrap_or_else(|f| panic!("{f:?} after {:?}", done.visited));
    let job = ctx.jobs.get(&id).await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Succeeded, "{job:?}");

    // A scheduled backup: the rule's input has no job.
    let backup_machine = definition("backup.asl.json");
    let done = execute(
        &ctx,
        &backup_machine,
        json!({"kind": "backup", "table": source}),
    )
    .await;
    let output = done
        .result
        .unwrap_or_else(|f| panic!("{f:?} after {:?}", done.visited));
    assert!(
        done.visited.iter().any(|v| v == "PlanNewJob"),
        "{:?}",
        done.visited
    );
    let scheduled = ctx
        .jobs
        .list()
        .await
        .unwrap()
        .into_iter()
        .filter(|j| j.kind == JobKind::Backup && j.job_id != id)
        .collect::<Vec<_>>();
    assert_eq!(
        scheduled.len(),
        1,
        "one job created by the schedule: {scheduled:?} (output {output})"
    );
    assert_eq!(scheduled[0].status, JobStatus::Succeeded);
    let snapshots = rewind_catalog::list_snapshots(store.as_ref(), &source)
        .await
        .unwrap();
    // Two backups within one second name the same snapshot: the second loses the commit
    // (its report says so) and the store holds one.
    let valid_from = |job: &rewind_service::jobs::JobRecord| {
        let report: Value = serde_json::from_str(job.report.as_deref().unwrap()).unwrap();
        report["valid_from"].as_str().unwrap().to_string()
    };
    let first = ctx.jobs.get(&id).await.unwrap().unwrap();
    let distinct: std::collections::BTreeSet<String> =
        [valid_from(&first), valid_from(&scheduled[0])].into();
    assert_eq!(
        snapshots.len(),
        distinct.len(),
        "one snapshot per backup second"
    );
    let _ = ctx.dynamodb.delete_table().table_name(&source).send().await;
}
