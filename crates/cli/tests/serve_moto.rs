//! `rewind serve` over real HTTP: the tables' windows, a restore job posted, polled to success
//! and verified, and every request that cannot succeed answered 4xx with what is wrong and no
//! job created. The job catalog is a DynamoDB table in moto; the store is the demo's.

mod serving;

use rewind_service::jobs::{JobCatalog, JobStatus};
use serde_json::{json, Value};
use serving::{http, start_server, unique, until_done};
use std::process::Command;

fn rewind(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rewind"))
        .args(args)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restores_are_posted_polled_and_refused_over_http() {
    rewind_e2e::moto_endpoint();
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("demo");
    let work = work.to_str().unwrap().to_string();
    assert!(rewind(&["demo", "--workdir", &work, "--capture-only"])
        .status
        .success());
    let store = format!("{work}/store");
    let catalog_table = unique("rewind-jobs");
    let (mut server, addr) = start_server(&store, &catalog_table);
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let jobs = JobCatalog::new(aws_sdk_dynamodb::Client::new(&sdk), &catalog_table);

    let (status, tables) = http(&addr, "GET", "/tables", None).await;
    assert_eq!(status, 200, "{tables}");
    assert_eq!(tables[0]["table"], "shop");
    let (status, shop) = http(&addr, "GET", "/tables/shop", None).await;
    assert_eq!(status, 200);
    let watermark = shop["watermark"].as_str().unwrap().to_string();
    assert_eq!(http(&addr, "GET", "/tables/nope", None).await.0, 404);

    // A restore job: 202, polled to success, and the export equals the state.
    let out = dir.path().join("restored");
    let to = format!("file://{}", out.display());
    let post = json!({"table": "shop", "at": watermark, "to": to}).to_string();
    let (status, created) = http(&addr, "POST", "/restores", Some(&post)).await;
    assert_eq!(status, 202, "{created}");
    let job_id = created["job_id"].as_str().unwrap().to_string();
    let done = until_done(&addr, &format!("/restores/{job_id}")).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["worker"], "serve-test");
    let report: Value = serde_json::from_str(done["report"].as_str().unwrap()).unwrap();
    assert!(report["items"].as_u64().unwrap() > 0, "{report}");
    let verified = rewind(&[
        "verify",
        "--table",
        "shop",
        "--store",
        &store,
        "--at",
        &watermark,
        "--against",
        &to,
    ]);
    assert_eq!(
        verified.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&verified.stdout)
    );

    // One item: its history, and its value at the restored second (what the restore wrote).
    let local = rewind_store::LocalStore::new(&store);
    let first_file =
        rewind_store::list_all(&local, &rewind_catalog::layout::changes_prefix("shop"))
            .await
            .unwrap()[0]
            .key
            .clone();
    let bytes = rewind_store::ObjectStore::get(&local, &first_file)
        .await
        .unwrap();
    let records = rewind_format::read_change_file(&first_file, bytes).unwrap();
    let encode = |key: &str| -> String {
        key.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    let until = chrono::DateTime::parse_from_rfc3339(&watermark)
        .unwrap()
        .timestamp_millis()
        + 1000;
    // Items whose last version before T is a put: their value at T is that version's image.
    let mut checked = 0;
    for record in records.iter().take(40) {
        let query = encode(&record.keys);
        let (status, versions) = http(
            &addr,
            "GET",
            &format!("/tables/shop/items?key={query}"),
            None,
        )
        .await;
        assert_eq!(status, 200, "{versions}");
        let versions = versions["versions"].as_array().unwrap().clone();
        let last = versions
            .iter()
            .rfind(|v| {
                chrono::DateTime::parse_from_rfc3339(v["at"].as_str().unwrap())
                    .unwrap()
                    .timestamp_millis()
                    < until
            })
            .unwrap()
            .clone();
        let (status, at_point) = http(
            &addr,
            "GET",
            &format!(
                "/tables/shop/items?key={query}&at={}",
                watermark.replace(':', "%3A")
            ),
            None,
        )
        .await;
        assert_eq!(status, 200, "{at_point}");
        assert_eq!(
            at_point["item"], last["new_image"],
            "the value at T is the last version before it"
        );
        if last["event"] != "REMOVE" {
            assert!(at_point["item"].is_object(), "{at_point}");
            checked += 1;
        }
    }
    assert!(checked > 0, "no item alive at T among those tried");
    let query = encode(&records[0].keys);
    assert_eq!(http(&addr, "GET", "/tables/shop/items", None).await.0, 400);
    assert_eq!(
        http(&addr, "GET", "/tables/shop/items?key=nope", None)
            .await
            .0,
        400
    );
    let (status, early) = http(
        &addr,
        "GET",
        &format!("/tables/shop/items?key={query}&at=2020-01-01T00%3A00%3A00Z"),
        None,
    )
    .await;
    assert_eq!(
        (status, early["error"].as_str()),
        (422, Some("outside_window")),
        "{early}"
    );

    // Refusals: 4xx, saying what is wrong, and no job item.
    let before = jobs.list().await.unwrap().len();
    let refused = [
        (
            json!({"table": "shop", "at": "2020-01-01T00:00:00Z", "to": "file:///tmp/x"}),
            422,
            "outside_window",
        ),
        (
            json!({"table": "nope", "at": "latest", "to": "file:///tmp/x"}),
            404,
            "unknown_table",
        ),
        (
            json!({"table": "shop", "at": "yesterday", "to": "file:///tmp/x"}),
            400,
            "bad_request",
        ),
        (
            json!({"table": "shop", "at": "latest", "to": "ftp://x"}),
            400,
            "bad_target",
        ),
        (
            json!({"table": "shop", "at": "latest", "to": to}),
            409,
            "target_exists",
        ),
        (
            json!({"table": "shop", "at": "latest", "to": "file:///tmp/x", "colour": 1}),
            400,
            "bad_request",
        ),
        (
            json!({"table": "shop", "at": "latest", "to": "file:///tmp/x", "mask": ["sk=hmac"]}),
            400,
            "bad_request",
        ),
    ];
    for (body, want_status, want_code) in refused {
        let (status, answer) = http(&addr, "POST", "/restores", Some(&body.to_string())).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (want_status, Some(want_code)),
            "{body} -> {answer}"
        );
        assert!(answer["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let (status, outside) = http(
        &addr,
        "POST",
        "/restores",
        Some(
            &json!({"table": "shop", "at": "2020-01-01T00:00:00Z", "to": "file:///tmp/x"})
                .to_string(),
        ),
    )
    .await;
    assert_eq!(status, 422);
    assert!(
        outside["window"][0]["start"].is_string(),
        "the window is named: {outside}"
    );
    assert_eq!(
        http(&addr, "POST", "/restores", Some("{not json")).await.0,
        400
    );
    assert_eq!(
        jobs.list().await.unwrap().len(),
        before,
        "no job for a refused request"
    );
    assert_eq!(
        jobs.get(&job_id).await.unwrap().unwrap().status,
        JobStatus::Succeeded
    );
    assert_eq!(http(&addr, "GET", "/restores/nope", None).await.0, 404);

    // SIGTERM stops it cleanly.
    Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .unwrap();
    let exit = server.0.wait().unwrap();
    assert_eq!(exit.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_is_posted_and_polled_and_a_table_dynamodb_lacks_is_refused() {
    rewind_e2e::moto_endpoint();
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let table = unique("orders");
    rewind_e2e::table_with_items(&client, &table, 25).await;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let (_server, addr) = start_server(store.to_str().unwrap(), &unique("rewind-jobs"));

    let (status, created) = http(
        &addr,
        "POST",
        "/backups",
        Some(&json!({"table": table}).to_string()),
    )
    .await;
    assert_eq!(status, 202, "{created}");
    let job_id = created["job_id"].as_str().unwrap();
    let done = until_done(&addr, &format!("/backups/{job_id}")).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let report: Value = serde_json::from_str(done["report"].as_str().unwrap()).unwrap();
    assert_eq!(report["items"], 25, "{report}");
    let (status, summary) = http(&addr, "GET", &format!("/tables/{table}"), None).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["snapshots"], 1, "{summary}");
    // A restore job id is not a backup job.
    assert_eq!(http(&addr, "GET", "/backups/restore-x", None).await.0, 404);

    let (status, missing) = http(
        &addr,
        "POST",
        "/backups",
        Some(&json!({"table": "no-such-table"}).to_string()),
    )
    .await;
    assert_eq!(
        (status, missing["error"].as_str()),
        (404, Some("unknown_table")),
        "{missing}"
    );
    let (status, _) = http(&addr, "POST", "/backups", Some("{}")).await;
    assert_eq!(status, 400);
}
