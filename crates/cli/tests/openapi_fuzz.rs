//! The OpenAPI document (`crates/service/openapi.json`): it validates (openapi-spec-validator),
//! `rewind serve` serves exactly it at `/openapi.json`, and a schema-driven fuzz run
//! (schemathesis, bounded in time) against the server finds no 5xx and no answer the document
//! does not describe (status, content type, body schema), and bad input is refused.
//!
//! The server runs as in `serve_moto.rs`: the job catalog in moto, the demo's store. Both Python
//! tools come from the test virtualenv (`REWIND_TEST_PYTHON`, pinned in
//! `scripts/requirements-test.txt`); without them the test fails, it never skips.
//! `REWIND_FUZZ_SEED=N` repeats a run (schemathesis prints its seed).

mod serving;

use serving::{start_server, unique};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Schemathesis's time budget: its phases repeat until it is spent.
const FUZZ_SECONDS: u64 = 60;
/// Past this, the run is killed and the test fails (the budget is not a hard stop).
const FUZZ_DEADLINE: Duration = Duration::from_secs(FUZZ_SECONDS + 40);

/// What every answer is checked for: no 5xx, and each answer as the document describes it.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_schema_conformance,negative_data_rejection";

fn document_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../service/openapi.json")
}

fn rewind(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rewind"))
        .args(args)
        .output()
        .unwrap()
}

/// One HTTP/1.1 request: status, content type and body, exactly as sent.
fn request_raw(addr: &str, method: &str, path: &str, body: &[u8]) -> (u16, String, Vec<u8>) {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    // A server may answer (413) before it has read a big body, and close.
    let _ = stream.write_all(body);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("{method} {path}: no header end in {raw:?}"));
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let content_type = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    (status, content_type, raw[split + 4..].to_vec())
}

/// A request whose answer must be the API's JSON error: its status and `error` code.
fn error_of(addr: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let (status, content_type, answer) = request_raw(addr, method, path, body.as_bytes());
    let shown = String::from_utf8_lossy(&answer);
    let shown = &shown[..shown.len().min(400)];
    assert_eq!(
        content_type, "application/json",
        "{method} {path}: {status} {shown}"
    );
    let error: serde_json::Value = serde_json::from_slice(&answer).unwrap();
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{method} {path}: {shown}"
    );
    (status, error["error"].as_str().unwrap().to_string())
}

/// A demo store (its table is `shop`) and `rewind serve` on it.
fn demo_server(dir: &Path) -> (serving::Server, String) {
    let work = dir.join("demo");
    let work = work.to_str().unwrap().to_string();
    let demo = rewind(&["demo", "--workdir", &work, "--capture-only"]);
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    start_server(&format!("{work}/store"), &unique("rewind-jobs-fuzz"))
}

/// The `(method, path)` operations the document describes.
fn operations(document: &serde_json::Value) -> usize {
    document["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|k| ["get", "post", "put", "patch", "delete"].contains(&k.as_str()))
                .count()
        })
        .sum()
}

