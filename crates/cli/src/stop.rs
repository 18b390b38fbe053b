//! How a long-running command (`capture`, `serve`) stops: like a daemon. SIGTERM (what systemd,
//! ECS and Kubernetes send) and SIGINT (Ctrl-C) both ask for a clean stop: flush what is buffered,
//! write the checkpoints, print the summary, exit 0. A second signal, or a stop that takes longer
//! than its limit, exits at once: nothing is lost by that either, since checkpoints never pass
//! what is durable and the next run reads the rest again, but the exit code says the stop was cut.

use std::time::Duration;

/// Exit code of a stop cut short by a second signal (128 + SIGINT, as shells report it).
pub const CUT_BY_SIGNAL: i32 = 130;
/// Exit code of a stop that outlasted its limit (the generic failure code).
pub const CUT_BY_TIMEOUT: i32 = 3;

/// Resolves on the first SIGTERM or SIGINT. From then on a second signal exits the process at
/// once, and so does the stop when it takes longer than `limit`.
pub async fn stop_requested(what: &'static str, limit: Duration) {
    signal().await;
    eprintln!(
        "stopping: {what} (within {} s; a second signal exits at once)",
        limit.as_secs()
    );
    tokio::spawn(async move {
        tokio::select! {
            () = signal() => {
                eprintln!("second signal: exiting now (the next run reads again what was not made durable)");
                std::process::exit(CUT_BY_SIGNAL);
            }
            () = tokio::time::sleep(limit) => {
                eprintln!("the stop took longer than {} s: exiting now (the next run reads again what was not made durable)", limit.as_secs());
                std::process::exit(CUT_BY_TIMEOUT);
            }
        }
    });
}

/// The next SIGTERM or SIGINT.
async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            // Without a SIGTERM handler (rare), Ctrl-C still works; without either, never.
            Err(_) => {
                if tokio::signal::ctrl_c().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
