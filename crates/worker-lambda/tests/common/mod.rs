//! What the worker's tests share: unique names, a change log, reading a restored table, and
//! invoking the worker as Lambda would.

#![allow(dead_code)]

use rewind_e2e::changelog::*;
use rewind_replay::target::dynamodb::DynamoDbTarget;
use rewind_replay::target::RestoreTarget;
use rewind_service::steps::StepContext;
use rewind_worker_lambda::handle;
use serde_json::Value;
use std::collections::BTreeMap;

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{:08x}", rand_suffix())
}

pub fn rand_suffix() -> u32 {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    nanos ^ std::process::id().rotate_left(16)
}

pub fn workload() -> Vec<rewind_format::ChangeRecord> {
    use rewind_format::EventName;
    (0..900u64)
        .map(|i| {
            let key = format!("k{}", (i * 7919) % 150);
            let event = match i % 7 {
                0 if i > 150 => EventName::Remove,
                _ if i < 150 => EventName::Insert,
                _ => EventName::Modify,
            };
            record(
                &key,
                LABEL,
                100 + i,
                T0_MS + 1000 + i as i64 * 80,
                event,
                i as u32,
            )
        })
        .collect()
}

pub async fn table_items(target: &DynamoDbTarget) -> BTreeMap<String, String> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<rewind_format::Item>>(4);
    let (scanned, items) = tokio::join!(target.scan(tx), items_by_key(rx));
    scanned.unwrap();
    items
}

pub async fn invoke(ctx: &StepContext, payload: Value) -> Result<Value, (String, String)> {
    handle(ctx, payload)
        .await
        .map_err(|d| (d.error_type, d.error_message))
}

pub async fn futures_join<F: std::future::Future<Output = Result<Value, (String, String)>>>(
    steps: impl Iterator<Item = F>,
) -> Vec<Value> {
    let mut out = Vec::new();
    let handles: Vec<F> = steps.collect();
    for result in futures::future::join_all(handles).await {
        out.push(result.expect("a bucket step"));
    }
    out
}
