//! The store contract: every property below runs against both backends, the local directory and
//! S3 (against moto). A backend that passes is interchangeable with the other as far as the rest
//! of rewind can tell.
//!
//! The S3 half needs a moto server: `scripts/test.sh` starts one and exports `AWS_ENDPOINT_URL`,
//! `AWS_REGION` and dummy credentials. Without it the S3 tests fail (they never skip), saying so.

use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use rewind_store::{checksum, list_all, validate_key, LocalStore, ObjectStore, Store, StoreError};
use std::sync::Arc;

/// A store under test, with what a test needs to damage it behind the store's back.
struct Fixture {
    store: Store,
    backend: Backend,
}

enum Backend {
    Local {
        dir: tempfile::TempDir,
        local: LocalStore,
    },
    S3 {
        client: aws_sdk_s3::Client,
        bucket: String,
        prefix: String,
    },
}

const MOTO_HELP: &str = "moto server not reachable: run scripts/test.sh";

async fn s3_client() -> aws_sdk_s3::Client {
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .unwrap_or_else(|_| panic!("{MOTO_HELP} (AWS_ENDPOINT_URL is not set)"));
    let authority = endpoint
        .split_once("://")
        .map_or(endpoint.as_str(), |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string();
    if let Err(e) = tokio::net::TcpStream::connect(&authority).await {
        panic!("{MOTO_HELP} (AWS_ENDPOINT_URL={endpoint}: {e})");
    }
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let config = aws_sdk_s3::config::Builder::from(&sdk)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

async fn new_bucket(client: &aws_sdk_s3::Client) -> String {
    let bucket = format!("rewind-contract-{:016x}", rand::random::<u64>());
    client
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "{MOTO_HELP}: create_bucket failed: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            )
        });
    bucket
}

impl Fixture {
    fn local() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let local = LocalStore::new(dir.path().join("store root"));
        Fixture {
            store: Arc::new(local.clone()),
            backend: Backend::Local { dir, local },
        }
    }

    async fn s3() -> Fixture {
        let client = s3_client().await;
        let bucket = new_bucket(&client).await;
        let prefix = "backups/prod".to_string();
        // Through `open`, so the URL parsing and the client set-up (path style) are covered too.
        let store = rewind_store::open(&format!("s3://{bucket}/{prefix}/"))
            .await
            .unwrap();
        Fixture {
            store,
            backend: Backend::S3 {
                client,
                bucket,
                prefix,
            },
        }
    }

    /// Replaces the bytes of an object without going through the store (bit rot, a bad
    /// upload), keeping the checksum it was stored with.
    async fn corrupt(&self, key: &str, original: &[u8]) {
        let mut damaged = original.to_vec();
        let i = damaged.len() / 2;
        damaged[i] ^= 0x01;
        match &self.backend {
            Backend::Local { local, .. } => {
                let path = local.path_of(key).unwrap();
                std::fs::write(&path, &damaged).unwrap();
            }
            Backend::S3 {
                client,
                bucket,
                prefix,
            } => {
                // moto stores whatever checksum the client claims: claim the original's.
                client
                    .put_object()
                    .bucket(bucket)
                    .key(format!("{prefix}/{key}"))
                    .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Crc32C)
                    .checksum_crc32_c(checksum::to_base64(checksum::crc32c(original)))
                    .body(ByteStream::from(damaged))
                    .send()
                    .await
                    .expect("plain put with a wrong checksum");
            }
        }
    }

    /// Writes an object without a CRC32C, as a foreign tool would.
    async fn plant_without_checksum(&self, key: &str, body: &[u8]) {
        match &self.backend {
            Backend::Local { local, .. } => {
                let path = local.path_of(key).unwrap();
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, body).unwrap();
            }
            Backend::S3 {
                client,
                bucket,
                prefix,
            } => {
                // The SDK adds a CRC32 (not CRC32C) by default; ask for SHA-256 to be explicit.
                client
                    .put_object()
                    .bucket(bucket)
                    .key(format!("{prefix}/{key}"))
                    .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Sha256)
                    .body(ByteStream::from(body.to_vec()))
                    .send()
                    .await
                    .expect("plain put");
            }
        }
    }

    fn is_local(&self) -> bool {
        matches!(self.backend, Backend::Local { .. })
    }
}

fn crc_b64(body: &[u8]) -> String {
    checksum::to_base64(checksum::crc32c(body))
}

fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

