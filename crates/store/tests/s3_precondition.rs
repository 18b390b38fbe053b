//! What the S3 backend sends and how it reads S3's answers, against a tiny fake S3 that records
//! each request and answers with a canned response.
//!
//! moto cannot show these: it does not lock (a put-if-absent race against it passes by luck),
//! never answers 409 ConditionalRequestConflict or 503 SlowDown, and does not check checksums.

use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use rewind_store::{checksum, ObjectStore, S3Store, StoreError};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request as the fake server saw it.
#[derive(Debug, Clone)]
struct Recorded {
    method: String,
    path: String,
    /// Lower-cased names.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Recorded {
    /// The object path, without the query (`?x-id=PutObject`) and percent-decoded.
    fn object_path(&self) -> String {
        let path = self.path.split('?').next().unwrap_or_default();
        percent_encoding::percent_decode_str(path)
            .decode_utf8()
            .unwrap()
            .to_string()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The answer to every request.
#[derive(Clone)]
struct Canned {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

fn s3_error(status: u16, code: &str) -> Canned {
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
         <Message>canned {code}</Message><RequestId>fake-1</RequestId></Error>"
    );
    Canned {
        status,
        headers: vec![("content-type", "application/xml".to_string())],
        body: xml.into_bytes(),
    }
}

fn object(body: &[u8], crc32c: Option<String>) -> Canned {
    let mut headers = vec![
        ("content-type", "application/octet-stream".to_string()),
        ("etag", "\"0123456789abcdef\"".to_string()),
        ("last-modified", "Thu, 26 Nov 2026 06:00:00 GMT".to_string()),
    ];
    if let Some(crc) = crc32c {
        headers.push(("x-amz-checksum-crc32c", crc));
    }
    Canned {
        status: 200,
        headers,
        body: body.to_vec(),
    }
}

struct FakeS3 {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
}

impl FakeS3 {
    async fn start(answer: Canned) -> FakeS3 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = requests.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let recorded = recorded.clone();
                let answer = answer.clone();
                tokio::spawn(async move {
                    if let Some(request) = serve(socket, &answer).await {
                        recorded.lock().unwrap().push(request);
                    }
                });
            }
        });
        FakeS3 { addr, requests }
    }

    fn store(&self) -> S3Store {
        S3Store::new(
            client_for(&format!("http://{}", self.addr)),
            "bucket",
            "root/p",
        )
    }

    fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    fn only_request(&self) -> Recorded {
        let requests = self.requests();
        assert_eq!(
            requests.len(),
            1,
            "expected one request (no retries): {requests:#?}"
        );
        requests[0].clone()
    }
}

/// Reads one HTTP/1.1 request (head, then a body by Content-Length) and writes the answer.
async fn serve(mut socket: TcpStream, answer: &Canned) -> Option<Recorded> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_string();
    let path = request_line.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let find = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    if find("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        socket
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .await
            .ok()?;
    }
    let length: usize = find("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }

    let reason = match answer.status {
        200 => "OK",
        404 => "Not Found",
        409 => "Conflict",
        412 => "Precondition Failed",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Whatever",
    };
    // HEAD answers carry the length of what GET would return, but no body.
    let send_body = method != "HEAD";
    let mut response = format!("HTTP/1.1 {} {reason}\r\n", answer.status);
    for (name, value) in &answer.headers {
        response.push_str(&format!("{name}: {value}\r\n"));
    }
    response.push_str(&format!(
        "content-length: {}\r\nx-amz-request-id: fake-1\r\nconnection: close\r\n\r\n",
        answer.body.len()
    ));
    let mut bytes = response.into_bytes();
    if send_body {
        bytes.extend_from_slice(&answer.body);
    }
    socket.write_all(&bytes).await.ok()?;
    socket.shutdown().await.ok();
    Some(Recorded {
        method,
        path,
        headers,
        body,
    })
}

