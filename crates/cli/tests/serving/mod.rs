//! What the tests of `rewind serve` share: starting it on a free port, a minimal HTTP client,
//! polling a job to its end, fresh names.

#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One HTTP/1.1 request (Connection: close); the status and the JSON body.
pub async fn http(addr: &str, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
    rewind_e2e::http::request_json(addr, method, path, body).await
}

/// Kills the server when a failed assertion unwinds past it.
pub struct Server(pub std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `rewind serve` on a free port; its address.
pub fn start_server(store: &str, catalog_table: &str) -> (Server, String) {
    start_server_with(store, catalog_table, &[])
}

/// [`start_server`] with more arguments for `rewind serve`.
pub fn start_server_with(store: &str, catalog_table: &str, extra: &[&str]) -> (Server, String) {
    start_server_env(
        store,
        catalog_table,
        extra,
        Command::new(env!("CARGO_BIN_EXE_rewind")),
    )
}

/// [`start_server_with`], run by `command` (`rewind` with its environment set).
pub fn start_server_env(
    store: &str,
    catalog_table: &str,
    extra: &[&str],
    mut command: Command,
) -> (Server, String) {
    let mut server = Server(
        command
            .args([
                "serve",
                "--store",
                store,
                "--listen",
                "127.0.0.1:0",
                "--catalog",
                catalog_table,
                "--worker-id",
                "serve-test",
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut first = String::new();
    BufReader::new(server.0.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let addr = first
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_string();
    (server, addr)
}

/// A name no earlier run used (moto tables and buckets outlive a test).
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    )
}

/// Polls a job until it ends; the job.
pub async fn until_done(addr: &str, path: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (status, job) = http(addr, "GET", path, None).await;
        assert_eq!(status, 200, "{job}");
        match job["status"].as_str().unwrap() {
            "succeeded" | "failed" => return job,
            _ if Instant::now() > deadline => panic!("the job did not finish: {job}"),
            _ => tokio::time::sleep(Duration::from_millis(300)).await,
        }
    }
}