async fn keys(store: &dyn ObjectStore, prefix: &str) -> Vec<String> {
    list_all(store, prefix)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The properties.

async fn round_trip(fx: Fixture) {
    let s = &fx.store;
    let all_bytes: Vec<u8> = (0..=255u8).cycle().take(1024).collect();
    let big = pseudo_random(5 * 1024 * 1024 + 7, 42);
    let cases: [(&str, &[u8]); 4] = [
        ("empty", b""),
        ("text/hello.json", b"{\"hello\": \"world\"}\n"),
        ("bin/all-bytes.bin", &all_bytes),
        ("big/five-mib.bin", &big),
    ];
    for (key, body) in cases {
        let meta = s.put(key, Bytes::copy_from_slice(body)).await.unwrap();
        assert_eq!(meta.key, key);
        assert_eq!(meta.size, body.len() as u64, "{key}");
        assert_eq!(
            meta.crc32c.as_deref(),
            Some(crc_b64(body).as_str()),
            "{key}"
        );
        let got = s.get(key).await.unwrap();
        assert_eq!(got.len(), body.len(), "{key}");
        assert!(got[..] == body[..], "{key}: body differs");
    }
}

async fn overwrite(fx: Fixture) {
    let s = &fx.store;
    s.put("ckpt/shard.json", "first".into()).await.unwrap();
    s.put("ckpt/shard.json", "second, longer".into())
        .await
        .unwrap();
    assert_eq!(
        &s.get("ckpt/shard.json").await.unwrap()[..],
        b"second, longer"
    );
    let head = s.head("ckpt/shard.json").await.unwrap();
    assert_eq!(head.size, 14);
    assert_eq!(head.crc32c, Some(crc_b64(b"second, longer")));
    s.put("ckpt/shard.json", "x".into()).await.unwrap();
    assert_eq!(&s.get("ckpt/shard.json").await.unwrap()[..], b"x");
    assert_eq!(keys(s.as_ref(), "ckpt/").await, vec!["ckpt/shard.json"]);
}

async fn put_if_absent_once(fx: Fixture) {
    let s = &fx.store;
    let key = "snapshots/table=t/at=20261126T060000Z/manifest.json";
    let meta = s.put_if_absent(key, "winner".into()).await.unwrap();
    assert_eq!(meta.crc32c, Some(crc_b64(b"winner")));
    match s.put_if_absent(key, "loser".into()).await {
        Err(StoreError::AlreadyExists { key: named }) => assert_eq!(named, s.describe(key)),
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    // Identical bytes lose too: put-if-absent is about the key, not the content.
    assert!(s
        .put_if_absent(key, "winner".into())
        .await
        .unwrap_err()
        .is_already_exists());
    assert_eq!(&s.get(key).await.unwrap()[..], b"winner");
    assert_eq!(s.head(key).await.unwrap().crc32c, Some(crc_b64(b"winner")));

    // After a delete the key is free again.
    s.delete(key).await.unwrap();
    s.put_if_absent(key, "again".into()).await.unwrap();
    assert_eq!(&s.get(key).await.unwrap()[..], b"again");
}

async fn absent_objects(fx: Fixture) {
    let s = &fx.store;
    let key = "changes/table=t/none.parquet";
    match s.get(key).await {
        Err(StoreError::NotFound { key: named }) => assert_eq!(named, s.describe(key)),
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert!(s.head(key).await.unwrap_err().is_not_found());
    s.delete(key).await.unwrap();
    s.delete(key).await.unwrap();

    s.put(key, "x".into()).await.unwrap();
    s.delete(key).await.unwrap();
    assert!(s.get(key).await.unwrap_err().is_not_found());
    assert!(s.head(key).await.unwrap_err().is_not_found());
    assert!(keys(s.as_ref(), "").await.is_empty());
}

async fn list_in_key_order(fx: Fixture) {
    let s = &fx.store;
    assert_eq!(s.list_page("", None, 10).await.unwrap(), Default::default());
    // Byte order: '-' < '.' < '/' < '=' < 'a'. A directory walk would put "d/x" before "d-x".
    let mut wanted = vec![
        "d/x",
        "d-x",
        "d.x",
        "d=x",
        "da",
        "dir/ab",
        "dir/abc",
        "dir/abd/x",
        "dir/abd/y",
        "dir/b",
        "dira",
        "e",
    ];
    for (i, key) in wanted.iter().rev().enumerate() {
        s.put(key, Bytes::from(vec![b'x'; i + 1])).await.unwrap();
    }
    wanted.sort();
    assert_eq!(keys(s.as_ref(), "").await, wanted);
    // A prefix that ends mid-name.
    assert_eq!(
        keys(s.as_ref(), "dir/ab").await,
        vec!["dir/ab", "dir/abc", "dir/abd/x", "dir/abd/y"]
    );
    assert_eq!(
        keys(s.as_ref(), "dir/abd/").await,
        vec!["dir/abd/x", "dir/abd/y"]
    );
    assert_eq!(
        keys(s.as_ref(), "d").await.len(),
        wanted.len() - 1,
        "all but \"e\""
    );
    assert!(keys(s.as_ref(), "dir/zzz").await.is_empty());
    assert!(keys(s.as_ref(), "nothing/").await.is_empty());

    let listed = list_all(s.as_ref(), "dir/abd/").await.unwrap();
    for object in listed {
        let body = s.get(&object.key).await.unwrap();
        assert_eq!(object.size, body.len() as u64, "{}", object.key);
        assert!(object.last_modified.is_some(), "{}", object.key);
    }
}

async fn pagination(fx: Fixture) {
    let s = &fx.store;
    let all = ["p/1", "p/2", "p/3", "p/4", "p/5"];
    for key in all {
        s.put(key, "v".into()).await.unwrap();
    }
    s.put("q/outside", "v".into()).await.unwrap();

    let mut seen = Vec::new();
    let mut pages = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = s.list_page("p/", after.as_deref(), 2).await.unwrap();
        pages.push((page.objects.len(), page.truncated));
        seen.extend(page.objects.iter().map(|o| o.key.clone()));
        if !page.truncated {
            break;
        }
        after = page.objects.last().map(|o| o.key.clone());
    }
    assert_eq!(seen, all);
    assert_eq!(pages, vec![(2, true), (2, true), (1, false)]);

    let page = s.list_page("p/", Some("p/3"), 10).await.unwrap();
    let got: Vec<&str> = page.objects.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(got, ["p/4", "p/5"]);
    assert!(!page.truncated);
    // start_after need not be an existing key.
    let page = s.list_page("p/", Some("p/2x"), 10).await.unwrap();
    assert_eq!(page.objects[0].key, "p/3");
    // start_after before the prefix, and past everything.
    assert_eq!(
        s.list_page("p/", Some("a"), 10)
            .await
            .unwrap()
            .objects
            .len(),
        5
    );
    assert!(s
        .list_page("p/", Some("p/5"), 10)
        .await
        .unwrap()
        .objects
        .is_empty());
    // Exactly `limit` objects left: the page is full; whether it says "truncated" is up to the
    // backend, but the next page must then be empty.
    let page = s.list_page("p/", Some("p/3"), 2).await.unwrap();
    assert_eq!(page.objects.len(), 2);
    if page.truncated {
        assert!(s
            .list_page("p/", Some("p/5"), 2)
            .await
            .unwrap()
            .objects
            .is_empty());
    }
    // A limit of 0 is read as 1.
    assert_eq!(s.list_page("p/", None, 0).await.unwrap().objects.len(), 1);
}

async fn special_characters_in_keys(fx: Fixture) {
    let s = &fx.store;
    let key = "changes/table=t/dt=2026-11-26/hour=06/2026-11-26T06%3A00%3A00.000_shardId-1_0001_0002.parquet";
    let others = [
        "changes/table=t/dt=2026-11-26/hour=06/a b+c~d@e,f;g!h'(i)*.parquet",
        "ünï/cödé/κλειδί",
    ];
    s.put(key, "parquet bytes".into()).await.unwrap();
    for other in others {
        s.put(other, Bytes::from(other.as_bytes().to_vec()))
            .await
            .unwrap();
        assert_eq!(&s.get(other).await.unwrap()[..], other.as_bytes());
    }
    assert_eq!(&s.get(key).await.unwrap()[..], b"parquet bytes");
    assert_eq!(s.head(key).await.unwrap().size, 13);
    let listed = keys(s.as_ref(), "changes/table=t/dt=2026-11-26/hour=06/2026-").await;
    assert_eq!(listed, vec![key]);
    // The '%' is part of the key, not an escape: a decoded twin is a different object.
    let decoded =
        "changes/table=t/dt=2026-11-26/hour=06/2026-11-26T06:00:00.000_shardId-1_0001_0002.parquet";
    assert!(s.get(decoded).await.unwrap_err().is_not_found());
    s.put_if_absent(key, "again".into()).await.unwrap_err();
    s.delete(key).await.unwrap();
    assert!(s.get(key).await.unwrap_err().is_not_found());
}

async fn invalid_keys_refused(fx: Fixture) {
    let s = &fx.store;
    for key in [
        "",
        "/abs",
        "a//b",
        "a/",
        "../x",
        "a/./b",
        ".hidden",
        "a/.b.crc32c-00000000",
    ] {
        assert!(validate_key(key).is_err(), "{key:?}");
        let check = |r: Result<(), StoreError>, op: &str| match r {
            Err(StoreError::InvalidKey { key: k, .. }) => assert_eq!(k, key, "{op}"),
            other => panic!("{op} {key:?}: expected InvalidKey, got {other:?}"),
        };
        check(s.put(key, "x".into()).await.map(drop), "put");
        check(
            s.put_if_absent(key, "x".into()).await.map(drop),
            "put_if_absent",
        );
        check(s.get(key).await.map(drop), "get");
        check(s.head(key).await.map(drop), "head");
        check(s.delete(key).await, "delete");
    }
    for prefix in ["/abs", "a//", ".hidden/"] {
        assert!(
            matches!(
                s.list_page(prefix, None, 10).await,
                Err(StoreError::InvalidKey { .. })
            ),
            "{prefix:?}"
        );
    }
    assert!(keys(s.as_ref(), "").await.is_empty(), "nothing was written");
}

async fn head_metadata(fx: Fixture) {
    let s = &fx.store;
    let body = pseudo_random(12_345, 7);
    let before = chrono::Utc::now() - chrono::Duration::seconds(60);
    s.put("h/obj", Bytes::from(body.clone())).await.unwrap();
    let head = s.head("h/obj").await.unwrap();
    assert_eq!(head.key, "h/obj");
    assert_eq!(head.size, 12_345);
    assert_eq!(head.crc32c, Some(crc_b64(&body)));
    let modified = head.last_modified.expect("last_modified");
    assert!(modified > before, "{modified}");
    assert!(modified < chrono::Utc::now() + chrono::Duration::seconds(60));

    let empty = s.put("h/empty", Bytes::new()).await.unwrap();
    assert_eq!(empty.crc32c, Some(crc_b64(b"")));
    let head = s.head("h/empty").await.unwrap();
    assert_eq!((head.size, head.crc32c), (0, Some(crc_b64(b""))));
}

async fn corruption_detected(fx: Fixture) {
    let s = &fx.store;
    let key = "snapshots/table=t/at=20261126T060000Z/run=r1/bucket=0001.parquet";
    let body = pseudo_random(100_000, 3);
    s.put(key, Bytes::from(body.clone())).await.unwrap();
    fx.corrupt(key, &body).await;
    let mut damaged = body.clone();
    damaged[body.len() / 2] ^= 0x01;
    match s.get(key).await {
        Err(StoreError::ChecksumMismatch {
            key: named,
            expected,
            actual,
        }) => {
            assert_eq!(named, s.describe(key));
            assert_eq!(expected, crc_b64(&body));
            assert_eq!(actual, crc_b64(&damaged));
            let message = StoreError::ChecksumMismatch {
                key: named.clone(),
                expected,
                actual,
            }
            .to_string();
            assert!(message.contains(&named), "{message}");
            if fx.is_local() {
                assert!(named.starts_with('/'), "names the file: {named}");
            } else {
                assert!(named.starts_with("s3://"), "names the object: {named}");
            }
        }
        other => panic!("expected ChecksumMismatch, got {other:?}"),
    }
    // A good rewrite heals it.
    s.put(key, Bytes::from(body.clone())).await.unwrap();
    assert_eq!(s.get(key).await.unwrap().len(), body.len());
}

async fn missing_checksum_refused(fx: Fixture) {
    let s = &fx.store;
    fx.plant_without_checksum("foreign/file.json", b"{}").await;
    match s.get("foreign/file.json").await {
        Err(StoreError::MissingChecksum { key }) => {
            assert_eq!(key, s.describe("foreign/file.json"))
        }
        other => panic!("expected MissingChecksum, got {other:?}"),
    }
    assert_eq!(s.head("foreign/file.json").await.unwrap().crc32c, None);
    // It is still listed: it exists, it just cannot be trusted.
    assert_eq!(
        keys(s.as_ref(), "foreign/").await,
        vec!["foreign/file.json"]
    );
}

async fn describe_names_the_location(fx: Fixture) {
    let s = &fx.store;
    let described = s.describe("changes/x.parquet");
    match &fx.backend {
        Backend::Local { dir, .. } => {
            let expected = dir.path().join("store root").join("changes/x.parquet");
            assert_eq!(described, expected.display().to_string());
        }
        Backend::S3 { bucket, prefix, .. } => {
            assert_eq!(
                described,
                format!("s3://{bucket}/{prefix}/changes/x.parquet")
            );
        }
    }
}

/// Declares one `#[tokio::test]` per property and backend: `local::<name>` and `s3::<name>`.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod local {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Fixture::local()).await;
                }
            )*
        }
        mod s3 {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Fixture::s3().await).await;
                }
            )*
        }
    };
}

