//! A store URL naming an S3 bucket that does not exist: every command that reads the store
//! fails (exit 3, a failure rather than bad input: the bucket may be in another account or
//! region, or not created yet) with a message naming the bucket and S3's `NoSuchBucket`; it is
//! never taken for an empty store ("no tables", "nothing restorable").

use std::process::Command;

#[test]
fn a_store_in_a_missing_bucket_fails_naming_it() {
    rewind_e2e::moto_endpoint();
    let bucket = format!("rewind-no-such-bucket-{}", std::process::id());
    let store = format!("s3://{bucket}/backups");
    let out_dir = tempfile::tempdir().unwrap();
    let to = format!("file://{}", out_dir.path().join("x").display());
    for args in [
        vec!["ls", "--store", &store],
        vec![
            "restore", "--table", "shop", "--store", &store, "--at", "latest", "--to", &to,
        ],
        vec![
            "history",
            "--table",
            "shop",
            "--store",
            &store,
            "--key",
            r#"{"pk":"a"}"#,
        ],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_rewind"))
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&bucket) && stderr.contains("NoSuchBucket"),
            "{args:?}: {stderr}"
        );
    }
    assert!(!out_dir.path().join("x").exists(), "nothing written");
}
