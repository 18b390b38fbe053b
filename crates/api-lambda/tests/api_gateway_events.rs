//! The API Lambda, run as its real binary under a local stand-in of the Lambda Runtime API,
//! answers API Gateway (REST, v1 proxy) events exactly as `rewind serve`'s router answers the
//! same requests over HTTP: status, content type and JSON body. The events are recorded
//! fixtures (a GET and a POST, with the stage in the request context as API Gateway sends
//! them) with their path, query and body set per request. A job posted to the Lambda starts a
//! Step Functions execution named after the job; one that cannot start is failed, and said so.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use rewind_service::api::runner::JobRunner;
use rewind_service::api::{router, ApiState};
use rewind_service::jobs::{JobCatalog, JobStatus};
use rewind_service::notify::Notifier;
use serde_json::{json, Value};
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Mutex};

/// The Lambda Runtime API as the Lambda service offers it to a function's process: `next`
/// hands out one event (blocking until there is one), `response` and `error` take its answer.
#[derive(Clone)]
struct RuntimeApi {
    events: Arc<Mutex<mpsc::UnboundedReceiver<(String, Value)>>>,
    answers: mpsc::UnboundedSender<(String, Result<Value, String>)>,
}

async fn next(State(api): State<RuntimeApi>) -> (HeaderMap, String) {
    let (id, event) = api
        .events
        .lock()
        .await
        .recv()
        .await
        .expect("events stay open");
    let deadline = chrono_ms() + 30_000;
    let mut headers = HeaderMap::new();
    headers.insert("Lambda-Runtime-Aws-Request-Id", id.parse().unwrap());
    headers.insert(
        "Lambda-Runtime-Deadline-Ms",
        deadline.to_string().parse().unwrap(),
    );
    headers.insert(
        "Lambda-Runtime-Invoked-Function-Arn",
        "arn:aws:lambda:us-east-1:123456789012:function:rewind-api"
            .parse()
            .unwrap(),
    );
    headers.insert(
        "Lambda-Runtime-Trace-Id",
        "Root=1-6750a3c0-1f2e3d4c5b6a79881726354a;Sampled=0"
            .parse()
            .unwrap(),
    );
    headers.insert("Content-Type", "application/json".parse().unwrap());
    (headers, event.to_string())
}

async fn response(
    State(api): State<RuntimeApi>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    let answer = serde_json::from_slice(&body).map_err(|e| format!("not JSON: {e}"));
    api.answers.send((id, answer)).unwrap();
    StatusCode::ACCEPTED
}

async fn error(State(api): State<RuntimeApi>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    let text = String::from_utf8_lossy(&body).to_string();
    api.answers.send((id, Err(text))).unwrap();
    StatusCode::ACCEPTED
}

async fn init_error(State(api): State<RuntimeApi>, body: Bytes) -> StatusCode {
    let text = String::from_utf8_lossy(&body).to_string();
    api.answers.send(("init".into(), Err(text))).unwrap();
    StatusCode::ACCEPTED
}

fn chrono_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

/// A function process under its own Runtime API; killed on drop.
struct Function {
    process: Child,
    events: mpsc::UnboundedSender<(String, Value)>,
    answers: mpsc::UnboundedReceiver<(String, Result<Value, String>)>,
    invocations: u32,
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

impl Function {
    /// Starts the Runtime API stand-in and the binary, with `env` on top of this process's
    /// environment (moto's endpoint and credentials).
    async fn start(env: &[(&str, &str)]) -> Function {
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let (answers_tx, answers_rx) = mpsc::unbounded_channel();
        let api = RuntimeApi {
            events: Arc::new(Mutex::new(events_rx)),
            answers: answers_tx,
        };
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(api);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let runtime_api = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let process = Command::new(env!("CARGO_BIN_EXE_rewind-api-lambda"))
            .env("AWS_LAMBDA_RUNTIME_API", &runtime_api)
            .env("AWS_LAMBDA_FUNCTION_NAME", "rewind-api")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/rewind-api")
            .env(
                "AWS_LAMBDA_LOG_STREAM_NAME",
                "2026/12/04/[$LATEST]0123456789abcdef",
            )
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .spawn()
            .unwrap();
        Function {
            process,
            events: events_tx,
            answers: answers_rx,
            invocations: 0,
        }
    }

    /// One invocation with `event`; the function's answer.
    async fn invoke(&mut self, event: Value) -> Result<Value, String> {
        self.invocations += 1;
        let id = format!("c0ffee00-0000-4000-8000-{:012}", self.invocations);
        self.events.send((id.clone(), event)).unwrap();
        let (answered, answer) = tokio::time::timeout(Duration::from_secs(60), self.answers.recv())
            .await
            .expect("the function answers within 60 s")
            .expect("the Runtime API stays up");
        assert!(
            answered == id || answered == "init",
            "answer for {answered}, expected {id}"
        );
        if answered == "init" {
            return Err(format!("the function failed to start: {answer:?}"));
        }
        answer
    }
}

/// A request, as a fixture event and as an HTTP request.
struct Request {
    method: &'static str,
    path: String,
    query: Option<(&'static str, String)>,
    body: Option<String>,
}

impl Request {
    fn get(path: impl Into<String>) -> Self {
        Request {
            method: "GET",
            path: path.into(),
            query: None,
            body: None,
        }
    }

