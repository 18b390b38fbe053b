//! The worker Lambda's steps, invoked with the payloads the restore state machine sends and in
//! its order (plan, the Map's bucket steps concurrently, commit, verify), against moto: the job
//! ends `succeeded` with a verified report and the restored table equals the reference model.
//! The failure path (a refused plan, then the Catch's `job_failed`) ends the job failed with
//! the cause; a payload that is no step is refused as `Rewind.InvalidEvent`.

mod common;

use common::*;
use rewind_e2e::changelog::*;
use rewind_replay::target::dynamodb::DynamoDbTarget;
use rewind_service::jobs::{JobCatalog, JobKind, JobStatus, NewJob};
use rewind_service::mask_key::MaskKey;
use rewind_service::notify::Notifier;
use rewind_service::steps::StepContext;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_runs_step_by_step_and_ends_verified() {
    rewind_e2e::moto_endpoint();
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let (_dir, store) = local_store();
    let records = workload();
    write_files(store.as_ref(), &records, 100).await;
    seed_capture_state(store.as_ref(), T0_MS + 3_600_000).await;
    let jobs = JobCatalog::new(dynamodb.clone(), unique("jobs"));
    jobs.create_if_missing().await.unwrap();
    let ctx = StepContext {
        store,
        jobs: jobs.clone(),
        notifier: Notifier::disabled(),
        mask_key: MaskKey::new(None),
        dynamodb: dynamodb.clone(),
    };
    let at = (T0_MS + 1000) / 1000 + 40;
    let at_text = rewind_replay::at::format_second(at);
    let target_table = unique("restored");
    let request = |to: &str| {
        json!({"table": TABLE, "at": at_text, "to": to, "into_existing": false, "no_ttl": false,
            "key_filter": null, "mask": [], "dry_run": false})
        .to_string()
    };
    let to = format!("dynamodb://{target_table}");
    let job = jobs
        .create(NewJob {
            kind: JobKind::Restore,
            table: TABLE.into(),
            at: Some(at_text.clone()),
            target: Some(to.clone()),
            request: request(&to),
        })
        .await
        .unwrap();
    let id = job.job_id.clone();

    // The execution: plan, the Map over buckets (concurrently), commit, verify.
    let plan = invoke(&ctx, json!({"action": "restore_plan", "job_id": id}))
        .await
        .unwrap();
    assert_eq!(plan["fan_out"], json!(true), "{plan}");
    assert_eq!(plan["job_id"], json!(id));
    let buckets: Vec<u64> = plan["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_u64().unwrap())
        .collect();
    assert!(!buckets.is_empty());
    // A retried plan step (Step Functions retries a Task whose answer was lost) is harmless.
    let again = invoke(&ctx, json!({"action": "restore_plan", "job_id": id}))
        .await
        .unwrap();
    assert_eq!(again["at"], plan["at"]);
    let steps = buckets.iter().map(|b| {
        invoke(
            &ctx,
            json!({"action": "restore_bucket", "job_id": id, "bucket": b}),
        )
    });
    let written: Vec<Value> = futures_join(steps).await;
    let items: u64 = written
        .iter()
        .map(|w| w["items_written"].as_u64().unwrap())
        .sum();
    let commit = invoke(&ctx, json!({"action": "restore_commit", "job_id": id}))
        .await
        .unwrap();
    assert_eq!(commit["items"].as_u64(), Some(items));
    let verified = invoke(&ctx, json!({"action": "restore_verify", "job_id": id}))
        .await
        .unwrap();
    assert_eq!(
        verified,
        json!({"job_id": id, "status": "succeeded", "verified": true})
    );

    let job = jobs.get(&id).await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Succeeded, "{job:?}");
    let report: Value = serde_json::from_str(job.report.as_deref().unwrap()).unwrap();
    assert_eq!(report["verify"]["missing"], json!(0), "{report}");
    assert_eq!(report["at"], json!(at_text));
    let want = reference(&records, (at + 1) * 1000);
    let target = DynamoDbTarget::new(dynamodb.clone(), &target_table, to.clone());
    assert_eq!(table_items(&target).await, want);
    assert_eq!(items, want.len() as u64);

    // The same restore again: the plan is refused (the table exists), the Catch ends the job.
    let second = jobs
        .create(NewJob {
            kind: JobKind::Restore,
            table: TABLE.into(),
            at: Some(at_text.clone()),
            target: Some(to.clone()),
            request: request(&to),
        })
        .await
        .unwrap();
    let (error_type, message) = invoke(
        &ctx,
        json!({"action": "restore_plan", "job_id": second.job_id}),
    )
    .await
    .unwrap_err();
    assert_eq!(error_type, "Rewind.Failed");
    assert!(message.contains("already exists"), "{message}");
    let cause = json!({"errorType": error_type, "errorMessage": message}).to_string();
    let failed = invoke(
        &ctx,
        json!({"action": "job_failed", "job_id": second.job_id,
            "error": {"Error": "Rewind.Failed", "Cause": cause}}),
    )
    .await
    .unwrap();
    assert_eq!(failed["status"], json!("failed"));
    let second = jobs.get(&second.job_id).await.unwrap().unwrap();
    assert_eq!(second.status, JobStatus::FailedResumable, "{second:?}");
    assert!(
        second.error.as_deref().unwrap().contains("already exists"),
        "{second:?}"
    );
    // Bucket steps of a job that is not running in this execution are refused.
    let (error_type, _) = invoke(
        &ctx,
        json!({"action": "restore_bucket", "job_id": second.job_id, "bucket": 0}),
    )
    .await
    .unwrap_err();
    assert_eq!(error_type, "Rewind.Failed");

    // Not a step at all.
    let (error_type, message) = invoke(&ctx, json!({"action": "restore_everything", "job_id": id}))
        .await
        .unwrap_err();
    assert_eq!(error_type, "Rewind.InvalidEvent");
    assert!(message.contains("restore_everything"), "{message}");
    let _ = dynamodb
        .delete_table()
        .table_name(&target_table)
        .send()
        .await;
}

