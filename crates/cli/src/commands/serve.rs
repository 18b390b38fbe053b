//! `rewind serve`: the REST API on this machine (the router is `rewind_service::api`). Jobs run
//! as tasks of the server and live in the job catalog table; at start, the jobs this server left
//! running (it was killed) are marked resumable. With `--sns-topic`, every job's end and every
//! table's capture lag crossing `--lag-alert-after` are published there. SIGTERM and SIGINT
//! stop it cleanly (exit 0).

use anyhow::Context;
use rewind_service::api::runner::{announce_end, JobRunner};
use rewind_service::api::{router, ApiState};
use rewind_service::jobs::JobCatalog;
use rewind_service::mask_key::MaskKey;
use rewind_service::notify::{watch_lag, LagWatch, Notifier};
use std::sync::Arc;
use std::time::Duration;

/// Arguments of `rewind serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where the backups live: s3://BUCKET/PREFIX, file://DIR or a plain path.
    #[arg(long)]
    store: String,
    /// Address to listen on (port 0: any free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// The job catalog's DynamoDB table (created on demand billing if missing).
    #[arg(long, default_value = "rewind-jobs")]
    catalog: String,
    /// This server's worker id (jobs it runs carry it; keep it stable across restarts so a
    /// restart finds the jobs it left). Default: serve@HOST.
    #[arg(long)]
    worker_id: Option<String>,
    /// SNS topic ARN for notifications: jobs that end (succeeded, failed, stopped) and capture
    /// lag over --lag-alert-after. Without it, nothing is published.
    #[arg(long)]
    sns_topic: Option<String>,
    /// Capture lag (seconds from a table's watermark to now) that is announced on the topic.
    #[arg(long, default_value_t = 900)]
    lag_alert_after: i64,
    /// How often every table's lag is checked, in seconds.
    #[arg(long, default_value_t = 60)]
    lag_check_every: u64,
}

/// Runs the server until SIGTERM or SIGINT.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let store = super::open_store(&args.store).await?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let jobs = JobCatalog::new(dynamodb.clone(), &args.catalog);
    jobs.create_if_missing()
        .await
        .with_context(|| format!("opening the job catalog {}", args.catalog))?;
    let worker = args.worker_id.unwrap_or_else(|| {
        format!(
            "serve@{}",
            std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into())
        )
    });
    if args.lag_check_every == 0 {
        anyhow::bail!("--lag-check-every must be at least 1 second");
    }
    let mask_key = MaskKey::from_env(&aws_sdk_secretsmanager::Client::new(&sdk))
        .await
        .context("reading the mask key")?;
    let notifier = match &args.sns_topic {
        Some(topic) => Notifier::sns(aws_sdk_sns::Client::new(&sdk), topic),
        None => Notifier::disabled(),
    };
    let state = Arc::new(ApiState {
        store,
        jobs,
        worker,
        dynamodb,
        notifier,
        runner: JobRunner::InProcess,
        mask_key,
    });
    let orphaned = state.jobs.fail_orphans(&state.worker).await?;
    if !orphaned.is_empty() {
        eprintln!(
            "{} job(s) this server left running are marked resumable: {}",
            orphaned.len(),
            orphaned.join(", ")
        );
        for job in &orphaned {
            announce_end(&state, job).await;
        }
    }
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let address = listener.local_addr()?;
    // The first line of stdout, so scripts and tests can find a port chosen by the system.
    println!("listening on http://{address}");
    let lag_watch = state.notifier.topic().is_some().then(|| {
        tokio::spawn(watch_lag(
            state.store.clone(),
            state.notifier.clone(),
            LagWatch::new(args.lag_alert_after),
            Duration::from_secs(args.lag_check_every),
        ))
    });
    axum::serve(listener, router(state))
        .with_graceful_shutdown(crate::stop::stop_requested(
            "finishing the requests in flight",
            Duration::from_secs(10),
        ))
        .await
        .context("serving")?;
    if let Some(task) = lag_watch {
        task.abort();
    }
    eprintln!("stopped");
    Ok(())
}
