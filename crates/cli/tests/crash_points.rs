//! Crash points: for each step that writes, the `rewind` process is killed right after it
//! (`REWIND_CRASH_AT`: an abort, no unwinding, nothing flushed), then the same command runs
//! again, and the store is shown to have converged: `rewind check` finds nothing, and the state
//! at the watermark is what it was before (verified against a reference restore), or, for
//! capture, what the live table holds.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Output};

fn rewind(args: &[&str], crash_at: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rewind"));
    command.args(args).env_remove("REWIND_CRASH_AT");
    if let Some(point) = crash_at {
        command.env("REWIND_CRASH_AT", point);
    }
    command.output().unwrap()
}

fn ok(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what}: {:?}\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs `args` armed at `point`: the process must die by the abort, at that point.
fn crash(args: &[&str], point: &str) {
    let out = rewind(args, Some(point));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.signal(),
        Some(6),
        "{point}: killed by SIGABRT, not {:?}: {stderr}",
        out.status
    );
    let name = point.split(':').next().unwrap();
    assert!(
        stderr.contains(&format!("crash point {name} reached")),
        "{stderr}"
    );
}

fn copy_of(base: &Path, name: &str) -> String {
    let to = base.parent().unwrap().join(name);
    let status = Command::new("cp")
        .args(["-a", base.to_str().unwrap(), to.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    to.to_str().unwrap().to_string()
}

#[test]
fn restores_killed_after_each_write_resume_when_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("demo");
    let work = work.to_str().unwrap();
    ok(
        &rewind(&["demo", "--workdir", work, "--capture-only"], None),
        "demo",
    );
    let base = Path::new(work).join("store");
    let store = base.to_str().unwrap();
    let ls: serde_json::Value =
        serde_json::from_slice(&rewind(&["--output", "json", "ls", "--store", store], None).stdout)
            .unwrap();
    let at = ls[0]["watermark"].as_str().unwrap().to_string();
    let reference = format!("file://{}", dir.path().join("reference").display());
    ok(
        &rewind(
            &[
                "restore", "--table", "shop", "--store", store, "--at", &at, "--to", &reference,
            ],
            None,
        ),
        "reference restore",
    );

    // A restore killed after its journal, or after its third bucket: the same command resumes.
    for point in ["restore.journal", "restore.bucket:3"] {
        let to = format!(
            "file://{}",
            dir.path().join(point.replace([':', '.'], "-")).display()
        );
        let args = [
            "restore", "--table", "shop", "--store", store, "--at", &at, "--to", &to,
        ];
        crash(&args, point);
        let again = rewind(&args, None);
        ok(&again, point);
        ok(
            &rewind(
                &[
                    "verify",
                    "--table",
                    "shop",
                    "--store",
                    store,
                    "--at",
                    &at,
                    "--against",
                    &to,
                ],
                None,
            ),
            &format!("{point}: verify"),
        );
    }
}

/// A store of `orders` spanning hours (400 changes 20 s apart, in files of 20), captured through
/// its last change; the watermark.
async fn changelog_store(path: &Path) -> String {
    use rewind_e2e::changelog::*;
    let ops: Vec<Op> = (0..400u32)
        .map(|i| Op {
            key: (i % 97) as u8,
            event: (i % 5) as u8,
            gap_ms: 20_000,
            new_stream: false,
        })
        .collect();
    let records = history(&ops);
    let store = rewind_store::LocalStore::new(path);
    write_files(&store, &records, 20).await;
    let last = records.last().unwrap().approximate_creation_time_ms;
    seed_capture_state(&store, last + 10_000).await;
    let ls: serde_json::Value = serde_json::from_slice(
        &rewind(
            &["--output", "json", "ls", "--store", path.to_str().unwrap()],
            None,
        )
        .stdout,
    )
    .unwrap();
    ls[0]["watermark"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn compactions_and_retention_killed_after_each_write_converge_when_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("store");
    let at = changelog_store(&base).await;
    let store = base.to_str().unwrap();
    let reference = format!("file://{}", dir.path().join("reference").display());
    ok(
        &rewind(
            &[
                "restore", "--table", "orders", "--store", store, "--at", &at, "--to", &reference,
            ],
            None,
        ),
        "reference restore",
    );
    let converged = |store: &str, what: &str| {
        ok(
            &rewind(&["check", "--table", "orders", "--store", store], None),
            &format!("{what}: check"),
        );
        ok(
            &rewind(
                &[
                    "verify",
                    "--table",
                    "orders",
                    "--store",
                    store,
                    "--at",
                    &at,
                    "--against",
                    &reference,
                ],
                None,
            ),
            &format!("{what}: verify"),
        );
    };

    // Compaction killed after a snapshot bucket, after the manifest, after a merged file and
    // after a replaced file's deletion (grace 0: a run deletes what the one before replaced).
    for (point, runs_before) in [
        ("snapshot.bucket:2", 0),
        ("snapshot.manifest", 0),
        ("merge.merged-file:2", 0),
        ("merge.delete:3", 1),
    ] {
        let copy = copy_of(&base, &point.replace([':', '.'], "-"));
        let args = [
            "compact",
            "--table",
            "orders",
            "--store",
            &copy,
            "--grace-seconds",
            "0",
            "--no-probe",
        ];
        for _ in 0..runs_before {
            ok(&rewind(&args, None), "an earlier compaction");
        }
        crash(&args, point);
        ok(&rewind(&args, None), point);
        ok(&rewind(&args, None), point);
        converged(&copy, point);
    }

    // Retention killed after its second deletion: run again, and what is kept still holds the
    // state at the watermark (the snapshot cut there).
    let copy = copy_of(&base, "retention");
    let compact = [
        "compact",
        "--table",
        "orders",
        "--store",
        &copy,
        "--no-probe",
    ];
    ok(&rewind(&compact, None), "compaction before retention");
    let args = [
        "compact",
        "--table",
        "orders",
        "--store",
        &copy,
        "--retention",
        "--keep-changes-days",
        "1",
        "--keep-daily-days",
        "1",
        "--keep-weekly-days",
        "1",
        "--keep-monthly-days",
        "1",
        "--no-probe",
    ];
    crash(&args, "retention.delete:2");
    ok(&rewind(&args, None), "retention again");
    converged(&copy, "retention.delete");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_killed_after_an_object_or_a_checkpoint_converges_when_run_again() {
    rewind_e2e::moto_endpoint();
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    for point in ["capture.change-object", "capture.checkpoint"] {
        let table = format!(
            "crash-{}-{}",
            point.replace([':', '.'], "-"),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        rewind_e2e::create_table_with_stream(
            &ddb,
            &table,
            aws_sdk_dynamodb::types::ScalarAttributeType::S,
        )
        .await;
        let write = |range: std::ops::Range<u32>| {
            let (ddb, table) = (ddb.clone(), table.clone());
            async move {
                for i in range {
                    let s = |v: String| aws_sdk_dynamodb::types::AttributeValue::S(v);
                    ddb.put_item()
                        .table_name(&table)
                        .item("pk", s(format!("o{}", i % 40)))
                        .item("sk", s("x".into()))
                        .item("v", s(format!("version {i}")))
                        .send()
                        .await
                        .unwrap();
                }
            }
        };
        write(0..30).await;
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store");
        let store = store.to_str().unwrap();
        let args = ["capture", "--table", &table, "--store", store, "--once"];
        // A first run captures and checkpoints; the second, with changes to the same items
        // after it, is killed; the third picks up from what the second left.
        ok(&rewind(&args, None), "the first capture");
        // The table held items before capture began: a full backup proves the log whole once
        // capture has read changes made after its scan and margin.
        let backup = rewind(
            &[
                "--output", "json", "backup", "--table", &table, "--store", store,
            ],
            None,
        );
        ok(&backup, "the full backup");
        let report: serde_json::Value = serde_json::from_slice(&backup.stdout).unwrap();
        let valid_from =
            chrono::DateTime::parse_from_rfc3339(report["valid_from"].as_str().unwrap())
                .unwrap()
                .timestamp_millis();
        // The watermark trails what capture read by a few seconds (late records of other shards).
        while chrono::Utc::now().timestamp_millis() <= valid_from + 6000 {
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        write(30..60).await;
        crash(&args, point);
        ok(&rewind(&args, None), point);
        // Once the watermark passes the last write, the state there is the live table.
        let written = chrono::Utc::now().timestamp_millis();
        while chrono::Utc::now().timestamp_millis() <= written + 6000 {
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        ok(&rewind(&args, None), "a capture with nothing new");
        ok(
            &rewind(&["check", "--table", &table, "--store", store], None),
            &format!("{point}: check"),
        );
        let against = format!("dynamodb://{table}");
        ok(
            &rewind(
                &[
                    "verify",
                    "--table",
                    &table,
                    "--store",
                    store,
                    "--at",
                    "latest",
                    "--against",
                    &against,
                ],
                None,
            ),
            &format!("{point}: the state at the watermark is the live table"),
        );
    }
}
