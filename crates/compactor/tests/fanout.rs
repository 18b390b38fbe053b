//! A compaction fanned out over buckets (plan, one step per bucket run concurrently, commit —
//! what a Step Functions Map state does, through the Lambda's step handler) commits a snapshot
//! that is exactly the state at its second; a commit missing a bucket's result is refused.

mod common;

use common::*;

use rewind_catalog::load_catalog;
use rewind_compactor::lambda::handle_step;
use rewind_e2e::changelog::*;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fanned_out_compaction_commits_an_exact_snapshot() {
    let ops: Vec<Op> = (0..500u32)
        .map(|i| Op {
            key: (i * 3 % 200) as u8,
            event: (i % 5) as u8,
            gap_ms: 400,
            new_stream: false,
        })
        .collect();
    let records = history(&ops);
    let (_dir, store) = local_store();
    write_files(store.as_ref(), &records, 40).await;
    let last = records.last().unwrap().approximate_creation_time_ms / 1000;
    seed_capture_state(store.as_ref(), (last + 10) * 1000).await;

    let planned = handle_step(&store, json!({"action": "plan", "table": TABLE}))
        .await
        .unwrap();
    let at = planned["at"].as_i64().unwrap();
    assert_eq!(
        at,
        last + 7,
        "the watermark (read-through minus the 2 s margin, cut before)"
    );
    let run_id = planned["run_id"].as_str().unwrap().to_string();
    let buckets: Vec<u64> = planned["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_u64().unwrap())
        .collect();
    // The Map state: every bucket at once, each a separate invocation.
    let results: Vec<Value> = futures::future::join_all(buckets.iter().map(|b| {
        handle_step(
            &store,
            json!({"action": "bucket", "table": TABLE, "run_id": run_id, "bucket": b}),
        )
    }))
    .await
    .into_iter()
    .map(Result::unwrap)
    .collect();

    let incomplete = handle_step(
        &store,
        json!({"action": "commit", "table": TABLE, "run_id": run_id, "results": &results[1..]}),
    )
    .await
    .unwrap_err();
    assert!(
        incomplete.to_string().contains("has no result"),
        "{incomplete}"
    );
    let committed = handle_step(
        &store,
        json!({"action": "commit", "table": TABLE, "run_id": run_id, "results": results}),
    )
    .await
    .unwrap();
    assert_eq!(committed["committed"], true);

    let (state, base) = state_at(&store, at).await;
    assert_eq!(base.as_deref(), committed["manifest"].as_str());
    assert_eq!(state, reference(&records, (at + 1) * 1000));
    let rows: u64 = load_catalog(store.as_ref(), TABLE, None)
        .await
        .unwrap()
        .snapshots[0]
        .files
        .len() as u64;
    assert!(rows > 1, "several bucket files");
}
