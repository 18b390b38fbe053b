//! `rewind ls` and `rewind history` on a store the demo captured: the window `ls` prints is the
//! one restores use, and `history` lists exactly the versions of one item the change files hold.

use rewind_catalog::layout;
use rewind_format::read_change_file;
use rewind_store::{list_all, LocalStore, ObjectStore};
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

fn rewind(args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_rewind"))
        .args(args)
        .output()
        .expect("run rewind");
    assert!(
        out.status.success(),
        "rewind {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[tokio::test]
async fn ls_shows_the_window_and_history_lists_every_version() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("demo");
    let work = work.to_str().unwrap();
    rewind(&["demo", "--workdir", work, "--capture-only"]);
    let store_dir = format!("{work}/store");

    let ls: serde_json::Value =
        serde_json::from_slice(&rewind(&["--output", "json", "ls", "--store", &store_dir]).stdout)
            .unwrap();
    let table = &ls[0];
    assert_eq!(table["table"], "shop");
    assert_eq!(
        table["window_text"][0],
        "2026-11-26T06:00:00Z .. 2026-11-26T06:24:59Z"
    );
    assert_eq!(table["watermark"], "2026-11-26T06:24:59Z");
    assert!(table["not_whole_life"].is_null());
    assert_eq!(table["gaps"], 0);

    // The item with the most versions, straight from the change files.
    let store = LocalStore::new(&store_dir);
    let mut versions: BTreeMap<String, BTreeSet<(String, String, String)>> = BTreeMap::new();
    for meta in list_all(&store, &layout::changes_prefix("shop"))
        .await
        .unwrap()
    {
        let bytes = store.get(&meta.key).await.unwrap();
        for r in read_change_file(&meta.key, bytes).unwrap() {
            versions.entry(r.keys.clone()).or_default().insert((
                r.stream_label,
                r.sequence_number,
                r.event_name.as_str().to_string(),
            ));
        }
    }
    let (keys, want) = versions.iter().max_by_key(|(_, v)| v.len()).unwrap();
    assert!(want.len() > 2, "the demo updates items");

    let out = rewind(&[
        "--output", "json", "history", "--table", "shop", "--store", &store_dir, "--key", keys,
    ]);
    let got: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let got: Vec<(String, String, String)> = got
        .iter()
        .map(|v| {
            (
                v["stream_label"].as_str().unwrap().to_string(),
                v["sequence_number"].as_str().unwrap().to_string(),
                v["event"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        want.iter().cloned().collect::<Vec<_>>(),
        "oldest first, each once"
    );

    // A key nobody wrote has no history; a malformed one is bad input (exit 2).
    let out = rewind(&[
        "history",
        "--table",
        "shop",
        "--store",
        &store_dir,
        "--key",
        r#"{"pk":"nobody","sk":"x"}"#,
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("no versions"));
    let bad = Command::new(env!("CARGO_BIN_EXE_rewind"))
        .args([
            "history", "--table", "shop", "--store", &store_dir, "--key", "not json",
        ])
        .output()
        .unwrap();
    assert_eq!(
        bad.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    // So is a key that is not of the table's schema (a partial key, a misnamed or mistyped
    // attribute): it names the table's key rather than answering "no versions".
    let partial = Command::new(env!("CARGO_BIN_EXE_rewind"))
        .args([
            "history",
            "--table",
            "shop",
            "--store",
            &store_dir,
            "--key",
            r#"{"pk":"nobody"}"#,
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&partial.stderr);
    assert_eq!(partial.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("not a key of table shop: its key is pk (S), sk ("),
        "{stderr}"
    );

    // A compaction asked for a point outside the window is bad input (exit 2), as a restore
    // there is, and writes nothing.
    let before = list_all(&store, "snapshots/").await.unwrap().len();
    let compact_at = |at: &str| {
        Command::new(env!("CARGO_BIN_EXE_rewind"))
            .args([
                "compact",
                "--table",
                "shop",
                "--store",
                &store_dir,
                "--at",
                at,
                "--no-probe",
            ])
            .output()
            .unwrap()
    };
    let outside = compact_at("2026-11-27T05:00:00Z");
    let stderr = String::from_utf8_lossy(&outside.stderr);
    assert_eq!(outside.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("outside the restorable window"), "{stderr}");
    assert_eq!(list_all(&store, "snapshots/").await.unwrap().len(), before);
    // Before the window too, although a newer snapshot exists (it used to answer "nothing to
    // do", exit 0).
    let before_window = compact_at("2026-11-26T05:00:00Z");
    let stderr = String::from_utf8_lossy(&before_window.stderr);
    assert_eq!(before_window.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("nearest restorable point: 2026-11-26T06:00:00Z"),
        "{stderr}"
    );

    // A masked dev copy of the USER# partitions into an export; masking a key attribute or
    // asking for hmac without a key is bad input (exit 2) and writes nothing.
    let copy_dir = dir.path().join("copy");
    let copy_to = format!("file://{}", copy_dir.display());
    let restore_copy = |extra: &[&str], key: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rewind"));
        cmd.args([
            "--output", "json", "restore", "--table", "shop", "--store", &store_dir, "--at",
            "latest", "--to", &copy_to,
        ])
        .args(extra)
        .env_remove("REWIND_MASK_KEY");
        if let Some(key) = key {
            cmd.env("REWIND_MASK_KEY", key);
        }
        cmd.output().unwrap()
    };
    let refused = restore_copy(&["--mask", "sk=hmac"], Some("a mask key of enough bytes"));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("key attribute of the table"), "{stderr}");
    let no_key = restore_copy(&["--mask", "email=hmac"], None);
    assert_eq!(no_key.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_key.stderr).contains("REWIND_MASK_KEY"));
    assert!(!copy_dir.exists(), "refusals write nothing");
    let copied = restore_copy(
        &["--key-filter", "prefix:USER#", "--mask", "email=hmac"],
        Some("a mask key of enough bytes"),
    );
    assert!(
        copied.status.success(),
        "{}",
        String::from_utf8_lossy(&copied.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&copied.stdout).unwrap();
    assert!(report["items"].as_u64().unwrap() > 0, "{report}");
    assert!(
        report["copy"]
            .as_str()
            .unwrap()
            .contains("mask email: hmac"),
        "{report}"
    );
}