/// A scheduled full backup (no job yet) through the backup machine's steps: plan creates the
/// job, the segments' and buckets' Maps stage and write, the commit ends the job with the
/// snapshot's manifest, which holds every item of the table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_backup_runs_step_by_step() {
    rewind_e2e::moto_endpoint();
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let source = unique("orders");
    rewind_e2e::table_with_items(&dynamodb, &source, 60).await;
    let (_dir, store) = local_store();
    let jobs = JobCatalog::new(dynamodb.clone(), unique("jobs"));
    jobs.create_if_missing().await.unwrap();
    let ctx = StepContext {
        store: store.clone(),
        jobs: jobs.clone(),
        notifier: Notifier::disabled(),
        mask_key: MaskKey::new(None),
        dynamodb: dynamodb.clone(),
    };
    let plan = invoke(&ctx, json!({"action": "backup_plan", "table": source}))
        .await
        .unwrap();
    let id = plan["job_id"].as_str().unwrap().to_string();
    let run = plan["run_id"].as_str().unwrap().to_string();
    assert_eq!(
        jobs.get(&id).await.unwrap().unwrap().status,
        JobStatus::Running
    );
    let list = |name: &str| -> Vec<u64> {
        plan[name]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect()
    };
    let mut scanned = 0;
    for segment in list("segments") {
        let done = invoke(
            &ctx,
            json!({"action": "backup_segment", "job_id": id, "run_id": run, "segment": segment}),
        )
        .await
        .unwrap();
        scanned += done["items"].as_u64().unwrap();
    }
    assert_eq!(scanned, 60);
    let mut results = Vec::new();
    for bucket in list("buckets") {
        results.push(
            invoke(
                &ctx,
                json!({"action": "backup_bucket", "job_id": id, "run_id": run, "bucket": bucket}),
            )
            .await
            .unwrap(),
        );
    }
    let committed = invoke(
        &ctx,
        json!({"action": "backup_commit", "job_id": id, "run_id": run, "results": results}),
    )
    .await
    .unwrap();
    assert_eq!(committed["status"], json!("succeeded"), "{committed}");
    let job = jobs.get(&id).await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Succeeded, "{job:?}");
    let report: Value = serde_json::from_str(job.report.as_deref().unwrap()).unwrap();
    assert_eq!(report["items"], json!(60));
    let snapshots = rewind_catalog::list_snapshots(store.as_ref(), &source)
        .await
        .unwrap();
    assert_eq!(snapshots.len(), 1);
    assert_eq!(
        snapshots[0].manifest_key,
        committed["manifest"].as_str().unwrap()
    );
    let _ = dynamodb.delete_table().table_name(&source).send().await;
}