#[test]
fn the_openapi_document_validates_is_served_and_fuzzing_finds_no_server_error() {
    rewind_e2e::moto_endpoint();
    let python = rewind_e2e::test_python();
    let document = document_path();
    let text = std::fs::read(&document).unwrap();
    let parsed: serde_json::Value = serde_json::from_slice(&text).unwrap();

    // The document is valid OpenAPI 3.0 (every $ref resolves, every schema is well formed).
    let validated = rewind_e2e::run_python(
        r#"
import json, sys
import openapi_spec_validator as v
with open(sys.argv[1]) as f:
    spec = json.load(f)
v.validate(spec, cls=v.OpenAPIV30SpecValidator)
print("valid", spec["openapi"])
"#,
        &[document.to_str().unwrap()],
    );
    assert!(validated.starts_with("valid 3.0"), "{validated}");

    // The server, against moto and a demo store: what it serves is the file.
    let dir = tempfile::tempdir().unwrap();
    let (server, addr) = demo_server(dir.path());
    let (status, content_type, served) = request_raw(&addr, "GET", "/openapi.json", b"");
    assert_eq!(status, 200);
    assert_eq!(content_type, "application/json");
    assert!(
        served == text,
        "GET /openapi.json is not crates/service/openapi.json"
    );

    // Schemathesis, bounded: its own budget, and a deadline past which it is killed.
    let out_path = dir.path().join("schemathesis.out");
    let out = std::fs::File::create(&out_path).unwrap();
    let mut command = Command::new(&python);
    command
        .args(["-m", "schemathesis.cli", "run"])
        .arg(&document)
        .args(["--url", &format!("http://{addr}")])
        .args(["--checks", CHECKS])
        .args(["--max-examples", "25"])
        .args(["--max-time", &FUZZ_SECONDS.to_string()])
        .args(["--workers", "2"])
        .args(["--request-timeout", "30"])
        .args(["--generation-database", "none"])
        .args(["--output-sanitize", "false"])
        .arg("--no-color")
        // No schemathesis.toml or hypothesis database from the repository or a run before.
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out);
    if let Some(seed) = std::env::var_os("REWIND_FUZZ_SEED").filter(|s| !s.is_empty()) {
        command.arg("--seed").arg(seed);
    }
    let started = Instant::now();
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {} -m schemathesis.cli: {e}", python.display()));
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > FUZZ_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "schemathesis ran over {FUZZ_DEADLINE:?} and was killed; its output:\n{}",
                std::fs::read_to_string(&out_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let output = std::fs::read_to_string(&out_path).unwrap();
    assert!(
        status.success(),
        "schemathesis found answers the document does not allow (or 5xx), exit {status}:\n{output}"
    );
    // It really ran: every documented operation was tested.
    let n = operations(&parsed);
    assert!(
        output.contains(&format!("Selected: {n}/{n}")) && output.contains(&format!("Tested: {n}")),
        "schemathesis did not test all {n} operations:\n{output}"
    );
    eprintln!(
        "schemathesis: {:.0?}\n{}",
        started.elapsed(),
        output
            .lines()
            .skip_while(|l| !l.contains("SUMMARY"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    drop(server);
}

/// What fuzzing (and reading what it reached) found answered 5xx, or not as JSON, and is now a
/// 4xx JSON error saying what is wrong.
#[test]
fn bad_input_is_a_4xx_json_error() {
    rewind_e2e::moto_endpoint();
    let dir = tempfile::tempdir().unwrap();
    let (_server, addr) = demo_server(dir.path());
    let restore = |to: &str, extra: &str| {
        format!(r#"{{"table": "shop", "at": "latest", "to": "{to}"{extra}}}"#)
    };
    let cases: Vec<(&str, String, String, u16, &str)> = vec![
        // A path segment that is not UTF-8: axum's text/plain 400 before.
        (
            "GET",
            "/tables/%FF".into(),
            String::new(),
            400,
            "bad_request",
        ),
        (
            "GET",
            "/tables/%FF/items?key=1".into(),
            String::new(),
            400,
            "bad_request",
        ),
        (
            "GET",
            "/restores/%FF".into(),
            String::new(),
            400,
            "bad_request",
        ),
        (
            "GET",
            "/backups/%FF".into(),
            String::new(),
            400,
            "bad_request",
        ),
        // An id no job can have (over DynamoDB's 2048-byte key): a ValidationException, a 500,
        // from DynamoDB before (moto does not enforce the limit; the answer is checked here).
        (
            "GET",
            format!("/restores/{}", "r".repeat(2049)),
            String::new(),
            404,
            "unknown_job",
        ),
        (
            "GET",
            format!("/backups/{}", "b".repeat(2049)),
            String::new(),
            404,
            "unknown_job",
        ),
        // A target bucket that does not exist: a 500 `internal` before.
        (
            "POST",
            "/restores".into(),
            restore(&format!("s3://{}/x", unique("no-such-bucket")), ""),
            422,
            "target_unusable",
        ),
        // A region that is no region: a 500 (the SDK cannot build the endpoint) before.
        (
            "POST",
            "/restores".into(),
            restore("dynamodb://t-restored?region=a b", ""),
            400,
            "bad_target",
        ),
        (
            "POST",
            "/restores".into(),
            restore("dynamodb://t-restored?region=//", ""),
            400,
            "bad_target",
        ),
        // A key filter read from the server's files (`file:/dev/zero` never ends).
        (
            "POST",
            "/restores".into(),
            restore(
                "file:///tmp/never-written",
                r#", "key_filter": "file:/dev/zero""#,
            ),
            400,
            "bad_request",
        ),
        // A body over the limit: axum's text/plain 413 before.
        (
            "POST",
            "/backups".into(),
            format!(r#"{{"table": "{}"}}"#, "a".repeat(3 << 20)),
            413,
            "too_large",
        ),
    ];
    for (method, path, body, want_status, want_code) in cases {
        let (status, code) = error_of(&addr, method, &path, &body);
        assert_eq!(
            (status, code.as_str()),
            (want_status, want_code),
            "{method} {} {}",
            &path[..path.len().min(60)],
            &body[..body.len().min(200)]
        );
    }
}