contract!(
    round_trip,
    overwrite,
    put_if_absent_once,
    absent_objects,
    list_in_key_order,
    pagination,
    special_characters_in_keys,
    invalid_keys_refused,
    head_metadata,
    corruption_detected,
    missing_checksum_refused,
    describe_names_the_location,
);

// ---------------------------------------------------------------------------------------------
// S3 only.

/// Two stores in one bucket with prefixes `p` and `p2` see only their own objects: the root
/// prefix is a directory, not a string prefix.
#[tokio::test]
async fn s3_prefixes_do_not_leak_into_each_other() {
    let client = s3_client().await;
    let bucket = new_bucket(&client).await;
    let p = rewind_store::S3Store::new(client.clone(), &bucket, "p");
    let p2 = rewind_store::S3Store::new(client.clone(), &bucket, "/p2/");
    let root = rewind_store::S3Store::new(client.clone(), &bucket, "");
    p.put("k", "in p".into()).await.unwrap();
    p2.put("k", "in p2".into()).await.unwrap();
    assert_eq!(keys(&p, "").await, vec!["k"]);
    assert_eq!(keys(&p2, "").await, vec!["k"]);
    assert_eq!(keys(&root, "").await, vec!["p/k", "p2/k"]);
    assert_eq!(&root.get("p2/k").await.unwrap()[..], b"in p2");
    assert_eq!(p2.describe("k"), format!("s3://{bucket}/p2/k"));
    // start_after is relative to the store's root too.
    assert!(p
        .list_page("", Some("k"), 10)
        .await
        .unwrap()
        .objects
        .is_empty());
}