    fn post(path: &str, body: impl Into<String>) -> Self {
        Request {
            method: "POST",
            path: path.into(),
            query: None,
            body: Some(body.into()),
        }
    }

    /// The recorded fixture for the method, with this request's path, query and body.
    fn event(&self) -> Value {
        let fixture = match self.method {
            "GET" => include_str!("fixtures/apigw_v1_get.json"),
            _ => include_str!("fixtures/apigw_v1_post.json"),
        };
        let mut event: Value = serde_json::from_str(fixture).unwrap();
        event["path"] = json!(self.path);
        event["pathParameters"]["proxy"] = json!(self.path.trim_start_matches('/'));
        event["requestContext"]["path"] = json!(format!("/prod{}", self.path));
        if let Some((name, value)) = &self.query {
            event["queryStringParameters"] = json!({ *name: value });
            event["multiValueQueryStringParameters"] = json!({ *name: [value] });
        }
        event["body"] = json!(self.body);
        event
    }

    /// The path and query as an HTTP client sends them (the query value percent-encoded).
    fn target(&self) -> String {
        match &self.query {
            None => self.path.clone(),
            Some((name, value)) => {
                let encoded: String = value
                    .bytes()
                    .map(|b| match b {
                        b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                            (b as char).to_string()
                        }
                        _ => format!("%{b:02X}"),
                    })
                    .collect();
                format!("{}?{name}={encoded}", self.path)
            }
        }
    }
}

/// What is compared: status, content type, and the JSON body without `lag_seconds` (it is
/// "now minus the watermark", and the two answers come a moment apart).
fn comparable(status: u16, content_type: Option<&str>, body: &str) -> (u16, Option<String>, Value) {
    let mut json: Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body:?}"));
    strip(&mut json, "lag_seconds");
    (status, content_type.map(str::to_string), json)
}

fn strip(value: &mut Value, field: &str) {
    match value {
        Value::Object(map) => {
            map.remove(field);
            map.values_mut().for_each(|v| strip(v, field));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| strip(v, field)),
        _ => {}
    }
}

