//! `rewind check` on a store the demo captured and compacted: intact, it reports nothing and
//! exits 0; each kind of damage (a flipped byte, a truncated file, a deleted change file, a
//! broken hash chain, a snapshot file missing from under its manifest) is found, named, and
//! exits 1. Each case damages a fresh copy of the same store.

use rewind_format::{read_change_file, write_change_file, EventName, WriteOptions};
use rewind_store::{list_all, LocalStore, ObjectStore};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

fn rewind(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rewind"))
        .args(args)
        .output()
        .unwrap()
}

/// `rewind --output json check` (with `extra` arguments): exit code and report.
fn check(store: &Path, extra: &[&str]) -> (i32, Value) {
    let mut args = vec![
        "--output",
        "json",
        "check",
        "--table",
        "shop",
        "--store",
        store.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = rewind(&args);
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap(), report)
}

/// Every file under `dir` (none when it does not exist).
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|e| {
            let path = e.path();
            if path.is_dir() {
                walk(&path)
            } else {
                vec![path]
            }
        })
        .collect()
}

/// A fresh copy of the base store (checksum sidecars included).
fn copy_of(base: &Path, name: &str) -> std::path::PathBuf {
    let to = base.parent().unwrap().join(name);
    let status = Command::new("cp")
        .args(["-a", base.to_str().unwrap(), to.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    to
}

fn findings(report: &Value) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_string(),
                f["location"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_scrub_passes_an_intact_store_and_names_each_kind_of_damage() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("demo");
    let work = work.to_str().unwrap();
    let demo = rewind(&["demo", "--workdir", work, "--capture-only"]);
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    let base = Path::new(work).join("store");
    let compact = rewind(&[
        "compact",
        "--table",
        "shop",
        "--store",
        base.to_str().unwrap(),
    ]);
    assert!(
        compact.status.success(),
        "{}",
        String::from_utf8_lossy(&compact.stderr)
    );

    let (code, clean) = check(&base, &[]);
    assert_eq!((code, findings(&clean)), (0, vec![]), "{clean}");
    assert!(clean["change_files"].as_u64().unwrap() > 2, "{clean}");
    assert!(clean["manifests"].as_u64().unwrap() >= 1, "{clean}");
    assert!(clean["items_chained"].as_u64().unwrap() > 0, "{clean}");

    // Restore drills: random seconds restored into scratch exports, verified, timed, removed.
    let drills_dir = dir.path().join("drills");
    let drill_to = format!("file://{}", drills_dir.display());
    rewind_e2e::moto_endpoint();
    let (code, drilled) = check(
        &base,
        &[
            "--sample",
            "2",
            "--drill-to",
            &drill_to,
            "--publish-metrics",
        ],
    );
    assert_eq!(code, 0, "{drilled}");
    let drills = drilled["drills"].as_array().unwrap();
    assert_eq!(drills.len(), 2, "{drilled}");
    // The measured RTO and rate are in CloudWatch, with the scrub's figures.
    let slowest = drills
        .iter()
        .map(|d| d["restore_seconds"].as_f64().unwrap())
        .fold(0.0, f64::max);
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&config);
    let now = std::time::SystemTime::now();
    for (name, at_least) in [
        ("DrillRestoreSeconds", slowest),
        ("DrillItemsPerSecond", 0.0),
        ("DrillFailures", 0.0),
        ("ScrubObjects", 1.0),
    ] {
        let stats = cloudwatch
            .get_metric_statistics()
            .namespace("Rewind")
            .metric_name(name)
            .dimensions(
                aws_sdk_cloudwatch::types::Dimension::builder()
                    .name("Table")
                    .value("shop")
                    .build(),
            )
            .start_time((now - std::time::Duration::from_secs(600)).into())
            .end_time((now + std::time::Duration::from_secs(60)).into())
            .period(60)
            .statistics(aws_sdk_cloudwatch::types::Statistic::Maximum)
            .send()
            .await
            .unwrap();
        let max = stats
            .datapoints()
            .iter()
            .filter_map(|d| d.maximum())
            .fold(f64::MIN, f64::max);
        assert!(max >= at_least, "{name}: {max} (want at least {at_least})");
    }
    for d in drills {
        assert_eq!(d["equal"], true, "{d}");
        assert!(d["items"].as_u64().unwrap() > 0, "{d}");
        assert!(d["restore_seconds"].as_f64().unwrap() > 0.0, "{d}");
        let scratch = d["target"]
            .as_str()
            .unwrap()
            .strip_prefix("file://")
            .unwrap();
        let left: Vec<_> = walk(Path::new(scratch));
        assert!(
            left.is_empty(),
            "the scratch export is removed: {d}: {left:?}"
        );
    }
    assert!(
        walk(&base.join("restores")).is_empty(),
        "the drills' journals are removed with them"
    );

    let store = LocalStore::new(&base);
    let mut change_files: Vec<String> =
        list_all(&store, &rewind_catalog::layout::changes_prefix("shop"))
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.key)
            .collect();
    change_files.sort();
    let mut records = HashMap::new();
    for key in &change_files {
        let bytes = store.get(key).await.unwrap();
        records.insert(key.clone(), read_change_file(key, bytes).unwrap());
    }

    // A flipped byte: the checksum stored with the object no longer matches.
    let flipped = copy_of(&base, "flipped");
    let victim = &change_files[1];
    let path = flipped.join(victim);
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&path, bytes).unwrap();
    let (code, report) = check(&flipped, &[]);
    assert_eq!(code, 1, "{report}");
    assert!(
        findings(&report).contains(&("checksum".into(), victim.clone())),
        "{report}"
    );

    // A truncated file, stored with a checksum of what is left: it no longer decodes.
    let truncated = copy_of(&base, "truncated");
    let damaged = LocalStore::new(&truncated);
    let whole = damaged.get(victim).await.unwrap();
    damaged
        .put(victim, whole.slice(..whole.len() / 2))
        .await
        .unwrap();
    let (code, report) = check(&truncated, &[]);
    assert_eq!(code, 1, "{report}");
    assert!(
        findings(&report).contains(&("unreadable".into(), victim.clone())),
        "{report}"
    );

    // A deleted change file: an item written before it, changed in it and changed again after
    // it no longer links.
    let in_between = |file: &String| {
        let has = |f: &String, keys: &str, modify: bool| {
            records[f].iter().any(|s| {
                s.keys == keys
                    && (!modify
                        || (s.event_name == EventName::Modify && s.old_image_hash.is_some()))
            })
        };
        records[file].iter().any(|r| {
            change_files
                .iter()
                .any(|f| f < file && has(f, &r.keys, false))
                && change_files
                    .iter()
                    .any(|f| f > file && has(f, &r.keys, true))
        })
    };
    let gone = change_files
        .iter()
        .find(|f| in_between(f))
        .expect("the demo changes an item in three files")
        .clone();
    let deleted = copy_of(&base, "deleted");
    LocalStore::new(&deleted).delete(&gone).await.unwrap();
    let (code, report) = check(&deleted, &[]);
    assert_eq!(code, 1, "{report}");
    assert!(
        findings(&report).iter().all(|(kind, _)| kind == "chain") && !findings(&report).is_empty(),
        "a deleted change file shows as broken chains: {report}"
    );

    // A broken hash chain: the old-image hash of a MODIFY whose previous version is in the
    // log altered, the file rewritten validly (its checksum right, its Parquet sound).
    let broken = copy_of(&base, "broken");
    let has_predecessor = |r: &rewind_format::ChangeRecord| {
        records.values().flatten().any(|p| {
            p.keys == r.keys
                && (&p.stream_label, &p.sequence_number) < (&r.stream_label, &r.sequence_number)
        })
    };
    let (file, index) = change_files
        .iter()
        .find_map(|f| {
            records[f]
                .iter()
                .position(|r| {
                    r.event_name == EventName::Modify
                        && r.old_image_hash.is_some()
                        && has_predecessor(r)
                })
                .map(|i| (f.clone(), i))
        })
        .expect("the demo modifies items it wrote before");
    let mut rewritten = records[&file].clone();
    let item = rewritten[index].keys.clone();
    rewritten[index].old_image_hash = rewritten[index].old_image_hash.map(|h| h ^ 1);
    let written = write_change_file(&file, rewritten, &WriteOptions::default()).unwrap();
    LocalStore::new(&broken)
        .put(&file, written.bytes)
        .await
        .unwrap();
    let (code, report) = check(&broken, &[]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        findings(&report),
        vec![("chain".to_string(), item)],
        "{report}"
    );

    // A snapshot file gone from under its manifest.
    let manifestless = copy_of(&base, "manifest");
    let snapshot_file = list_all(&store, &rewind_catalog::layout::snapshots_prefix("shop"))
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.key)
        .find(|k| k.ends_with(".parquet"))
        .expect("compaction wrote a snapshot");
    LocalStore::new(&manifestless)
        .delete(&snapshot_file)
        .await
        .unwrap();
    let (code, report) = check(&manifestless, &[]);
    assert_eq!(code, 1, "{report}");
    let found = &report["findings"][0];
    assert_eq!(found["kind"], "manifest", "{report}");
    assert!(
        found["detail"].as_str().unwrap().contains(&snapshot_file),
        "{report}"
    );
}
