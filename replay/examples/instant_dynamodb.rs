//! A DynamoDB endpoint that answers at once, for measuring a writer's own capacity
//! (tests/bench/restore_writer_capacity.sh): BatchWriteItem counts the put requests in the body
//! (occurrences of `"PutRequest"`, nothing is parsed or stored) and answers
//! `{"UnprocessedItems":{}}`; the control plane (CreateTable, DescribeTable, UpdateTable,
//! DescribeTimeToLive, UpdateTimeToLive, TagResource, ...) keeps just enough per table
//! (its description) for a restore to create a table, wait for it and finish it.
//!
//! One thread, so it takes at most one core; `GET /stats` returns what it received so far:
//! `{"items": N, "batches": N, "requests": N, "bytes": N}` (`items`: put requests).
//!
//!   cargo run --release -p rewind-replay --example instant_dynamodb -- [PORT (0: any free port)]
//!
//! Prints `listening on 127.0.0.1:PORT` once it accepts connections.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";
const PUT_REQUEST: &[u8] = b"\"PutRequest\"";

#[derive(Debug, Default)]
struct State {
    /// Put requests received (BatchWriteItem and PutItem).
    items: AtomicU64,
    /// BatchWriteItem calls.
    batches: AtomicU64,
    /// Every request.
    requests: AtomicU64,
    /// Body bytes received.
    bytes: AtomicU64,
    tables: Mutex<HashMap<String, Table>>,
}

#[derive(Debug)]
struct Table {
    description: Value,
    ttl: Value,
}

/// Occurrences of `"PutRequest"` in a BatchWriteItem body: one per put. (Text in a string value
/// cannot match, its quotes are escaped; an attribute named `PutRequest` would.)
fn count_puts(body: &[u8]) -> u64 {
    let mut n = 0;
    let mut i = 0;
    while i < body.len() {
        if body[i] == b'"' && body[i..].starts_with(PUT_REQUEST) {
            n += 1;
            i += PUT_REQUEST.len();
        } else {
            i += 1;
        }
    }
    n
}

fn answer(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amzn-requestid", "instant")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("a valid response")
}

fn ok(body: Value) -> Response<Full<Bytes>> {
    answer(StatusCode::OK, body)
}

fn error(kind: &str, message: &str) -> Response<Full<Bytes>> {
    answer(
        StatusCode::BAD_REQUEST,
        json!({"__type": format!("com.amazonaws.dynamodb.v20120810#{kind}"), "message": message}),
    )
}

fn not_found(name: &str) -> Response<Full<Bytes>> {
    error(
        "ResourceNotFoundException",
        &format!("Requested resource not found: Table: {name} not found"),
    )
}

/// A new table's description: what CreateTable asked for, ACTIVE at once.
fn describe_new(name: &str, req: &Value) -> Value {
    let mut d = json!({
        "TableName": name,
        "TableArn": format!("arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"),
        "TableId": "00000000-0000-0000-0000-000000000000",
        "TableStatus": "ACTIVE",
        "CreationDateTime": 1_795_672_800.0,
        "KeySchema": req["KeySchema"],
        "AttributeDefinitions": req["AttributeDefinitions"],
        "ItemCount": 0,
        "TableSizeBytes": 0,
        "BillingModeSummary": {"BillingMode": req.get("BillingMode").cloned().unwrap_or(json!("PROVISIONED"))},
        "DeletionProtectionEnabled": false,
    });
    let m = d.as_object_mut().expect("an object");
    if let Some(t) = req.get("ProvisionedThroughput") {
        m.insert("ProvisionedThroughput".into(), t.clone());
    }
    for key in ["GlobalSecondaryIndexes", "LocalSecondaryIndexes"] {
        if let Some(Value::Array(indexes)) = req.get(key) {
            let indexes: Vec<Value> = indexes
                .iter()
                .map(|i| {
                    let mut i = i.clone();
                    if let Some(o) = i.as_object_mut() {
                        let arn = format!(
                            "arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}/index/{}",
                            o.get("IndexName").and_then(Value::as_str).unwrap_or("")
                        );
                        o.insert("IndexArn".into(), json!(arn));
                        if key == "GlobalSecondaryIndexes" {
                            o.insert("IndexStatus".into(), json!("ACTIVE"));
                        }
                    }
                    i
                })
                .collect();
            m.insert(key.into(), Value::Array(indexes));
        }
    }
    for key in ["SSEDescription", "TableClassSummary"] {
        m.remove(key);
    }
    d
}