/// The Lambda's answer (an API Gateway proxy response) in the same terms.
fn from_proxy_response(answer: &Value) -> (u16, Option<String>, Value) {
    assert_eq!(
        answer["isBase64Encoded"],
        json!(false),
        "JSON answers are text: {answer}"
    );
    let status = answer["statusCode"].as_u64().unwrap() as u16;
    let content_type = ["headers", "multiValueHeaders"].iter().find_map(|field| {
        answer[*field].as_object().and_then(|headers| {
            headers.iter().find_map(|(name, value)| {
                name.eq_ignore_ascii_case("content-type")
                    .then(|| match value {
                        Value::Array(values) => values[0].as_str().unwrap().to_string(),
                        other => other.as_str().unwrap().to_string(),
                    })
            })
        })
    });
    comparable(
        status,
        content_type.as_deref(),
        answer["body"].as_str().unwrap_or(""),
    )
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", chrono_ms() % 1_000_000_000)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_lambda_answers_api_gateway_events_as_serve_answers_http() {
    rewind_e2e::moto_endpoint();
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let sfn = aws_sdk_sfn::Client::new(&sdk);
    let table = unique("orders");
    rewind_e2e::table_with_items(&dynamodb, &table, 5).await;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store").to_str().unwrap().to_string();
    let job_table = unique("rewind-jobs");
    let jobs = JobCatalog::new(dynamodb.clone(), &job_table);
    jobs.create_if_missing().await.unwrap();
    let machine = sfn
        .create_state_machine()
        .name(unique("rewind-jobs"))
        .definition(r#"{"StartAt": "Run", "States": {"Run": {"Type": "Pass", "End": true}}}"#)
        .role_arn("arn:aws:iam::123456789012:role/rewind-jobs")
        .send()
        .await
        .unwrap()
        .state_machine_arn;

    // `rewind serve`'s router on a real socket, as `rewind serve` runs it.
    let state = Arc::new(ApiState {
        store: rewind_store::open(&store).await.unwrap(),
        jobs: jobs.clone(),
        worker: "serve-test".into(),
        dynamodb: dynamodb.clone(),
        notifier: Notifier::disabled(),
        runner: JobRunner::InProcess,
        mask_key: Default::default(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, router(state)).await.unwrap() });

    // A backup through the server, so the store holds the table.
    let (status, created) = rewind_e2e::http::request_json(
        &addr,
        "POST",
        "/backups",
        Some(&json!({"table": table}).to_string()),
    )
    .await;
    assert_eq!(status, 202, "{created}");
    let backup = created["job_id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    while jobs.get(&backup).await.unwrap().unwrap().status != JobStatus::Succeeded {
        assert!(Instant::now() < deadline, "the backup did not finish");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let mut function = Function::start(&[
        ("REWIND_STORE", store.as_str()),
        ("REWIND_JOB_TABLE", job_table.as_str()),
        ("REWIND_STATE_MACHINE_ARN", machine.as_str()),
    ])
    .await;
    let requests = [
        Request::get("/tables"),
        Request::get(format!("/tables/{table}")),
        Request::get("/tables/no-such-table"),
        Request::get(format!("/backups/{backup}")),
        Request::get(format!("/restores/{backup}")),
        Request {
            query: Some(("key", r#"{"pk": "o1", "sk": "x"}"#.to_string())),
            ..Request::get(format!("/tables/{table}/items"))
        },
        Request {
            query: Some(("key", "not a key".to_string())),
            ..Request::get(format!("/tables/{table}/items"))
        },
        Request::post(
            "/restores",
            json!({"table": table, "at": "2020-01-01T00:00:00Z", "to": "dynamodb://orders-dev"})
                .to_string(),
        ),
        Request::post(
            "/restores",
            json!({"table": table, "at": "latest", "to": "ftp://nowhere"}).to_string(),
        ),
        Request::post("/restores", "{not json"),
        Request::post("/backups", json!({"table": "no-such-table"}).to_string()),
    ];
    let mut statuses = Vec::new();
    for request in &requests {
        let over_http = rewind_e2e::http::request(
            &addr,
            request.method,
            &request.target(),
            request.body.as_deref(),
        )
        .await;
        let want = comparable(
            over_http.status,
            over_http.header("content-type"),
            &over_http.body,
        );
        let answer = function
            .invoke(request.event())
            .await
            .unwrap_or_else(|e| panic!("{} {}: {e}", request.method, request.path));
        assert_eq!(
            from_proxy_response(&answer),
            want,
            "{} {}: the Lambda's answer differs from the server's",
            request.method,
            request.target()
        );
        statuses.push(want.0);
    }
    // The cases cover answers of every kind, not one kind many times.
    assert_eq!(
        statuses,
        [200, 200, 404, 200, 404, 200, 400, 422, 400, 400, 404],
        "the answers expected of each request"
    );

    // A job posted to the Lambda becomes a Step Functions execution named after it, and stays
    // queued for that execution's tasks.
    let answer = function
        .invoke(Request::post("/backups", json!({"table": table}).to_string()).event())
        .await
        .unwrap();
    let (status, _, body) = from_proxy_response(&answer);
    assert_eq!(status, 202, "{body}");
    let job_id = body["job_id"].as_str().unwrap().to_string();
    let executions = sfn
        .list_executions()
        .state_machine_arn(&machine)
        .send()
        .await
        .unwrap()
        .executions;
    let execution = executions
        .iter()
        .find(|e| e.name == job_id)
        .unwrap_or_else(|| panic!("no execution named {job_id}: {executions:?}"));
    let input: Value = serde_json::from_str(
        &sfn.describe_execution()
            .execution_arn(&execution.execution_arn)
            .send()
            .await
            .unwrap()
            .input
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        input,
        json!({"job_id": job_id, "kind": "backup", "table": table})
    );
    assert_eq!(
        jobs.get(&job_id).await.unwrap().unwrap().status,
        JobStatus::Queued
    );
    drop(function);

    // A state machine that is not there: the job cannot start, is failed, and the caller told.
    let mut broken = Function::start(&[
        ("REWIND_STORE", store.as_str()),
        ("REWIND_JOB_TABLE", job_table.as_str()),
        (
            "REWIND_STATE_MACHINE_ARN",
            "arn:aws:states:us-east-1:123456789012:stateMachine:no-such-machine",
        ),
    ])
    .await;
    let answer = broken
        .invoke(Request::post("/backups", json!({"table": table}).to_string()).event())
        .await
        .unwrap();
    let (status, _, body) = from_proxy_response(&answer);
    assert_eq!(
        (status, body["error"].as_str()),
        (502, Some("runner_unavailable")),
        "{body}"
    );
    let message = body["message"].as_str().unwrap();
    let failed_id = message
        .strip_prefix("job ")
        .and_then(|m| m.split_whitespace().next())
        .unwrap_or_else(|| panic!("the message names the job: {message}"));
    let failed = jobs.get(failed_id).await.unwrap().unwrap();
    assert_eq!(failed.status, JobStatus::Failed, "{failed:?}");
    assert!(failed.error.unwrap().contains("StartExecution"));
}
