//! Crash points: a test hook that kills the process right after a step that writes, so a test
//! can show that running the same command again converges to the correct state.
//!
//! `REWIND_CRASH_AT=<point>[:<n>]` aborts the process (`abort`: no unwinding, no destructors,
//! no buffered output flushed: as abrupt as a `kill -9` or a Lambda timeout) right after the
//! `n`-th time (default the first) the named step completes. Unset, a crash point costs one
//! read of a `OnceLock`. The points are listed in [`POINTS`].

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// Every crash point, by the step after which it fires.
pub const POINTS: &[&str] = &[
    "capture.change-object",
    "capture.checkpoint",
    "snapshot.bucket",
    "snapshot.manifest",
    "merge.merged-file",
    "merge.delete",
    "retention.delete",
    "restore.journal",
    "restore.bucket",
];

/// The variable that arms a crash point.
pub const CRASH_AT_ENV: &str = "REWIND_CRASH_AT";

fn armed() -> Option<&'static (String, u64)> {
    static ARMED: OnceLock<Option<(String, u64)>> = OnceLock::new();
    ARMED
        .get_or_init(|| {
            let value = std::env::var(CRASH_AT_ENV).ok()?;
            let (point, nth) = match value.split_once(':') {
                Some((p, n)) => (p.to_string(), n.parse().unwrap_or(1)),
                None => (value, 1),
            };
            if !POINTS.contains(&point.as_str()) {
                eprintln!("{CRASH_AT_ENV}={point}: no such crash point (known: {POINTS:?})");
                std::process::exit(2);
            }
            Some((point, nth.max(1)))
        })
        .as_ref()
}

/// Marks that step `point` just completed; aborts the process if it is the armed one.
pub fn crash_point(point: &str) {
    debug_assert!(POINTS.contains(&point), "unlisted crash point {point}");
    let Some((armed, nth)) = armed() else {
        return;
    };
    if armed != point {
        return;
    }
    static SEEN: Mutex<Option<HashMap<String, u64>>> = Mutex::new(None);
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    let count = seen
        .get_or_insert_with(HashMap::new)
        .entry(point.to_string())
        .or_insert(0);
    *count += 1;
    if *count == *nth {
        eprintln!("crash point {point} reached ({nth}): aborting");
        std::process::abort();
    }
}

/// Every pause point, by the step after which it waits.
pub const PAUSE_POINTS: &[&str] = &["restore.read"];

/// The variable that arms a pause point: `REWIND_PAUSE_AT=<point>`.
pub const PAUSE_AT_ENV: &str = "REWIND_PAUSE_AT";

/// The directory a paused process signals through: it creates `<dir>/<point>.paused`, then
/// waits for `<dir>/<point>.resume`.
pub const PAUSE_DIR_ENV: &str = "REWIND_PAUSE_DIR";

/// Longest a pause point waits for its resume file.
const PAUSE_LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

/// A test hook like [`crash_point`], for races: once step `point` completed, a process run with
/// `REWIND_PAUSE_AT=<point>` and `REWIND_PAUSE_DIR=<dir>` says so (`<dir>/<point>.paused`) and
/// waits until the test, having done what must happen in between (a concurrent write), creates
/// `<dir>/<point>.resume`. Unset, it costs two environment lookups.
pub async fn pause_point(point: &str) {
    debug_assert!(
        PAUSE_POINTS.contains(&point),
        "unlisted pause point {point}"
    );
    if std::env::var(PAUSE_AT_ENV).ok().as_deref() != Some(point) {
        return;
    }
    let Some(dir) = std::env::var_os(PAUSE_DIR_ENV).map(std::path::PathBuf::from) else {
        eprintln!("{PAUSE_AT_ENV}={point} needs {PAUSE_DIR_ENV}: not pausing");
        return;
    };
    let paused = dir.join(format!("{point}.paused"));
    let resume = dir.join(format!("{point}.resume"));
    if let Err(e) = std::fs::write(&paused, b"") {
        eprintln!(
            "pause point {point}: cannot create {}: {e}",
            paused.display()
        );
        return;
    }
    let started = std::time::Instant::now();
    while !resume.exists() && started.elapsed() < PAUSE_LIMIT {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
