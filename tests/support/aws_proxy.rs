//! The test proxy in front of moto (`tests/support/aws_proxy.py`): a region that refuses every
//! request signed for it, and a deleted table's stream that stays readable as on AWS.

use crate::{moto_endpoint, repo_root, test_python};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running proxy; killed when dropped.
#[derive(Debug)]
pub struct AwsProxy {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl AwsProxy {
    /// Starts a proxy forwarding to moto; with `refuse_region`, every request signed for that
    /// region is refused (503) and logged.
    pub fn start(refuse_region: Option<&str>) -> AwsProxy {
        let upstream = moto_endpoint();
        let dir = tempfile::tempdir().expect("temp dir");
        let port_file = dir.path().join("port");
        let log = dir.path().join("refused.log");
        let mut command = Command::new(test_python());
        command
            .arg(repo_root().join("tests/support/aws_proxy.py"))
            .arg("--upstream")
            .arg(&upstream)
            .arg("--port-file")
            .arg(&port_file)
            .arg("--log")
            .arg(&log)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        if let Some(region) = refuse_region {
            command.arg("--refuse-region").arg(region);
        }
        let child = command.spawn().expect("start tests/support/aws_proxy.py");
        let deadline = Instant::now() + Duration::from_secs(20);
        let port = loop {
            if let Some(port) = std::fs::read_to_string(&port_file)
                .ok()
                .and_then(|p| p.trim().parse().ok())
            {
                break port;
            }
            assert!(
                Instant::now() < deadline,
                "the AWS test proxy did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        AwsProxy {
            child,
            port,
            log,
            _dir: dir,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Reads the whole stream from moto now and, from then on, answers for it as AWS answers
    /// for a deleted table's stream (status DISABLED, shards closed, records still readable).
    /// Returns how many records it holds.
    pub async fn freeze_stream(&self, stream_arn: &str, region: &str) -> u64 {
        let body = serde_json::json!({"stream_arn": stream_arn, "region": region}).to_string();
        let (status, json) = crate::http::request_json(
            &format!("127.0.0.1:{}", self.port),
            "POST",
            "/__rewind/freeze",
            Some(&body),
        )
        .await;
        assert_eq!(status, 200, "freezing {stream_arn}: {json}");
        json["records"].as_u64().expect("a record count")
    }

    /// Every request the proxy refused (one line each: region, method, path, target).
    pub fn refused(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

impl Drop for AwsProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
