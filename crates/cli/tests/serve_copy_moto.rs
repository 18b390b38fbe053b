//! A masked, key-filtered dev copy posted to `rewind serve`, whose HMAC key lives in Secrets
//! Manager (moto): the copy equals what the CLI makes with the same key given directly, and
//! differs from what another key makes; the CLI reads the same secret; a secret that cannot be read stops the server at start,
//! naming it.

mod serving;

use serde_json::json;
use serving::{http, start_server_env, unique, until_done};
use std::process::Command;

const KEY: &str = "a mask key kept in Secrets Manager";

fn rewind_with_key(args: &[&str], key: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rewind"))
        .args(args)
        .env("REWIND_MASK_KEY", key)
        .env_remove("REWIND_MASK_KEY_SECRET")
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_masked_copy_through_the_api_uses_the_key_from_secrets_manager() {
    rewind_e2e::moto_endpoint();
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let secret = secrets
        .create_secret()
        .name(unique("rewind/mask-key"))
        .secret_string(KEY)
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("demo");
    let work = work.to_str().unwrap();
    let demo = Command::new(env!("CARGO_BIN_EXE_rewind"))
        .args(["demo", "--workdir", work, "--capture-only"])
        .output()
        .unwrap();
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    let store = format!("{work}/store");
    let catalog = unique("rewind-jobs");

    let mut command = Command::new(env!("CARGO_BIN_EXE_rewind"));
    command
        .env_remove("REWIND_MASK_KEY")
        .env("REWIND_MASK_KEY_SECRET", &secret);
    let (_server, addr) = start_server_env(&store, &catalog, &[], command);
    let (_, shop) = http(&addr, "GET", "/tables/shop", None).await;
    let at = shop["watermark"].as_str().unwrap().to_string();
    let copy = dir.path().join("copy");
    let to = format!("file://{}", copy.display());
    let post = json!({
        "table": "shop", "at": at, "to": to,
        "key_filter": "prefix:USER#", "mask": ["email=hmac"],
    });
    let (status, created) = http(&addr, "POST", "/restores", Some(&post.to_string())).await;
    assert_eq!(status, 202, "{created}");
    let done = until_done(
        &addr,
        &format!("/restores/{}", created["job_id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let report: serde_json::Value = serde_json::from_str(done["report"].as_str().unwrap()).unwrap();
    assert!(report["items"].as_u64().unwrap() > 0, "{report}");

    // The copy is what the same options and key make: verify rebuilds the masked state with
    // the key given directly and compares item by item.
    let verify_args = [
        "verify",
        "--table",
        "shop",
        "--store",
        &store,
        "--at",
        &at,
        "--against",
        &to,
        "--key-filter",
        "prefix:USER#",
        "--mask",
        "email=hmac",
    ];
    let verify = |key: &str| rewind_with_key(&verify_args, key);
    let same = verify(KEY);
    assert_eq!(
        same.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&same.stdout),
        String::from_utf8_lossy(&same.stderr)
    );
    let other = verify("another mask key, as long as the first");
    assert_eq!(
        other.status.code(),
        Some(1),
        "another key masks otherwise: {}",
        String::from_utf8_lossy(&other.stdout)
    );

    // The CLI reads the same secret.
    let through_secret = Command::new(env!("CARGO_BIN_EXE_rewind"))
        .args(verify_args)
        .env_remove("REWIND_MASK_KEY")
        .env("REWIND_MASK_KEY_SECRET", &secret)
        .output()
        .unwrap();
    assert_eq!(
        through_secret.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&through_secret.stderr)
    );

    // A secret that is not there: the server does not start, and says which secret.
    let missing = Command::new(env!("CARGO_BIN_EXE_rewind"))
        .args([
            "serve",
            "--store",
            &store,
            "--listen",
            "127.0.0.1:0",
            "--catalog",
            &catalog,
        ])
        .env_remove("REWIND_MASK_KEY")
        .env("REWIND_MASK_KEY_SECRET", "rewind/no-such-secret")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(!missing.status.success(), "{stderr}");
    assert!(
        stderr.contains("REWIND_MASK_KEY_SECRET=rewind/no-such-secret")
            && stderr.contains("ResourceNotFoundException"),
        "{stderr}"
    );
}
