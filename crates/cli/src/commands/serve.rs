//! `rewind serve`: the REST API on this machine (the router is `rewind_service::api`). Jobs run
//! as tasks of the server and live in the job catalog table; at start, the jobs this server left
//! running (it was killed) are marked resumable. SIGTERM and SIGINT stop it cleanly (exit 0).

use anyhow::Context;
use rewind_service::api::{router, ApiState};
use rewind_service::jobs::JobCatalog;
use std::sync::Arc;

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
    let orphaned = jobs.fail_orphans(&worker).await?;
    if !orphaned.is_empty() {
        eprintln!(
            "{} job(s) this server left running are marked resumable: {}",
            orphaned.len(),
            orphaned.join(", ")
        );
    }
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let address = listener.local_addr()?;
    // The first line of stdout, so scripts and tests can find a port chosen by the system.
    println!("listening on http://{address}");
    let state = Arc::new(ApiState {
        store,
        jobs,
        worker,
        dynamodb,
    });
    axum::serve(listener, router(state))
        .with_graceful_shutdown(stop_signal())
        .await
        .context("serving")?;
    eprintln!("stopped");
    Ok(())
}

/// Resolves on SIGTERM (systemd, ECS, Kubernetes) or SIGINT (Ctrl-C).
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
