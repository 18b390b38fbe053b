//! The job catalog against DynamoDB (moto): the table is created once, a job's life cycle is
//! enforced by conditional writes. moto evaluates condition expressions but its conditional
//! writes are not atomic under a real race, so the race itself is not tested: two claims in a
//! row show that the condition is sent and that its failure is read as "taken", not as an error.

use rewind_service::jobs::{Claim, JobCatalog, JobError, JobKind, JobStatus, NewJob, Progress};

async fn catalog() -> JobCatalog {
    rewind_e2e::moto_endpoint();
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let table = format!("rewind-jobs-{:08x}", rand_suffix());
    let catalog = JobCatalog::new(aws_sdk_dynamodb::Client::new(&sdk), table);
    catalog.create_if_missing().await.unwrap();
    // Idempotent: a second server start finds it.
    catalog.create_if_missing().await.unwrap();
    catalog
}

fn rand_suffix() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
}

fn restore_job() -> NewJob {
    NewJob {
        kind: JobKind::Restore,
        table: "shop".into(),
        at: Some("2026-11-26T09:00:00Z".into()),
        target: Some("dynamodb://shop-dev".into()),
        request: r#"{"table":"shop","at":"2026-11-26T09:00:00Z","to":"dynamodb://shop-dev"}"#
            .into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_worker_wins_a_claim_and_only_it_reports() {
    let jobs = catalog().await;
    let job = jobs.create(restore_job()).await.unwrap();
    assert_eq!(job.status, JobStatus::Queued);
    assert_eq!(jobs.get(&job.job_id).await.unwrap().as_ref(), Some(&job));

    let Claim::Won(won) = jobs.claim(&job.job_id, "worker-a").await.unwrap() else {
        panic!("the first claim wins");
    };
    assert_eq!((won.status, won.attempts), (JobStatus::Running, 1));
    assert_eq!(won.worker.as_deref(), Some("worker-a"));
    assert_eq!(
        jobs.claim(&job.job_id, "worker-b").await.unwrap(),
        Claim::Taken {
            status: JobStatus::Running,
            worker: Some("worker-a".into())
        },
        "the second claim is refused by the condition and says who holds the job"
    );

    let progress = Progress {
        items: 1200,
        bytes: 480_000,
        buckets_done: 3,
        buckets_total: 16,
        eta_seconds: Some(12.5),
    };
    jobs.report_progress(&job.job_id, "worker-a", &progress)
        .await
        .unwrap();
    let lost = jobs
        .report_progress(&job.job_id, "worker-b", &Progress::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&lost, JobError::Lost { holder, .. } if holder == "worker-a"),
        "{lost}"
    );
    assert_eq!(
        jobs.get(&job.job_id).await.unwrap().unwrap().progress,
        progress
    );

    jobs.finish(&job.job_id, "worker-a", Ok(r#"{"items":1200}"#.into()))
        .await
        .unwrap();
    let done = jobs.get(&job.job_id).await.unwrap().unwrap();
    assert_eq!(done.status, JobStatus::Succeeded);
    assert_eq!(done.report.as_deref(), Some(r#"{"items":1200}"#));
    assert!(done.finished_at.is_some());
    // A finished job is never reopened or reported on again.
    assert!(matches!(
        jobs.claim(&job.job_id, "worker-b").await.unwrap(),
        Claim::Taken {
            status: JobStatus::Succeeded,
            ..
        }
    ));
    assert!(jobs
        .finish(&job.job_id, "worker-a", Err(("late".into(), false)))
        .await
        .is_err());
    assert!(matches!(
        jobs.claim("restore-nope", "worker-a").await,
        Err(JobError::NotFound(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_worker_marks_its_running_jobs_resumable_and_they_can_be_claimed_again() {
    let jobs = catalog().await;
    let mine = jobs.create(restore_job()).await.unwrap();
    let theirs = jobs.create(restore_job()).await.unwrap();
    let queued = jobs.create(restore_job()).await.unwrap();
    assert!(matches!(
        jobs.claim(&mine.job_id, "serve-1").await.unwrap(),
        Claim::Won(_)
    ));
    assert!(matches!(
        jobs.claim(&theirs.job_id, "serve-2").await.unwrap(),
        Claim::Won(_)
    ));

    assert_eq!(
        jobs.fail_orphans("serve-1").await.unwrap(),
        vec![mine.job_id.clone()]
    );
    let orphan = jobs.get(&mine.job_id).await.unwrap().unwrap();
    assert_eq!(orphan.status, JobStatus::FailedResumable);
    assert!(
        orphan.error.as_deref().unwrap().contains("serve-1 stopped"),
        "{orphan:?}"
    );
    assert_eq!(
        jobs.get(&theirs.job_id).await.unwrap().unwrap().status,
        JobStatus::Running,
        "another worker's job is left alone"
    );
    assert_eq!(
        jobs.get(&queued.job_id).await.unwrap().unwrap().status,
        JobStatus::Queued
    );

    let Claim::Won(again) = jobs.claim(&mine.job_id, "serve-1").await.unwrap() else {
        panic!("a resumable job is claimable");
    };
    assert_eq!(again.attempts, 2);
    assert_eq!(again.error, None, "the claim clears the old error");
    jobs.finish(
        &mine.job_id,
        "serve-1",
        Err(("target exists".into(), false)),
    )
    .await
    .unwrap();
    let failed = jobs.get(&mine.job_id).await.unwrap().unwrap();
    assert_eq!(failed.status, JobStatus::Failed);
    assert_eq!(failed.error.as_deref(), Some("target exists"));

    let listed: Vec<String> = jobs
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.job_id)
        .collect();
    assert_eq!(listed.len(), 3);
    for id in [&mine.job_id, &theirs.job_id, &queued.job_id] {
        assert!(listed.contains(id));
    }
}