/// An S3 client for the fake server: path style, static credentials, no retries (so one call
/// is one request and a retryable answer reaches the store's error mapping).
fn client_for(endpoint: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .credentials_provider(Credentials::new("test", "test", None, None, "fake"))
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

const MANIFEST: &str = "snapshots/table=t/at=20261126T060000Z/manifest.json";

fn crc_b64(body: &[u8]) -> String {
    checksum::to_base64(checksum::crc32c(body))
}

async fn put_if_absent_against(answer: Canned) -> (StoreError, Recorded) {
    let fake = FakeS3::start(answer).await;
    let err = fake
        .store()
        .put_if_absent(MANIFEST, "manifest body".into())
        .await
        .unwrap_err();
    (err, fake.only_request())
}

fn assert_conditional_put(request: &Recorded) {
    assert_eq!(request.method, "PUT");
    assert_eq!(request.object_path(), format!("/bucket/root/p/{MANIFEST}"));
    assert_eq!(request.header("if-none-match"), Some("*"), "{request:#?}");
    assert_eq!(
        request.header("x-amz-checksum-crc32c"),
        Some(crc_b64(b"manifest body").as_str()),
        "{request:#?}"
    );
    assert_eq!(request.body, b"manifest body");
}

#[tokio::test]
async fn precondition_failed_412_is_already_exists() {
    let (err, request) = put_if_absent_against(s3_error(412, "PreconditionFailed")).await;
    assert_conditional_put(&request);
    match err {
        StoreError::AlreadyExists { key } => {
            assert_eq!(key, format!("s3://bucket/root/p/{MANIFEST}"))
        }
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
}

#[tokio::test]
async fn conditional_request_conflict_409_is_already_exists() {
    let (err, request) = put_if_absent_against(s3_error(409, "ConditionalRequestConflict")).await;
    assert_conditional_put(&request);
    assert!(err.is_already_exists(), "{err:?}");
}

#[tokio::test]
async fn slow_down_503_is_retryable() {
    let (err, request) = put_if_absent_against(s3_error(503, "SlowDown")).await;
    assert_conditional_put(&request);
    match &err {
        StoreError::Other {
            op,
            key,
            message,
            retryable,
            ..
        } => {
            assert_eq!(*op, "put_if_absent");
            assert_eq!(key, &format!("s3://bucket/root/p/{MANIFEST}"));
            assert!(message.contains("SlowDown"), "{message}");
            assert!(retryable);
        }
        other => panic!("expected a retryable Other, got {other:?}"),
    }
}

#[tokio::test]
async fn plain_put_is_unconditional_and_412_is_not_already_exists_there() {
    let fake = FakeS3::start(s3_error(412, "PreconditionFailed")).await;
    let err = fake.store().put("k", "v".into()).await.unwrap_err();
    let request = fake.only_request();
    assert_eq!(request.header("if-none-match"), None);
    assert_eq!(
        request.header("x-amz-checksum-crc32c"),
        Some(crc_b64(b"v").as_str())
    );
    assert!(
        matches!(
            err,
            StoreError::Other {
                retryable: false,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn successful_put_reports_our_checksum() {
    let fake = FakeS3::start(object(b"", None)).await;
    let meta = fake.store().put("dir/k", "payload".into()).await.unwrap();
    assert_eq!(meta.crc32c, Some(crc_b64(b"payload")));
    assert_eq!(meta.size, 7);
    let request = fake.only_request();
    assert_eq!(request.object_path(), "/bucket/root/p/dir/k");
    assert_eq!(request.body, b"payload");
}

#[tokio::test]
async fn get_asks_for_and_verifies_the_checksum() {
    let fake = FakeS3::start(object(b"good bytes", Some(crc_b64(b"good bytes")))).await;
    let body = fake.store().get("k").await.unwrap();
    assert_eq!(&body[..], b"good bytes");
    let request = fake.only_request();
    assert_eq!(request.method, "GET");
    assert_eq!(
        request
            .header("x-amz-checksum-mode")
            .map(str::to_ascii_uppercase),
        Some("ENABLED".to_string())
    );
}

#[tokio::test]
async fn get_with_a_wrong_checksum_is_checksum_mismatch() {
    let fake = FakeS3::start(object(b"rotten bytes", Some(crc_b64(b"good bytes")))).await;
    match fake.store().get("k").await {
        Err(StoreError::ChecksumMismatch {
            key,
            expected,
            actual,
        }) => {
            assert_eq!(key, "s3://bucket/root/p/k");
            assert_eq!(expected, crc_b64(b"good bytes"));
            assert_eq!(actual, crc_b64(b"rotten bytes"));
        }
        other => panic!("expected ChecksumMismatch, got {other:?}"),
    }
}

#[tokio::test]
async fn get_without_a_checksum_is_missing_checksum() {
    let fake = FakeS3::start(object(b"bytes", None)).await;
    match fake.store().get("k").await {
        Err(StoreError::MissingChecksum { key }) => assert_eq!(key, "s3://bucket/root/p/k"),
        other => panic!("expected MissingChecksum, got {other:?}"),
    }
}

#[tokio::test]
async fn no_such_key_is_not_found_but_no_such_bucket_is_not() {
    let fake = FakeS3::start(s3_error(404, "NoSuchKey")).await;
    let err = fake.store().get("k").await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");

    let fake = FakeS3::start(s3_error(404, "NoSuchBucket")).await;
    let err = fake.store().get("k").await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Other {
                retryable: false,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn head_404_without_a_body_is_not_found() {
    let fake = FakeS3::start(Canned {
        status: 404,
        headers: vec![],
        body: vec![],
    })
    .await;
    let err = fake.store().head("k").await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(fake.only_request().method, "HEAD");
}

#[tokio::test]
async fn server_errors_are_retryable_and_denials_are_not() {
    for (status, code, retryable) in [
        (500, "InternalError", true),
        (503, "ServiceUnavailable", true),
        (403, "AccessDenied", false),
        (400, "InvalidRequest", false),
    ] {
        let fake = FakeS3::start(s3_error(status, code)).await;
        let err = fake.store().get("k").await.unwrap_err();
        assert!(
            matches!(&err, StoreError::Other { retryable: r, .. } if *r == retryable),
            "{status} {code}: {err:?}"
        );
    }
}

#[tokio::test]
async fn connection_refused_is_retryable() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let store = S3Store::new(client_for(&format!("http://{addr}")), "bucket", "");
    let err = store.get("k").await.unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    assert!(err.to_string().contains("s3://bucket/k"), "{err}");
}

#[tokio::test]
async fn delete_of_an_absent_key_is_ok() {
    let fake = FakeS3::start(Canned {
        status: 204,
        headers: vec![],
        body: vec![],
    })
    .await;
    fake.store().delete("k").await.unwrap();
    let request = fake.only_request();
    assert_eq!(request.method, "DELETE");
    assert_eq!(request.object_path(), "/bucket/root/p/k");
}