fn control(state: &State, operation: &str, body: &[u8]) -> Response<Full<Bytes>> {
    let req: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return error("SerializationException", &e.to_string()),
    };
    let name = req
        .get("TableName")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let mut tables = state.tables.lock().unwrap_or_else(|e| e.into_inner());
    match operation {
        "CreateTable" => {
            if tables.contains_key(&name) {
                return error(
                    "ResourceInUseException",
                    &format!("Table already exists: {name}"),
                );
            }
            let description = describe_new(&name, &req);
            tables.insert(
                name,
                Table {
                    description: description.clone(),
                    ttl: json!({"TimeToLiveStatus": "DISABLED"}),
                },
            );
            ok(json!({"TableDescription": description}))
        }
        "DescribeTable" => match tables.get(&name) {
            Some(t) => ok(json!({"Table": t.description})),
            None => not_found(&name),
        },
        "DeleteTable" => match tables.remove(&name) {
            Some(t) => ok(json!({"TableDescription": t.description})),
            None => not_found(&name),
        },
        "UpdateTable" => {
            let Some(t) = tables.get_mut(&name) else {
                return not_found(&name);
            };
            let d = t.description.as_object_mut().expect("an object");
            if let Some(spec) = req.get("StreamSpecification") {
                d.insert("StreamSpecification".into(), spec.clone());
                d.insert("LatestStreamLabel".into(), json!("2026-11-26T06:00:00.000"));
                d.insert(
                    "LatestStreamArn".into(),
                    json!(format!(
                        "arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}/stream/2026-11-26T06:00:00.000"
                    )),
                );
            }
            if let Some(p) = req.get("DeletionProtectionEnabled") {
                d.insert("DeletionProtectionEnabled".into(), p.clone());
            }
            if let Some(b) = req.get("BillingMode") {
                d.insert("BillingModeSummary".into(), json!({"BillingMode": b}));
            }
            ok(json!({"TableDescription": t.description}))
        }
        "DescribeTimeToLive" => match tables.get(&name) {
            Some(t) => ok(json!({"TimeToLiveDescription": t.ttl})),
            None => not_found(&name),
        },
        "UpdateTimeToLive" => {
            let Some(t) = tables.get_mut(&name) else {
                return not_found(&name);
            };
            let spec = req["TimeToLiveSpecification"].clone();
            t.ttl = if spec["Enabled"].as_bool() == Some(true) {
                json!({"TimeToLiveStatus": "ENABLED", "AttributeName": spec["AttributeName"]})
            } else {
                json!({"TimeToLiveStatus": "DISABLED"})
            };
            ok(json!({"TimeToLiveSpecification": spec}))
        }
        "ListTables" => ok(json!({"TableNames": tables.keys().collect::<Vec<_>>()})),
        "TagResource" | "UntagResource" => ok(json!({})),
        "ListTagsOfResource" => ok(json!({"Tags": []})),
        "UpdateContinuousBackups" | "DescribeContinuousBackups" => ok(json!({
            "ContinuousBackupsDescription": {
                "ContinuousBackupsStatus": "ENABLED",
                "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "ENABLED"}
            }
        })),
        "Scan" | "Query" => ok(json!({"Items": [], "Count": 0, "ScannedCount": 0})),
        "GetItem" | "DeleteItem" | "UpdateItem" => ok(json!({})),
        other => {
            eprintln!("instant_dynamodb: {other} answered with {{}}");
            ok(json!({}))
        }
    }
}

async fn handle(
    req: Request<Incoming>,
    state: Arc<State>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    state.requests.fetch_add(1, Ordering::Relaxed);
    let operation = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(|t| t.rsplit('.').next().unwrap_or(t).to_string());
    let stats = req.method() == Method::GET && req.uri().path() == "/stats";
    let body = req.into_body().collect().await?.to_bytes();
    state.bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
    Ok(match operation.as_deref() {
        Some("BatchWriteItem") => {
            state.items.fetch_add(count_puts(&body), Ordering::Relaxed);
            state.batches.fetch_add(1, Ordering::Relaxed);
            ok(json!({"UnprocessedItems": {}}))
        }
        Some("PutItem") => {
            state.items.fetch_add(1, Ordering::Relaxed);
            ok(json!({}))
        }
        Some(operation) => control(&state, operation, &body),
        None if stats => ok(json!({
            "items": state.items.load(Ordering::Relaxed),
            "batches": state.batches.load(Ordering::Relaxed),
            "requests": state.requests.load(Ordering::Relaxed),
            "bytes": state.bytes.load(Ordering::Relaxed),
        })),
        None => error("UnknownOperationException", "no X-Amz-Target header"),
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let port: u16 = match std::env::args().nth(1) {
        Some(p) => p.parse().expect("PORT is a number"),
        None => 0,
    };
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on {}", listener.local_addr()?);
    std::io::stdout().flush()?;
    let state = Arc::new(State::default());
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        let state = state.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(req, state.clone()));
            // A client closing its connection is not an error worth reporting.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
