//! Helpers for the cross-crate tests: where moto server listens, which Python has pyarrow and
//! DuckDB, and running a Python check.
//!
//! `scripts/test.sh` starts moto server and exports its address and the test virtualenv's
//! Python. The helpers here panic, with a message saying how to run the suite, when either
//! is missing: a test that needs moto must fail without it, never pass by skipping, or a
//! broken harness would look like a green build.

pub mod aws_proxy;
pub mod changelog;
pub mod http;

use std::io::Write as _;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The repository root (the parent of this crate's directory), for fixtures and `.venv`.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent directory")
        .to_path_buf()
}

/// The moto server endpoint (`AWS_ENDPOINT_URL`, e.g. `http://127.0.0.1:5123`), after
/// checking that something accepts TCP connections there.
///
/// Panics when the variable is unset or nothing listens: tests that talk to AWS must fail,
/// not skip, outside `scripts/test.sh`.
pub fn moto_endpoint() -> String {
    let url = match std::env::var("AWS_ENDPOINT_URL") {
        Ok(u) if !u.trim().is_empty() => u.trim().to_owned(),
        _ => panic!("moto server not reachable: run scripts/test.sh (AWS_ENDPOINT_URL unset)"),
    };
    let authority = url
        .split_once("://")
        .map_or(url.as_str(), |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or_default();
    let addrs: Vec<_> = authority
        .to_socket_addrs()
        .unwrap_or_else(|e| {
            panic!("moto server not reachable: AWS_ENDPOINT_URL={url} has no usable host:port ({e}); run scripts/test.sh")
        })
        .collect();
    let connected = addrs
        .iter()
        .any(|a| TcpStream::connect_timeout(a, Duration::from_secs(2)).is_ok());
    assert!(
        connected,
        "moto server not reachable at AWS_ENDPOINT_URL={url}: nothing accepts connections there; \
         run scripts/test.sh (it starts moto and logs to target/moto.log)"
    );
    url
}

/// The Python interpreter with pyarrow and DuckDB: `REWIND_TEST_PYTHON`, else
/// `<repo>/.venv/bin/python` if it exists.
///
/// Panics when neither exists: interoperability checks must fail, not skip, without it.
pub fn test_python() -> PathBuf {
    if let Some(p) = std::env::var_os("REWIND_TEST_PYTHON").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        assert!(
            p.exists(),
            "test Python not found: REWIND_TEST_PYTHON={} does not exist; run scripts/test.sh",
            p.display()
        );
        return p;
    }
    let venv = repo_root().join(".venv/bin/python");
    assert!(
        venv.exists(),
        "test Python not found: run scripts/test.sh (REWIND_TEST_PYTHON unset and {} missing)",
        venv.display()
    );
    venv
}

/// Runs `script` (Python source, read from standard input) with `args` as `sys.argv[1:]`
/// under [`test_python`], and returns its standard output.
///
/// Panics with the script's stderr (and stdout) if it exits non-zero, so an assertion in
/// Python reads like one in Rust.
pub fn run_python(script: &str, args: &[&str]) -> String {
    let python = test_python();
    let mut child = Command::new(&python)
        .arg("-")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()));
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(script.as_bytes())
        .unwrap_or_else(|e| panic!("cannot send the script to {}: {e}", python.display()));
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("{} did not finish: {e}", python.display()));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "python script failed ({}) with args {args:?}\n--- stderr ---\n{}\n--- stdout ---\n{stdout}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
    );
    stdout
}

/// [`create_table_with_stream`] (sort key S), then `items` items `pk = o0, o1, ...`, `sk = x`:
/// a small live table for the backup and API tests.
pub async fn table_with_items(client: &aws_sdk_dynamodb::Client, table: &str, items: usize) {
    use aws_sdk_dynamodb::types::{AttributeValue, ScalarAttributeType};
    create_table_with_stream(client, table, ScalarAttributeType::S).await;
    for i in 0..items {
        client
            .put_item()
            .table_name(table)
            .item("pk", AttributeValue::S(format!("o{i}")))
            .item("sk", AttributeValue::S("x".into()))
            .send()
            .await
            .expect("PutItem");
    }
}

/// Creates a table keyed `pk` (S) + `sk` (`sort_key`), on demand, with a NEW_AND_OLD_IMAGES
/// stream: the shape every capture test against moto starts from. Returns what CreateTable said
/// (table ARN, latest stream ARN).
pub async fn create_table_with_stream(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    sort_key: aws_sdk_dynamodb::types::ScalarAttributeType,
) -> aws_sdk_dynamodb::types::TableDescription {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        StreamSpecification, StreamViewType,
    };
    let def = |name: &str, t: ScalarAttributeType| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(t)
            .build()
            .expect("attribute definition")
    };
    let key = |name: &str, t: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(t)
            .build()
            .expect("key schema element")
    };
    client
        .create_table()
        .table_name(table)
        .attribute_definitions(def("pk", ScalarAttributeType::S))
        .attribute_definitions(def("sk", sort_key))
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .billing_mode(BillingMode::PayPerRequest)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .expect("stream specification"),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateTable {table}: {e:?}"))
        .table_description
        .unwrap_or_else(|| panic!("CreateTable {table} returned no description"))
}
