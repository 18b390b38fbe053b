//! `rewind demo` as a new user runs it: it captures the workload, restores several points and finds
//! every export equal to the workload's model; a directory that is not the demo's is refused.

use serde_json::Value;
use std::process::Command;

fn rewind() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rewind"))
}

#[test]
fn demo_restores_and_verifies_several_points() {
    let dir = tempfile::tempdir().unwrap();
    let workdir = dir.path().join("demo");
    let run = || {
        rewind()
            .args(["demo", "--workdir"])
            .arg(&workdir)
            .args(["--output", "json"])
            .output()
            .unwrap()
    };
    let out = run();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let n = |field: &str| {
        report[field]
            .as_u64()
            .unwrap_or_else(|| panic!("{field} in {report:#}"))
    };
    assert!(n("records") > 0, "{report:#}");
    assert!(n("points_verified") > 1, "{report:#}");
    assert_eq!(n("points_verified"), n("points_restored"), "{report:#}");
    assert_eq!(n("differences"), 0, "{report:#}");
    // The stream holds every kind of change, TTL deletions included.
    for field in [
        "inserts",
        "modifies",
        "removes",
        "ttl_removes",
        "change_files",
    ] {
        assert!(n(field) > 0, "{field}: {report:#}");
    }
    // The full backup after the first phase agreed with the change log, so the first point
    // (the stream's first second, before the backup) restores from the log alone.
    assert!(report["not_whole_life"].is_null(), "{report:#}");
    assert!(
        report["whole_life_check"]
            .as_str()
            .is_some_and(|c| c.contains("agree on all")),
        "{report:#}"
    );
    let points = report["points"].as_array().unwrap();
    assert_eq!(points.last().unwrap()["requested"], "latest");
    for p in points {
        assert_eq!(p["ok"], true, "{p:#}");
        assert_eq!(p["restored_items"], p["model_items"], "{p:#}");
    }

    // A previous demo's directory is reused, with the same results (the workload is seeded).
    let again = run();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let second: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(second["change_bytes"], report["change_bytes"]);
    assert_eq!(second["points"].as_array().unwrap().len(), points.len());
    assert_eq!(second["differences"], 0);
}

#[test]
fn demo_refuses_a_directory_that_is_not_its_own() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
    let out = rewind()
        .args(["demo", "--workdir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("not empty"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("notes.txt")).unwrap(),
        "mine"
    );
}