/// What the store wrote carries the CRC32C it computed, as S3 metadata another client can see.
#[tokio::test]
async fn s3_objects_carry_the_crc32c() {
    let client = s3_client().await;
    let bucket = new_bucket(&client).await;
    let store = rewind_store::S3Store::new(client.clone(), &bucket, "x");
    store.put("k", "checked".into()).await.unwrap();
    let head = client
        .head_object()
        .bucket(&bucket)
        .key("x/k")
        .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert_eq!(head.checksum_crc32_c(), Some(crc_b64(b"checked").as_str()));
}

/// A missing bucket is a configuration error, not a missing object.
#[tokio::test]
async fn s3_missing_bucket_is_not_not_found() {
    let client = s3_client().await;
    let store = rewind_store::S3Store::new(client, "rewind-no-such-bucket-0451", "p");
    let err = store.get("k").await.unwrap_err();
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
    assert!(
        err.to_string().contains("rewind-no-such-bucket-0451"),
        "{err}"
    );
}

/// `open` picks the backend from the URL: `file://DIR` and a plain path are the same store.
#[tokio::test]
async fn open_local_urls() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("backups");
    let by_url = rewind_store::open(&format!("file://{}", path.display()))
        .await
        .unwrap();
    by_url.put("a/b", "via file://".into()).await.unwrap();
    let by_path = rewind_store::open(path.to_str().unwrap()).await.unwrap();
    assert_eq!(&by_path.get("a/b").await.unwrap()[..], b"via file://");
    assert_eq!(
        by_path.describe("a/b"),
        path.join("a/b").display().to_string()
    );
    for bad in ["gs://bucket/p", "s3:/bucket", ""] {
        assert!(
            matches!(
                rewind_store::open(bad).await,
                Err(StoreError::InvalidUrl { .. })
            ),
            "{bad:?}"
        );
    }
}
