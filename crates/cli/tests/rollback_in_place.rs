//! Bad writes rolled back in place: `restore --into-existing --key-filter … --at T` into the
//! source table itself, while the application keeps writing.
//!
//! - Only the filtered keys change, each to its state at T.
//! - A filtered key the application writes again after the rollback read it is not overwritten:
//!   it is reported as a conflict (exit 1) and keeps the application's value. The race is made
//!   certain with the `restore.read` pause point: the rollback stops right after its read, the
//!   test writes, then lets it go on.
//! - Keys outside the filter are never touched, by a writer that runs through the whole rollback.

mod common;
mod serving;

use aws_sdk_dynamodb::types::{AttributeValue, ScalarAttributeType};
use common::*;
use rand::SeedableRng;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const FILTER: &str = "user#1";

fn in_filter(item: &SdkItem) -> bool {
    matches!(&item["pk"], AttributeValue::S(pk) if pk.starts_with(FILTER))
}

async fn wait_for(path: &Path, what: &str) {
    let started = Instant::now();
    while !path.exists() {
        assert!(started.elapsed() < Duration::from_secs(120), "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn put(client: &aws_sdk_dynamodb::Client, table: &str, item: &SdkItem) {
    client
        .put_item()
        .table_name(table)
        .set_item(Some(item.clone()))
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rolling_back_some_keys_in_place_touches_nothing_else_and_never_overwrites_a_later_write() {
    let client = ddb("us-east-1").await;
    let suffix: u32 = rand::random();
    let table = format!("rollback-e2e-{suffix}");
    rewind_e2e::create_table_with_stream(&client, &table, ScalarAttributeType::S).await;
    let store_dir = tempfile::tempdir().unwrap();
    let store = format!("file://{}", store_dir.path().display());

    // The good state at T, captured (a full backup settles the whole-life question).
    let mut rng = rand::rngs::StdRng::seed_from_u64(29);
    let mut model = BTreeMap::new();
    let mut next_id = 0;
    phase(&client, &table, &mut rng, &mut model, &mut next_id, 150).await;
    let at = close_phase().await;
    let good = model.clone();
    backup_then_capture(&table, &store, &[]).await;

    // The bad writes: a deploy rewrites and deletes items, in and out of the filter.
    phase(&client, &table, &mut rng, &mut model, &mut next_id, 120).await;
    let bad = model.clone();
    let filtered = |m: &BTreeMap<String, SdkItem>| -> BTreeMap<String, String> {
        m.iter()
            .filter(|(_, v)| in_filter(v))
            .map(|(k, v)| (k.clone(), to_json(v)))
            .collect()
    };
    let to_roll: BTreeSet<String> = {
        let (g, b) = (filtered(&good), filtered(&bad));
        g.keys()
            .chain(b.keys())
            .filter(|k| g.get(*k) != b.get(*k))
            .cloned()
            .collect()
    };
    assert!(
        to_roll.len() >= 10,
        "the bad writes touched filtered keys: {}",
        to_roll.len()
    );

    // A writer outside the filter runs through the whole rollback.
    let outside: Vec<SdkItem> = bad
        .values()
        .filter(|v| !in_filter(v))
        .take(20)
        .cloned()
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let last_outside = Arc::new(Mutex::new(BTreeMap::<String, SdkItem>::new()));
    let writer = {
        let (client, table, stop, last) = (
            client.clone(),
            table.clone(),
            stop.clone(),
            last_outside.clone(),
        );
        tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let mut item = outside[(n as usize) % outside.len()].clone();
                item.insert("writer".into(), AttributeValue::N(n.to_string()));
                put(&client, &table, &item).await;
                last.lock().unwrap().insert(key_json(&item), item);
                n += 1;
            }
            n
        })
    };

    // The rollback, paused right after it read the filtered keys.
    let pause = tempfile::tempdir().unwrap();
    let decided = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_rewind"))
        .env("REWIND_PAUSE_AT", "restore.read")
        .env("REWIND_PAUSE_DIR", pause.path())
        .args([
            "--output",
            "json",
            "restore",
            "--table",
            &table,
            "--store",
            &store,
            "--at",
            &rfc3339(at),
            "--to",
            &format!("dynamodb://{table}"),
            "--into-existing",
            "--key-filter",
            &format!("prefix:{FILTER}"),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(
        &pause.path().join("restore.read.paused"),
        "the rollback never read the table",
    )
    .await;
    let read_after = decided.elapsed();
    // The application writes three of the keys the rollback means to change, after it read them.
    let hot: Vec<String> = to_roll
        .iter()
        .filter(|k| bad.contains_key(*k))
        .take(3)
        .cloned()
        .collect();
    let mut written_after = BTreeMap::new();
    for key in &hot {
        // A change to an attribute the rollback read (a write that only adds an attribute is
        // beyond what a condition can see: docs/OPERATIONS.md, "Bad writes").
        let mut item = bad[key].clone();
        item.insert("v".into(), AttributeValue::N("424242".into()));
        put(&client, &table, &item).await;
        written_after.insert(key.clone(), to_json(&item));
    }
    std::fs::write(pause.path().join("restore.read.resume"), b"").unwrap();
    let resumed = Instant::now();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    eprintln!(
        "RUNBOOK bad writes: {} keys rolled back in place in {:.1} s (the test's pause left out)",
        to_roll.len(),
        (read_after + resumed.elapsed()).as_secs_f64()
    );
    eprintln!("rollback stderr: {}", String::from_utf8_lossy(&out.stderr));
    stop.store(true, Ordering::Relaxed);
    let writes = writer.await.unwrap();
    assert!(writes > 0);
    assert_eq!(
        out.status.code(),
        Some(1),
        "conflicts make the rollback exit 1"
    );
    let report: Value =
        serde_json::from_slice(&out.stdout).expect("the report, even with conflicts");

    // The report: conflicts are exactly the keys written after the read; the rest rolled back.
    let conflicts: Vec<String> = serde_json::from_value(report["conflicts"].clone()).unwrap();
    assert_eq!(conflicts.len(), hot.len(), "{conflicts:#?}");
    for key in &hot {
        assert!(
            conflicts.iter().any(|c| c.contains(key.as_str())),
            "{key} not reported: {conflicts:#?}"
        );
    }
    let rolled: BTreeSet<String> = serde_json::from_value(report["rolled_back"].clone()).unwrap();
    let want_rolled: BTreeSet<String> = to_roll
        .iter()
        .filter(|k| !hot.contains(k))
        .cloned()
        .collect();
    assert_eq!(rolled, want_rolled, "the report lists what changed");

    // The table: filtered keys at T (but the ones written after the read), the rest untouched.
    let got = scan_all(&client, &table).await;
    let mut want: Model = bad.iter().map(|(k, v)| (k.clone(), to_json(v))).collect();
    for (k, v) in last_outside.lock().unwrap().iter() {
        want.insert(k.clone(), to_json(v));
    }
    want.retain(|k, _| !to_roll.contains(k) || hot.contains(k));
    for key in &to_roll {
        if let Some(v) = good.get(key).filter(|_| !hot.contains(key)) {
            want.insert(key.clone(), to_json(v));
        }
    }
    want.extend(written_after);
    assert_same("the table after the rollback", &got, &want);

    // The same through the REST API: five keys overwritten by mistake, rolled back by a job;
    // one is written again while the job is paused after its read.
    let keys: Vec<String> = good
        .iter()
        .filter(|(k, v)| in_filter(v) && want.get(*k) == Some(&to_json(v)))
        .map(|(k, _)| k.clone())
        .take(5)
        .collect();
    assert_eq!(keys.len(), 5);
    for key in &keys {
        let mut item = good[key].clone();
        item.insert("v".into(), AttributeValue::N("999".into()));
        put(&client, &table, &item).await;
    }
    let pause = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_rewind"));
    command
        .env("REWIND_PAUSE_AT", "restore.read")
        .env("REWIND_PAUSE_DIR", pause.path());
    let catalog = serving::unique("rollback-jobs");
    let (_server, addr) = serving::start_server_env(&store, &catalog, &[], command);
    let key_filter = format!("[{}]", keys.join(","));
    let post = serde_json::json!({
        "table": table, "at": rfc3339(at), "to": format!("dynamodb://{table}"),
        "into_existing": true, "key_filter": key_filter,
    });
    let (status, created) =
        serving::http(&addr, "POST", "/restores", Some(&post.to_string())).await;
    assert_eq!(status, 202, "{created}");
    wait_for(
        &pause.path().join("restore.read.paused"),
        "the job never read the table",
    )
    .await;
    let mut again = good[&keys[0]].clone();
    again.insert("v".into(), AttributeValue::N("777".into()));
    put(&client, &table, &again).await;
    std::fs::write(pause.path().join("restore.read.resume"), b"").unwrap();
    let job = serving::until_done(
        &addr,
        &format!("/restores/{}", created["job_id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let report: Value = serde_json::from_str(job["report"].as_str().unwrap()).unwrap();
    let conflicts: Vec<String> = serde_json::from_value(report["conflicts"].clone()).unwrap();
    assert_eq!(conflicts.len(), 1, "{report}");
    assert!(conflicts[0].contains(keys[0].as_str()), "{conflicts:?}");
    let rolled: BTreeSet<String> = serde_json::from_value(report["rolled_back"].clone()).unwrap();
    assert_eq!(rolled, keys[1..].iter().cloned().collect::<BTreeSet<_>>());
    let got = scan_all(&client, &table).await;
    for key in &keys[1..] {
        assert_eq!(
            got.get(key),
            Some(&to_json(&good[key])),
            "{key} rolled back"
        );
    }
    assert_eq!(
        got.get(&keys[0]),
        Some(&to_json(&again)),
        "the later write stands"
    );
}
